"""The ``proxy`` plugin: relaying, half-close, connect failure, PROXY headers, backpressure."""

from __future__ import annotations

import contextlib
import hashlib
import os
import selectors
import socket
import time

import pytest

from protocols.echo import EchoHandler
from reactor.loop import Reactor
from reactor.testing import ServePlugin, run_until
from tests.helpers import client, read_exactly, read_until_eof
from tests.servers import start


def test_bytes_go_both_ways_and_half_close_is_relayed(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    echo = reactor.listen(lambda key: EchoHandler(), "127.0.0.1", 0)
    proxy = serve_plugin("proxy", "--to", f"127.0.0.1:{echo.port}")
    sock = client(proxy.port)
    sock.send(b"hello through the proxy")
    assert read_exactly(reactor, sock, 23) == b"hello through the proxy"
    sock.shutdown(socket.SHUT_WR)  # relayed: echo flushes and closes, and so do we
    assert read_until_eof(reactor, sock) == b""
    run_until(reactor, lambda: not reactor.connections)
    sock.close()


def test_both_legs_are_linked_in_the_table(reactor: Reactor, serve_plugin: ServePlugin) -> None:
    echo = reactor.listen(lambda key: EchoHandler(), "127.0.0.1", 0)
    proxy = serve_plugin("proxy", "--to", f"127.0.0.1:{echo.port}")
    sock = client(proxy.port)
    sock.send(b"x")
    read_exactly(reactor, sock, 1)
    [client_leg] = proxy.connections.values()
    upstream = next(c for c in reactor.connections.values() if c.id == client_leg.linked)
    assert upstream.linked == client_leg.id  # type: ignore[attr-defined]
    assert upstream.peer == ("127.0.0.1", echo.port)
    sock.close()


def test_an_unreachable_upstream_closes_the_client(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now: the connect is refused
    proxy = serve_plugin("proxy", "--to", f"127.0.0.1:{port}")
    sock = client(proxy.port)
    assert read_until_eof(reactor, sock) == b""
    sock.close()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_send_proxy_names_the_client_upstream(
    reactor: Reactor, serve_plugin: ServePlugin, version: str
) -> None:
    echo = reactor.listen(
        lambda key: EchoHandler(), "127.0.0.1", 0, proxy_protocol=True, proxy_trusted="127.0.0.1"
    )
    proxy = serve_plugin("proxy", "--to", f"127.0.0.1:{echo.port}", "--send-proxy", version)
    sock = client(proxy.port)
    sock.send(b"ping")
    assert read_exactly(reactor, sock, 4) == b"ping"
    me = sock.getsockname()
    assert (me[0], me[1]) in echo.connections
    sock.close()


def test_bad_target_is_a_usage_error() -> None:
    from protocols.proxy import parse_target

    assert parse_target("[::1]:80") == ("::1", 80)
    for bad in ("nowhere", "host:0", "host:http", ":80"):
        with pytest.raises(Exception, match="HOST:PORT"):
            parse_target(bad)


@pytest.mark.parametrize("direction", ["to the client", "to the upstream"])
def test_a_slow_side_pauses_reading_from_the_other(
    reactor: Reactor, serve_plugin: ServePlugin, direction: str
) -> None:
    upstream_server = socket.socket()
    upstream_server.bind(("127.0.0.1", 0))
    upstream_server.listen()
    proxy = serve_plugin("proxy", "--to", f"127.0.0.1:{upstream_server.getsockname()[1]}")
    sock = client(proxy.port)
    run_until(reactor, lambda: len(reactor.connections) == 2)
    far, _ = upstream_server.accept()
    far.setblocking(False)
    upstream_server.close()
    sender, receiver = (far, sock) if direction == "to the client" else (sock, far)
    [client_leg] = proxy.connections.values()
    upstream_leg = next(c for c in reactor.connections.values() if c is not client_leg)
    fast_leg = upstream_leg if direction == "to the client" else client_leg
    slow_leg = client_leg if direction == "to the client" else upstream_leg
    chunk = bytes(1 << 16)
    sent = 0

    def pushed_back() -> bool:
        nonlocal sent
        try:
            while True:
                sent += sender.send(chunk)
        except BlockingIOError:
            pass
        return not fast_leg.is_reading()

    run_until(reactor, pushed_back, timeout=30)  # the kernel's buffers fill first
    assert slow_leg.get_write_buffer_size() <= 2 * (64 << 10)  # high water + one read
    received = 0

    def drained() -> bool:
        nonlocal received
        try:
            while True:
                got = receiver.recv(1 << 20)
                if not got:
                    break
                received += len(got)
        except BlockingIOError:
            pass
        return received == sent

    run_until(reactor, drained, timeout=30)
    assert fast_leg.is_reading()
    sock.close()
    far.close()


# -- 50 connections x 4 MiB each way, byte-exact, memory bounded --------------------

SIZE = 4 << 20
CONNECTIONS = 50
SLOW = 5  # connections whose reader is throttled
_BASE = os.urandom(SIZE)


def _expected(i: int) -> bytes:
    """Connection ``i``'s stream: the base rotated, so no two are alike."""
    cut = (i * 7919) % SIZE
    return _BASE[cut:] + _BASE[:cut]


def _rss_peak(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class _Stream:
    """One client of the big transfer: what it sent and what came back."""

    def __init__(self, i: int, port: int) -> None:
        self.i = i
        self.slow = i < SLOW
        self.sock = socket.socket()
        if self.slow:  # a small window, so that the kernel hides less of the backlog
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.data = memoryview(_expected(i))
        self.sent = 0
        self.received = 0
        self.digest = hashlib.sha256()

    def send(self, selector: selectors.BaseSelector) -> None:
        with contextlib.suppress(BlockingIOError):
            self.sent += self.sock.send(self.data[self.sent : self.sent + 65536])
        if self.sent == SIZE:
            self.sock.shutdown(socket.SHUT_WR)  # relayed as a half-close
            selector.modify(self.sock, selectors.EVENT_READ, self)

    def receive(self) -> bool:
        """Read once; false at EOF."""
        chunk = self.sock.recv(16384 if self.slow else 1 << 20)
        self.digest.update(chunk)
        self.received += len(chunk)
        return bool(chunk)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_fifty_connections_of_four_mib_each_way() -> None:
    echo = start("echo", "--log-level", "WARNING", status=False)
    proxy = start("proxy", "--to", f"127.0.0.1:{echo.port}", "--log-level", "WARNING")
    try:
        baseline = _rss_peak(proxy.proc.pid)
        selector = selectors.DefaultSelector()
        streams = [_Stream(i, proxy.port) for i in range(CONNECTIONS)]
        for stream in streams:
            selector.register(stream.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, stream)
        max_queued = 0
        next_check = next_slow_read = time.monotonic()
        deadline = time.monotonic() + 200
        open_count = CONNECTIONS
        while open_count:
            assert time.monotonic() < deadline, "the transfer did not finish"
            now = time.monotonic()
            slow_turn = now >= next_slow_read
            if slow_turn:  # the slow readers take 16 KiB per 10 ms, whatever is waiting
                next_slow_read = now + 0.01
            for key, events in selector.select(0.01):
                stream = key.data
                if events & selectors.EVENT_WRITE and stream.sent < SIZE:
                    stream.send(selector)
                reading = events & selectors.EVENT_READ and (slow_turn or not stream.slow)
                if reading and not stream.receive():
                    selector.unregister(stream.sock)
                    open_count -= 1
            if now >= next_check:  # the proxy's queues, as its status page reports them
                next_check = now + 0.5
                rows = [row for rows in proxy.status().values() for row in rows]
                max_queued = max([max_queued, *(int(str(row["queued"])) for row in rows)])
        for stream in streams:
            assert stream.received == SIZE, stream.i
            assert stream.digest.digest() == hashlib.sha256(_expected(stream.i)).digest()
            stream.sock.close()
        # a pair holds about a high-water mark (64 KiB) and a read chunk per direction
        assert max_queued <= 256 * 1024
        grown = _rss_peak(proxy.proc.pid) - baseline
        assert grown < 64 << 20, f"the proxy grew by {grown >> 20} MiB for 400 MiB relayed"
    finally:
        proxy.stop()
        echo.stop()
