"""Idle and write timeouts, on the fake clock and once in real time."""

from __future__ import annotations

import contextlib
import socket

from protocols.echo import EchoHandler
from reactor.listener import Listener
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey
from reactor.testing import FakeClock, run_until
from reactor.transport import Connection, WriteTimeout
from tests.helpers import client, read_exactly, read_until_eof


class Lost(BaseHandler):
    def __init__(self) -> None:
        self.lost: list[Exception | None] = []
        self.timeouts = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def losing_listener(reactor: Reactor, write_timeout: float) -> tuple[Listener, list[Lost]]:
    """A listener with a write timeout whose handlers are kept, in accept order."""
    handlers: list[Lost] = []

    def factory(peer: PeerKey) -> Lost:
        handlers.append(Lost())
        return handlers[-1]

    return reactor.listen(factory, "127.0.0.1", 0, write_timeout=write_timeout), handlers


def test_idle_timeout_fires_on_the_fake_clock(fake_reactor: Reactor, clock: FakeClock) -> None:
    listener = fake_reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0, idle_timeout=30)
    sock = client(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    clock.advance(20)
    sock.send(b"activity")
    assert read_exactly(fake_reactor, sock, 8) == b"activity"
    clock.advance(20)  # 40 s since connect, 20 since activity: still open
    assert listener.connections
    clock.advance(11)  # 31 s since activity: closed and reaped within advance()
    assert not listener.connections
    assert read_until_eof(fake_reactor, sock) == b""
    assert not listener.connections
    sock.close()


def test_idle_timeout_does_not_touch_the_heap_per_read(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    listener = fake_reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0, idle_timeout=30)
    sock = client(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    heap_size = len(fake_reactor._timers)
    seq = fake_reactor._timers._seq
    for i in range(50):
        sock.send(b"%d" % i)
        read_exactly(fake_reactor, sock, len(b"%d" % i))
    assert fake_reactor._timers._seq == seq  # no timer pushed per read or write
    assert len(fake_reactor._timers) == heap_size
    sock.close()


def test_timeout_hook_is_called_and_may_keep_the_connection(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    class Pinger(Lost):
        def timeout(self) -> None:
            self.timeouts += 1
            assert self.transport is not None
            self.transport.write(b"ping\n")

    handler = Pinger()
    listener = fake_reactor.listen(lambda p: handler, "127.0.0.1", 0, idle_timeout=10)
    sock = client(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    clock.advance(10)
    assert read_exactly(fake_reactor, sock, 5) == b"ping\n"
    clock.advance(10)
    assert handler.timeouts == 2
    assert not handler.lost
    sock.close()


def test_idle_timeout_in_real_time(reactor: Reactor) -> None:
    listener = reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0, idle_timeout=0.2)
    sock = client(listener.port)
    assert read_until_eof(reactor, sock, timeout=5) == b""
    sock.close()


def test_write_timeout_aborts_a_slow_consumer(fake_reactor: Reactor, clock: FakeClock) -> None:
    listener, handlers = losing_listener(fake_reactor, write_timeout=5)
    sock = client(listener.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    run_until(fake_reactor, lambda: listener.connections)
    conn: Connection = next(iter(listener.connections.values()))
    while conn.get_write_buffer_size() == 0:
        conn.write(b"w" * 1_000_000)
    for _ in range(5):
        fake_reactor.run_once(0.001)
    clock.advance(4)
    assert not handlers[0].lost
    clock.advance(2)
    assert len(handlers[0].lost) == 1
    assert isinstance(handlers[0].lost[0], WriteTimeout)
    sock.close()


def test_write_timeout_spares_a_consumer_that_drains(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    listener, handlers = losing_listener(fake_reactor, write_timeout=5)
    sock = client(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    conn: Connection = next(iter(listener.connections.values()))
    total = 0
    while conn.get_write_buffer_size() == 0:
        conn.write(b"w" * 1_000_000)
        total += 1_000_000
    received = 0
    # Slow but steady: one read per second of fake time.  (The bound clock
    # fires the write check at its exact deadline, before the reads that
    # follow: a read every 2 s left the kernel full for more than 5 s.)
    for _ in range(200):
        clock.advance(1)
        with contextlib.suppress(BlockingIOError):
            received += len(sock.recv(1 << 20))
        fake_reactor.run_once(0.001)
        if received >= total:
            break
    assert not handlers[0].lost
    sock.close()


def test_write_timeout_in_real_time(reactor: Reactor) -> None:
    listener, handlers = losing_listener(reactor, write_timeout=0.2)
    sock = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    conn: Connection = next(iter(listener.connections.values()))
    while conn.get_write_buffer_size() == 0:
        conn.write(b"w" * 1_000_000)
    run_until(reactor, lambda: handlers[0].lost, timeout=5)
    assert isinstance(handlers[0].lost[0], WriteTimeout)
    sock.close()
