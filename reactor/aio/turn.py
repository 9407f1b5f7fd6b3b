"""One turn of :class:`reactor.aio.Loop`: one poll for asyncio and the reactor.

Theory of operation.  asyncio's ``run_forever`` calls ``_run_once`` per
iteration; asyncio's own version polls its selector, turns the ready keys
into handles, moves due timers to the ready queue and runs the handles that
are ready now.  Over an :class:`~reactor.aio.selector.AioReactor`,
:class:`ReactorTurn` replaces it with a turn that does the same for asyncio
and the reactor's work in the same pass, once:

1. asyncio's timer heap is trimmed of cancelled timers (as asyncio does) and
   the wait is computed from asyncio's ready queue and its next timer;
2. :meth:`AioReactor.poll` polls once (shortening the wait for the reactor's
   own timers and callbacks) and dispatches: a connection's read calls its
   protocol's ``data_received`` at once, an asyncio descriptor puts its
   handle in asyncio's ready queue;
3. asyncio's due timers join the ready queue and the handles present now
   run, with asyncio's debug-mode timing of slow callbacks;
4. :meth:`AioReactor.finish` runs the reactor's due timers and callbacks and
   reaps the connections closed during the turn (by I/O or by asyncio code).

There is no second poll, no ready-key list, no lock per turn: the reactor is
held as running for the whole of ``run_forever``.  The ordering asyncio
documents holds: callbacks run in the order they were scheduled, those
scheduled by a callback wait for the next turn, timers fire in deadline
order.  Over a plain :class:`~reactor.loop.Reactor` (passed in by a caller)
asyncio's own ``_run_once`` runs, over :class:`SharedSelector`'s turn.

The turn reads asyncio's underscore names of the loop it belongs to
(``_ready``, ``_scheduled``, ``_timer_cancelled_count``, ``_stopping``,
``_clock_resolution``), as asyncio's own selector loop does; they are the
same in Python 3.10 to 3.13.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from asyncio import base_events
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections import deque

    from reactor.aio.selector import AioReactor

__all__ = ["ReactorTurn"]

log = logging.getLogger(__name__)

# asyncio's own thresholds for rebuilding a timer heap full of cancelled timers.
_MIN_SCHEDULED = base_events._MIN_SCHEDULED_TIMER_HANDLES  # type: ignore[attr-defined]
_CANCELLED_FRACTION = base_events._MIN_CANCELLED_TIMER_HANDLES_FRACTION  # type: ignore[attr-defined]
_MAX_WAIT = base_events.MAXIMUM_SELECT_TIMEOUT  # type: ignore[attr-defined]


class ReactorTurn(asyncio.SelectorEventLoop):
    """asyncio's selector loop whose iterations are reactor turns (see the module)."""

    # Set by the subclass: the reactor this loop drives, or None to leave
    # asyncio's own _run_once in charge (a reactor of another kind).
    _turn_reactor: AioReactor | None = None

    # asyncio's attributes, declared for the type checker.
    _ready: deque[asyncio.Handle]
    _scheduled: list[asyncio.TimerHandle]
    _timer_cancelled_count: int
    _stopping: bool
    _clock_resolution: float
    _current_handle: asyncio.Handle | None

    def run_forever(self) -> None:
        """asyncio's ``run_forever``, with the reactor held as running meanwhile."""
        reactor = self._turn_reactor
        if reactor is None or self.is_running() or self.is_closed():
            super().run_forever()  # asyncio raises for a running or closed loop
            return
        reactor.hold()
        try:
            super().run_forever()
        finally:
            reactor.unhold()

    def _run_once(self) -> None:
        reactor = self._turn_reactor
        if reactor is None:
            super()._run_once()  # type: ignore[misc]
            return
        scheduled = self._scheduled
        if scheduled:
            scheduled = self._trim_timers(scheduled)
        ready = self._ready
        timeout: float | None
        if ready or self._stopping:
            timeout = 0.0
        elif scheduled:
            timeout = scheduled[0]._when - self.time()  # type: ignore[attr-defined]
            if timeout > _MAX_WAIT:
                timeout = _MAX_WAIT
            elif timeout < 0:
                timeout = 0.0
        else:
            timeout = None
        reactor.poll(timeout)
        if scheduled:
            self._due_timers(scheduled, ready)
        if self._debug:  # type: ignore[attr-defined]
            self._run_ready_debug(ready)
        else:
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
            handle = None  # type: ignore[assignment]  # no cycle through a raised exception
        reactor.finish()

    def _due_timers(
        self, scheduled: list[asyncio.TimerHandle], ready: deque[asyncio.Handle]
    ) -> None:
        """Move the timers due now (within the clock's resolution) to ``ready``."""
        end = self.time() + self._clock_resolution
        while scheduled and scheduled[0]._when < end:  # type: ignore[attr-defined]
            timer = heapq.heappop(scheduled)
            timer._scheduled = False  # type: ignore[attr-defined]
            ready.append(timer)

    def _trim_timers(self, scheduled: list[asyncio.TimerHandle]) -> list[asyncio.TimerHandle]:
        """Drop cancelled timers: all of them when they are most of a large
        heap, else those at its head (asyncio's rule)."""
        count = len(scheduled)
        if count > _MIN_SCHEDULED and self._timer_cancelled_count / count > _CANCELLED_FRACTION:
            live = []
            for handle in scheduled:
                if handle._cancelled:
                    handle._scheduled = False  # type: ignore[attr-defined]
                else:
                    live.append(handle)
            heapq.heapify(live)
            self._scheduled = scheduled = live
            self._timer_cancelled_count = 0
            return scheduled
        while scheduled and scheduled[0]._cancelled:
            self._timer_cancelled_count -= 1
            handle = heapq.heappop(scheduled)
            handle._scheduled = False  # type: ignore[attr-defined]
        return scheduled

    def _run_ready_debug(self, ready: deque[asyncio.Handle]) -> None:
        """Debug mode: each handle is timed and a slow one is logged."""
        for _ in range(len(ready)):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                self._current_handle = handle
                started = self.time()
                handle._run()
                took = self.time() - started
                if took >= self.slow_callback_duration:
                    # asyncio's logger, looked up now: where asyncio reports them
                    base_events.logger.warning(  # type: ignore[attr-defined]
                        "Executing %s took %.3f seconds",
                        base_events._format_handle(handle),  # type: ignore[attr-defined]
                        took,
                    )
            finally:
                self._current_handle = None
