"""The loop and threads: lost wake-ups, stop() while stepping, who may run and schedule."""

from __future__ import annotations

import select
import socket
import threading
import time

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
    waker.rsock = racing  # type: ignore[assignment]  # a stand-in with recv() and fileno()
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
