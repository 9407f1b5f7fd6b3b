"""A time bound on one CPython test that a hung event loop cannot swallow.

A single SIGALRM (pytest-timeout's signal method) is not enough for event-loop
tests: when the exception it raises lands inside a loop callback, asyncio's
``Handle._run`` catches every BaseException but SystemExit and
KeyboardInterrupt and hands it to the exception handler, and ``Task.__step``
stores it in the task; the loop goes on spinning.  So the alarm here repeats
every ``REPEAT`` seconds after the deadline, until one lands in code that lets it
through (the loop's own select or scheduling, the test body), and a last
resort, faulthandler's watchdog, dumps every thread's stack and ends the
process ``GRACE`` seconds after that.  The report runs each module in a child
process and restarts it after the test that killed it.
"""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys
import traceback
from collections.abc import Iterator
from types import FrameType

REPEAT = 0.25
"""Seconds between the alarms after the deadline."""

GRACE = 15.0
"""Seconds after the deadline before the watchdog ends the process."""


class TestTimeout(BaseException):
    """The test overran its bound.  A BaseException, so a test's ``except Exception`` cannot
    swallow it (asyncio's callback wrapper still can: hence the repeat)."""

    # not a test class, whatever pytest's name pattern says
    __test__ = False


# Where an alarm must not land: the result's and pytest's bookkeeping of a failure
# (an exception there would escape TestCase.run and end the whole run).  The alarm
# waits for the next tick instead.
_BOOKKEEPING = ("unittest.result", "_pytest", "pluggy", "traceback", "linecache", __name__)
_REPORT = "tests.aio.conformance.report"


def _in_bookkeeping(frame: FrameType | None, outer: set[int]) -> bool:
    """Whether ``frame`` is in result bookkeeping, among the frames entered inside the bound
    (``outer``: the ids of the frames that were already there)."""
    while frame is not None and id(frame) not in outer:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith(_BOOKKEEPING) or name == _REPORT:
            return True
        frame = frame.f_back
    return False


def _stack_ids() -> set[int]:
    """The ids of the frames of bounded()'s caller and out: 0 is this function, 1 the
    generator of bounded(), 2 contextlib's __enter__ (gone once the block starts)."""
    ids = set()
    frame: FrameType | None = sys._getframe(3)
    while frame is not None:
        ids.add(id(frame))
        frame = frame.f_back
    return ids


def _where(frame: FrameType | None) -> str:
    """The innermost frames at the first alarm: where the test was stuck."""
    return "".join(traceback.format_stack(frame, limit=8)) if frame else "?"


@contextlib.contextmanager
def bounded(seconds: float, *, watchdog: bool = True) -> Iterator[None]:
    """Raise TestTimeout in the main thread after ``seconds``, and again every REPEAT seconds.

    With ``watchdog`` the process ends GRACE seconds after the deadline, with every
    thread's stack on stderr.  A test that installs its own SIGALRM handler or
    timer (test_events does) replaces this one for its duration; the watchdog
    still holds.
    """
    first: list[str] = []
    # alive for the whole block (they are the block's callers), so their ids stay theirs
    outer = _stack_ids()

    def alarm(signum: int, frame: FrameType | None) -> None:
        if _in_bookkeeping(frame, outer):
            return
        # the first alarm's frames say where the test hung; the later ones land wherever
        # the exception finally gets through
        if not first:
            first.append(_where(frame))
        raise TestTimeout(f"test timed out after {seconds} s; at the deadline:\n{first[0]}")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT)
    if watchdog:
        # fd 2 itself: pytest and the report both replace sys.stderr
        faulthandler.dump_traceback_later(seconds + GRACE, exit=True, file=2)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if watchdog:
            faulthandler.cancel_dump_traceback_later()
