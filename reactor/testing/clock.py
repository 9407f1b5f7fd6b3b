"""Fake time and stepping: timers tested in microseconds, never a sleep.

A :class:`FakeClock` only moves when told to.  Bound to the reactor that runs
on it (:meth:`FakeClock.bind`), :meth:`FakeClock.advance` also runs what fell
due: it moves time to each timer's deadline in turn, up to the target, and
turns the reactor at each until nothing more is ready (:func:`settle`).  So
a timer that fires, schedules a callback that writes, that schedules
another... has all run when ``advance()`` returns, and each callback saw
``reactor.time()`` equal to its own deadline, as on a real clock::

    clock = FakeClock()
    reactor = clock.bind(Reactor(clock=clock))
    reactor.call_later(30, fired.append, True)
    clock.advance(30)
    assert fired

With ``autojump`` set, :func:`run_until` jumps the clock to the next
deadline whenever the reactor would otherwise sleep with only timers pending
(trio's ``MockClock(autojump_threshold=0)``): a test waits for a condition
and the timers it needs fire at once.

:func:`run_until` steps any reactor until a condition holds, with a deadline
in real time so that a broken test fails fast instead of hanging.

Deliberate limits.  The stepping is done from outside the loop: a bound
clock's ``advance()`` turns the reactor with ``run_once(0)`` (so ready I/O is
dispatched too), and autojump happens only inside :func:`run_until`, not in
``reactor.run()``.  ``advance()`` called while ``reactor.run()`` is on the
stack (from a callback) only moves the time.  Advancing through a timer that
re-arms itself every millisecond takes one step per firing.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.loop import Reactor

__all__ = ["DEFAULT_MAX_TURNS", "FakeClock", "StepTimeout", "run_until", "settle"]

DEFAULT_MAX_TURNS = 10_000
"""Turns :func:`settle` takes before it decides the reactor never goes idle."""

# reactor -> the bound clock, so run_until() can find an autojump clock
_clocks: weakref.WeakKeyDictionary[Reactor, FakeClock] = weakref.WeakKeyDictionary()


class StepTimeout(AssertionError):
    """Stepping gave up: :func:`run_until` reached its deadline before the
    condition held, or :func:`settle` found the reactor never idle."""


class FakeClock:
    """A monotonic clock that moves only by :meth:`advance` (or assignment).

    ``autojump``: :func:`run_until` jumps to the next timer instead of
    waiting for it (it may be switched on and off at any time).
    """

    def __init__(self, start: float = 1000.0, *, autojump: bool = False) -> None:
        self.now = start
        """The current fake time, in seconds."""
        self.autojump = autojump
        """Whether :func:`run_until` jumps to the next deadline instead of waiting."""
        self.max_turns = DEFAULT_MAX_TURNS
        """The bound of each :func:`settle` that :meth:`advance` does."""
        self._reactor: Reactor | None = None
        self._stepping = False

    def __call__(self) -> float:
        """The current fake time."""
        return self.now

    def __repr__(self) -> str:
        jump = " autojump" if self.autojump else ""
        return f"<FakeClock {self.now:.6f}{jump}>"

    @property
    def reactor(self) -> Reactor | None:
        """The reactor :meth:`advance` turns, if the clock is bound to one."""
        return self._reactor

    def bind(self, reactor: Reactor) -> Reactor:
        """Make :meth:`advance` run ``reactor``'s timers as they fall due.

        ``reactor`` must run on this clock (``Reactor(clock=clock)``).  Returns
        it, so ``reactor = clock.bind(Reactor(clock=clock))`` reads in one line.
        """
        if reactor.time() != self.now:
            raise ValueError("that reactor does not run on this clock: Reactor(clock=clock)")
        self._reactor = reactor
        _clocks[reactor] = self
        return reactor

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``.

        On a bound clock, every timer due by then runs, in deadline order and
        each at its own deadline, with what it schedules, before this returns.
        An unbound clock only moves: the reactor fires what fell due on its
        next turn.
        """
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        reactor = self._reactor
        if reactor is None or self._stepping or reactor.is_closed() or reactor.is_running():
            self.now += seconds
            return
        target = self.now + seconds
        self._stepping = True
        try:
            settle(reactor, self.max_turns)
            while True:
                due = reactor.next_deadline()
                if due is None or due > target:
                    break
                self.now = max(self.now, due)
                settle(reactor, self.max_turns)
            self.now = max(self.now, target)
            settle(reactor, self.max_turns)
        finally:
            self._stepping = False

    def jump(self, reactor: Reactor) -> bool:
        """Move time to ``reactor``'s next deadline if nothing is ready before it.

        Returns whether the clock moved.  What :func:`run_until` does on an
        autojump clock each time the reactor would sleep.
        """
        if reactor.timeout() in (None, 0.0):
            return False
        due = reactor.next_deadline()
        if due is None or due <= self.now:
            return False
        self.now = due
        return True


def settle(reactor: Reactor, max_turns: int = DEFAULT_MAX_TURNS) -> int:
    """Turn ``reactor`` until nothing is ready or due now; returns the turns taken.

    Each turn is ``run_once(0)``: ready I/O is dispatched, nothing waits.
    Raises :class:`StepTimeout` after ``max_turns`` turns, which means some
    callback keeps scheduling another without end.
    """
    for turns in range(1, max_turns + 1):
        reactor.run_once(0)
        wait = reactor.timeout()
        if wait is None or wait > 0:
            return turns
    raise StepTimeout(
        f"the reactor was still busy after {max_turns} turns: a callback keeps scheduling another"
    )


def run_until(
    reactor: Reactor,
    condition: Callable[[], object],
    timeout: float = 10.0,
    step: float = 0.05,
) -> None:
    """Step ``reactor`` until ``condition()`` is true.

    Raises :class:`StepTimeout` once ``timeout`` seconds of real time pass.
    Each turn waits at most ``step`` seconds for I/O, so the condition is
    checked often even when nothing happens.  On a reactor bound to an
    autojump :class:`FakeClock`, a turn that would wait for a timer jumps the
    clock to it instead.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise StepTimeout(f"condition not met within {timeout} s")
        clock = _clocks.get(reactor)
        if clock is not None and clock.autojump:
            # Poll I/O without waiting first: a jump must not overtake bytes
            # that are already readable.
            reactor.run_once(0)
            if not condition() and not clock.jump(reactor) and reactor.timeout() is None:
                reactor.run_once(step)  # only I/O can wake it: wait for that
        else:
            reactor.run_once(step)
