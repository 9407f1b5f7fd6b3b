"""Fixtures shared by the whole suite: a reactor on a fake clock, a real one, loopback helpers."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from hypothesis import settings

from reactor.loop import Reactor
from reactor.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def fake_reactor(clock: FakeClock) -> Iterator[Reactor]:
    """A reactor on the fake clock; closed after the test."""
    reactor = Reactor(clock=clock)
    yield reactor
    reactor.close()


@pytest.fixture
def reactor() -> Iterator[Reactor]:
    """A reactor on the real monotonic clock; closed after the test."""
    r = Reactor()
    yield r
    r.close()


def has_ipv6() -> bool:
    """Whether ::1 can be bound here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


# Hypothesis: no per-example deadline (CI machines are shared and vary), and a
# bounded number of examples so the suite stays fast on every Python.
settings.register_profile("selreactor", deadline=None, max_examples=200)
settings.register_profile("ci", deadline=None, max_examples=200, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "selreactor")
