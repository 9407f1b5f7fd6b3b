"""The fake clock of the test kit: advance() runs what falls due; autojump."""

from __future__ import annotations

import time

import pytest

from protocols.echo import EchoHandler
from reactor.loop import Reactor
from reactor.testing import FakeClock, LoopbackClient, StepTimeout, run_until, settle


def test_advance_runs_the_timers_that_fell_due_without_another_turn(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    fired: list[str] = []
    fake_reactor.call_later(30, fired.append, "ttl")
    clock.advance(29.999)
    assert fired == []
    clock.advance(0.001)
    assert fired == ["ttl"]


def test_each_timer_runs_at_its_own_deadline_with_what_it_schedules(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    seen: list[tuple[str, float]] = []

    def note(name: str) -> None:
        seen.append((name, fake_reactor.time() - 1000.0))

    def soon() -> None:
        note("soon")
        fake_reactor.call_later(0, note, "zero")

    def chain() -> None:
        note("timer")
        fake_reactor.call_soon(soon)

    fake_reactor.call_later(2, note, "two")
    fake_reactor.call_later(1, chain)
    fake_reactor.call_later(3.5, note, "late")
    clock.advance(3)
    assert seen == [("timer", 1.0), ("soon", 1.0), ("zero", 1.0), ("two", 2.0)]
    assert clock.now == 1003.0
    clock.advance(1)
    assert seen[-1] == ("late", 3.5)


def test_a_periodic_timer_fires_once_per_period(fake_reactor: Reactor, clock: FakeClock) -> None:
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(fake_reactor.time() - 1000.0)
        fake_reactor.call_later(1, tick)

    fake_reactor.call_later(1, tick)
    clock.advance(10)
    assert ticks == [float(i) for i in range(1, 11)]


def test_an_unbound_clock_only_moves() -> None:
    clock = FakeClock(start=5.0)
    with Reactor(clock=clock) as reactor:
        fired: list[bool] = []
        reactor.call_later(1, fired.append, True)
        clock.advance(1)
        assert clock() == 6.0
        assert fired == []
        reactor.run_once(0)
        assert fired == [True]


def test_advance_checks_its_argument_and_the_binding(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    with Reactor() as other, pytest.raises(ValueError, match="does not run on this clock"):
        clock.bind(other)
    assert clock.reactor is None


def test_advance_from_a_callback_only_moves_time(fake_reactor: Reactor, clock: FakeClock) -> None:
    fired: list[float] = []
    fake_reactor.call_later(1, clock.advance, 5)
    fake_reactor.call_later(4, lambda: fired.append(fake_reactor.time()))
    clock.advance(1)
    # the nested call moved time without turning the loop again (no
    # re-entrance); the outer one then ran what that made due, and time
    # did not go back to its own target
    assert clock.now == 1006.0
    assert fired == [1006.0]


def test_advance_after_close_only_moves(clock: FakeClock) -> None:
    reactor = clock.bind(Reactor(clock=clock))
    reactor.close()
    clock.advance(3)
    assert clock.now == 1003.0


def test_settle_gives_up_on_a_callback_that_reschedules_itself(fake_reactor: Reactor) -> None:
    def again() -> None:
        fake_reactor.call_soon(again)

    fake_reactor.call_soon(again)
    with pytest.raises(StepTimeout, match="still busy after 50 turns"):
        settle(fake_reactor, max_turns=50)


def test_idle_timeout_closes_the_connection_within_advance(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    listener = fake_reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0, idle_timeout=30)
    with LoopbackClient(fake_reactor, listener.port) as client:
        run_until(fake_reactor, lambda: listener.connections)
        clock.advance(29)
        assert listener.connections
        clock.advance(1)
        assert not listener.connections  # timed out and reaped: no extra turn
        assert client.read_until_eof() == b""


def test_autojump_jumps_to_the_next_timer_instead_of_waiting(clock: FakeClock) -> None:
    clock.autojump = True
    reactor = clock.bind(Reactor(clock=clock))
    try:
        fired: list[float] = []
        reactor.call_later(3600, lambda: fired.append(reactor.time()))
        reactor.call_later(7200, fired.append, -1.0)
        started = time.monotonic()
        run_until(reactor, lambda: fired, timeout=5)
        assert time.monotonic() - started < 2  # an hour of fake time, no real wait
        assert fired == [1000.0 + 3600]
        assert clock.now == 1000.0 + 3600  # not beyond: the later timer waits
    finally:
        reactor.close()


def test_autojump_runs_ready_callbacks_before_jumping(clock: FakeClock) -> None:
    clock.autojump = True
    reactor = clock.bind(Reactor(clock=clock))
    try:
        order: list[str] = []
        reactor.call_later(10, order.append, "timer")
        reactor.call_soon(lambda: reactor.call_soon(order.append, "soon"))
        run_until(reactor, lambda: len(order) == 2, timeout=5)
        assert order == ["soon", "timer"]
    finally:
        reactor.close()


def test_autojump_with_nothing_scheduled_still_times_out(clock: FakeClock) -> None:
    clock.autojump = True
    reactor = clock.bind(Reactor(clock=clock))
    try:
        with pytest.raises(StepTimeout):
            run_until(reactor, lambda: False, timeout=0.2, step=0.01)
        assert clock.now == 1000.0
    finally:
        reactor.close()


def test_jump_does_nothing_while_work_is_ready(fake_reactor: Reactor, clock: FakeClock) -> None:
    assert not clock.jump(fake_reactor)  # nothing scheduled
    fake_reactor.call_later(5, print)
    fake_reactor.call_soon(print)
    assert not clock.jump(fake_reactor)
    assert clock.now == 1000.0
