"""Connections on real loopback sockets: ordering, the table, backpressure, half-close."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import selectors
import socket
import sys
from typing import cast

import pytest

from protocols.chargen import line
from protocols.echo import EchoHandler
from reactor.listener import Listener
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Transport
from reactor.testing import run_until
from reactor.transport import Connection
from tests.conftest import has_ipv6
from tests.helpers import client, fill, read_exactly, read_until_eof, recv_some


class Recorder(BaseHandler):
    """Records every callback in order."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.data = bytearray()
        self.keep_open = False
        self.lost_exc: Exception | None = None

    def connection_made(self, transport: Transport) -> None:
        self.transport = transport
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append("data")
        self.data += data

    def eof_received(self) -> bool:
        self.events.append("eof")
        return self.keep_open

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")
        self.lost_exc = exc


def recording_listener(
    reactor: Reactor, cls: type[Recorder] = Recorder
) -> tuple[Listener, list[Recorder]]:
    """A listener on a free port whose handlers are kept, in accept order."""
    handlers: list[Recorder] = []

    def factory(peer: PeerKey) -> Recorder:
        handlers.append(cls())
        return handlers[-1]

    return reactor.listen(factory, "127.0.0.1", 0), handlers


def echo(peer: PeerKey) -> EchoHandler:
    return EchoHandler()


def test_callback_order_made_data_eof_lost(reactor: Reactor) -> None:
    listener, handlers = recording_listener(reactor)
    sock = client(listener.port)
    sock.send(b"hello")
    run_until(reactor, lambda: handlers and handlers[0].data == b"hello")
    sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: "lost" in handlers[0].events)
    events = handlers[0].events
    assert events[0] == "made"
    assert events[-2:] == ["eof", "lost"]
    assert events.count("lost") == 1
    assert handlers[0].lost_exc is None
    assert not listener.connections
    sock.close()


def test_half_closed_client_gets_its_echo_whole(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    sock = client(listener.port)
    payload = os.urandom(3 * 1024 * 1024)
    view = memoryview(payload)
    sent = 0
    got = bytearray()

    def pump() -> bool:
        nonlocal sent
        if sent < len(payload):
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(view[sent : sent + 65536])
            if sent == len(payload):
                sock.shutdown(socket.SHUT_WR)
        while True:
            chunk = recv_some(sock)
            if chunk is None:
                return False
            if not chunk:
                return True
            got.extend(chunk)

    run_until(reactor, pump, timeout=30)
    assert bytes(got) == payload
    sock.close()


def test_thousand_concurrent_echo_clients_half_closing() -> None:
    """1,000 clients send random data and half-close; each gets exactly its bytes back."""
    reactor = Reactor()
    listener = reactor.listen(echo, "127.0.0.1", 0, backlog=1024)
    rng = random.Random(1234)
    clients: dict[int, tuple[socket.socket, bytes, bytearray]] = {}
    sel = selectors.DefaultSelector()
    try:
        for _ in range(1000):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", listener.port))
            payload = rng.randbytes(rng.randint(1, 4096))
            clients[sock.fileno()] = (sock, payload, bytearray())
            sel.register(sock, selectors.EVENT_WRITE)
            reactor.run_once(0)
        done: set[int] = set()

        def step() -> bool:
            for key, mask in sel.select(0):
                sock, payload, got = clients[key.fd]
                if mask & selectors.EVENT_WRITE:
                    sock.sendall(payload)  # small: fits the socket buffer
                    sock.shutdown(socket.SHUT_WR)
                    sel.modify(sock, selectors.EVENT_READ)
                    continue
                chunk = sock.recv(65536)
                if chunk:
                    got += chunk
                else:
                    sel.unregister(sock)
                    done.add(key.fd)
            return len(done) == len(clients)

        run_until(reactor, step, timeout=60, step=0.001)
        for _, payload, got in clients.values():
            assert bytes(got) == payload
        run_until(reactor, lambda: not listener.connections)
        assert listener.accepted == 1000
    finally:
        for sock, _, _ in clients.values():
            sock.close()
        sel.close()
        reactor.close()


def test_the_table_keys_are_the_clients_addresses(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    socks = [client(listener.port) for _ in range(5)]
    run_until(reactor, lambda: len(listener.connections) == 5)
    assert set(listener.connections) == {s.getsockname() for s in socks}
    # two clients from one host are told apart by their port
    assert len({host for host, _ in listener.connections}) == 1
    for key, conn in listener.connections.items():
        assert conn.peer == key
        assert conn.local == ("127.0.0.1", listener.port)
        assert reactor.connections[conn.id] is conn
    ids = sorted(conn.id for conn in listener.connections.values())
    assert len(set(ids)) == 5
    for s in socks:
        s.close()
    run_until(reactor, lambda: not listener.connections and not reactor.connections)


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback here")
def test_ipv6_and_dual_stack_keys_are_normalised(reactor: Reactor) -> None:
    v6 = reactor.listen(echo, "::1", 0)
    sock6 = client(v6.port, "::1")
    run_until(reactor, lambda: v6.connections)
    assert list(v6.connections) == [sock6.getsockname()[:2]]
    dual = reactor.listen(echo, "::", 0, dual_stack=True)
    sock4 = client(dual.port, "127.0.0.1")
    run_until(reactor, lambda: dual.connections)
    assert list(dual.connections) == [sock4.getsockname()]  # a dotted quad, not ::ffff:
    sock6.close()
    sock4.close()


def test_unix_socket_peers_are_keyed_uniquely(reactor: Reactor, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "r.sock")
    listener = reactor.listen(echo, path)
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.setblocking(False)
        socks.append(s)
    run_until(reactor, lambda: len(listener.connections) == 2)
    for host, port in listener.connections:
        assert host == "unix:"
        assert port in {c.id for c in listener.connections.values()}
    socks[0].send(b"over unix")
    assert read_exactly(reactor, socks[0], 9) == b"over unix"
    for s in socks:
        s.close()
    listener.close()
    assert not os.path.exists(path)


def test_client_that_never_reads_is_bounded_and_others_carry_on(reactor: Reactor) -> None:
    class Echoing(Recorder):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            assert self.transport is not None
            self.transport.write(data)

        def pause_writing(self) -> None:
            super().pause_writing()
            assert self.transport is not None
            self.transport.pause_reading()

        def resume_writing(self) -> None:
            super().resume_writing()
            assert self.transport is not None
            self.transport.resume_reading()

    listener, handlers = recording_listener(reactor, Echoing)
    hog = client(listener.port)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    run_until(reactor, lambda: handlers)
    conn = cast("Connection", handlers[0].transport)
    chunk = b"y" * 65536
    pushed = 0
    for _ in range(400):  # bounded: keep pushing while the server lets us
        try:
            pushed += hog.send(chunk)
        except BlockingIOError:
            reactor.run_once(0.01)
            if not conn.is_reading() and "pause" in handlers[0].events:
                try:
                    pushed += hog.send(chunk)
                except BlockingIOError:
                    break
        reactor.run_once(0)
    assert "pause" in handlers[0].events
    assert not conn.is_reading()
    high = conn.get_write_buffer_limits()[1]
    # bounded: at most the high-water mark plus one read's worth of echo
    assert conn.get_write_buffer_size() <= high + 64 * 1024 + 1
    other = client(listener.port)
    other.send(b"still served")
    assert read_exactly(reactor, other, 12) == b"still served"
    # draining the hog resumes it
    drained = 0
    for _ in range(10_000):
        chunk_in = recv_some(hog)
        if chunk_in:
            drained += len(chunk_in)
        reactor.run_once(0.001)
        if "resume" in handlers[0].events:
            break
    assert "resume" in handlers[0].events
    hog.close()
    other.close()


def test_chargen_produces_only_while_not_paused(reactor: Reactor) -> None:
    from protocols.chargen import ChargenHandler

    handlers: list[ChargenHandler] = []

    def factory(peer: PeerKey) -> ChargenHandler:
        handlers.append(ChargenHandler())
        return handlers[-1]

    listener = reactor.listen(factory, "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(reactor, lambda: handlers and handlers[0]._paused)
    conn = cast("Connection", handlers[0].transport)
    size = conn.get_write_buffer_size()
    for _ in range(20):
        reactor.run_once(0.001)
    assert conn.get_write_buffer_size() == size  # no production while paused
    first = read_exactly(reactor, sock, 2 * 74)
    assert first.startswith(line(0) + line(1))
    sock.close()


def test_a_raising_handler_loses_only_its_own_connection(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    class Faulty(EchoHandler):
        def data_received(self, data: bytes) -> None:
            if data == b"boom":
                raise RuntimeError("handler bug")
            super().data_received(data)

    listener = reactor.listen(lambda peer: Faulty(), "127.0.0.1", 0)
    good = client(listener.port)
    bad = client(listener.port)
    run_until(reactor, lambda: len(listener.connections) == 2)
    with caplog.at_level(logging.ERROR, logger="reactor.transport"):
        bad.send(b"boom")
        assert read_until_eof(reactor, bad) == b""
    assert f"handler failed for ('127.0.0.1', {bad.getsockname()[1]})" in caplog.text
    good.send(b"fine")
    assert read_exactly(reactor, good, 4) == b"fine"
    assert list(listener.connections) == [good.getsockname()]
    good.close()
    bad.close()


def test_reset_by_peer_becomes_connection_lost_with_the_error(reactor: Reactor) -> None:
    listener, handlers = recording_listener(reactor)
    sock = client(listener.port)
    run_until(reactor, lambda: handlers)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # RST
    run_until(reactor, lambda: "lost" in handlers[0].events)
    assert isinstance(handlers[0].lost_exc, ConnectionResetError)
    assert handlers[0].transport is None or handlers[0].events[-1] == "lost"


def test_write_to_a_vanished_peer_never_raises(reactor: Reactor) -> None:
    listener, handlers = recording_listener(reactor)
    sock = client(listener.port)
    run_until(reactor, lambda: handlers)
    transport = handlers[0].transport
    assert transport is not None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    for _ in range(50):
        transport.write(b"z" * 100_000)  # never raises, never blocks
        reactor.run_once(0.001)
    run_until(reactor, lambda: "lost" in handlers[0].events)
    assert handlers[0].events.count("lost") == 1


def test_close_flushes_and_abort_drops(reactor: Reactor) -> None:
    listener, handlers = recording_listener(reactor)
    a = client(listener.port)
    b = client(listener.port)
    run_until(reactor, lambda: len(handlers) == 2)
    big = os.urandom(2 * 1024 * 1024)
    ta, tb = handlers[0].transport, handlers[1].transport
    assert ta is not None and tb is not None
    ta.write(big)
    ta.close()
    assert ta.is_closing()
    assert read_until_eof(reactor, a) == big
    written = 0
    for _ in range(200):  # until the kernel is full and our own buffer holds data
        tb.write(big)
        written += len(big)
        if tb.get_write_buffer_size() > len(big):
            break
    assert tb.get_write_buffer_size() > 0
    tb.abort()
    assert len(read_until_eof(reactor, b)) < written
    a.close()
    b.close()


def test_write_eof_half_closes_after_the_buffer_drains(reactor: Reactor) -> None:
    listener, handlers = recording_listener(reactor)
    sock = client(listener.port)
    run_until(reactor, lambda: handlers)
    transport = handlers[0].transport
    assert transport is not None and transport.can_write_eof()
    transport.writelines([b"part one, ", bytearray(b"part two")])
    transport.write_eof()
    with pytest.raises(RuntimeError):
        transport.write(b"too late")
    assert read_until_eof(reactor, sock) == b"part one, part two"
    # our side still reads after the half-close
    sock.send(b"still listening")
    run_until(reactor, lambda: handlers[0].data == b"still listening")
    sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: "lost" in handlers[0].events)
    sock.close()


def test_eof_received_true_keeps_the_write_side_open(reactor: Reactor) -> None:
    class KeepOpen(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.keep_open = True

    listener, handlers = recording_listener(reactor, KeepOpen)
    sock = client(listener.port)
    sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: handlers and "eof" in handlers[0].events)
    transport = handlers[0].transport
    assert transport is not None
    transport.write(b"answer after your eof")
    transport.close()
    assert read_until_eof(reactor, sock) == b"answer after your eof"
    sock.close()


def test_set_protocol_hands_off_with_queued_output_kept(reactor: Reactor) -> None:
    second = Recorder()

    class Greeter(Recorder):
        def data_received(self, data: bytes) -> None:
            assert self.transport is not None
            first, _, rest = data.partition(b"\n")
            self.transport.write(b"hello " + first + b"\n")
            self.transport.set_protocol(second)
            second.transport = self.transport
            if rest:
                second.data_received(rest)

    listener = reactor.listen(lambda peer: Greeter(), "127.0.0.1", 0)
    sock = client(listener.port)
    sock.send(b"bob\nfirst bytes for the new owner")
    assert read_exactly(reactor, sock, 10) == b"hello bob\n"
    sock.send(b", and more")
    run_until(reactor, lambda: second.data == b"first bytes for the new owner, and more")
    sock.close()
    run_until(reactor, lambda: "lost" in second.events)


def test_pause_and_resume_reading(reactor: Reactor) -> None:
    listener, handlers = recording_listener(reactor)
    sock = client(listener.port)
    run_until(reactor, lambda: handlers)
    transport = handlers[0].transport
    assert transport is not None
    transport.pause_reading()
    assert not transport.is_reading()
    written = fill(sock)
    for _ in range(10):
        reactor.run_once(0.001)
    assert len(handlers[0].data) == 0
    transport.resume_reading()
    run_until(reactor, lambda: len(handlers[0].data) == written)
    sock.close()


def test_per_connection_figures(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    sock = client(listener.port)
    sock.send(b"12345")
    assert read_exactly(reactor, sock, 5) == b"12345"
    conn = next(iter(listener.connections.values()))
    assert conn.bytes_in == 5
    assert conn.bytes_out == 5
    assert conn.created <= conn.last_activity <= reactor.time()
    assert conn.get_write_buffer_size() == 0
    assert conn.is_reading() and not conn.writing_paused
    assert conn.get_extra_info("peername") == sock.getsockname()
    assert conn.get_extra_info("socket") is not None
    assert conn.get_extra_info("nope", 7) == 7
    assert repr(conn).startswith(f"<Connection #{conn.id} 127.0.0.1:")
    sock_opt = cast("socket.socket", conn.get_extra_info("socket"))
    assert sock_opt.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    conn.set_keepalive(True, idle=30, interval=5, count=3)
    assert sock_opt.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    sock.close()


def test_water_marks_are_settable(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    conn = next(iter(listener.connections.values()))
    assert conn.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
    conn.set_write_buffer_limits(high=1000)
    assert conn.get_write_buffer_limits() == (250, 1000)
    with pytest.raises(ValueError, match="low"):
        conn.set_write_buffer_limits(high=10, low=20)
    sock.close()


@pytest.mark.skipif(sys.platform != "linux", reason="epoll")
def test_sigpipe_never_kills_the_process(reactor: Reactor) -> None:
    import signal

    old = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        test_write_to_a_vanished_peer_never_raises(reactor)
    finally:
        signal.signal(signal.SIGPIPE, old)


def test_frames_before_an_oversize_one_are_delivered(reactor: Reactor) -> None:
    from reactor.framing import FrameTooLarge, LengthPrefixFramer

    class Framed(Recorder):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            transport.set_framer(LengthPrefixFramer(1, max_size=10))

        def data_received(self, data: bytes) -> None:
            self.events.append("data:" + data.decode())

    listener, handlers = recording_listener(reactor, Framed)
    sock = client(listener.port)
    sock.send(b"\x03abc\x02de\xc8" + b"z" * 20)  # two good frames, then 200 > 10
    run_until(reactor, lambda: handlers and "lost" in handlers[0].events)
    assert handlers[0].events == ["made", "data:abc", "data:de", "lost"]
    assert isinstance(handlers[0].lost_exc, FrameTooLarge)
    sock.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_local_address_is_known_during_and_after_connection_lost(
    reactor: Reactor, host: str
) -> None:
    seen: list[PeerKey] = []

    class Watch(Recorder):
        def connection_lost(self, exc: Exception | None) -> None:
            assert self.transport is not None
            seen.append(self.transport.local)
            super().connection_lost(exc)

    listener = reactor.listen(lambda peer: Watch(), host, 0)
    sock = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    conn = next(iter(listener.connections.values()))
    sock.close()
    run_until(reactor, lambda: seen)
    assert seen == [("127.0.0.1", listener.port)]
    assert conn.local == ("127.0.0.1", listener.port)


def test_eof_never_overtakes_messages_held_by_active_once(reactor: Reactor) -> None:
    from reactor.framing import LineFramer

    class Once(Recorder):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            transport.set_framer(LineFramer(max_size=100))
            transport.set_active("once")

        def data_received(self, data: bytes) -> None:
            self.events.append("data:" + data.decode().strip())
            assert self.transport is not None
            # re-arm later, as a gen_tcp owner does once it handled the message
            self.transport.loop.call_soon(self.transport.set_active, "once")

    listener, handlers = recording_listener(reactor, Once)
    sock = client(listener.port)
    sock.sendall(b"one\ntwo\nthree\n")
    sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: handlers and "lost" in handlers[0].events)
    assert handlers[0].events == ["made", "data:one", "data:two", "data:three", "eof", "lost"]
    sock.close()


def test_a_handler_failing_in_deferred_delivery_loses_its_connection(
    reactor: Reactor,
) -> None:
    from reactor.framing import LineFramer

    class FailSecond(Recorder):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            transport.set_framer(LineFramer(max_size=100))
            transport.set_active("once")

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if data == b"two\n":
                raise RuntimeError("handler bug")
            assert self.transport is not None
            self.transport.loop.call_soon(self.transport.set_active, "once")

    listener, handlers = recording_listener(reactor, FailSecond)
    sock = client(listener.port)
    sock.sendall(b"one\ntwo\nthree\n")
    run_until(reactor, lambda: handlers and "lost" in handlers[0].events)
    assert isinstance(handlers[0].lost_exc, RuntimeError)
    assert handlers[0].data == b"one\ntwo\n"
    sock.close()
