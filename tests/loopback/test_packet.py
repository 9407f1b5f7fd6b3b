"""The packet plugin and framing transports on real loopback sockets."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from protocols.packet import PacketEcho, plugin
from reactor.framing import (
    FramedHandler,
    Framer,
    LengthPrefixFramer,
    make_framer,
    parse_packet,
)
from reactor.loop import Reactor
from reactor.protocol import ActiveMode, BaseHandler, PeerKey, Transport
from reactor.testing import run_until
from reactor.transport import Connection
from tests.helpers import client, read_exactly, read_until_eof, reap, recv_some


def serve(reactor: Reactor, packet: int | str, max_size: int = 1 << 20) -> int:
    options = argparse.Namespace(packet=packet, max_size=max_size)
    listener = reactor.listen(plugin.make_factory(reactor, options), "127.0.0.1", 0)
    return listener.port


def wire_of(packet: int | str, messages: list[bytes]) -> bytes:
    framer = make_framer(packet)
    return b"".join(framer.encode(m) for m in messages)


@pytest.mark.parametrize(
    ("packet", "messages"),
    [
        (1, [b"", b"a", b"x" * 255]),
        (2, [b"", b"b", b"y" * 65535]),
        (4, [b"", b"c", b"z" * 300_000]),
        ("line", [b"\n", b"d\n", b"w" * 1000 + b"\n"]),
    ],
)
def test_echo_many_frames_in_one_write(
    reactor: Reactor, packet: int | str, messages: list[bytes]
) -> None:
    port = serve(reactor, packet)
    sock = client(port)
    wire = wire_of(packet, messages * 3)
    sock.setblocking(True)
    sock.sendall(wire)
    sock.setblocking(False)
    assert read_exactly(reactor, sock, len(wire)) == wire
    sock.close()


@pytest.mark.parametrize("packet", [1, 2, 4, "line"])
def test_header_split_byte_by_byte(reactor: Reactor, packet: int | str) -> None:
    port = serve(reactor, packet)
    sock = client(port)
    wire = wire_of(packet, [b"split\n", b"\n"])
    for i in range(len(wire)):
        sock.send(wire[i : i + 1])
        reactor.run_once(0.01)
    assert read_exactly(reactor, sock, len(wire)) == wire
    sock.close()


def test_oversize_header_closes_that_connection_only(reactor: Reactor) -> None:
    port = serve(reactor, 2, max_size=10)
    bad, good = client(port), client(port)
    bad.send(b"\x00\x02ok")
    assert read_exactly(reactor, bad, 4) == b"\x00\x02ok"
    bad.send(b"\x00\x0b")  # 11 > 10: refused at the header
    assert read_until_eof(reactor, bad) == b""
    good.send(b"\x00\x0a" + b"k" * 10)
    assert read_exactly(reactor, good, 12) == b"\x00\x0a" + b"k" * 10
    bad.close()
    good.close()


def test_half_close_gets_every_echo(reactor: Reactor) -> None:
    port = serve(reactor, 4)
    sock = client(port)
    wire = wire_of(4, [b"m" * 1000] * 50)
    sock.setblocking(True)
    sock.sendall(wire)
    sock.shutdown(socket.SHUT_WR)
    sock.setblocking(False)
    assert read_until_eof(reactor, sock) == wire
    sock.close()


class Counting(BaseHandler):
    """Records frames as the transport delivers them, one call each."""

    def __init__(self, framer: Framer, active: ActiveMode) -> None:
        self.framer = framer
        self.active = active
        self.frames: list[bytes] = []
        self.passives = 0

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, Connection)
        transport.set_framer(self.framer)
        transport.set_active(self.active)

    def data_received(self, data: bytes) -> None:
        self.frames.append(data)

    def passive(self) -> None:
        self.passives += 1


def one_connection(
    reactor: Reactor, make: Callable[[], BaseHandler]
) -> tuple[socket.socket, list[BaseHandler]]:
    handlers: list[BaseHandler] = []

    def factory(peer: PeerKey) -> BaseHandler:
        handler = make()
        handlers.append(handler)
        return handler

    listener = reactor.listen(factory, "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(reactor, lambda: handlers)
    return sock, handlers


def test_active_n_counts_frames_not_reads(reactor: Reactor) -> None:
    sock, handlers = one_connection(reactor, lambda: Counting(LengthPrefixFramer(1), 3))
    handler = handlers[0]
    assert isinstance(handler, Counting)
    sock.send(wire_of(1, [b"1", b"2", b"3", b"4", b"5"]))  # one write, five frames
    run_until(reactor, lambda: handler.passives == 1)
    for _ in range(5):
        reactor.run_once(0.01)
    assert handler.frames == [b"1", b"2", b"3"]
    assert handler.transport is not None
    handler.transport.set_active("once")
    run_until(reactor, lambda: len(handler.frames) == 4)
    for _ in range(5):
        reactor.run_once(0.01)
    assert handler.frames == [b"1", b"2", b"3", b"4"]
    handler.transport.set_active(True)
    run_until(reactor, lambda: len(handler.frames) == 5)
    assert handler.frames[-1] == b"5"
    sock.close()


def test_passive_holds_frames_until_active(reactor: Reactor) -> None:
    sock, handlers = one_connection(reactor, lambda: Counting(make_framer("line"), False))
    handler = handlers[0]
    assert isinstance(handler, Counting)
    sock.send(b"a\nb\n")
    for _ in range(10):
        reactor.run_once(0.01)
    assert handler.frames == []
    assert handler.transport is not None
    handler.transport.set_active(True)
    run_until(reactor, lambda: len(handler.frames) == 2)
    assert handler.frames == [b"a\n", b"b\n"]
    sock.close()


class First(FramedHandler):
    """Answers the first message, then hands the connection to a Second."""

    packet = 2

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []
        self.successor: Second | None = None

    def message_received(self, message: bytes) -> None:
        self.seen.append(message)
        self.send(b"first:" + message)
        self.successor = Second()
        self.hand_off(self.successor)


class Second(FramedHandler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []
        self.lost = False

    def message_received(self, message: bytes) -> None:
        self.seen.append(message)
        self.send(b"second:" + message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        super().connection_lost(exc)


def test_hand_off_mid_read_keeps_frames_and_partial_bytes(reactor: Reactor) -> None:
    sock, handlers = one_connection(reactor, First)
    first = handlers[0]
    assert isinstance(first, First)
    framer = LengthPrefixFramer(2)
    # Three frames and half of a fourth in one write: the hand-off happens
    # while the transport still holds decoded frames and a partial one.
    wire = b"".join(framer.encode(m) for m in [b"a", b"b", b"c", b"dd"])
    sock.send(wire[:-1])
    run_until(reactor, lambda: first.successor is not None and len(first.successor.seen) == 2)
    sock.send(wire[-1:])
    second = first.successor
    assert second is not None
    run_until(reactor, lambda: len(second.seen) == 3)
    assert first.seen == [b"a"]
    assert second.seen == [b"b", b"c", b"dd"]
    expected = b"".join(
        framer.encode(m) for m in [b"first:a", b"second:b", b"second:c", b"second:dd"]
    )
    assert read_exactly(reactor, sock, len(expected)) == expected
    sock.close()
    run_until(reactor, lambda: second.lost)


class FramedClient(FramedHandler):
    def __init__(self, framer: Framer) -> None:
        super().__init__(framer)
        self.replies: list[bytes] = []

    def message_received(self, message: bytes) -> None:
        self.replies.append(message)


@pytest.mark.parametrize("packet", [1, 2, 4, "line"])
def test_our_client_against_our_server(reactor: Reactor, packet: int | str) -> None:
    port = serve(reactor, packet)
    handler = FramedClient(make_framer(packet))
    connector = reactor.connect(lambda peer: handler, "127.0.0.1", port, timeout=5)
    run_until(reactor, connector.done)
    assert connector.error is None
    messages = [b"one\n", b"\n", b"three\n"]
    for m in messages:
        handler.send(m)
    run_until(reactor, lambda: len(handler.replies) == 3)
    assert handler.replies == messages
    assert handler.transport is not None
    handler.transport.close()


def test_raw_echo_keeps_every_byte(reactor: Reactor) -> None:
    port = serve(reactor, 0)
    sock = client(port)
    data = bytes(range(256)) * 100
    sock.setblocking(True)
    sock.sendall(data)
    sock.setblocking(False)
    assert read_exactly(reactor, sock, len(data)) == data
    assert recv_some(sock) is None
    sock.close()


def test_packet_handler_is_a_packet_echo(reactor: Reactor) -> None:
    options = argparse.Namespace(packet="line", max_size=100)
    handler = plugin.make_factory(reactor, options)(("127.0.0.1", 1))
    assert isinstance(handler, PacketEcho)


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("packet", "typed", "printed"),
    [
        ("2", b"hello\nworld\n\nlast", b"hello\nworld\n\nlast\n"),
        ("line", b"one\ntwo\n", b"one\ntwo\n"),
    ],
)
def test_reactor_connect_with_packet(
    reactor: Reactor, packet: str, typed: bytes, printed: bytes
) -> None:
    port = serve(reactor, parse_packet(packet))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", "connect", "127.0.0.1", str(port), "--packet", packet],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(typed)
        proc.stdin.close()
        run_until(reactor, lambda: proc.poll() is not None, timeout=20)
        assert proc.stdout is not None
        assert proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        reap(proc)
    assert proc.returncode == 0, err
    assert out == printed
