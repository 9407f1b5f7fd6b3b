"""A test kit for code that runs on the reactor: a fake clock and stepping.

Tests never sleep to synchronise.  They step the reactor until a condition
holds, with a deadline in real time so that a broken test fails fast instead
of hanging::

    clock = FakeClock()
    r = Reactor(clock=clock)
    handle = r.call_later(30, fired.append, True)
    clock.advance(30)
    run_until(r, lambda: fired)

The fake clock only moves when told to, so idle and write timeouts can be
tested in microseconds of real time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.loop import Reactor

__all__ = ["FakeClock", "StepTimeout", "run_until"]


class StepTimeout(AssertionError):
    """:func:`run_until` reached its deadline before the condition held."""


class FakeClock:
    """A monotonic clock that moves only by :meth:`advance` (or assignment)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward; the reactor fires what fell due on its next turn."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self.now += seconds


def run_until(
    reactor: Reactor,
    condition: Callable[[], object],
    timeout: float = 10.0,
    step: float = 0.05,
) -> None:
    """Step ``reactor`` until ``condition()`` is true.

    Raises :class:`StepTimeout` once ``timeout`` seconds of real time pass.
    Each turn waits at most ``step`` seconds for I/O, so the condition is
    checked often even when nothing happens.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise StepTimeout(f"condition not met within {timeout} s")
        reactor.run_once(step)
