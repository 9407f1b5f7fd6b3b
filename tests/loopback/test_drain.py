"""The graceful drain on real sockets: idle vs busy connections, EOF, deadline, the API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import cast

import pytest

from reactor.framing import LengthPrefixFramer
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, Handler, PeerKey, Transport
from reactor.testing import FakeClock, run_until
from reactor.transport import DRAIN_QUIET, Connection
from tests.helpers import client, read_until_eof, read_while, recv_some

_open: list[socket.socket] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def connect(port: int) -> socket.socket:
    sock = client(port)
    _open.append(sock)
    return sock


class Echo:
    """An echo that is not a BaseHandler (no drain hook) and keeps writing after EOF."""

    def __init__(self) -> None:
        self.transport: Transport | None = None
        self.lost: list[Exception | None] = []

    def connection_made(self, transport: Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def eof_received(self) -> bool:
        return True  # stay open: only the drain closes it at the EOF

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def bare(handler: Echo) -> Handler:
    """``handler`` as a Handler, which it is not to mypy: it deliberately lacks
    the optional hooks, and the transport must still apply their defaults."""
    return cast("Handler", handler)


class CountAtEof(BaseHandler):
    """Answers only at the peer's EOF, with the number of bytes it read."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def data_received(self, data: bytes) -> None:
        self.count += len(data)

    def eof_received(self) -> bool:
        assert self.transport is not None
        self.transport.write(b"%d" % self.count)
        return False


class Hooked(BaseHandler):
    """Counts the drain requests and closes at once."""

    __slots__ = ("requests",)

    def __init__(self) -> None:
        self.requests = 0

    def drain_requested(self) -> None:
        self.requests += 1
        assert self.transport is not None
        self.transport.close()


def is_fin(sock: socket.socket) -> bool:
    """Whether the peer closed with a FIN (``b""``), not a reset."""
    sock.setblocking(True)
    sock.settimeout(5)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return False
    return True


def test_idle_connections_close_at_once(fake_reactor: Reactor) -> None:
    handlers: list[Echo] = []

    def factory(peer: PeerKey) -> Handler:
        handlers.append(Echo())
        return bare(handlers[-1])

    listener = fake_reactor.listen(factory, "127.0.0.1", 0)
    socks = [connect(listener.port) for _ in range(5)]
    run_until(fake_reactor, lambda: len(listener.connections) == 5)
    drained: list[bool] = []
    listener.shutdown(30.0, lambda: drained.append(True))
    # The fake clock never moves: the deadline cannot be what closes them.
    run_until(fake_reactor, lambda: drained)
    assert all(h.lost == [None] for h in handlers)
    assert all(is_fin(sock) for sock in socks)
    assert listener.is_closed()


def test_busy_connection_reads_and_answers_until_the_peer_eof(fake_reactor: Reactor) -> None:
    handlers: list[Echo] = []

    def factory(peer: PeerKey) -> Handler:
        handlers.append(Echo())
        return bare(handlers[-1])

    listener = fake_reactor.listen(factory, "127.0.0.1", 0)
    sock = connect(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    sock.send(b"before the drain;")
    conn = next(iter(listener.connections.values()))
    # Unread bytes in the kernel: not idle (without the peek this would close now).
    drained: list[bool] = []
    listener.shutdown(30.0, lambda: drained.append(True))
    assert conn.is_draining()
    assert not conn.is_closing()
    got = bytearray(read_while(fake_reactor, sock, lambda got: len(got) < 17))
    sock.send(b" after it;")  # still read and answered
    sock.shutdown(socket.SHUT_WR)
    got += read_until_eof(fake_reactor, sock)
    assert bytes(got) == b"before the drain; after it;"
    run_until(fake_reactor, lambda: drained)
    assert handlers[0].lost == [None]


def quiet(clock: FakeClock, reactor: Reactor) -> None:
    """Let DRAIN_QUIET pass, so that only what is pending keeps a connection busy."""
    clock.advance(DRAIN_QUIET)
    reactor.run_once(0)


def test_a_connection_quiet_since_its_last_answer_is_idle(
    clock: FakeClock, fake_reactor: Reactor
) -> None:
    listener = fake_reactor.listen(lambda peer: bare(Echo()), "127.0.0.1", 0)
    sock = connect(listener.port)
    sock.send(b"ping")
    assert read_while(fake_reactor, sock, lambda got: got != b"ping") == b"ping"
    conn = next(iter(listener.connections.values()))
    listener.shutdown(30.0)
    assert not conn.is_closing()  # it just talked: the peer may be mid-stream
    quiet(clock, fake_reactor)
    listener.shutdown(30.0)  # a second drain request is a no-op ...
    assert not conn.is_closing()
    fresh = fake_reactor.listen(lambda peer: bare(Echo()), "127.0.0.1", 0)
    sock = connect(fresh.port)
    sock.send(b"ping")
    assert read_while(fake_reactor, sock, lambda got: got != b"ping") == b"ping"
    quiet(clock, fake_reactor)
    fresh.shutdown(30.0)  # ... but a quiet one is idle: closed at once
    assert read_until_eof(fake_reactor, sock) == b""


def test_a_pending_eof_is_not_idle(clock: FakeClock, fake_reactor: Reactor) -> None:
    """A request ended by a FIN the reactor has not read yet still gets its answer."""
    listener = fake_reactor.listen(lambda peer: CountAtEof(), "127.0.0.1", 0)
    sock = connect(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    conn = next(iter(listener.connections.values()))
    sock.send(b"x" * 100)
    run_until(fake_reactor, lambda: conn.bytes_in == 100)
    quiet(clock, fake_reactor)
    sock.shutdown(socket.SHUT_WR)  # in the server's kernel, not read: no turn until the drain
    listener.shutdown(30.0)
    assert read_until_eof(fake_reactor, sock) == b"100"


def test_a_partial_frame_is_not_idle(clock: FakeClock, fake_reactor: Reactor) -> None:
    class FramedEcho(Echo):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            assert isinstance(transport, Connection)
            transport.set_framer(LengthPrefixFramer(4))

        def data_received(self, data: bytes) -> None:
            assert self.transport is not None
            self.transport.write(len(data).to_bytes(4, "big") + data)

    listener = fake_reactor.listen(lambda peer: bare(FramedEcho()), "127.0.0.1", 0)
    sock = connect(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    conn = next(iter(listener.connections.values()))
    sock.send(b"\0\0\0\x05he")
    run_until(fake_reactor, lambda: conn.bytes_in == 6)
    quiet(clock, fake_reactor)
    listener.shutdown(30.0)
    assert not conn.is_closing()
    sock.send(b"llo")
    sock.shutdown(socket.SHUT_WR)
    assert read_until_eof(fake_reactor, sock) == b"\0\0\0\x05hello"


def test_the_deadline_aborts_stragglers(clock: FakeClock, fake_reactor: Reactor) -> None:
    handlers: list[Echo] = []

    def factory(peer: PeerKey) -> Handler:
        handlers.append(Echo())
        return bare(handlers[-1])

    listener = fake_reactor.listen(factory, "127.0.0.1", 0)
    idle, busy = connect(listener.port), connect(listener.port)
    run_until(fake_reactor, lambda: len(listener.connections) == 2)
    busy.send(b"ping")
    drained: list[bool] = []
    listener.shutdown(5.0, lambda: drained.append(True))
    run_until(fake_reactor, lambda: recv_some(busy) == b"ping")
    run_until(fake_reactor, lambda: len(listener.connections) == 1)  # the idle one went
    assert is_fin(idle)
    for _ in range(20):  # the busy peer never sends its EOF: it stays
        fake_reactor.run_once(0)
    assert len(listener.connections) == 1 and not drained
    clock.advance(5.0)
    run_until(fake_reactor, lambda: drained)
    assert not listener.connections
    assert sorted(map(len, (h.lost for h in handlers))) == [1, 1]


def test_reactor_shutdown_drains_listeners_and_outbound_connections(reactor: Reactor) -> None:
    inbound: list[Hooked] = []

    def factory(peer: PeerKey) -> Hooked:
        inbound.append(Hooked())
        return inbound[-1]

    listener = reactor.listen(factory, "127.0.0.1", 0)
    outbound = Echo()
    connector = reactor.connect(lambda peer: bare(outbound), "127.0.0.1", listener.port)
    run_until(reactor, lambda: connector.done() and listener.connections)
    assert len(reactor.connections) == 2
    listener.shutdown(30.0)  # then the reactor-wide one: each hook still runs once
    calls: list[str] = []
    reactor.shutdown(30.0, lambda: calls.append("first"))
    reactor.shutdown(30.0, lambda: calls.append("second"))
    run_until(reactor, lambda: len(calls) == 2)
    assert calls == ["first", "second"]
    assert not reactor.connections and not reactor.listeners
    assert [h.requests for h in inbound] == [1]
    assert outbound.lost == [None]
    # Once drained, a new shutdown (nothing open) calls back on the next turn.
    reactor.shutdown(1.0, lambda: calls.append("third"))
    run_until(reactor, lambda: len(calls) == 3)


def test_a_failing_hook_aborts_only_its_connection(fake_reactor: Reactor) -> None:
    class Broken(BaseHandler):
        __slots__ = ()

        def drain_requested(self) -> None:
            raise RuntimeError("bug in the hook")

    listener = fake_reactor.listen(lambda peer: Broken(), "127.0.0.1", 0)
    connect(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    drained: list[bool] = []
    fake_reactor.shutdown(30.0, lambda: drained.append(True))
    run_until(fake_reactor, lambda: drained)


def test_a_bad_timeout_is_refused_and_zero_allowed(reactor: Reactor) -> None:
    with pytest.raises(ValueError, match="timeout must be a finite number"):
        reactor.shutdown(-1.0)
    called: list[bool] = []
    reactor.shutdown(0.0, lambda: called.append(True))  # 0: abort what is open at once
    run_until(reactor, lambda: called)
