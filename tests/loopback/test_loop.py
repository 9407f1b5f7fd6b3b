"""The loop: callbacks, timers on a fake clock, threads, embedding, signals, containment."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading

import pytest

from reactor.embedding import ReactorThread
from reactor.loop import Reactor
from reactor.testing import FakeClock, StepTimeout, run_until


def test_call_soon_is_fifo(fake_reactor: Reactor) -> None:
    out: list[int] = []
    for i in range(100):
        fake_reactor.call_soon(out.append, i)
    fake_reactor.run_once(0)
    assert out == list(range(100))


def test_callbacks_scheduled_by_callbacks_wait_for_the_next_turn(fake_reactor: Reactor) -> None:
    out: list[str] = []

    def first() -> None:
        out.append("first")
        fake_reactor.call_soon(out.append, "second")

    fake_reactor.call_soon(first)
    fake_reactor.run_once(0)
    assert out == ["first"]
    fake_reactor.run_once(0)
    assert out == ["first", "second"]


def test_timers_fire_in_deadline_order_with_ties_in_order(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    out: list[str] = []
    fake_reactor.call_later(2, out.append, "c")
    fake_reactor.call_later(1, out.append, "a")
    fake_reactor.call_at(clock.now + 1, out.append, "b")
    fake_reactor.call_later(2, out.append, "d")
    clock.advance(1)  # the bound clock runs what fell due
    assert out == ["a", "b"]
    clock.advance(1)
    assert out == ["a", "b", "c", "d"]


def test_cancelled_callbacks_do_not_run(fake_reactor: Reactor, clock: FakeClock) -> None:
    out: list[str] = []
    fake_reactor.call_soon(out.append, "soon").cancel()
    fake_reactor.call_later(1, out.append, "later").cancel()
    clock.advance(2)
    assert out == []


def test_timeout_and_next_deadline_for_a_host_loop(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    assert fake_reactor.timeout() is None
    fake_reactor.call_later(3, print)
    assert fake_reactor.timeout() == 3
    assert fake_reactor.next_deadline() == clock.now + 3
    fake_reactor.call_soon(print)
    assert fake_reactor.timeout() == 0


def test_exceptions_in_callbacks_are_contained(fake_reactor: Reactor) -> None:
    seen: list[dict[str, object]] = []
    fake_reactor.set_exception_handler(lambda r, ctx: seen.append(ctx))
    out: list[int] = []

    def boom() -> None:
        raise ValueError("boom")

    fake_reactor.call_soon(boom)
    fake_reactor.call_soon(out.append, 1)
    fake_reactor.run_once(0)
    assert out == [1]
    assert isinstance(seen[0]["exception"], ValueError)


def test_default_exception_handler_logs(
    fake_reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise ValueError("kaboom")

    fake_reactor.call_soon(boom)
    with caplog.at_level(logging.ERROR, logger="reactor.loop"):
        fake_reactor.run_once(0)
    assert "callback failed" in caplog.text
    assert "kaboom" in caplog.text


def test_a_failing_exception_handler_falls_back_to_logging(
    fake_reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    def bad_handler(r: Reactor, ctx: dict[str, object]) -> None:
        raise RuntimeError("handler bug")

    fake_reactor.set_exception_handler(bad_handler)
    fake_reactor.call_soon(lambda: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="reactor.loop"):
        fake_reactor.run_once(0)
    assert "handler bug" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_run_until_stop(reactor: Reactor) -> None:
    out: list[int] = []
    reactor.call_later(0.01, out.append, 1)
    reactor.call_later(0.02, reactor.stop)
    reactor.run()
    assert out == [1]
    assert not reactor.is_running()


def test_run_until_raises_at_its_deadline(fake_reactor: Reactor) -> None:
    with pytest.raises(StepTimeout):
        run_until(fake_reactor, lambda: False, timeout=0.05, step=0.01)


def test_add_and_remove_reader_and_writer(reactor: Reactor) -> None:
    a, b = socket.socketpair()
    with a, b:
        got: list[bytes] = []
        reactor.add_reader(a, lambda: got.append(a.recv(100)))
        b.send(b"hi")
        run_until(reactor, lambda: got)
        assert got == [b"hi"]
        writable: list[bool] = []
        reactor.add_writer(a.fileno(), writable.append, True)
        run_until(reactor, lambda: writable)
        assert reactor.remove_writer(a)
        assert reactor.remove_reader(a)
        assert not reactor.remove_reader(a)


def test_a_failing_reader_is_reported_and_the_loop_goes_on(reactor: Reactor) -> None:
    seen: list[dict[str, object]] = []
    reactor.set_exception_handler(lambda r, ctx: seen.append(ctx))
    a, b = socket.socketpair()
    with a, b:

        def bad() -> None:
            a.recv(10)
            raise KeyError("reader bug")

        reactor.add_reader(a, bad)
        b.send(b"x")
        run_until(reactor, lambda: seen)
        reactor.remove_reader(a)
    assert isinstance(seen[0]["exception"], KeyError)


def test_threadsafe_calls_from_many_threads_wake_the_loop_coalesced(reactor: Reactor) -> None:
    results: list[int] = []
    threads = 8
    per_thread = 500
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            reactor.call_soon_threadsafe(results.append, n * per_thread + i)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    turns = 0

    def step_count() -> bool:
        nonlocal turns
        turns += 1
        return len(results) == threads * per_thread

    run_until(reactor, step_count)
    for w in workers:
        w.join(5)
    assert sorted(results) == list(range(threads * per_thread))
    # coalesced: never more than one wake-up byte per loop turn
    writes = reactor._waker.writes
    assert writes <= turns + 1
    assert writes < threads * per_thread


def test_threadsafe_call_wakes_a_blocked_select() -> None:
    with ReactorThread() as rt:
        assert rt.call(lambda: 6 * 7) == 42
        event = threading.Event()
        rt.reactor.call_soon_threadsafe(event.set)
        assert event.wait(5)


def test_reactor_thread_reports_errors_from_calls() -> None:
    with ReactorThread() as rt, pytest.raises(ZeroDivisionError):
        rt.call(lambda: 1 / 0)
    assert rt.reactor.is_closed()


def test_reactor_thread_call_after_stop_fails_at_once() -> None:
    with ReactorThread() as rt:
        assert rt.call(lambda: 1) == 1
    with pytest.raises(RuntimeError, match="closed"):
        rt.call(lambda: 2, timeout=1)


def test_embedded_in_asyncio_through_fileno_and_timeout() -> None:
    """A host asyncio loop polls fileno() and honours timeout(): timers and I/O both fire."""
    reactor = Reactor()
    a, b = socket.socketpair()
    got: list[bytes] = []
    fired: list[str] = []
    reactor.add_reader(a, lambda: got.append(a.recv(100)))
    reactor.call_later(0.05, fired.append, "timer")

    async def host() -> None:
        loop = asyncio.get_running_loop()
        wake: asyncio.TimerHandle | None = None

        def step() -> None:
            nonlocal wake
            reactor.run_once(0)
            if wake is not None:
                wake.cancel()
            delay = reactor.timeout()
            wake = None if delay is None else loop.call_later(delay, step)

        loop.add_reader(reactor.fileno(), step)
        step()
        loop.call_later(0.01, b.send, b"ping")
        for _ in range(500):  # bounded: 5 s at most
            if got and fired:
                break
            await asyncio.sleep(0.01)
        loop.remove_reader(reactor.fileno())
        if wake is not None:
            wake.cancel()

    try:
        asyncio.run(host())
        assert got == [b"ping"]
        assert fired == ["timer"]
    finally:
        a.close()
        b.close()
        reactor.close()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="main only")
def test_signal_stops_the_reactor(reactor: Reactor) -> None:
    seen: list[int] = []

    def on_term() -> None:
        seen.append(signal.SIGTERM)
        reactor.stop()

    reactor.add_signal_handler(signal.SIGTERM, on_term)
    try:
        reactor.call_later(0.01, os.kill, os.getpid(), signal.SIGTERM)
        reactor.call_later(5, reactor.stop)  # bound: a missing signal fails, never hangs
        reactor.run()
        assert seen == [signal.SIGTERM]
    finally:
        assert reactor.remove_signal_handler(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_signal_handlers_need_the_main_thread() -> None:
    errors: list[BaseException] = []
    reactor = Reactor()

    def worker() -> None:
        try:
            reactor.add_signal_handler(signal.SIGUSR1, print)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    t.join(5)
    reactor.close()
    assert errors


def test_closed_reactor_refuses_work() -> None:
    reactor = Reactor()
    reactor.close()
    reactor.close()  # idempotent
    with pytest.raises(RuntimeError):
        reactor.run_once(0)


def test_a_timer_weeks_away_does_not_overflow_the_selector(fake_reactor: Reactor) -> None:
    """epoll takes milliseconds in a C int: a wait of 10**7 s used to raise OverflowError."""
    a, b = socket.socketpair()
    with a, b:
        got: list[bytes] = []
        fake_reactor.add_reader(a, lambda: got.append(a.recv(1)))
        fake_reactor.call_later(1e7, print)
        b.send(b"xy")  # readable for two turns: each returns at once, whatever it may wait
        fake_reactor.run_once()
        fake_reactor.run_once(1e9)
        assert got == [b"x", b"y"]
        fake_reactor.remove_reader(a)
