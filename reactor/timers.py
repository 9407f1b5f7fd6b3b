"""Callbacks now and later: the ready queue and the timer heap.

Theory of operation.  ``call_soon`` appends a :class:`Handle` to a FIFO deque.
``call_later``/``call_at`` push ``(when, seq, handle)`` onto a binary heap; the
sequence number breaks ties, so timers with one deadline fire in the order
they were scheduled, and tuples compare without calling back into Python.

Cancelling is O(1): it only flags the handle.  A flagged entry stays in the
heap until it reaches the top (and is dropped there) or until cancelled
entries are the majority, when :meth:`TimerQueue.compact` rebuilds the heap
from the live ones in O(n).  Each compaction at least halves the heap, so its
cost is amortised over the cancels that caused it, and a million cancelled
timers leave nothing behind.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, MutableSequence

__all__ = ["Deadline", "DeadlineQueue", "Handle", "TimerHandle", "TimerQueue"]

# Below this many cancelled entries a compaction is not worth its O(n) pass.
_MIN_COMPACT = 64


class Handle:
    """A callback with its arguments; what ``call_soon`` returns."""

    __slots__ = ("_args", "_callback", "_cancelled")

    def __init__(self, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        self._callback = callback
        self._args = args
        self._cancelled = False

    def cancel(self) -> None:
        """Stop the callback from running; harmless if it already ran."""
        self._cancelled = True

    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    @property
    def callback(self) -> Callable[..., object]:
        """The function this handle calls."""
        return self._callback

    def run(self) -> None:
        """Call the callback (exceptions propagate to the loop's handler)."""
        self._callback(*self._args)

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<{type(self).__name__} {self._callback!r}{state}>"


class TimerHandle(Handle):
    """A callback due at :attr:`when`; what ``call_later``/``call_at`` return."""

    __slots__ = ("_queue", "when")

    def __init__(
        self,
        when: float,
        callback: Callable[..., object],
        args: tuple[object, ...],
        queue: TimerQueue | None,
    ) -> None:
        super().__init__(callback, args)
        self.when = when
        self._queue: TimerQueue | None = queue

    def cancel(self) -> None:
        """Flag the timer; the heap forgets it lazily, in O(1) here."""
        if not self._cancelled:
            self._cancelled = True
            queue = self._queue
            if queue is not None:
                queue._cancelled += 1


class TimerQueue:
    """A heap of :class:`TimerHandle` ordered by deadline, then scheduling order."""

    __slots__ = ("_cancelled", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = 0
        self._cancelled = 0

    def __len__(self) -> int:
        """Entries in the heap, cancelled ones not yet dropped included."""
        return len(self._heap)

    @property
    def cancelled_count(self) -> int:
        """Cancelled entries still in the heap."""
        return self._cancelled

    def push(
        self, when: float, callback: Callable[..., object], args: tuple[object, ...]
    ) -> TimerHandle:
        """Schedule ``callback(*args)`` at ``when``.

        ``when`` must order with floats and not be NaN (a NaN entry compares
        false with every other and silently breaks the heap); the reactor's
        ``call_later``/``call_at`` check that before calling here.
        """
        handle = TimerHandle(when, callback, args, self)
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, handle))
        return handle

    def next_deadline(self) -> float | None:
        """The earliest live deadline, dropping cancelled entries on top."""
        heap = self._heap
        while heap:
            handle = heap[0][2]
            if not handle._cancelled:
                return handle.when
            heapq.heappop(heap)
            handle._queue = None
            self._cancelled -= 1
        return None

    def pop_due(
        self,
        now: float,
        out: MutableSequence[Handle],
        lateness: Callable[[float], object] | None = None,
    ) -> None:
        """Move every live timer due at or before ``now`` to ``out``, in order;
        ``lateness(now - when)`` is told how late each one is (the loop's lag)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            handle._queue = None
            if handle._cancelled:
                self._cancelled -= 1
            else:
                out.append(handle)
                if lateness is not None:
                    lateness(now - handle.when)

    def compact(self) -> None:
        """Drop cancelled entries when they are most of the heap."""
        if self._cancelled < _MIN_COMPACT or 2 * self._cancelled <= len(self._heap):
            return
        live = []
        for entry in self._heap:
            handle = entry[2]
            if handle._cancelled:
                handle._queue = None
            else:
                live.append(entry)
        heapq.heapify(live)
        self._heap = live
        self._cancelled = 0

    def clear(self) -> None:
        """Forget every timer (the reactor is closing)."""
        for entry in self._heap:
            entry[2]._queue = None
        self._heap.clear()
        self._cancelled = 0


class Deadline(Protocol):
    """What :class:`DeadlineQueue` holds: a connection with an idle deadline."""

    id: int
    """Breaks ties between equal deadlines (never compares the objects)."""

    idle_due: float | None
    """The live deadline; owned by the queue (set by :meth:`DeadlineQueue.arm`)."""

    def on_idle(self) -> None:
        """The deadline passed; the connection checks its activity stamp."""
        ...


class DeadlineQueue:
    """Idle deadlines of many connections in one heap, with one reactor timer.

    A full :class:`TimerHandle` per idle connection costs about 260 bytes (the
    handle, its heap tuple, a bound method, the sequence number); an entry
    here is one ``(when, id, connection)`` tuple and its float, about 90.  The
    reactor keeps one real timer, for the earliest entry.

    An entry is live while the connection's ``idle_due`` is that very float
    object; re-arming or closing makes it stale (:meth:`forget`), and stale
    entries are dropped when they reach the top or by compaction once they are
    the majority, exactly as :class:`TimerQueue` does with cancelled timers.
    """

    __slots__ = ("_arm_timer", "_clock", "_heap", "_stale", "_timer")

    def __init__(
        self,
        call_at: Callable[[float, Callable[[], object]], TimerHandle],
        clock: Callable[[], float],
    ) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._stale = 0
        self._timer: TimerHandle | None = None
        self._arm_timer = call_at
        self._clock = clock

    def __len__(self) -> int:
        """Entries in the heap, stale ones included."""
        return len(self._heap)

    def arm(self, when: float, conn: Deadline) -> None:
        """Give ``conn`` the deadline ``when`` (it must not have a live one)."""
        conn.idle_due = when
        heapq.heappush(self._heap, (when, conn.id, conn))
        timer = self._timer
        if timer is None or when < timer.when:
            self._schedule(when)

    def forget(self, conn: Deadline) -> None:
        """Drop ``conn``'s live deadline, if any, in O(1)."""
        if conn.idle_due is None:
            return
        conn.idle_due = None
        self._stale += 1
        if self._stale >= _MIN_COMPACT and 2 * self._stale > len(self._heap):
            self._heap = [entry for entry in self._heap if entry[2].idle_due is entry[0]]
            heapq.heapify(self._heap)
            self._stale = 0

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._arm_timer(when, self._fire)

    def fire(self, now: float) -> list[Deadline]:
        """Pop every live deadline due at ``now``; the caller runs them."""
        due: list[Deadline] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, conn = heapq.heappop(heap)
            if conn.idle_due is when:
                conn.idle_due = None
                due.append(conn)
            else:
                self._stale -= 1
        return due

    def _fire(self) -> None:
        self._timer = None
        for conn in self.fire(self._clock()):
            conn.on_idle()  # contains its handler's failures; may arm again
        self._follow_head()

    def _follow_head(self) -> None:
        """Keep the reactor timer on the earliest entry."""
        heap = self._heap
        if heap and (self._timer is None or self._timer.when != heap[0][0]):
            self._schedule(heap[0][0])
