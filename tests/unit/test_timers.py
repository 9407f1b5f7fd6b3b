"""The timer heap: ordering, ties, O(1) cancel, compaction."""

from __future__ import annotations

import random
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor.loop import Reactor
from reactor.testing import FakeClock
from reactor.timers import DeadlineQueue, Handle, TimerQueue


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


class FakeConn:
    """The part of a connection the deadline queue sees."""

    def __init__(self, conn_id: int, fired: list[int]) -> None:
        self.id = conn_id
        self.idle_due: float | None = None
        self.fired = fired
        self.rearm: tuple[DeadlineQueue, float] | None = None

    def on_idle(self) -> None:
        self.fired.append(self.id)
        if self.rearm is not None:
            queue, delay = self.rearm
            self.rearm = None
            queue.arm(queue._clock() + delay, self)


def deadline_reactor() -> tuple[Reactor, FakeClock, DeadlineQueue]:
    clock = FakeClock(0.0)
    reactor = Reactor(clock=clock)
    return reactor, clock, reactor.deadlines


def test_deadlines_fire_in_order_through_one_reactor_timer() -> None:
    reactor, clock, queue = deadline_reactor()
    fired: list[int] = []
    try:
        for conn_id, when in [(1, 30.0), (2, 10.0), (3, 20.0), (4, 10.0)]:
            queue.arm(when, FakeConn(conn_id, fired))
        assert len(reactor._timers) - reactor._timers.cancelled_count == 1
        clock.advance(10)
        reactor.run_once(0)
        assert fired == [2, 4]  # ties in id order
        clock.advance(25)
        reactor.run_once(0)
        assert fired == [2, 4, 3, 1]
        assert len(queue) == 0
    finally:
        reactor.close()


def test_forgotten_deadlines_never_fire_and_are_compacted() -> None:
    reactor, clock, queue = deadline_reactor()
    fired: list[int] = []
    try:
        conns = [FakeConn(i, fired) for i in range(1000)]
        for conn in conns:
            queue.arm(100.0 + conn.id, conn)
        for conn in conns[:900]:
            queue.forget(conn)
            queue.forget(conn)  # twice is harmless
        assert len(queue) <= 200  # compacted once stale entries were the majority
        clock.advance(2000)
        reactor.run_once(0)
        assert fired == list(range(900, 1000))
    finally:
        reactor.close()


def test_a_deadline_armed_while_firing_keeps_the_timer_on_the_head() -> None:
    reactor, clock, queue = deadline_reactor()
    fired: list[int] = []
    try:
        early, late = FakeConn(1, fired), FakeConn(2, fired)
        queue.arm(5.0, early)
        queue.arm(8.0, late)
        early.rearm = (queue, 100.0)  # re-armed far out while the queue fires
        clock.advance(5)
        reactor.run_once(0)
        assert fired == [1]
        clock.advance(3)
        reactor.run_once(0)
        assert fired == [1, 2]  # the later entry still fired on time
        clock.advance(100)
        reactor.run_once(0)
        assert fired == [1, 2, 1]
    finally:
        reactor.close()


# -- bad numbers ---------------------------------------------------------------------

NAN = float("nan")
INF = float("inf")


def test_nan_is_refused_and_later_timers_still_fire(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    fired: list[str] = []
    fake_reactor.call_later(1, fired.append, "a")
    with pytest.raises(ValueError, match="NaN"):
        fake_reactor.call_later(NAN, fired.append, "nan")
    with pytest.raises(ValueError, match="NaN"):
        fake_reactor.call_at(NAN, fired.append, "nan")
    fake_reactor.call_later(2, fired.append, "b")
    fake_reactor.call_later(0.5, fired.append, "c")
    clock.advance(3)
    fake_reactor.run_once(0)
    assert fired == ["c", "a", "b"]


@pytest.mark.parametrize("bad", ["1", None, b"1", 1j, [1]])
def test_a_time_that_is_not_a_number_is_refused(fake_reactor: Reactor, bad: object) -> None:
    when = cast("float", bad)  # what a type checker would catch
    with pytest.raises(TypeError, match="call_later"):
        fake_reactor.call_later(when, print)
    with pytest.raises(TypeError, match="call_at"):
        fake_reactor.call_at(when, print)
    assert fake_reactor.timeout() is None  # nothing was scheduled
    fake_reactor.run_once(0)  # and the heap is sound


def test_infinity_is_never(fake_reactor: Reactor, clock: FakeClock) -> None:
    """+inf is accepted as asyncio accepts it: a timer that never fires."""
    fired: list[str] = []
    never = fake_reactor.call_later(INF, fired.append, "never")
    also_never = fake_reactor.call_at(INF, fired.append, "never")
    assert never.when == also_never.when == INF
    assert fake_reactor.timeout() is None  # a host loop may sleep until I/O
    assert fake_reactor.next_deadline() is None
    fake_reactor.call_later(1, fired.append, "soon")
    clock.advance(1e9)
    fake_reactor.run_once(0)
    assert fired == ["soon"]
    never.cancel()  # harmless
    assert not also_never.cancelled()


def test_minus_infinity_is_due_at_once(fake_reactor: Reactor) -> None:
    fired: list[str] = []
    fake_reactor.call_later(-INF, fired.append, "now")
    fake_reactor.run_once(0)
    assert fired == ["now"]
