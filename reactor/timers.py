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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Handle", "TimerHandle", "TimerQueue"]

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
        queue: TimerQueue,
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
        """Schedule ``callback(*args)`` at ``when``."""
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

    def pop_due(self, now: float, out: list[Handle]) -> None:
        """Move every live timer due at or before ``now`` to ``out``, in order."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            handle._queue = None
            if handle._cancelled:
                self._cancelled -= 1
            else:
                out.append(handle)

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
