"""Scheduling callbacks: soon, at a time, when a descriptor is ready, on a signal.

:class:`Scheduler` is the base class of :class:`reactor.loop.Reactor`: the
callback half of asyncio's event-loop interface (``time``, ``call_soon``,
``call_later``, ``call_at``, ``call_soon_threadsafe``, ``add_reader`` and
friends, signal handlers, debug mode).  The reactor runs what it schedules:
each turn moves due timers behind the ready callbacks and runs exactly the
callbacks present then; connections and listeners are the reactor's own.

The scheduling methods have one fast path: unless debug mode is on or the
reactor is closed, a call costs one attribute test (``_strict``) and one
``callable`` check before the handle is queued; the slow path (``_refuse``)
raises for whatever is wrong.
"""

from __future__ import annotations

import collections
import selectors
import sys
import threading
import time
from collections.abc import Callable  # at run time: autodoc resolves the hints
from typing import Protocol, TypeAlias

from reactor.signals import Signals
from reactor.timers import Handle, TimerHandle, TimerQueue
from reactor.waker import FdWatchers, Waker

__all__ = ["FileLike", "Scheduler"]

_INF = float("inf")
_get_ident = threading.get_ident


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


FileLike: TypeAlias = int | _HasFileno
"""A descriptor: an ``int`` or any object with ``fileno()``."""


def _fileno(fileobj: FileLike) -> int:
    fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    if fd < 0:
        raise ValueError(f"invalid file descriptor {fd}")
    return fd


class Scheduler:
    """The ready queue and timers of a reactor, and the checks on scheduling.

    ``selector`` watches the ``add_reader``/``add_writer`` descriptors;
    ``clock`` returns monotonic seconds (default :func:`time.monotonic`);
    ``debug`` ``None`` follows ``python -X dev``; ``report`` is the
    reactor's exception handler, for callbacks that fail outside a turn's
    own containment.
    """

    def __init__(
        self,
        selector: selectors.BaseSelector,
        clock: Callable[[], float] | None,
        debug: bool | None,
        report: Callable[[dict[str, object]], None],
    ) -> None:
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._ready: collections.deque[Handle] = collections.deque()
        self._timers = TimerQueue()
        self._signals = Signals(self._ready)
        self._waker = Waker(self._signals.arrived, report)
        self._watchers = FdWatchers(selector, report)
        self._closed = False
        self._debug = bool(sys.flags.dev_mode) if debug is None else bool(debug)
        # One attribute for the scheduling methods' fast path: false unless
        # debug mode is on or the reactor is closed (then _refuse looks closer).
        self._strict = self._debug
        self._thread_id: int | None = None  # the thread in run() or run_once()

    def time(self) -> float:
        """The reactor's monotonic clock, in seconds."""
        return self._clock()

    def call_soon(self, callback: Callable[..., object], *args: object) -> Handle:
        """Run ``callback(*args)`` on the next turn; callbacks run in FIFO order.

        Not thread-safe: from another thread use :meth:`call_soon_threadsafe`
        (debug mode raises :exc:`RuntimeError` for such a call while the loop
        runs).  Raises :exc:`TypeError` for a callback that is not callable and
        :exc:`RuntimeError` once the reactor is closed.
        """
        if self._strict or not callable(callback):
            self._refuse(callback, "call_soon")
        handle = Handle(callback, args)
        self._ready.append(handle)
        return handle

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> TimerHandle:
        """Run ``callback(*args)`` after ``delay`` seconds.

        ``delay`` is a number: :exc:`TypeError` otherwise, :exc:`ValueError` for
        NaN (which has no place in a deadline order).  A delay of ``+inf`` is
        accepted, as asyncio accepts it: the timer never fires and costs
        nothing (it is not stored; ``cancel()`` is harmless).  A delay of zero
        or less is due on the next turn.  Checked like :meth:`call_soon`.
        """
        if self._strict or not callable(callback):
            self._refuse(callback, "call_later")
        try:
            when = self._clock() + delay
            if when < _INF:
                return self._timers.push(when, callback, args)
        except TypeError:
            raise TypeError(f"call_later() needs a delay in seconds, got {delay!r}") from None
        return _never(when, callback, args, "call_later")

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> TimerHandle:
        """Run ``callback(*args)`` once :meth:`time` reaches ``when``.

        Timers fire in deadline order; equal deadlines in scheduling order.
        ``when`` is checked like :meth:`call_later`'s delay (``+inf``: never),
        the rest like :meth:`call_soon`.
        """
        if self._strict or not callable(callback):
            self._refuse(callback, "call_at")
        try:
            if when < _INF:
                return self._timers.push(when, callback, args)
        except TypeError:
            raise TypeError(f"call_at() needs a time in seconds, got {when!r}") from None
        return _never(when, callback, args, "call_at")

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: object) -> Handle:
        """Like :meth:`call_soon`, from any thread; wakes the selector.

        Wake-ups are coalesced: however many threads call at once, at most
        one byte is written per loop turn.  On a closed reactor the callback
        is dropped (a thread racing with :meth:`close` cannot avoid the race,
        and must not get an error for it); a callback that is not callable
        raises :exc:`TypeError`.
        """
        if not callable(callback):
            raise TypeError(f"call_soon_threadsafe() needs a callable, got {callback!r}")
        handle = Handle(callback, args)
        if not self._closed:
            self._ready.append(handle)  # deque.append is atomic
            self._waker.wake()
        return handle

    def _refuse(self, callback: object, method: str) -> None:
        """The slow path of the scheduling methods: raise for what is wrong."""
        if self._closed:
            raise RuntimeError("the reactor is closed")
        if not callable(callback):
            raise TypeError(f"{method}() needs a callable, got {callback!r}")
        if self._debug:
            self._check_thread(method)

    def _check_thread(self, method: str) -> None:
        """Debug mode: refuse a non-thread-safe call from outside a running loop's thread."""
        thread = self._thread_id
        if thread is not None and thread != _get_ident():
            raise RuntimeError(
                f"{method}() called from another thread while the reactor runs;"
                " use call_soon_threadsafe()"
            )

    def set_debug(self, enabled: bool) -> None:
        """Turn debug mode on or off.

        In debug mode :meth:`call_soon`, :meth:`call_later`, :meth:`call_at`,
        :meth:`add_reader`, :meth:`add_writer`, :meth:`remove_reader`,
        :meth:`remove_writer`, :meth:`listen` and :meth:`connect` raise
        :exc:`RuntimeError` when called from a thread other than the one
        running the loop, while it runs: inside :meth:`run`, or during a
        :meth:`run_once` turn (asyncio's ``_check_thread``).  Off, those
        checks cost one attribute test per call; the checks for a closed
        reactor and for a callback that is not callable are always made.
        """
        self._debug = bool(enabled)
        self._strict = self._debug or self._closed

    def get_debug(self) -> bool:
        """Whether debug mode is on (see :meth:`set_debug`)."""
        return self._debug

    def next_deadline(self) -> float | None:
        """When the loop next has work: now if callbacks are ready, else the
        earliest timer's deadline, or ``None`` when only I/O can wake it."""
        if self._ready:
            return self._clock()
        return self._timers.next_deadline()

    def timeout(self) -> float | None:
        """Seconds a host loop may sleep before calling :meth:`run_once` again."""
        if self._ready:
            return 0.0
        deadline = self._timers.next_deadline()
        if deadline is None:
            return None
        return max(0.0, deadline - self._clock())

    # -- descriptors ----------------------------------------------------------

    def add_reader(
        self, fileobj: FileLike, callback: Callable[..., object], *args: object
    ) -> None:
        """Call ``callback(*args)`` whenever ``fileobj`` is readable.

        Checked like :meth:`call_soon`; replaces an earlier reader of ``fileobj``.
        """
        if self._strict or not callable(callback):
            self._refuse(callback, "add_reader")
        self._watchers.set_reader(_fileno(fileobj), Handle(callback, args))

    def add_writer(
        self, fileobj: FileLike, callback: Callable[..., object], *args: object
    ) -> None:
        """Call ``callback(*args)`` whenever ``fileobj`` is writable.

        Checked like :meth:`call_soon`; replaces an earlier writer of ``fileobj``.
        """
        if self._strict or not callable(callback):
            self._refuse(callback, "add_writer")
        self._watchers.set_writer(_fileno(fileobj), Handle(callback, args))

    def remove_reader(self, fileobj: FileLike) -> bool:
        """Stop watching ``fileobj`` for reading; false if it was not watched."""
        if self._debug:
            self._check_thread("remove_reader")
        return self._watchers.set_reader(_fileno(fileobj), None)

    def remove_writer(self, fileobj: FileLike) -> bool:
        """Stop watching ``fileobj`` for writing; false if it was not watched."""
        if self._debug:
            self._check_thread("remove_writer")
        return self._watchers.set_writer(_fileno(fileobj), None)

    # -- signals -----------------------------------------------------------------

    def add_signal_handler(
        self, signum: int, callback: Callable[..., object], *args: object
    ) -> None:
        """Run ``callback(*args)`` on the loop when ``signum`` arrives.

        Main thread only (a rule of :func:`signal.set_wakeup_fd`).  The handler
        runs as an ordinary callback, never inside interrupted code.
        """
        self._check_open()
        self._signals.add(signum, Handle(callback, args), self._waker.wsock.fileno())

    def remove_signal_handler(self, signum: int) -> bool:
        """Restore the default disposition of ``signum``; false if none was set."""
        return self._signals.remove(signum)

    def is_running(self) -> bool:
        """Whether :meth:`run` is on the stack, or :meth:`run_once` is in a turn."""
        return self._thread_id is not None

    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the reactor is closed")


def _never(
    when: float, callback: Callable[..., object], args: tuple[object, ...], method: str
) -> TimerHandle:
    """``when`` is not below ``+inf``: a timer that never fires, or an error."""
    if when == _INF:  # never due: not stored, so it costs nothing
        return TimerHandle(when, callback, args, None)
    # NaN compares false with everything: in the heap it would break the order.
    raise ValueError(f"{method}() needs a time that is not NaN, got {when!r}")
