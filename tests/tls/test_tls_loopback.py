"""TLS over real loopback sockets: both ends ours, and Python's ssl as the other end."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable

import pytest

from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Transport
from reactor.testing import run_until
from reactor.tls import TLSTransport, negotiated, start_tls
from reactor.transport import Connection
from tests.tls.clients import BioClient, in_thread


class Echo(BaseHandler):
    """Echo, keeping what it saw."""

    def __init__(self) -> None:
        self.made = False
        self.sni: object = None
        self.peercert: object = None
        self.lost: list[Exception | None] = []
        self.eof = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.made = True
        self.sni = transport.get_extra_info("server_name")
        self.peercert = transport.get_extra_info("peercert")

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        super().connection_lost(exc)


def handing(handler: BaseHandler) -> Callable[[PeerKey], BaseHandler]:
    """A factory that returns ``handler``."""
    return lambda peer: handler


class Echoes(list[Echo]):
    """A listener factory that keeps every handler it made."""

    def __call__(self, peer: PeerKey) -> Echo:
        self.append(Echo())
        return self[-1]


class Collector(BaseHandler):
    """A client: sends ``payload`` and closes once it has it back."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.got = bytearray()
        self.lost: list[Exception | None] = []

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        self.got += data
        if len(self.got) >= len(self.payload) and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        super().connection_lost(exc)

    def finished(self) -> bool:
        return bool(self.lost)


def test_echo_between_our_server_and_our_client(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    servers = Echoes()

    def factory(peer: PeerKey) -> Echo:
        servers.append(Echo())
        return servers[-1]

    listener = reactor.listen(factory, "127.0.0.1", 0, ssl=server_ctx)
    payload = bytes(range(256)) * 8192  # 2 MiB: far past the water marks both ways
    client = Collector(payload)
    connector = reactor.connect(
        lambda p: client, "127.0.0.1", listener.port, ssl=client_ctx, server_hostname="localhost"
    )
    run_until(reactor, lambda: bool(client.lost) and bool(servers) and bool(servers[0].lost))
    assert connector.error is None
    assert isinstance(connector.transport, TLSTransport)
    assert bytes(client.got) == payload
    assert client.lost == [None]
    assert servers[0].lost == [None]  # our client's close sent close_notify: a clean end
    assert servers[0].eof


def test_handler_sees_tls_extras_and_the_table_sees_what_was_negotiated(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])
    client_ctx.set_alpn_protocols(["http/1.1"])
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)
    client = Collector(b"x")
    reactor.connect(
        lambda p: client, "127.0.0.1", listener.port, ssl=client_ctx, server_hostname="localhost"
    )
    run_until(reactor, lambda: bool(servers) and servers[0].made)
    transport = servers[0].transport
    assert transport is not None
    assert transport.get_extra_info("ssl_version") == "TLSv1.3"
    assert transport.get_extra_info("alpn_protocol") == "http/1.1"
    assert transport.get_extra_info("server_name") == "localhost"
    assert isinstance(transport.get_extra_info("ssl_object"), ssl.SSLObject)
    assert transport.get_extra_info("sslcontext") is server_ctx
    cipher = transport.get_extra_info("cipher")
    assert isinstance(cipher, tuple)
    assert transport.get_extra_info("peername") == ("127.0.0.1", transport.peer[1])
    tcp = listener.connections[transport.peer]
    assert negotiated(tcp) == {
        "tls": "TLSv1.3",
        "cipher": cipher[0],
        "sni": "localhost",
        "alpn": "http/1.1",
    }
    run_until(reactor, lambda: bool(client.lost))


def test_negotiated_is_dashes_for_plain_tcp(reactor: Reactor) -> None:
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0)
    client = Collector(b"x")
    reactor.connect(lambda p: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: bool(servers) and servers[0].made)
    tcp = next(iter(listener.connections.values()))
    assert negotiated(tcp) == {"tls": "-", "cipher": "-", "sni": "-", "alpn": "-"}
    run_until(reactor, lambda: bool(client.lost))


def test_half_close_on_tls13_keeps_reading_and_the_echo_arrives_whole(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)
    payload = b"half-close " * 50_000

    def client() -> tuple[bytes, bool]:
        c = BioClient(listener.port, client_ctx)
        try:
            c.handshake()
            c.send(payload)
            c.close_notify()  # our write side is done; we go on reading
            return c.read_until_close()
        finally:
            c.close()

    got, clean = in_thread(reactor, client)
    assert got == payload
    assert clean  # the server answered with its own close_notify
    run_until(reactor, lambda: bool(servers[0].lost))
    assert servers[0].eof
    assert servers[0].lost == [None]


def test_write_eof_sends_close_notify_and_reading_goes_on(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class Greeter(BaseHandler):
        def __init__(self) -> None:
            self.got = bytearray()
            self.lost: list[Exception | None] = []

        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            assert transport.can_write_eof()
            transport.write(b"hello, then half-close")
            transport.write_eof()
            with pytest.raises(RuntimeError):
                transport.write(b"too late")

        def data_received(self, data: bytes) -> None:
            self.got += data

        def connection_lost(self, exc: Exception | None) -> None:
            self.lost.append(exc)

    server = Greeter()
    listener = reactor.listen(lambda p: server, "127.0.0.1", 0, ssl=server_ctx)

    def client() -> bytes:
        c = BioClient(listener.port, client_ctx)
        try:
            c.handshake()
            got, clean = c.read_until_close()
            assert clean
            c.send(b"the client still talks")
            c.close_notify()
            return got
        finally:
            c.close()

    assert in_thread(reactor, client) == b"hello, then half-close"
    run_until(reactor, lambda: bool(server.lost))
    assert bytes(server.got) == b"the client still talks"
    assert server.lost == [None]


def test_write_eof_on_tls12_is_a_clear_error(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    server_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    errors: list[BaseException] = []

    class HalfCloser(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            assert not transport.can_write_eof()
            try:
                transport.write_eof()
            except NotImplementedError as exc:
                errors.append(exc)
            transport.close()

    listener = reactor.listen(lambda p: HalfCloser(), "127.0.0.1", 0, ssl=server_ctx)

    def client() -> bool:
        c = BioClient(listener.port, client_ctx)
        try:
            c.handshake()
            return c.read_until_close()[1]
        finally:
            c.close()

    assert in_thread(reactor, client)  # close() sent close_notify
    assert errors
    assert "TLS 1.3" in str(errors[0]) and "TLSv1.2" in str(errors[0])


def test_a_peer_that_closes_without_close_notify_is_a_truncation(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)

    def client() -> None:
        c = BioClient(listener.port, client_ctx)
        c.handshake()
        c.send(b"a message that is cut")
        assert c.read_exactly(21) == b"a message that is cut"
        c.sock.shutdown(socket.SHUT_WR)  # TCP FIN, no close_notify
        c.close()

    in_thread(reactor, client)
    run_until(reactor, lambda: bool(servers[0].lost))
    assert not servers[0].eof  # not a clean EOF
    [exc] = servers[0].lost
    assert isinstance(exc, ssl.SSLEOFError)


@pytest.mark.parametrize(
    ("what", "wire"),
    [
        ("garbage", b"\x00\x01garbage that is not a ClientHello\r\n" * 4),
        ("plaintext HTTP", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        # a record header announcing 18 KiB + 1: over TLS's limit
        ("oversized record", b"\x16\x03\x03\x48\x01" + b"\x00" * 18433),
    ],
)
def test_bad_input_ends_that_connection_with_a_logged_reason(
    *,
    reactor: Reactor,
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
    what: str,
    wire: bytes,
) -> None:
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)
    good = Collector(b"still served")
    reactor.connect(
        lambda p: good, "127.0.0.1", listener.port, ssl=client_ctx, server_hostname="localhost"
    )
    run_until(reactor, lambda: len(listener.connections) == 1 and servers[0].made)
    bad = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
    bad_port = bad.getsockname()[1]
    with caplog.at_level(logging.INFO, logger="reactor.tls"):
        bad.sendall(wire)
        run_until(
            reactor,
            lambda: len(servers) == 2 and ("127.0.0.1", bad_port) not in listener.connections,
        )
        run_until(reactor, lambda: bool(good.lost))
    bad.settimeout(5)
    try:
        rest = bad.recv(65536)  # an alert, or nothing: never an answer in the clear
    except ConnectionResetError:
        rest = b""
    bad.close()
    assert b"HTTP" not in rest
    assert bytes(good.got) == b"still served"  # the other connection never noticed
    assert good.lost == [None]
    assert len(servers) == 2 and not servers[1].made  # the bad peer never reached the plugin
    logged = [r.getMessage() for r in caplog.records if str(bad_port) in r.getMessage()]
    assert logged, caplog.text
    assert "handshake" in logged[0]


def test_a_stalled_handshake_is_aborted_at_the_deadline(
    reactor: Reactor, server_ctx: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    servers = Echoes()
    listener = reactor.listen(
        servers,
        "127.0.0.1",
        0,
        ssl=server_ctx,
        ssl_handshake_timeout=0.2,
    )
    stalled = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
    stalled.sendall(b"\x16")  # one byte of a ClientHello, then nothing
    with caplog.at_level(logging.INFO, logger="reactor.tls"):
        run_until(reactor, lambda: len(servers) == 1 and not listener.connections, timeout=5)
    assert stalled.recv(100) == b""  # closed on us
    stalled.close()
    assert not servers[0].made
    assert "not done in 0.2 s" in caplog.text


def test_hostname_mismatch_fails_the_connect(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    listener = reactor.listen(lambda p: Echo(), "127.0.0.1", 0, ssl=server_ctx)
    client = Collector(b"x")
    connector = reactor.connect(
        lambda p: client,
        "127.0.0.1",
        listener.port,
        ssl=client_ctx,
        server_hostname="wrong.example",
    )
    run_until(reactor, connector.done)
    assert isinstance(connector.error, ssl.SSLCertVerificationError)
    assert connector.transport is None
    assert client.lost == []  # never made, so never lost


def test_the_host_is_the_default_server_hostname(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    listener = reactor.listen(lambda p: Echo(), "127.0.0.1", 0, ssl=server_ctx)
    client = Collector(b"by address")
    connector = reactor.connect(lambda p: client, "127.0.0.1", listener.port, ssl=client_ctx)
    run_until(reactor, lambda: bool(client.lost))
    assert connector.error is None
    assert bytes(client.got) == b"by address"


def test_client_certificates_required(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, ca: object
) -> None:
    import trustme

    assert isinstance(ca, trustme.CA)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server_ctx)
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)
    anonymous = Collector(b"who am I")
    reactor.connect(lambda p: anonymous, "127.0.0.1", listener.port, ssl=client_ctx)
    run_until(reactor, lambda: len(servers) == 1 and not listener.connections)
    assert not servers[0].made
    ca.issue_cert("client@example.org").configure_cert(client_ctx)
    known = Collector(b"known")
    reactor.connect(lambda p: known, "127.0.0.1", listener.port, ssl=client_ctx)
    run_until(reactor, lambda: bool(known.lost))
    assert bytes(known.got) == b"known"
    assert servers[1].made
    assert isinstance(servers[1].peercert, dict)
    assert "client@example.org" in str(servers[1].peercert)  # the certificate it showed


def test_sni_picks_the_context_of_the_name(
    reactor: Reactor, ca: object, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    import trustme

    from reactor.tls import prepare_server_context

    assert isinstance(ca, trustme.CA)
    other = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("other.example").configure_cert(other)
    prepare_server_context(server_ctx, {"other.example": other})
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)
    for name in ("other.example", "localhost"):
        client = Collector(name.encode())
        connector = reactor.connect(
            handing(client), "127.0.0.1", listener.port, ssl=client_ctx, server_hostname=name
        )
        run_until(reactor, client.finished)
        assert connector.error is None  # the certificate matched the name asked for
        assert bytes(client.got) == name.encode()
    assert [s.sni for s in servers] == ["other.example", "localhost"]


def test_status_json_shows_what_each_connection_negotiated(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    from protocols.status import snapshot

    servers = Echoes()
    tls = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)
    plain = reactor.listen(servers, "127.0.0.1", 0)
    clients = [Collector(b""), Collector(b"")]  # they stay until closed here
    reactor.connect(lambda p: clients[0], "127.0.0.1", tls.port, ssl=client_ctx)
    reactor.connect(lambda p: clients[1], "127.0.0.1", plain.port)
    run_until(reactor, lambda: len(servers) == 2 and all(s.made for s in servers))
    table = snapshot(reactor.connections.values(), reactor.time())
    served = table[f"127.0.0.1:{tls.port}"][0]
    assert served["tls"] == "TLSv1.3"
    assert served["sni"] == "-"  # clients send no SNI for an IP address
    assert served["cipher"] != "-"
    assert table[f"127.0.0.1:{plain.port}"][0]["tls"] == "-"
    for client in clients:
        assert client.transport is not None
        client.transport.close()
    run_until(reactor, lambda: all(c.lost for c in clients))


class StartTLSServer(BaseHandler):
    """A line protocol with STARTTLS: answers ``GO`` in the clear, then speaks TLS."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.buf = b""
        self.tls: TLSTransport | None = None
        self.plain_lines: list[bytes] = []
        self.lost: list[Exception | None] = []

    def data_received(self, data: bytes) -> None:
        if self.tls is not None:  # plaintext from inside TLS: echo it upper-cased
            self.tls.write(data.upper())
            return
        self.buf += data
        while b"\n" in self.buf and self.tls is None:
            line, _, self.buf = self.buf.partition(b"\n")
            self.plain_lines.append(line)
            if line == b"STARTTLS":
                assert self.transport is not None
                self.transport.write(b"GO\n")
                rest, self.buf = self.buf, b""
                assert isinstance(self.transport, Connection)  # the method of a TCP connection
                self.tls = self.transport.start_tls(self.ctx, server_side=True, buffered=rest)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def test_start_tls_with_the_client_hello_already_buffered(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    server = StartTLSServer(server_ctx)
    listener = reactor.listen(lambda p: server, "127.0.0.1", 0)

    def client() -> bytes:
        c = BioClient(listener.port, client_ctx)
        try:
            try:
                c.ssl.do_handshake()
            except ssl.SSLWantReadError:
                hello = c.outgoing.read()
            # the command and the ClientHello in one segment: the server has
            # both in one read, and must hand the rest to the handshake
            c.sock.sendall(b"HELO\nSTARTTLS\n" + hello)
            answer = b""
            while not answer.endswith(b"GO\n"):
                answer += c.sock.recv(1)  # the clear-text answer, byte by byte
            c.handshake()
            c.send(b"now private")
            got = c.read_exactly(11)
            c.close_notify()
            return got
        finally:
            c.close()

    assert in_thread(reactor, client) == b"NOW PRIVATE"
    assert server.plain_lines == [b"HELO", b"STARTTLS"]
    run_until(reactor, lambda: bool(server.lost))
    assert server.lost == [None]
    assert server.tls is not None
    assert server.tls.get_extra_info("ssl_version") == "TLSv1.3"


def test_start_tls_twice_is_an_error(reactor: Reactor, server_ctx: ssl.SSLContext) -> None:
    errors: list[Exception] = []

    class Twice(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            tls = start_tls(transport, server_ctx, server_side=True)
            try:
                start_tls(tls, server_ctx, server_side=True)
            except RuntimeError as exc:
                errors.append(exc)
            tls.abort()

    listener = reactor.listen(lambda p: Twice(), "127.0.0.1", 0)
    sock = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
    run_until(reactor, lambda: bool(errors))
    sock.close()
    assert "already" in str(errors[0])


def test_backpressure_both_ways_counted_in_plaintext(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class Deaf(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            transport.pause_reading()  # never reads: the kernel's window fills up

    class Producer(BaseHandler):
        def __init__(self) -> None:
            self.paused = False
            self.written = 0

        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            transport.set_write_buffer_limits(high=256 * 1024)
            while not self.paused and self.written < 64 << 20:
                transport.write(b"x" * 65536)
                self.written += 65536

        def pause_writing(self) -> None:
            self.paused = True

    server = Deaf()
    listener = reactor.listen(handing(server), "127.0.0.1", 0, ssl=server_ctx)
    producer = Producer()
    reactor.connect(handing(producer), "127.0.0.1", listener.port, ssl=client_ctx)
    run_until(reactor, lambda: producer.paused and getattr(server, "transport", None) is not None)
    assert producer.transport is not None and server.transport is not None
    assert producer.written < 64 << 20  # stopped long before the end
    assert producer.transport.writing_paused
    assert producer.transport.get_write_buffer_size() > 256 * 1024  # queued, in bytes
    assert not server.transport.is_reading()
    tcp = next(iter(listener.connections.values()))
    assert not tcp.is_reading()  # the socket itself left the selector
    producer.transport.abort()
    server.transport.abort()
    run_until(reactor, lambda: not listener.connections)


def test_close_right_after_start_tls_still_sends_what_was_written(
    reactor: Reactor, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class Eager(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            tls = start_tls(transport, server_ctx, server_side=True)
            tls.write(b"written before the handshake, then closed")
            tls.close()

    listener = reactor.listen(handing(Eager()), "127.0.0.1", 0)

    def client() -> tuple[bytes, bool]:
        c = BioClient(listener.port, client_ctx)
        try:
            c.handshake()
            return c.read_until_close()
        finally:
            c.close()

    assert in_thread(reactor, client) == (b"written before the handshake, then closed", True)


def test_short_lived_tls13_clients_are_neither_stalled_nor_reset_by_session_tickets(
    reactor: Reactor,
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # TLS 1.3 servers send session tickets after the handshake; a client that
    # asks one thing and leaves must still get its answer, and nobody waits
    # for tickets to be read (trio#819).
    client_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    servers = Echoes()
    listener = reactor.listen(servers, "127.0.0.1", 0, ssl=server_ctx)

    def clients() -> list[bytes]:
        answers = []
        for n in range(20):
            with (
                socket.create_connection(("127.0.0.1", listener.port), timeout=10) as raw,
                client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                assert tls.version() == "TLSv1.3"
                tls.sendall(b"ping %02d" % n)
                answers.append(tls.recv(7))
        for _ in range(5):  # and some that leave right after the handshake
            with (
                socket.create_connection(("127.0.0.1", listener.port), timeout=10) as raw,
                client_ctx.wrap_socket(raw, server_hostname="localhost"),
            ):
                pass
        return answers

    with caplog.at_level(logging.WARNING):
        answers = in_thread(reactor, clients)
        run_until(reactor, lambda: len(servers) == 25 and not listener.connections, timeout=10)
    assert answers == [b"ping %02d" % n for n in range(20)]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
