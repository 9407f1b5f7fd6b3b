"""The option checks shared by listeners, connectors and connections."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor.options import (
    DEFAULT_HIGH_WATER,
    ConnectionOptions,
    check_count,
    check_delay,
    check_port,
    check_timeout,
    check_water_marks,
)


@pytest.mark.parametrize("off", [None, 0, 0.0, math.inf])
def test_a_zero_none_or_infinite_timeout_is_off(off: float | None) -> None:
    assert check_timeout("idle_timeout", off) is None


@given(st.floats(min_value=1e-9, max_value=1e9))
def test_a_positive_timeout_is_kept(seconds: float) -> None:
    assert check_timeout("idle_timeout", seconds) == seconds


@pytest.mark.parametrize("bad", [math.nan, -1, -0.001, -math.inf])
def test_a_negative_or_nan_timeout_names_the_option(bad: float) -> None:
    with pytest.raises(ValueError, match="write_timeout must be"):
        check_timeout("write_timeout", bad)


@pytest.mark.parametrize("bad", ["5", True, b"1"])
def test_a_timeout_that_is_no_number_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="idle_timeout must be a number"):
        check_timeout("idle_timeout", bad)  # type: ignore[arg-type]


def test_a_delay_may_be_zero_but_not_negative_nan_or_infinite() -> None:
    assert check_delay("timeout", 0) == 0.0
    assert check_delay("timeout", 2) == 2.0
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(ValueError, match="timeout must be a"):
            check_delay("timeout", bad)


def test_counts_have_a_minimum_and_must_be_integers() -> None:
    assert check_count("backlog", 0, 0) == 0
    with pytest.raises(ValueError, match="backlog must be at least 0, not -1"):
        check_count("backlog", -1, 0)
    with pytest.raises(TypeError, match="read_size must be an integer"):
        check_count("read_size", 1.5, 1)  # type: ignore[arg-type]


def test_water_marks_fill_defaults_and_refuse_low_above_high() -> None:
    assert check_water_marks(None, None, default_high=65536) == (65536, 16384)
    assert check_water_marks(1000, None, default_high=65536) == (1000, 250)
    assert check_water_marks(None, 100, default_high=65536) == (400, 100)
    assert check_water_marks(10, 10, default_high=65536) == (10, 10)
    with pytest.raises(ValueError, match=r"low_water \(20\) must not be above high_water \(10\)"):
        check_water_marks(10, 20, default_high=65536)
    with pytest.raises(ValueError, match="high must be at least 0"):
        check_water_marks(-1, None, default_high=65536, names=("high", "low"))


@given(st.integers(0, 65535))
def test_every_port_in_range_is_kept(port: int) -> None:
    assert check_port(port) == port


def test_ports_out_of_range_are_refused() -> None:
    for bad in (-1, 65536, 70000):
        with pytest.raises(ValueError, match=r"port must be in 0\.\.65535"):
            check_port(bad)
    with pytest.raises(ValueError, match=r"port must be in 1\.\.65535, not 0"):
        check_port(0, allow_zero=False)
    with pytest.raises(TypeError, match="port must be an integer"):
        check_port("80")  # type: ignore[arg-type]


def test_connection_options_are_one_checked_frozen_value() -> None:
    options = ConnectionOptions(idle_timeout=0, write_timeout=float("inf"), high_water=1000)
    assert (options.idle_timeout, options.write_timeout) == (None, None)  # off
    assert (options.high_water, options.low_water) == (1000, 250)
    assert ConnectionOptions().high_water == DEFAULT_HIGH_WATER
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.read_size = 1  # type: ignore[misc]  # frozen: the point of the test
    for bad in ({"read_size": 0}, {"idle_timeout": -1}, {"low_water": 10, "high_water": 5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ConnectionOptions(**bad)  # type: ignore[arg-type]  # values of mixed types
