"""The request body deadline (slow-body defence) on a fake loop and clock.

A body must arrive within ``body_timeout`` seconds, extended by a second per
``body_min_rate`` bytes received (Apache's mod_reqtimeout
``body=20,MinRate=500``); a peer that trickles it is answered 408 and closed.
"""

from __future__ import annotations

import argparse
import logging

import pytest

from protocols.http.config import HTTPConfig
from protocols.http.plugin import HTTPPlugin
from protocols.http.server import HTTPHandler
from tests.unit.test_http_server import (
    PEER,
    FakeLoop,
    FakeTransport,
    closed,
    echo_app,
    feed,
    make,
    responses,
)

# slowhttptest -B: a 64 KiB body announced, then a few bytes every few seconds.
SLOW_HEAD = b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 65536\r\n\r\n"


def timers_armed(loop: FakeLoop) -> int:
    """How many timers the loop was ever asked for (its sequence number)."""
    return next(loop.seq)


def test_slow_body_gets_408_then_close(caplog: pytest.LogCaptureFixture) -> None:
    loop, transport, handler = make(
        echo_app(), body_timeout=20.0, body_min_rate=500.0, keepalive_timeout=60.0
    )
    feed(handler, transport, SLOW_HEAD + b"x" * 10)
    for _ in range(6):  # 5 bytes every 3 s: far below 500 bytes a second
        loop.advance(3.0)
        feed(handler, transport, b"x" * 5)
    loop.advance(1.9)  # 19.9 s
    assert transport.take() == b"" and not closed(transport)
    with caplog.at_level(logging.INFO, logger="protocols.http.server"):
        loop.advance(1.2)  # 40 bytes bought 0.08 s; rechecked within a second
    [(status, headers, _)] = responses(transport.take(), ["POST"])
    assert status == 408 and headers[b"connection"] == b"close"
    assert closed(transport) and not transport.aborted
    assert loop.live_timers() == 0
    [record] = [r for r in caplog.records if "body" in r.getMessage()]
    assert str(PEER) in record.getMessage()


def test_a_body_at_the_minimum_rate_is_extended_without_timer_churn() -> None:
    loop, transport, handler = make(
        echo_app(), body_timeout=5.0, body_min_rate=500.0, keepalive_timeout=60.0
    )
    body = b"y" * 60_000
    feed(handler, transport, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 60000\r\n\r\n")
    before = timers_armed(loop)
    for i in range(0, len(body), 100):  # 600 reads at 1000 bytes a second: 60 s
        loop.advance(0.1)
        feed(handler, transport, body[i : i + 100])
    [(status, _, echoed)] = responses(transport.take(), ["POST"])
    assert status == 200 and echoed == body
    assert not closed(transport)
    # Reads never touch the deadline: it re-armed itself a few times in 60 s.
    assert timers_armed(loop) - before < 12
    assert loop.live_timers() == 1  # the idle timer only: the body deadline is gone


def test_a_body_that_slows_down_is_cut_off() -> None:
    loop, transport, handler = make(
        echo_app(), body_timeout=10.0, body_min_rate=100.0, keepalive_timeout=60.0
    )
    feed(handler, transport, SLOW_HEAD)
    for _ in range(20):  # 2000 bytes in 10 s buy 20 s more ...
        loop.advance(0.5)
        feed(handler, transport, b"z" * 100)
    for _ in range(19):  # ... and then a byte a second buys nearly nothing
        loop.advance(1.0)
        feed(handler, transport, b"z")
        assert not closed(transport)
    loop.advance(1.5)  # 30.5 s; 2019 bytes allow 10 + 20.19 s
    assert transport.take().startswith(b"HTTP/1.1 408 ")
    assert closed(transport)


def test_a_whole_request_arms_no_body_deadline() -> None:
    loop, transport, handler = make(echo_app())
    feed(handler, transport, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
    assert loop.live_timers() == 1  # the keep-alive idle timer
    feed(handler, transport, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab")
    assert loop.live_timers() == 2  # the body is incomplete: its deadline
    feed(handler, transport, b"cd")
    assert loop.live_timers() == 1
    assert [b for _, _, b in responses(transport.take(), ["POST", "POST"])] == [b"hi", b"abcd"]


def test_a_chunked_body_has_the_same_deadline() -> None:
    loop, transport, handler = make(
        echo_app(), body_timeout=20.0, body_min_rate=500.0, keepalive_timeout=60.0
    )
    feed(
        handler, transport, b"PUT /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for _ in range(7):
        loop.advance(3.0)
        feed(handler, transport, b"1\r\nq\r\n")
    assert transport.take().startswith(b"HTTP/1.1 408 ")
    assert closed(transport)


def test_a_stalled_body_is_answered_408_not_reaped_as_idle() -> None:
    loop, transport, handler = make(echo_app(), body_timeout=20.0, keepalive_timeout=5.0)
    feed(handler, transport, SLOW_HEAD + b"x")
    loop.advance(6.0)  # past the keep-alive timeout: a request is in progress
    assert not closed(transport)
    loop.advance(14.5)
    assert transport.take().startswith(b"HTTP/1.1 408 ")
    assert closed(transport)


def test_body_timeout_zero_is_off() -> None:
    loop, transport, handler = make(echo_app(), body_timeout=0.0, keepalive_timeout=60.0)
    feed(handler, transport, SLOW_HEAD)
    assert loop.live_timers() == 1
    for _ in range(100):  # 300 s of trickling
        loop.advance(3.0)
        feed(handler, transport, b"x")
    assert not closed(transport) and transport.take() == b""


def test_body_min_rate_zero_is_a_fixed_deadline() -> None:
    loop, transport, handler = make(
        echo_app(), body_timeout=20.0, body_min_rate=0.0, keepalive_timeout=60.0
    )
    feed(handler, transport, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 300000\r\n\r\n")
    for _ in range(19):  # 10 kB a second: fast, but the body needs 30 s
        loop.advance(1.0)
        feed(handler, transport, b"w" * 10_000)
    assert not closed(transport)
    loop.advance(1.0)
    assert transport.take().startswith(b"HTTP/1.1 408 ")


def test_time_spent_not_reading_is_not_the_peers() -> None:
    loop, transport, handler = make(echo_app(), body_timeout=10.0, keepalive_timeout=60.0)
    feed(handler, transport, SLOW_HEAD + b"x")
    handler.pause_writing()  # the handler stops reading meanwhile
    feed(handler, transport, b"x")
    loop.advance(15.0)
    assert not closed(transport)
    handler.resume_writing()
    loop.settle()
    loop.advance(10.5)  # a fresh deadline from when reading went on
    assert transport.take().startswith(b"HTTP/1.1 408 ")


def test_config_refuses_bad_values() -> None:
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="body_timeout"):
            HTTPConfig(body_timeout=bad)
        with pytest.raises(ValueError, match="body_min_rate"):
            HTTPConfig(body_min_rate=bad)


def plugin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reactor serve http")
    HTTPPlugin().add_arguments(parser)
    return parser


def test_plugin_options_reach_the_handler() -> None:
    options = plugin_parser().parse_args(["--body-timeout", "2.5", "--body-min-rate", "0"])
    assert (options.body_timeout, options.body_min_rate) == (2.5, 0.0)
    loop = FakeLoop()
    handler = HTTPPlugin().make_factory(loop, options)(PEER)  # type: ignore[arg-type]
    assert isinstance(handler, HTTPHandler)
    transport = FakeTransport(loop)
    handler.connection_made(transport)  # type: ignore[arg-type]
    feed(handler, transport, SLOW_HEAD + b"x" * 1000)
    loop.advance(2.4)
    assert not closed(transport)
    loop.advance(0.2)  # fixed at 2.5 s: the rate is off
    assert transport.take().startswith(b"HTTP/1.1 408 ")
    defaults = plugin_parser().parse_args([])
    assert (defaults.body_timeout, defaults.body_min_rate) == (20.0, 500.0)


@pytest.mark.parametrize("option", ["--body-timeout", "--body-min-rate"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon", ""])
def test_plugin_options_refuse_bad_values(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        plugin_parser().parse_args([option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [error] = [line for line in err.splitlines() if "error:" in line]  # after the usage
    assert error == err.splitlines()[-1]
    assert error.startswith(f"reactor serve http: error: argument {option}: ")
