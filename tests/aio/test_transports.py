"""reactor.aio's stream transports: selreactor connections with asyncio's interface."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

import reactor.aio
from reactor import BaseHandler, Listener, Transport
from tests.aio.support import running_loop
from tests.externals import program

WAIT = 5.0  # bounds every wait: a failing test fails fast


class Echo(asyncio.Protocol):
    """Echoes; records what happened to it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[Exception | None] = running_loop().create_future()
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        return False  # close once the echo is flushed

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport.close()  # Python 3.10's TLS transport warns unless closed
        if not self.lost.done():
            self.lost.set_result(exc)


async def echo_server(**options: object) -> tuple[asyncio.Server, int, list[Echo]]:
    made: list[Echo] = []

    def factory() -> Echo:
        made.append(Echo())
        return made[-1]

    server = await running_loop().create_server(factory, "127.0.0.1", 0, **options)
    return server, server.sockets[0].getsockname()[1], made


def test_protocol_echo_extras_and_the_connection_table() -> None:
    async def main() -> None:
        loop = running_loop()
        server, port, made = await echo_server()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello")
        assert await asyncio.wait_for(reader.readexactly(5), WAIT) == b"hello"
        transport = made[0].transport
        assert transport is not None
        client_port = writer.get_extra_info("sockname")[1]
        assert transport.get_extra_info("peername") == ("127.0.0.1", client_port)
        assert transport.get_extra_info("sockname") == ("127.0.0.1", port)
        assert transport.get_extra_info("socket").fileno() >= 0
        assert transport.get_extra_info("peer") == ("127.0.0.1", client_port)
        assert transport.get_extra_info("sslcontext") is None
        # Both ends are in the reactor's table; the server's in its listener's.
        conn = transport.get_extra_info("connection")
        assert conn in loop.reactor.connections.values()
        assert writer.transport.get_extra_info("connection") in loop.reactor.connections.values()
        (listener,) = loop.reactor.listeners
        assert isinstance(listener, Listener)
        assert listener.connections[("127.0.0.1", client_port)] is conn
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        assert made[0].eof
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        assert await asyncio.wait_for(made[0].lost, WAIT) is None
        server.close()
        await asyncio.wait_for(server.wait_closed(), WAIT)
        assert not loop.reactor.connections
        assert not loop.reactor.listeners

    reactor.aio.run(main())


def test_close_from_a_task_reaps_without_other_io() -> None:
    async def main() -> None:
        server, port, made = await echo_server()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(_until(lambda: bool(made)), WAIT)
        assert made[0].transport is not None
        made[0].transport.close()  # between two reactor turns
        assert await asyncio.wait_for(made[0].lost, WAIT) is None
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()
        server.close()

    reactor.aio.run(main())


async def _until(condition: object) -> None:
    while not callable(condition) or not condition():
        await asyncio.sleep(0)


def test_buffered_protocol() -> None:
    class Collect(asyncio.BufferedProtocol):
        def __init__(self) -> None:
            self.buf = bytearray(3)  # small: a read spans several buffers
            self.got = bytearray()
            self.done = running_loop().create_future()

        def get_buffer(self, sizehint: int) -> bytearray:
            return self.buf

        def buffer_updated(self, nbytes: int) -> None:
            self.got += self.buf[:nbytes]

        def eof_received(self) -> None:
            self.done.set_result(bytes(self.got))

    async def main() -> bytes:
        loop = running_loop()
        protocol = Collect()
        server = await loop.create_server(lambda: protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"0123456789" * 100)
        writer.write_eof()
        try:
            return await asyncio.wait_for(protocol.done, WAIT)
        finally:
            writer.close()
            server.close()

    assert reactor.aio.run(main()) == b"0123456789" * 100


def test_water_marks_pause_and_resume_writing() -> None:
    events: list[str] = []

    class Writer(asyncio.Protocol):
        def __init__(self) -> None:
            self.resumed = running_loop().create_future()

        def pause_writing(self) -> None:
            events.append("pause")

        def resume_writing(self) -> None:
            events.append("resume")
            self.resumed.set_result(None)

    async def main() -> None:
        loop = running_loop()
        a, b = socket.socketpair()
        with b:
            transport, protocol = await loop.connect_accepted_socket(Writer, a)
            transport.set_write_buffer_limits(high=1000)
            assert transport.get_write_buffer_limits() == (250, 1000)
            with pytest.raises(ValueError, match="must be >="):
                transport.set_write_buffer_limits(high=1, low=2)
            chunk = b"x" * 65536
            while not events:  # fill the kernel, then our queue above the mark
                transport.write(chunk)
            assert transport.get_write_buffer_size() > 1000
            b.setblocking(False)
            while not protocol.resumed.done():
                try:
                    b.recv(1 << 20)
                except BlockingIOError:
                    await asyncio.sleep(0)
            transport.close()

    reactor.aio.run(main())
    assert events == ["pause", "resume"]


def test_create_server_idle_timeout_closes_an_idle_connection() -> None:
    async def main() -> None:
        server, port, made = await echo_server(idle_timeout=0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed by the server
        assert await asyncio.wait_for(made[0].lost, WAIT) is None
        writer.close()
        server.close()

    reactor.aio.run(main())


def test_create_server_max_connections_makes_peers_wait() -> None:
    async def main() -> None:
        loop = running_loop()
        server, port, made = await echo_server(max_connections=1)
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(b"a")
        assert await asyncio.wait_for(r1.readexactly(1), WAIT) == b"a"
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)  # the kernel's backlog
        w2.write(b"b")
        (listener,) = loop.reactor.listeners
        assert isinstance(listener, Listener)
        assert not listener.is_accepting()
        assert len(made) == 1
        w1.close()
        assert await asyncio.wait_for(r2.readexactly(1), WAIT) == b"b"  # its turn came
        assert len(made) == 2
        w2.close()
        server.close()

    reactor.aio.run(main())


def test_create_server_refuses_a_bad_extension_at_the_call() -> None:
    async def main() -> None:
        loop = running_loop()
        with pytest.raises(ValueError, match="max_connections"):
            await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, max_connections=0)
        with pytest.raises(ValueError, match="idle_timeout"):
            await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0, idle_timeout=-1)
        assert not loop.reactor.listeners

    reactor.aio.run(main())


@pytest.mark.skipif(sys.version_info < (3, 13), reason="Server.close_clients arrived in 3.13")
def test_server_close_clients() -> None:
    async def main() -> None:
        server, port, made = await echo_server()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(_until(lambda: bool(made)), WAIT)
        server.close()
        if sys.version_info >= (3, 13):  # the skipif's condition, which mypy reads too
            server.close_clients()
        await asyncio.wait_for(server.wait_closed(), WAIT)
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()

    reactor.aio.run(main())


@pytest.mark.skipif(
    sys.version_info < (3, 12), reason="before 3.12 wait_closed() returns at once once closed"
)
def test_wait_closed_waits_for_the_clients() -> None:
    async def main() -> None:
        server, port, made = await echo_server()
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(_until(lambda: bool(made)), WAIT)
        server.close()
        closed = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0)
        assert not closed.done()
        writer.close()
        await asyncio.wait_for(closed, WAIT)

    reactor.aio.run(main())


def test_sendfile_and_unix_sockets(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096
    path = tmp_path / "file"
    path.write_bytes(data)

    async def main() -> bytes:
        loop = running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got.set_result(await reader.read())
            writer.close()

        server = await asyncio.start_unix_server(receive, str(tmp_path / "sock"))
        _, writer = await asyncio.open_unix_connection(str(tmp_path / "sock"))
        writer.write(b"head:")
        with path.open("rb") as file:
            assert await loop.sendfile(writer.transport, file) == len(data)
        writer.write_eof()
        try:
            return await asyncio.wait_for(got, WAIT)
        finally:
            writer.close()
            server.close()

    assert reactor.aio.run(main()) == b"head:" + data


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = program("openssl", "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_tls_server_and_client_through_asyncio_sslproto(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))

    async def main() -> bytes:
        server, port, made = await echo_server(ssl=server_context)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context, server_hostname="localhost"
        )
        assert writer.get_extra_info("ssl_object") is not None
        writer.write(b"secret")
        try:
            return await asyncio.wait_for(reader.readexactly(6), WAIT)
        finally:
            writer.close()
            await asyncio.wait_for(made[0].lost, WAIT)
            server.close()

    assert reactor.aio.run(main()) == b"secret"


def test_start_tls_upgrades_a_connection(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))

    async def main() -> bytes:
        loop = running_loop()
        served = loop.create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert await reader.readexactly(9) == b"STARTTLS\n"
            writer.write(b"OK\n")
            await writer.drain()
            tls = await loop.start_tls(
                writer.transport, writer.transport.get_protocol(), server_context,
                server_side=True,
            )  # fmt: skip
            assert tls is not None
            try:
                tls.write((await reader.readexactly(4)).upper())
                await reader.read()  # the client's close
            finally:
                tls.close()
                writer.close()
                served.set_result(None)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await asyncio.wait_for(reader.readexactly(3), WAIT) == b"OK\n"
        tls = await loop.start_tls(
            writer.transport, writer.transport.get_protocol(), client_context,
            server_hostname="localhost",
        )  # fmt: skip
        assert tls is not None
        assert tls.get_extra_info("ssl_object") is not None
        tls.write(b"pong")
        try:
            return await asyncio.wait_for(reader.readexactly(4), WAIT)
        finally:
            tls.close()
            writer.close()
            await asyncio.wait_for(served, WAIT)
            server.close()

    assert reactor.aio.run(main()) == b"PONG"


def test_native_handlers_share_the_loop() -> None:
    class Upper(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            self.conn = transport

        def data_received(self, data: bytes) -> None:
            self.conn.write(data.upper())

    async def main() -> bytes:
        loop = running_loop()
        assert isinstance(loop, reactor.aio.Loop)
        listener = loop.reactor.listen(lambda peer: Upper(), "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"native")
        try:
            return await asyncio.wait_for(reader.readexactly(6), WAIT)
        finally:
            writer.close()
            listener.close()

    assert reactor.aio.run(main()) == b"NATIVE"
