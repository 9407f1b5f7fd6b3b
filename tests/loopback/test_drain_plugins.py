"""The built-in plugins under a graceful drain: nothing sent before it is lost."""

from __future__ import annotations

import argparse
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.chargen import plugin as chargen
from protocols.chat import GOODBYE
from protocols.chat import plugin as chat
from protocols.resp.server import RespService
from reactor.loop import Reactor
from reactor.testing import run_until
from tests.helpers import client, read_until_eof, read_while, reap

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
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


def test_resp_answers_every_pipelined_command_sent_before_the_drain(reactor: Reactor) -> None:
    service = RespService(reactor)
    listener = reactor.listen(service.factory, "127.0.0.1", 0)
    sock = connect(listener.port)
    run_until(reactor, lambda: listener.connections)
    count = 20_000  # 280 KB: several reads and many pipeline budgets
    sock.setblocking(True)
    sock.sendall(b"INCR counter\r\n" * count)
    sock.setblocking(False)
    drained: list[bool] = []
    # Nothing was read yet: every command is still in the kernel.  The client
    # keeps the connection open, as Redis clients do: no EOF will come.
    listener.shutdown(30.0, lambda: drained.append(True))
    replies = read_until_eof(reactor, sock, timeout=30)
    assert replies == b"".join(b":%d\r\n" % n for n in range(1, count + 1))
    run_until(reactor, lambda: drained)


def test_resp_drain_of_an_idle_client_closes_it(reactor: Reactor) -> None:
    service = RespService(reactor)
    listener = reactor.listen(service.factory, "127.0.0.1", 0)
    sock = connect(listener.port)
    sock.send(b"PING\r\n")
    assert read_exactly_line(reactor, sock) == b"+PONG\r\n"
    reactor.shutdown(30.0)
    assert read_until_eof(reactor, sock) == b""


def read_exactly_line(reactor: Reactor, sock: socket.socket) -> bytes:
    return read_while(reactor, sock, lambda got: not got.endswith(b"\r\n"))


def test_chat_members_get_a_goodbye(reactor: Reactor) -> None:
    options = argparse.Namespace(max_line=4096, send_queue=64 * 1024)
    listener = reactor.listen(chat.make_factory(reactor, options), "127.0.0.1", 0)
    ada, bob = connect(listener.port), connect(listener.port)
    run_until(reactor, lambda: len(listener.connections) == 2)
    ada.send(b"hello before the drain\n")
    run_until(reactor, lambda: any(c.bytes_in for c in listener.connections.values()))
    listener.shutdown(30.0)
    got_ada, got_bob = read_until_eof(reactor, ada), read_until_eof(reactor, bob)
    assert got_ada.endswith(GOODBYE) and got_bob.endswith(GOODBYE)
    assert b"hello before the drain\n" in got_bob
    assert b"left" not in got_ada + got_bob  # no noise from the members leaving


def test_chargen_stops_and_closes(reactor: Reactor) -> None:
    listener = reactor.listen(chargen.make_factory(reactor, argparse.Namespace()), "127.0.0.1", 0)
    sock = connect(listener.port)
    got = bytearray(read_while(reactor, sock, lambda got: len(got) <= 100_000))
    drained: list[bool] = []
    reactor.shutdown(30.0, lambda: drained.append(True))
    got += read_until_eof(reactor, sock)
    assert got.endswith(b"\r\n")
    run_until(reactor, lambda: drained)


# -- the CLI: SIGTERM while six clients are stalled by backpressure --------------------


CLIENTS = 6
SERVE_OPTIONS = ("--drain-timeout", "60", "--log-level", "INFO")


def _kernel_buffers() -> int:
    """The most one connection's autotuned socket buffers can hold: the
    maxima of ``tcp_rmem`` and ``tcp_wmem`` (8 MiB each where unreadable)."""
    total = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        try:
            total += int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
        except (OSError, ValueError, IndexError):
            total += 8 << 20
    return total


# More than the kernel can hold for a connection whose server stopped
# reading, so each client is stalled by backpressure before it sent it all.
SIZE = max(8 << 20, _kernel_buffers() + (4 << 20)) // 4096 * 4096


def _payload(n: int) -> bytes:
    block = bytes((n * 7 + i) % 251 for i in range(4096))
    return block * (SIZE // len(block))


def _wait_for(proc: subprocess.Popen[str], pattern: str, timeout: float = 15) -> re.Match[str]:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"the server never logged {pattern!r}")


def test_sigterm_loses_nothing_under_backpressure() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", "serve", "echo", "--port", "0", *SERVE_OPTIONS],
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        port = int(_wait_for(proc, r"serving echo on 127\.0\.0\.1:(\d+)").group(1))
        socks = [_small_buffered_client(port) for _ in range(CLIENTS)]
        payloads = [_payload(n) for n in range(CLIENTS)]
        sent = [0] * CLIENTS
        # Push without reading until backpressure stalls the client (or, if the
        # kernel's buffers took it all, half-close already).
        for i, sock in enumerate(socks):
            while sent[i] < SIZE:
                try:
                    sent[i] += sock.send(memoryview(payloads[i])[sent[i] : sent[i] + 65536])
                except BlockingIOError:
                    break
            if sent[i] == SIZE:
                sock.shutdown(socket.SHUT_WR)
        assert sum(sent) < CLIENTS * SIZE  # some clients stalled with data left to send
        proc.send_signal(signal.SIGTERM)
        _wait_for(proc, r"SIGTERM: draining 6 connection")
        pushed = list(sent)
        received, fin = _finish(socks, payloads, sent)
        assert [len(r) for r in received] == [SIZE] * CLIENTS, (pushed, sent, fin)
        assert all(r == p for r, p in zip(received, payloads, strict=True))
        assert fin == [True] * CLIENTS  # FIN, never a reset
        assert proc.wait(30) == 0
    finally:
        reap(proc)


def _small_buffered_client(port: int) -> socket.socket:
    """A client whose small receive buffer makes the echo push back soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    _open.append(sock)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def _finish(
    socks: list[socket.socket], payloads: list[bytes], sent: list[int]
) -> tuple[list[bytearray], list[bool]]:
    """Send the rest, half-close, read every echo until EOF or a reset."""
    received = [bytearray() for _ in socks]
    fin = [False] * len(socks)
    selector = selectors.DefaultSelector()
    for i, sock in enumerate(socks):
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if sent[i] < SIZE else 0)
        selector.register(sock, events, i)
    open_ = len(socks)
    deadline = time.monotonic() + 60
    while open_ and time.monotonic() < deadline:
        for key, mask in selector.select(1.0):
            i = key.data
            sock = socks[i]
            if mask & selectors.EVENT_WRITE:
                try:
                    sent[i] += sock.send(memoryview(payloads[i])[sent[i] : sent[i] + 65536])
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    selector.unregister(sock)
                    open_ -= 1
                    continue
                if sent[i] == SIZE:
                    sock.shutdown(socket.SHUT_WR)
                    selector.modify(sock, selectors.EVENT_READ, i)
            if mask & selectors.EVENT_READ:
                try:
                    chunk = sock.recv(1 << 20)
                except ConnectionResetError:
                    chunk = None
                if chunk:
                    received[i] += chunk
                    continue
                fin[i] = chunk == b""
                selector.unregister(sock)
                open_ -= 1
    selector.close()
    return received, fin


def test_a_second_signal_stops_a_drain_at_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", "serve", "echo", "--port", "0", *SERVE_OPTIONS],
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        port = int(_wait_for(proc, r"serving echo on 127\.0\.0\.1:(\d+)").group(1))
        sock = _small_buffered_client(port)
        # Busy (its echo is stuck in the server's queue), and it never
        # half-closes: the drain would wait 60 s for its EOF.
        for _ in range(10_000):
            try:
                sock.send(b"x" * 65536)
            except BlockingIOError:
                break
        proc.send_signal(signal.SIGTERM)
        _wait_for(proc, r"SIGTERM: draining 1 connection")
        proc.send_signal(signal.SIGINT)
        _wait_for(proc, r"SIGINT again: stopping now")
        assert proc.wait(15) == 0
    finally:
        reap(proc)
