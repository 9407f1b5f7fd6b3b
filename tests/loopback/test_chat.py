"""The chat plugin on real loopback sockets: relaying, /who, slow readers."""

from __future__ import annotations

import argparse
import contextlib
import socket
from collections.abc import Iterator
from typing import ClassVar

import pytest

from protocols.chat import ChatHandler, plugin
from reactor.listener import Listener
from reactor.loop import Reactor
from reactor.protocol import format_peer
from reactor.testing import run_until
from tests.helpers import client, read_until_eof, recv_some


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while Reader.opened:
        Reader.opened.pop().close()


def serve(reactor: Reactor, max_line: int = 4096, send_queue: int = 64 * 1024) -> Listener:
    options = argparse.Namespace(max_line=max_line, send_queue=send_queue)
    return reactor.listen(plugin.make_factory(reactor, options), "127.0.0.1", 0)


class Reader:
    """A client socket and everything it received so far."""

    opened: ClassVar[list[socket.socket]] = []

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.got = bytearray()
        self.eof = False
        host, port = sock.getsockname()[:2]
        self.key = format_peer((host, port))
        Reader.opened.append(sock)

    def poll(self) -> bytes:
        while not self.eof:
            try:
                chunk = recv_some(self.sock)
            except ConnectionResetError:
                self.eof = True
                break
            if chunk is None:
                break
            if not chunk:
                self.eof = True
                break
            self.got += chunk
        return bytes(self.got)

    def wait_for(self, reactor: Reactor, needle: bytes) -> bytes:
        run_until(reactor, lambda: needle in self.poll())
        return bytes(self.got)

    def take(self) -> bytes:
        data = bytes(self.got)
        self.got.clear()
        return data


def join(reactor: Reactor, listener: Listener, count: int) -> list[Reader]:
    readers = []
    for _ in range(count):
        reader = Reader(client(listener.port))
        reader.wait_for(reactor, b"* welcome")
        readers.append(reader)
    run_until(reactor, lambda: len(listener.connections) == count)
    for reader in readers:
        reader.poll()
        reader.take()
    return readers


def test_lines_reach_every_other_peer_with_its_key(reactor: Reactor) -> None:
    listener = serve(reactor)
    a, b, c = join(reactor, listener, 3)
    a.sock.send(b"hello all\r\n")
    expected = b"<" + a.key.encode() + b"> hello all\n"
    assert b.wait_for(reactor, b"hello all") == expected
    assert c.wait_for(reactor, b"hello all") == expected
    b.sock.send(b"/nick bea\n")
    b.wait_for(reactor, b"* you are now bea")
    b.sock.send(b"hi\n")
    assert a.wait_for(reactor, b"> hi\n").endswith(f"<bea {b.key}> hi\n".encode())
    assert b"hello all" not in a.take()


def test_who_lists_the_connection_table(reactor: Reactor) -> None:
    listener = serve(reactor)
    a, b = join(reactor, listener, 2)
    a.sock.send(b"/nick ada\n/who\n")
    table = a.wait_for(reactor, b"(you)\n").decode()
    assert f"{a.key} ada " in table
    assert f"{b.key} - " in table
    assert sorted(format_peer(k) for k in listener.connections) == sorted([a.key, b.key])
    b.sock.close()
    a.wait_for(reactor, f"* {b.key} left".encode())
    a.sock.close()


def test_overlong_line_closes_only_that_connection(reactor: Reactor) -> None:
    listener = serve(reactor, max_line=64)
    a, b = join(reactor, listener, 2)
    a.sock.send(b"x" * 100)
    run_until(reactor, lambda: a.poll() is not None and a.eof)
    b.wait_for(reactor, f"* {a.key} left (connection lost)".encode())
    b.sock.send(b"/who\n")
    assert b"* 1 connected" in b.wait_for(reactor, b"(you)\n")
    a.sock.close()
    b.sock.close()


def test_quit(reactor: Reactor) -> None:
    listener = serve(reactor)
    (a,) = join(reactor, listener, 1)
    a.sock.send(b"/quit\n")
    assert read_until_eof(reactor, a.sock) == b"* bye\n"
    a.sock.close()


def stalled_reader(reactor: Reactor, listener: Listener) -> tuple[Reader, ChatHandler]:
    """A member that never reads, with small kernel buffers on both sides."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", listener.port))
    sock.setblocking(False)
    key = sock.getsockname()[:2]
    run_until(reactor, lambda: key in listener.connections)
    conn = listener.connections[key]
    server_sock = conn.get_extra_info("socket")
    assert isinstance(server_sock, socket.socket)
    server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    handler = conn.get_protocol()
    assert isinstance(handler, ChatHandler)
    return Reader(sock), handler


def pump(
    reactor: Reactor, writer: Reader, readers: list[Reader], lines: int, watch: ChatHandler
) -> int:
    """Send ``lines`` lines from ``writer`` while the reactor runs; return the peak queued."""
    line = b"L" * 499 + b"\n"
    wire = memoryview(line * lines)
    sent = 0
    peak = 0

    def step() -> bool:
        nonlocal sent, peak
        if sent < len(wire):
            with contextlib.suppress(BlockingIOError):
                sent += writer.sock.send(wire[sent : sent + 65536])
        for reader in readers:
            reader.poll()
        if watch.transport is not None:
            peak = max(peak, watch.queued())
        return sent == len(wire) and all(r.got.count(b"\n") >= lines for r in readers)

    run_until(reactor, step, timeout=20)
    return peak


def test_reader_that_never_reads_stalls_no_one_and_stays_bounded(reactor: Reactor) -> None:
    send_queue = 256 * 1024
    listener = serve(reactor, send_queue=send_queue)
    a, c = join(reactor, listener, 2)
    slow, slow_handler = stalled_reader(reactor, listener)
    for r in (a, c):
        r.wait_for(reactor, b"joined")
        r.take()
    lines = 600  # 300 kB: more than the kernel buffers, less than the send queue's bound
    peak = pump(reactor, a, [c], lines, slow_handler)
    assert c.got.count(b"L" * 499 + b"\n") == lines  # the reader that reads got every line
    assert not slow_handler.dropped
    assert slow_handler.transport is not None
    assert slow_handler.transport.writing_paused  # the server did feel the slow reader
    assert peak <= 2 * send_queue + 600
    # It catches up once it reads: everything held for it arrives, in order.
    expected = lines * (len(f"<{a.key}> ".encode()) + 500)
    run_until(reactor, lambda: len(slow.poll()) >= expected, timeout=20)
    assert slow.got.count(b"L" * 499 + b"\n") == lines


def test_reader_past_its_send_queue_is_disconnected(reactor: Reactor) -> None:
    send_queue = 32 * 1024
    listener = serve(reactor, send_queue=send_queue)
    a, c = join(reactor, listener, 2)
    slow, slow_handler = stalled_reader(reactor, listener)
    lines = 2000  # 1 MB through a room whose slow member may hold about 64 kB
    peak = pump(reactor, a, [c], lines, slow_handler)
    assert slow_handler.dropped
    assert peak <= 2 * send_queue + 600
    assert c.got.count(b"L" * 499 + b"\n") == lines
    notice = f"* {slow.key} left (too slow: over {send_queue} bytes queued)".encode()
    assert notice in c.got
    run_until(reactor, lambda: slow.key not in [format_peer(k) for k in listener.connections])
