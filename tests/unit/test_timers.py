"""The timer heap: ordering, ties, O(1) cancel, compaction."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from reactor.loop import Reactor
from reactor.testing import FakeClock
from reactor.timers import Handle, TimerQueue


def fire_all(queue: TimerQueue, now: float = float("inf")) -> list[object]:
    out: list[Handle] = []
    queue.pop_due(now, out)
    fired: list[object] = []
    for handle in out:
        fired.append(handle._args[0])
    return fired


def test_deadline_order_and_ties_in_scheduling_order() -> None:
    queue = TimerQueue()
    queue.push(2.0, print, ("c",))
    queue.push(1.0, print, ("a",))
    queue.push(2.0, print, ("d",))
    queue.push(1.0, print, ("b",))
    assert fire_all(queue) == ["a", "b", "c", "d"]


@given(st.lists(st.integers(0, 20), max_size=200))
def test_any_schedule_fires_sorted_by_deadline_then_seq(deadlines: list[int]) -> None:
    queue = TimerQueue()
    for seq, when in enumerate(deadlines):
        queue.push(float(when), print, ((when, seq),))
    assert fire_all(queue) == sorted((when, seq) for seq, when in enumerate(deadlines))


def test_pop_due_leaves_future_timers() -> None:
    queue = TimerQueue()
    queue.push(1.0, print, ("now",))
    queue.push(5.0, print, ("later",))
    assert fire_all(queue, now=1.0) == ["now"]
    assert queue.next_deadline() == 5.0


def test_cancel_is_lazy_and_skipped() -> None:
    queue = TimerQueue()
    handles = [queue.push(float(i), print, (i,)) for i in range(10)]
    for handle in handles[::2]:
        handle.cancel()
        handle.cancel()  # twice is harmless and counted once
    assert queue.cancelled_count == 5
    assert len(queue) == 10  # nothing was removed yet: O(1) cancel
    assert fire_all(queue) == [1, 3, 5, 7, 9]
    assert queue.cancelled_count == 0


def test_cancelled_head_is_dropped_by_next_deadline() -> None:
    queue = TimerQueue()
    queue.push(1.0, print, (1,)).cancel()
    queue.push(2.0, print, (2,))
    assert queue.next_deadline() == 2.0
    assert len(queue) == 1


def test_compaction_when_most_are_cancelled() -> None:
    queue = TimerQueue()
    handles = [queue.push(random.random(), print, (i,)) for i in range(1000)]
    for handle in handles[:900]:
        handle.cancel()
    queue.compact()
    assert len(queue) == 100
    assert queue.cancelled_count == 0
    assert sorted(fire_all(queue)) == list(range(900, 1000))  # type: ignore[type-var]


def test_a_million_cancelled_timers_leave_nothing_behind() -> None:
    clock = FakeClock()
    reactor = Reactor(clock=clock)
    try:
        handles = [reactor.call_later(1.0 + i * 1e-6, print) for i in range(1_000_000)]
        for handle in handles:
            handle.cancel()
        reactor.run_once(0)
        assert len(reactor._timers) == 0
        assert reactor.next_deadline() is None
    finally:
        reactor.close()


def test_cancel_after_firing_is_harmless() -> None:
    queue = TimerQueue()
    handle = queue.push(0.0, print, (1,))
    assert fire_all(queue) == [1]
    handle.cancel()
    assert queue.cancelled_count == 0
