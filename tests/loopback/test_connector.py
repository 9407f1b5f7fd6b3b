"""Outbound connections: success, refusal, timeout, names resolved off the loop."""

from __future__ import annotations

import socket
import struct

from protocols.echo import EchoHandler
from reactor.connector import Connector, ConnectState
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey
from reactor.testing import run_until


class Collect(BaseHandler):
    def __init__(self) -> None:
        self.data = bytearray()
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


def test_connect_and_echo(reactor: Reactor) -> None:
    listener = reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0)
    handler = Collect()
    done: list[Connector] = []
    connector = reactor.connect(lambda peer: handler, "127.0.0.1", listener.port, timeout=5)
    connector.add_done_callback(done.append)
    run_until(reactor, lambda: done)
    assert connector.state is ConnectState.CONNECTED
    transport = connector.transport
    assert transport is not None
    assert transport.peer == ("127.0.0.1", listener.port)
    assert reactor.connections[transport.id] is transport
    # both ends are in the reactor-wide view, told apart by id
    assert len(reactor.connections) == 2
    transport.write(b"Some Data")
    run_until(reactor, lambda: handler.data == b"Some Data")
    transport.close()
    run_until(reactor, lambda: handler.lost and not reactor.connections)


def test_connect_by_name_resolves_off_the_loop(reactor: Reactor) -> None:
    listener = reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0)
    connector = reactor.connect(lambda peer: Collect(), "localhost", listener.port, timeout=5)
    assert connector.state is ConnectState.RESOLVING
    run_until(reactor, connector.done)
    state: ConnectState = connector.state
    if state is ConnectState.FAILED:  # localhost may resolve to ::1 first
        assert isinstance(connector.error, OSError)
    else:
        assert state is ConnectState.CONNECTED


def test_connection_refused_reaches_the_caller(reactor: Reactor) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        connector = reactor.connect(lambda peer: Collect(), "127.0.0.1", port, timeout=5)
        run_until(reactor, connector.done)
    assert connector.state is ConnectState.FAILED
    assert isinstance(connector.error, ConnectionRefusedError)


def test_connect_timeout(reactor: Reactor) -> None:
    # A listener whose backlog is full and never accepts: new SYNs are dropped.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", port))
            fillers.append(f)
        connector = reactor.connect(lambda peer: Collect(), "127.0.0.1", port, timeout=0.3)
        run_until(reactor, connector.done, timeout=5)
        if connector.state is ConnectState.FAILED:
            assert isinstance(connector.error, TimeoutError)
        else:  # the kernel let it through after all: still ended once, not hung
            assert connector.state is ConnectState.CONNECTED
    finally:
        for f in fillers:
            f.close()
        server.close()


def test_cancel_before_connected(reactor: Reactor) -> None:
    listener = reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0)
    connector = reactor.connect(lambda peer: Collect(), "127.0.0.1", listener.port)
    connector.cancel()
    assert connector.state is ConnectState.CANCELLED
    for _ in range(5):
        reactor.run_once(0.001)
    assert connector.transport is None


def test_factory_peer_key_is_the_server(reactor: Reactor) -> None:
    listener = reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0)
    seen: list[PeerKey] = []

    def factory(peer: PeerKey) -> Collect:
        seen.append(peer)
        return Collect()

    connector = reactor.connect(factory, "127.0.0.1", listener.port)
    run_until(reactor, connector.done)
    assert seen == [("127.0.0.1", listener.port)]


class Record(BaseHandler):
    """Everything the handler is told, in order."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def connection_made(self, transport: object) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(data)

    def eof_received(self) -> bool:
        self.events.append("eof")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append(exc)


def _write_a_line_and_reset(server: socket.socket) -> None:
    """Accept (blocking), send a line, then abort: the peer gets a RST after it."""
    peer, _ = server.accept()
    peer.sendall(b"bye\n")
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()


def test_a_reset_before_the_connect_completes_keeps_the_bytes_sent_first(
    reactor: Reactor,
) -> None:
    # The server answers and aborts before the client's loop sees the
    # handshake end: the socket is reset by then (getpeername says ENOTCONN),
    # but the line is in its receive queue and must reach the handler.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        handler = Record()
        connector = reactor.connect(lambda peer: handler, "127.0.0.1", port)
        run_until(reactor, lambda: connector.state is not ConnectState.RESOLVING)
        assert connector.state is ConnectState.CONNECTING
        _write_a_line_and_reset(server)
        run_until(reactor, lambda: len(handler.events) >= 3, timeout=5)
    state: ConnectState = connector.state  # moved on since the check above
    assert state is ConnectState.CONNECTED, connector.error
    assert connector.transport is not None
    assert connector.transport.peer == ("127.0.0.1", port)
    made, line, lost = handler.events
    assert (made, line) == ("made", b"bye\n")
    assert isinstance(lost, ConnectionResetError)


def test_a_reset_before_the_connect_completes_with_nothing_sent_fails_the_attempt(
    reactor: Reactor,
) -> None:
    # Nothing to read: the attempt fails with the reset, no handler is made.
    with socket.create_server(("127.0.0.1", 0)) as server:
        made: list[PeerKey] = []

        def factory(peer: PeerKey) -> Record:
            made.append(peer)
            return Record()

        connector = reactor.connect(factory, "127.0.0.1", server.getsockname()[1])
        run_until(reactor, lambda: connector.state is not ConnectState.RESOLVING)
        peer, _ = server.accept()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        run_until(reactor, connector.done, timeout=5)
    assert connector.state is ConnectState.FAILED
    assert isinstance(connector.error, ConnectionResetError)
    assert made == []
