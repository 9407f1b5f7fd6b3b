"""The loop and threads: lost wake-ups, stop() while stepping, who may run and schedule."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from reactor.embedding import ReactorThread
from reactor.loop import Reactor


class _RacingSocket:
    """The waker's read end, with a wake-up that lands in the middle of the drain.

    It stands for another thread (or a signal handler) calling
    ``call_soon_threadsafe`` while the loop is draining the pipe.
    """

    def __init__(self, real: socket.socket, race: threading.Event, reactor: Reactor) -> None:
        self.real = real
        self.race = race
        self.reactor = reactor
        self.ran: list[str] = []

    def fileno(self) -> int:
        return self.real.fileno()

    def recv(self, size: int) -> bytes:
        if self.race.is_set():
            self.race.clear()
            self.reactor.call_soon_threadsafe(self.ran.append, "raced")
        return self.real.recv(size)

    def close(self) -> None:
        self.real.close()


def test_a_wake_up_racing_with_the_drain_is_never_lost(reactor: Reactor) -> None:
    waker = reactor._waker
    race = threading.Event()
    racing = _RacingSocket(waker.rsock, race, reactor)
    waker.rsock = cast("socket.socket", racing)  # a stand-in with recv() and fileno()
    reactor.call_soon_threadsafe(racing.ran.append, "first")
    race.set()
    reactor.run_once(5)
    # The racing callback was queued before the turn's callbacks were counted.
    assert racing.ran == ["first", "raced"]
    # And the pipe still works: the next wake-up makes the selector readable
    # (what a host loop polling fileno() waits for), and the loop runs it.
    reactor.call_soon_threadsafe(racing.ran.append, "after")
    readable, _, _ = select.select([reactor.fileno()], [], [], 5)
    assert readable, "call_soon_threadsafe wrote no wake-up byte"
    reactor.run_once(5)
    assert racing.ran == ["first", "raced", "after"]


def test_threadsafe_calls_under_contention_never_wait_long() -> None:
    """Each thread calls, then waits for its callback: none may wait for ever."""
    threads, calls, bound = 4, 3000, 5.0
    slowest: list[float] = []
    stalled: list[int] = []
    with ReactorThread() as rt:
        barrier = threading.Barrier(threads)

        def worker(n: int) -> None:
            done = threading.Event()
            worst = 0.0
            barrier.wait(10)
            for _ in range(calls):
                done.clear()
                t0 = time.monotonic()
                rt.reactor.call_soon_threadsafe(done.set)
                if not done.wait(bound):
                    stalled.append(n)
                    return
                worst = max(worst, time.monotonic() - t0)
            slowest.append(worst)

        workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(threads * bound + 30)
        assert not any(w.is_alive() for w in workers)
    assert stalled == [], f"callbacks of threads {stalled} waited more than {bound} s"
    assert len(slowest) == threads


# -- stop() while a host steps the loop ------------------------------------------


def timed_turn(reactor: Reactor, timeout: float) -> float:
    t0 = time.monotonic()
    reactor.run_once(timeout)
    return time.monotonic() - t0


def test_stop_spares_one_wait_of_run_once_then_it_waits_again(reactor: Reactor) -> None:
    reactor.stop()
    assert timed_turn(reactor, 0.2) < 0.15  # the turn after stop() does not wait
    assert 0.15 < timed_turn(reactor, 0.2) < 5  # the request is spent: this one waits


def test_stop_from_a_callback_spares_the_next_wait_only(reactor: Reactor) -> None:
    reactor.call_soon(reactor.stop)
    reactor.run_once(0)  # runs stop()
    assert timed_turn(reactor, 0.2) < 0.15
    assert 0.15 < timed_turn(reactor, 0.2) < 5


def test_stop_before_run_runs_one_turn_and_run_consumes_it(reactor: Reactor) -> None:
    ran: list[int] = []
    reactor.call_soon(ran.append, 1)
    reactor.stop()
    reactor.run()  # one turn, then back
    assert ran == [1]
    assert 0.15 < timed_turn(reactor, 0.2) < 5


# -- who may run the loop ----------------------------------------------------------


def noop() -> None:
    pass


def test_run_once_from_a_second_thread_raises_while_run_is_running() -> None:
    with ReactorThread() as rt:
        rt.call(noop)  # run() is on the reactor thread's stack now
        with pytest.raises(RuntimeError, match="already running"):
            rt.reactor.run_once(0)
        with pytest.raises(RuntimeError, match="already running"):
            rt.reactor.run()
        assert rt.call(lambda: 6 * 7) == 42  # and the loop carries on


def test_run_from_a_second_thread_raises_while_run_once_is_in_a_turn(reactor: Reactor) -> None:
    errors: list[BaseException] = []

    def run_elsewhere() -> None:
        try:
            reactor.run()
        except RuntimeError as exc:
            errors.append(exc)

    def in_the_turn() -> None:
        other = threading.Thread(target=run_elsewhere)
        other.start()
        other.join(5)
        if other.is_alive():  # the old behaviour: a second loop; stop it, then fail
            reactor.call_soon_threadsafe(reactor.stop)
            other.join(5)

    reactor.call_soon(in_the_turn)
    reactor.run_once(0)
    assert len(errors) == 1
    assert "already running" in str(errors[0])


def test_a_callback_cannot_run_a_nested_turn(reactor: Reactor) -> None:
    errors: list[BaseException] = []

    def nested() -> None:
        try:
            reactor.run_once(0)
        except RuntimeError as exc:
            errors.append(exc)

    reactor.call_soon(nested)
    reactor.run_once(0)
    assert len(errors) == 1
    reactor.run_once(0)  # the lock was released: stepping goes on


# -- debug mode ------------------------------------------------------------------------


def test_debug_mode_refuses_non_thread_safe_calls_from_another_thread() -> None:
    a, b = socket.socketpair()
    with a, b, ReactorThread(Reactor(debug=True)) as rt:
        r = rt.reactor
        rt.call(noop)
        calls: dict[str, Callable[[], object]] = {
            "call_soon": lambda: r.call_soon(noop),
            "call_later": lambda: r.call_later(1, noop),
            "call_at": lambda: r.call_at(r.time() + 1, noop),
            "add_reader": lambda: r.add_reader(a, noop),
            "add_writer": lambda: r.add_writer(a, noop),
            "remove_reader": lambda: r.remove_reader(a),
            "remove_writer": lambda: r.remove_writer(a),
            "listen": lambda: r.listen(lambda peer: None, "127.0.0.1", 0),
            "connect": lambda: r.connect(lambda peer: None, "127.0.0.1", 9),
        }
        for name, call in calls.items():
            with pytest.raises(RuntimeError, match=f"{name}.. called from another thread"):
                call()
        # On the reactor's own thread the same calls are fine.
        rt.call(r.add_reader, a, noop)
        assert rt.call(r.remove_reader, a)
        r.call_soon_threadsafe(noop)  # the thread-safe one is always fine


def test_debug_mode_allows_setting_up_from_another_thread_before_the_loop_runs() -> None:
    r = Reactor(debug=True)
    errors: list[BaseException] = []

    def setup() -> None:
        try:
            r.call_soon(noop)
            r.call_later(1, noop)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=setup)
    t.start()
    t.join(5)
    r.close()
    assert errors == []


def test_set_debug_turns_the_thread_check_on_and_off() -> None:
    with ReactorThread(Reactor(debug=False)) as rt:
        r = rt.reactor
        assert not r.get_debug()
        rt.call(noop)
        handle = r.call_soon(noop)  # not checked: a bug, but nobody pays for the check
        handle.cancel()
        r.set_debug(True)
        assert r.get_debug()
        with pytest.raises(RuntimeError):
            r.call_soon(noop)


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("flags", "expected"), [([], "False"), (["-X", "dev"], "True")])
def test_debug_mode_is_on_by_default_in_python_dev_mode(flags: list[str], expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDEVMODE"}
    env["PYTHONPATH"] = str(ROOT)
    code = "from reactor.loop import Reactor; r = Reactor(); print(r.get_debug()); r.close()"
    out = subprocess.run(
        [sys.executable, *flags, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == expected


def test_debug_mode_follows_this_interpreter_by_default(reactor: Reactor) -> None:
    assert reactor.get_debug() is bool(sys.flags.dev_mode)


# -- refused at once ------------------------------------------------------------------


def test_a_closed_reactor_refuses_callbacks_and_timers() -> None:
    r = Reactor()
    r.close()
    for call in (
        lambda: r.call_soon(noop),
        lambda: r.call_later(1, noop),
        lambda: r.call_at(1, noop),
        lambda: r.add_reader(0, noop),
    ):
        with pytest.raises(RuntimeError, match="closed"):
            call()
    r.call_soon_threadsafe(noop)  # a thread racing with close() gets no error


def test_a_callback_that_is_not_callable_is_refused_at_once(reactor: Reactor) -> None:
    bad = cast("Callable[..., object]", "not a function")  # what a type checker would catch
    for call in (
        lambda: reactor.call_soon(bad),
        lambda: reactor.call_later(1, bad),
        lambda: reactor.call_at(1, bad),
        lambda: reactor.call_soon_threadsafe(bad),
        lambda: reactor.add_reader(0, bad),
        lambda: reactor.add_writer(0, bad),
    ):
        with pytest.raises(TypeError, match="needs a callable"):
            call()
    assert reactor.timeout() is None  # nothing was queued
