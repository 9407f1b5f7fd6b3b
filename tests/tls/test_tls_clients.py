"""Real TLS clients against `reactor serve` plugins: openssl, curl, redis-cli, redis-py, Erlang.

The reactor runs in a thread (reactor.embedding.ReactorThread) while the
blocking client runs in the test, every client bounded by a timeout.
"""

from __future__ import annotations

import os
import selectors
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from protocols.http import HTTPConfig, HTTPHandler, Request, Response, default_app
from protocols.resp.server import RespService
from reactor.embedding import ReactorThread
from reactor.protocol import PeerKey, Transport
from reactor.testing import serve_plugin
from reactor.tls import server_context
from tests.externals import needs, program
from tests.helpers import reap
from tests.tls.conftest import CertFiles

ERL = Path(__file__).parents[1] / "interop" / "erl"


def tls_context(files: CertFiles, alpn: list[str] | None = None) -> ssl.SSLContext:
    return server_context(str(files.cert), str(files.key), alpn=alpn)


@pytest.fixture
def rt() -> Iterator[ReactorThread]:
    with ReactorThread() as thread:
        yield thread


def s_client(port: int, files: CertFiles, *args: str, data: bytes, expect: bytes) -> str:
    """Run ``openssl s_client``, send ``data``, read until ``expect`` comes back, then end input.

    s_client ends at its input's EOF, possibly before the echo is back: so the
    input stays open until the answer (or the deadline, 20 s) is there.
    """
    proc = subprocess.Popen(
        [program("openssl", "openssl"), "s_client", "-connect", f"127.0.0.1:{port}",
         "-CAfile", str(files.ca), "-verify_return_error", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    output = bytearray()
    try:
        proc.stdin.write(data)
        proc.stdin.flush()
        deadline = time.monotonic() + 20
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while expect not in output and time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    output += chunk
        proc.stdin.close()
        proc.wait(timeout=20)
        output += proc.stdout.read()
    finally:
        reap(proc)
    return output.decode(errors="replace")


@needs("openssl", "openssl")
def test_openssl_s_client_echo_sni_and_alpn(rt: ReactorThread, cert_files: CertFiles) -> None:
    ctx = tls_context(cert_files, ["h2", "http/1.1"])
    listener = rt.call(lambda: serve_plugin(rt.reactor, "echo", ssl=ctx))
    out = s_client(
        listener.port, cert_files, "-servername", "localhost", "-alpn", "http/1.1",
        data=b"round trip over TLS\n", expect=b"round trip over TLS",
    )  # fmt: skip
    assert "Verify return code: 0 (ok)" in out, out
    assert "ALPN protocol: http/1.1" in out, out
    assert "\nround trip over TLS\n" in out, out  # the echo (s_client prints no input)
    assert "TLSv1.3" in out


@needs("openssl", "openssl")
def test_openssl_renegotiation_is_refused_and_others_carry_on(
    rt: ReactorThread, cert_files: CertFiles
) -> None:
    listener = rt.call(lambda: serve_plugin(rt.reactor, "echo", ssl=tls_context(cert_files)))
    out = s_client(listener.port, cert_files, "-tls1_2", data=b"R\n", expect=b"no renegotiation")
    assert "RENEGOTIATING" in out, out
    assert "no renegotiation" in out, out
    after = s_client(listener.port, cert_files, data=b"still fine\n", expect=b"still fine")
    assert "\nstill fine\n" in after, after


def http_server(rt: ReactorThread, files: CertFiles) -> tuple[int, list[HTTPHandler]]:
    app = default_app()
    handlers: list[HTTPHandler] = []

    def stream(request: Request) -> Response:
        return Response(200, [("Content-Type", "text/plain")], iter([b"chunk one\n", b"two\n"]))

    def echo(request: Request) -> Response:
        return Response(200, [("Content-Type", "application/octet-stream")], request.body)

    app.add("GET", "/stream", stream)
    app.add("POST", "/echo", echo)

    def factory(peer: PeerKey) -> HTTPHandler:
        handlers.append(HTTPHandler(app, HTTPConfig(), peer))
        return handlers[-1]

    ctx = tls_context(files, ["http/1.1"])
    listener = rt.call(lambda: rt.reactor.listen(factory, "127.0.0.1", 0, ssl=ctx))
    return listener.port, handlers


def curl(
    files: CertFiles, *args: str, data: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [program("curl", "curl"), "--silent", "--show-error", "--max-time", "20",
         "--cacert", str(files.ca), *args],
        input=data,
        capture_output=True,
        timeout=30,
        check=True,
    )  # fmt: skip


@needs("curl", "curl")
def test_curl_keep_alive_over_tls(rt: ReactorThread, cert_files: CertFiles) -> None:
    port, handlers = http_server(rt, cert_files)
    url = f"https://localhost:{port}/"
    out = curl(cert_files, "--http1.1", url, url, url)
    assert out.stdout == b"Hello, World!" * 3
    assert len(handlers) == 1  # one TLS connection, three requests


@needs("curl", "curl")
def test_curl_chunked_both_ways_over_tls(rt: ReactorThread, cert_files: CertFiles) -> None:
    port, _ = http_server(rt, cert_files)
    out = curl(cert_files, "--http1.1", "--include", f"https://localhost:{port}/stream")
    assert b"HTTP/1.1 200" in out.stdout
    assert b"transfer-encoding: chunked" in out.stdout.lower()
    assert out.stdout.endswith(b"chunk one\ntwo\n")
    body = b"uploaded in chunks " * 10_000
    out = curl(
        cert_files, "--http1.1", "--header", "Transfer-Encoding: chunked", "--data-binary", "@-",
        f"https://localhost:{port}/echo", data=body,
    )  # fmt: skip
    assert out.stdout == body


@pytest.fixture
def resp_port(rt: ReactorThread, cert_files: CertFiles) -> int:
    service = rt.call(RespService, rt.reactor)
    ctx = tls_context(cert_files)
    listener = rt.call(lambda: rt.reactor.listen(service.factory, "127.0.0.1", 0, ssl=ctx))
    port: int = listener.port
    return port


@needs("redis-cli", "redis-tools")
def test_redis_cli_tls(resp_port: int, cert_files: CertFiles) -> None:
    cli = program("redis-cli", "redis-tools")
    base = [cli, "-h", "localhost", "-p", str(resp_port), "--tls", "--cacert", str(cert_files.ca)]
    run = subprocess.run(
        [*base, "SET", "greeting", "over tls"], capture_output=True, timeout=20, check=True
    )
    assert run.stdout.strip() == b"OK"
    run = subprocess.run([*base, "GET", "greeting"], capture_output=True, timeout=20, check=True)
    assert run.stdout.strip() == b"over tls"


def test_redis_py_ssl(resp_port: int, cert_files: CertFiles) -> None:
    client = redis.Redis(
        host="localhost", port=resp_port, ssl=True, ssl_ca_certs=str(cert_files.ca),
        socket_timeout=10,
    )  # fmt: skip
    try:
        assert client.set("k", b"v" * 100_000)
        assert client.get("k") == b"v" * 100_000
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.incr("counter")
        assert pipe.execute()[-1] == 100
    finally:
        client.close()


ESCRIPT = ("escript", "erlang-base erlang-crypto erlang-ssl")


@needs(*ESCRIPT)
def test_erlang_ssl_client_against_our_packet_server(
    rt: ReactorThread, cert_files: CertFiles
) -> None:
    ctx = tls_context(cert_files)
    listener = rt.call(lambda: serve_plugin(rt.reactor, "packet", "--packet", "2", ssl=ctx))
    out = subprocess.run(
        [program(*ESCRIPT), str(ERL / "tls_packet_client.escript"), str(listener.port),
         str(cert_files.ca)],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    text = (out.stdout + out.stderr).decode(errors="replace")
    assert out.returncode == 0, text
    assert "FAIL" not in text, text
    for check in ("connected", "sizes", "batch"):
        assert f"ok tls {check}" in text, text


@needs(*ESCRIPT)
def test_our_framed_client_against_an_erlang_ssl_server(cert_files: CertFiles) -> None:
    from reactor.framing import FramedHandler, make_framer
    from reactor.loop import Reactor
    from reactor.testing import run_until
    from reactor.tls import client_context

    class Client(FramedHandler):
        def __init__(self, messages: list[bytes]) -> None:
            super().__init__(make_framer(2))
            self.messages = messages
            self.replies: list[bytes] = []

        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            for message in self.messages:
                self.send(message)

        def message_received(self, message: bytes) -> None:
            self.replies.append(message)
            if len(self.replies) == len(self.messages) and self.transport is not None:
                self.transport.close()

    server = subprocess.Popen(
        [program(*ESCRIPT), str(ERL / "tls_packet_server.escript"), str(cert_files.cert),
         str(cert_files.key)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline().decode()
        assert line.startswith("port "), line + server.stdout.read().decode()
        port = int(line.split()[1])
        messages = [bytes([n % 256]) * (n * 331 % 65536) for n in range(60)]
        client = Client(messages)
        reactor = Reactor()
        try:
            connector = reactor.connect(
                lambda p: client, "127.0.0.1", port, ssl=client_context(str(cert_files.ca)),
                server_hostname="localhost",
            )  # fmt: skip
            run_until(reactor, lambda: client.transport is None and bool(client.replies),
                      timeout=20)  # fmt: skip
            assert connector.error is None
        finally:
            reactor.close()
        assert client.replies == messages  # byte for byte, frame for frame
        out = server.communicate(timeout=20)[0].decode()
        assert f"closed {len(messages)} {sum(map(len, messages))}" in out, out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=5)
        if server.stdout is not None:
            server.stdout.close()
