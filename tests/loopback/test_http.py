"""The HTTP/1.1 server on loopback, spoken to by curl, http.client, h11 and raw sockets."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h11
import pytest

from protocols.http import HTTPConfig, HTTPHandler, Request, Response, default_app, plugin
from protocols.http.events import Limits
from reactor.embedding import ReactorThread
from reactor.loop import Reactor
from reactor.protocol import PeerKey
from reactor.testing import FakeClock, run_until
from tests.conftest import has_ipv6
from tests.externals import needs, program
from tests.helpers import client, read_until_eof, recv_some

needs_curl = needs("curl", "curl")

CHUNK = 64 * 1024


class Server:
    """An HTTP listener with a test app; counts connections and streamed chunks."""

    def __init__(self, reactor: Reactor, config: HTTPConfig | None = None) -> None:
        self.app = default_app()
        self.app.add("POST", "/echo", self.echo)
        self.app.add("PUT", "/echo", self.echo)
        self.app.add("GET", "/stream", self.stream)
        self.config = config or HTTPConfig()
        self.handlers: list[HTTPHandler] = []
        self.produced = 0
        self.listener = reactor.listen(self.factory, host="127.0.0.1", port=0)
        self.port: int = self.listener.port

    def factory(self, peer: PeerKey) -> HTTPHandler:
        handler = HTTPHandler(self.app, self.config, peer)
        self.handlers.append(handler)
        return handler

    def echo(self, request: Request) -> Response:
        return Response(
            200,
            [("Content-Type", "application/octet-stream"), ("X-Method", request.method)],
            request.body,
        )

    def stream(self, request: Request) -> Response:
        count = int(request.args.get("n", ["4"])[0])

        def chunks() -> Iterator[bytes]:
            for i in range(count):
                self.produced += 1
                yield bytes([65 + i % 26]) * CHUNK

        return Response(200, [("Content-Type", "application/octet-stream")], chunks())


@pytest.fixture
def threaded() -> Iterator[tuple[ReactorThread, Server]]:
    with ReactorThread() as rt:
        server = rt.call(Server, rt.reactor)
        yield rt, server


# -- curl ------------------------------------------------------------------------


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [program("curl", "curl"), "--silent", "--show-error", "--max-time", "20", *args],
        capture_output=True,
        timeout=30,
        check=True,
    )


@needs_curl
def test_curl_hello(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    out = curl("--include", f"http://127.0.0.1:{server.port}/")
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert body == b"Hello, World!"
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nServer: selreactor\r\n" in head and b"\r\nContent-Length: 13\r\n" in head
    assert re.search(rb"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", head)


@needs_curl
def test_curl_reuses_the_connection(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    url = f"http://127.0.0.1:{server.port}/"
    out = curl(url, url, url)
    assert out.stdout == b"Hello, World!" * 3
    assert len(server.handlers) == 1


@needs_curl
def test_curl_http10(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    out = curl("--http1.0", "--include", f"http://127.0.0.1:{server.port}/")
    assert out.stdout.endswith(b"\r\n\r\nHello, World!")
    assert b"Connection: close\r\n" in out.stdout


@needs_curl
def test_curl_post_with_expect_continue(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    body = os.urandom(200_000)
    out = subprocess.run(
        [
            program("curl", "curl"),
            "--silent",
            "--show-error",
            "--max-time",
            "20",
            "--verbose",
            "--data-binary",
            "@-",
            "--header",
            "Expect: 100-continue",
            f"http://127.0.0.1:{server.port}/echo",
        ],
        input=body,
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert out.stdout == body
    assert b"HTTP/1.1 100 Continue" in out.stderr


@needs_curl
def test_curl_chunked_upload(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    body = b"chunked upload " * 5000
    out = subprocess.run(
        [
            program("curl", "curl"),
            "--silent",
            "--show-error",
            "--max-time",
            "20",
            "--header",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "@-",
            f"http://127.0.0.1:{server.port}/echo",
        ],
        input=body,
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert out.stdout == body


@needs_curl
def test_curl_streamed_response(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    out = curl("--include", f"http://127.0.0.1:{server.port}/stream?n=20")
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"".join(bytes([65 + i % 26]) * CHUNK for i in range(20))


@needs_curl
def test_curl_connections_json(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    out = curl("--include", f"http://127.0.0.1:{server.port}/connections?format=json")
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json\r\n" in head
    table = json.loads(body)  # the status page's table: local address -> rows
    [rows] = table.values()
    assert list(table) == [f"127.0.0.1:{server.port}"]
    assert len(rows) == 1
    row = rows[0]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", row["peer"])
    assert row["bytes_in"] > 0 and row["age"] >= 0 and row["idle"] >= 0
    assert row["flow"] == "flowing"
    out = curl(
        "--include", "--header", "Accept: text/html", f"http://127.0.0.1:{server.port}/connections"
    )
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert b"Content-Type: text/html; charset=utf-8\r\n" in head
    assert b"<table>" in body and b"<h1>1 live connection</h1>" in body
    assert f"<h2>127.0.0.1:{server.port}: 1 connection</h2>".encode() in body


# -- http.client -----------------------------------------------------------------------


def test_http_client_keep_alive(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(5):
            conn.request("GET", "/")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"Hello, World!")
            assert resp.getheader("Server") == "selreactor"
            assert not resp.will_close
        conn.request("POST", "/echo", body=b"payload", headers={"X-A": "1"})
        resp = conn.getresponse()
        assert resp.read() == b"payload" and resp.getheader("X-Method") == "POST"
        conn.request("GET", "/stream?n=3")
        resp = conn.getresponse()
        assert resp.getheader("Transfer-Encoding") == "chunked"
        assert len(resp.read()) == 3 * CHUNK
        conn.request("GET", "/missing")
        resp = conn.getresponse()
        assert resp.status == 404
        resp.read()
    finally:
        conn.close()
    assert len(server.handlers) == 1


def test_http_client_connection_close(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        resp = conn.getresponse()
        assert resp.will_close and resp.read() == b"Hello, World!"
    finally:
        conn.close()


def test_raw_pipelining_answered_in_order(threaded: tuple[ReactorThread, Server]) -> None:
    _, server = threaded
    count = 200
    wire = b"".join(
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%d" % (len(b"%d" % i), i)
        if i % 3 == 0
        else b"GET /%s HTTP/1.1\r\nHost: h\r\n\r\n" % (b"" if i % 3 == 1 else b"nope")
        for i in range(count)
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(wire)
        sock.shutdown(socket.SHUT_WR)  # the server answers all, then closes
        received = bytearray()
        while chunk := sock.recv(1 << 16):
            received += chunk
    h11c = h11.Connection(h11.CLIENT)
    h11c.receive_data(bytes(received))
    h11c.receive_data(b"")
    bodies = []
    for i in range(count):
        if i:
            h11c.start_next_cycle()
        method = "POST" if i % 3 == 0 else "GET"
        headers = [("Host", "h")] + (
            [("Content-Length", str(len(b"%d" % i)))] if method == "POST" else []
        )
        h11c.send(h11.Request(method=method, target="/", headers=headers))
        if method == "POST":
            h11c.send(h11.Data(data=b"%d" % i))
        h11c.send(h11.EndOfMessage())
        status, body = 0, b""
        while True:
            event = h11c.next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"unexpected {event!r} in response {i}")
        bodies.append((status, body))
    expected = [
        (200, b"%d" % i)
        if i % 3 == 0
        else (200, b"Hello, World!")
        if i % 3 == 1
        else (404, b"Not Found\n")
        for i in range(count)
    ]
    assert bodies == expected


# -- h11 over a socket stepped with the reactor ---------------------------------------------


def h11_exchange(
    reactor: Reactor,
    sock: socket.socket,
    conn: h11.Connection,
    request: h11.Request,
    body: bytes = b"",
) -> tuple[h11.Response, bytes]:
    data = conn.send(request)
    if body:
        data += conn.send(h11.Data(data=body))
    data += conn.send(h11.EndOfMessage())
    sock.sendall(data)
    response: h11.Response | None = None
    got = bytearray()
    done = False

    def step() -> bool:
        nonlocal response, done
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = recv_some(sock)
                if chunk is None:
                    return False
                conn.receive_data(chunk)
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                got.extend(event.data)
            elif isinstance(event, h11.EndOfMessage):
                done = True
                return True

    run_until(reactor, step)
    assert response is not None and done
    conn.start_next_cycle()
    return response, bytes(got)


def test_h11_client_keep_alive_and_chunked_upload(reactor: Reactor) -> None:
    server = Server(reactor)
    sock = client(server.port)
    conn = h11.Connection(h11.CLIENT)
    try:
        for _ in range(3):
            resp, body = h11_exchange(
                reactor, sock, conn, h11.Request(method="GET", target="/", headers=[("Host", "h")])
            )
            assert (resp.status_code, body) == (200, b"Hello, World!")
            assert (b"server", b"selreactor") in [(n, v) for n, v in resp.headers]
        upload = bytes(range(256)) * 100
        resp, body = h11_exchange(
            reactor,
            sock,
            conn,
            h11.Request(
                method="PUT",
                target="/echo",
                headers=[("Host", "h"), ("Transfer-Encoding", "chunked")],
            ),
            upload,
        )
        assert body == upload
    finally:
        sock.close()
    assert len(server.handlers) == 1


def test_streamed_response_respects_backpressure(reactor: Reactor) -> None:
    server = Server(reactor)
    count = 400  # 25 MiB: far more than the kernel buffers hold
    sock = client(server.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    try:
        sock.sendall(b"GET /stream?n=%d HTTP/1.1\r\nHost: h\r\n\r\n" % count)
        run_until(reactor, lambda: server.handlers and server.produced > 0)
        conn = next(iter(reactor.connections.values()))
        run_until(reactor, lambda: conn.writing_paused)
        for _ in range(50):  # the loop keeps turning; the producer stays put
            reactor.run_once(0.01)
        paused_at = server.produced
        assert paused_at < count // 2
        high = conn.get_write_buffer_limits()[1]
        assert conn.get_write_buffer_size() <= high + 2 * CHUNK
        for _ in range(20):
            reactor.run_once(0.01)
        assert server.produced == paused_at
        h11c = h11.Connection(h11.CLIENT)
        h11c.send(h11.Request(method="GET", target="/stream", headers=[("Host", "h")]))
        h11c.send(h11.EndOfMessage())
        total = 0
        done = False

        def step() -> bool:
            nonlocal total, done
            while True:
                event = h11c.next_event()
                if event is h11.NEED_DATA:
                    chunk = recv_some(sock)
                    if chunk is None:
                        return False
                    h11c.receive_data(chunk)
                elif isinstance(event, h11.Data):
                    total += len(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    done = True
                    return True

        run_until(reactor, step, timeout=30)
        assert total == count * CHUNK and server.produced == count
    finally:
        sock.close()


# -- errors, deadlines and idle connections on a fake clock ---------------------------------


@pytest.fixture
def fake(fake_reactor: Reactor, clock: FakeClock) -> tuple[Reactor, FakeClock, Server]:
    config = HTTPConfig(
        limits=Limits(max_head=4096, max_body=1000),
        header_timeout=10.0,
        keepalive_timeout=30.0,
    )
    return fake_reactor, clock, Server(fake_reactor, config)


def get_ok(reactor: Reactor, port: int) -> None:
    sock = client(port)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        assert read_until_eof(reactor, sock).endswith(b"\r\n\r\nHello, World!")
    finally:
        sock.close()


def test_slowloris_gets_408_then_close(fake: tuple[Reactor, FakeClock, Server]) -> None:
    reactor, clock, server = fake
    slow = client(server.port)
    try:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n")
        run_until(reactor, lambda: server.handlers and server.handlers[0]._header_timer)
        for _ in range(9):  # a byte a second does not buy more time
            clock.advance(1.0)
            slow.sendall(b"X")
            reactor.run_once(0.01)
        get_ok(reactor, server.port)  # others are served meanwhile
        clock.advance(1.5)
        reply = read_until_eof(reactor, slow)
        assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"Connection: close\r\n" in reply
    finally:
        slow.close()
    run_until(reactor, lambda: not server.listener.connections)


def test_idle_keep_alive_connection_closed_quietly(
    fake: tuple[Reactor, FakeClock, Server],
) -> None:
    reactor, clock, server = fake
    sock = client(server.port)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        got = bytearray()

        def answered() -> bool:
            got.extend(recv_some(sock) or b"")
            return got.endswith(b"Hello, World!")

        run_until(reactor, answered)
        clock.advance(29.0)
        for _ in range(5):
            reactor.run_once(0.01)
        assert server.listener.connections  # not yet
        clock.advance(1.5)
        assert read_until_eof(reactor, sock) == b""  # closed without a word
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 5000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"A: b\r\n" * 101 + b"\r\n", 431),
        (b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413),
        (
            b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3e9\r\n" + b"x" * 1001 + b"\r\n0\r\n\r\n",
            413,
        ),
        (b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n", 501),
    ],
)
def test_bad_requests_close_only_their_connection(
    fake: tuple[Reactor, FakeClock, Server],
    request_bytes: bytes,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reactor, _, server = fake
    bystander = client(server.port)
    bad = client(server.port)
    try:
        with caplog.at_level("INFO", logger="protocols.http.server"):
            bad.sendall(request_bytes)
            reply = read_until_eof(reactor, bad)
        assert reply.startswith(b"HTTP/1.1 %d " % status)
        assert b"Connection: close\r\n" in reply
        peer = bad.getsockname()
        assert any(str(peer[1]) in r.getMessage() for r in caplog.records)
        bystander.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        assert read_until_eof(reactor, bystander).endswith(b"Hello, World!")
    finally:
        bad.close()
        bystander.close()


def test_slow_body_gets_408_then_close(fake: tuple[Reactor, FakeClock, Server]) -> None:
    reactor, clock, server = fake
    slow = client(server.port)
    try:
        slow.sendall(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 900\r\n\r\nab")
        run_until(reactor, lambda: server.handlers and server.handlers[0]._body_timer)
        for _ in range(6):  # a few bytes every 3 s, as slowhttptest -B sends them
            clock.advance(3.0)
            slow.sendall(b"c=d&")
            reactor.run_once(0.01)
        get_ok(reactor, server.port)  # others are served meanwhile
        assert len(server.listener.connections) == 1
        clock.advance(3.0)  # 21 s: 26 bytes at 500 a second bought nothing
        reactor.run_once(0.01)
        clock.advance(1.0)
        reply = read_until_eof(reactor, slow)
        assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"Connection: close\r\n" in reply
    finally:
        slow.close()
    run_until(reactor, lambda: not server.listener.connections)


def test_slowhttptest_slow_body_connections_are_closed(
    reactor: Reactor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    slowhttptest = program("slowhttptest", "slowhttptest")
    server = Server(reactor, HTTPConfig(body_timeout=1.0, body_min_rate=500.0))
    report = tmp_path / "slow"
    # 5 connections announcing 4 KiB bodies and sending a few bytes a second;
    # slowhttptest stops as soon as none is left open (or after -l seconds).
    command = [
        slowhttptest,
        *("-B", "-c", "5", "-r", "5", "-i", "1", "-s", "4096", "-x", "4", "-l", "10"),
        *("-p", "2", "-g", "-o", str(report)),
        *("-u", f"http://127.0.0.1:{server.port}/echo"),
    ]
    with (
        caplog.at_level("INFO", logger="protocols.http.server"),
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path
        ) as proc,
    ):
        try:
            run_until(reactor, lambda: proc.poll() is not None, timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
    assert proc.returncode == 0, output
    assert "No open connections left" in output, output
    rows = (report.with_suffix(".csv")).read_text().splitlines()
    assert rows[0].startswith("Seconds,Closed,Pending,Connected")
    assert max(int(r.split(",")[3]) for r in rows[1:]) == 5  # all five got in
    slow = [r for r in caplog.records if "request body too slow" in r.getMessage()]
    assert len(slow) == 5
    run_until(reactor, lambda: not server.listener.connections)


# -- graceful drain: the handler's hook, called directly ---------------------------------


def handler_of(server: Server, sock: socket.socket) -> HTTPHandler:
    peer = sock.getsockname()
    [handler] = [h for h in server.handlers if h.peer[1] == peer[1]]
    return handler


def test_drain_closes_an_idle_keep_alive_connection_at_once(reactor: Reactor) -> None:
    server = Server(reactor)
    sock = client(server.port)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        got = bytearray()

        def answered() -> bool:
            got.extend(recv_some(sock) or b"")
            return got.endswith(b"World!")

        run_until(reactor, answered)
        handler_of(server, sock).drain_requested()
        assert read_until_eof(reactor, sock) == b""
    finally:
        sock.close()
    run_until(reactor, lambda: not server.listener.connections)


def test_drain_finishes_the_request_in_progress_with_close(reactor: Reactor) -> None:
    server = Server(reactor)
    busy, idle = client(server.port), client(server.port)
    try:
        busy.sendall(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc")
        run_until(reactor, lambda: len(server.handlers) == 2 and server.handlers[0]._head)
        for handler in server.handlers:  # as a drain of the listener would
            handler.drain_requested()
        assert read_until_eof(reactor, idle) == b""
        assert len(server.listener.connections) == 1
        busy.sendall(b"def")
        reply = read_until_eof(reactor, busy)
    finally:
        busy.close()
        idle.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nConnection: close" in head
    assert body == b"abcdef"
    run_until(reactor, lambda: not server.listener.connections)


def test_drain_answers_pipelined_requests_the_last_with_close(reactor: Reactor) -> None:
    server = Server(reactor, HTTPConfig(pipeline_budget=1))
    sock = client(server.port)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n" * 3)
        run_until(reactor, lambda: server.handlers and server.handlers[0]._scheduled)
        server.handlers[0].drain_requested()
        reply = read_until_eof(reactor, sock)
    finally:
        sock.close()
    assert reply.count(b"Hello, World!") == 3
    assert reply.count(b"Connection: close") == 1
    assert reply.rindex(b"Connection: close") > reply.rindex(b"HTTP/1.1 200")


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback")
def test_connections_page_over_ipv6(reactor: Reactor) -> None:
    factory = plugin.make_factory(reactor, argparse.Namespace())
    listener = reactor.listen(factory, host="::1", port=0)
    sock = client(listener.port, "::1")
    try:
        sock.sendall(
            b"GET /connections?format=json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        )
        reply = read_until_eof(reactor, sock)
    finally:
        sock.close()
    table = json.loads(reply.partition(b"\r\n\r\n")[2])
    rows = table[f"[::1]:{listener.port}"]
    assert any(re.fullmatch(r"\[::1\]:\d+", r["peer"]) for r in rows), table


# -- the command line ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def test_reactor_serve_http_command() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", "serve", "http", "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        port = 0
        deadline = time.monotonic() + 15
        while not port and time.monotonic() < deadline:
            match = re.search(r"serving http on 127\.0\.0\.1:(\d+)", proc.stderr.readline())
            if match:
                port = int(match.group(1))
        assert port, "the server never said where it listens"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"Hello, World!"
        finally:
            conn.close()
    finally:
        proc.terminate()
        proc.wait(15)
        if proc.stderr is not None:
            proc.stderr.close()
