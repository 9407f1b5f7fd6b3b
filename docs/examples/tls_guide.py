"""TLS with selreactor: serve, verify, SNI and ALPN, half-close, truncation, STARTTLS, deadlines.

Run it with the CA, certificate and key files of a server for ``localhost``
as arguments (the test suite makes them with ``trustme``)::

    python docs/examples/tls_guide.py ca.pem cert.pem key.pem
"""

from __future__ import annotations

import socket
import ssl
import sys

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until
from reactor.tls import client_context, server_context, start_tls


class Echo(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Client(BaseHandler):
    """Sends a message, prints what comes back, and how the connection ended."""

    def __init__(self, message: bytes, half_close: bool = False) -> None:
        self.message = message
        self.half_close = half_close
        self.got = b""
        self.done = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        tls = transport.get_extra_info
        print(f"  {tls('ssl_version')}, ALPN {tls('alpn_protocol')}, SNI {tls('server_name')}")
        transport.write(self.message)
        if self.half_close:
            transport.write_eof()  # TLS 1.3: close_notify, and we go on reading

    def data_received(self, data: bytes) -> None:
        self.got += data

    def eof_received(self) -> bool:
        print("  the server's close_notify arrived after", self.got)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        print("  connection_lost:", "clean" if exc is None else type(exc).__name__)
        self.done = True


def serve_and_verify(reactor: Reactor, ca: str, cert: str, key: str) -> int:
    print("1. serve with a certificate; the client checks it and the name")
    context = server_context(cert, key, alpn=["h2", "http/1.1"])
    listener = reactor.listen(lambda peer: Echo(), "127.0.0.1", 0, ssl=context)
    verifying = client_context(ca)
    verifying.set_alpn_protocols(["http/1.1"])
    client = Client(b"hello", half_close=True)
    reactor.connect(
        lambda peer: client,
        "127.0.0.1",
        listener.port,
        ssl=verifying,
        server_hostname="localhost",
    )
    run_until(reactor, lambda: client.done)
    print("2. a name the certificate does not carry")
    connector = reactor.connect(
        lambda peer: Client(b"x"),
        "127.0.0.1",
        listener.port,
        ssl=client_context(ca),
        server_hostname="example.org",
    )
    run_until(reactor, connector.done)
    error = connector.error
    assert isinstance(error, ssl.SSLCertVerificationError)
    print("  refused:", error.verify_message)
    return listener.port


class Server(BaseHandler):
    """Records how its connection ended."""

    def __init__(self) -> None:
        self.exc: Exception | None = None
        self.done = False

    def connection_lost(self, exc: Exception | None) -> None:
        self.exc = exc
        self.done = True


def truncation(reactor: Reactor, cert: str, key: str) -> None:
    print("3. a peer that closes TCP without close_notify")
    server = Server()
    listener = reactor.listen(lambda peer: server, "127.0.0.1", 0, ssl=server_context(cert, key))
    raw = socket.create_connection(("127.0.0.1", listener.port))
    insecure = client_context(insecure=True)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    session = insecure.wrap_bio(incoming, outgoing)
    while True:  # a hand-driven handshake, so we can cut the stream after it
        try:
            session.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(outgoing.read())
            run_until(reactor, lambda: _readable(raw))
            incoming.write(raw.recv(65536))
    raw.sendall(outgoing.read())
    raw.close()  # no close_notify: the stream may have been cut by an attacker
    run_until(reactor, lambda: server.done)
    print("  the server's connection_lost:", type(server.exc).__name__)
    listener.close()


def _readable(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False


class StartTLS(BaseHandler):
    """A line protocol that upgrades to TLS on ``STARTTLS``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.tls: Transport | None = None

    def data_received(self, data: bytes) -> None:
        if self.tls is not None:
            print("  server, inside TLS:", data)
            self.tls.write(data.upper())
            return
        command, _, rest = data.partition(b"\n")
        print("  server, in the clear:", command)
        assert self.transport is not None
        self.transport.write(b"GO\n")
        self.tls = start_tls(self.transport, self.context, server_side=True, buffered=rest)


class StartTLSClient(BaseHandler):
    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.got = b""

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"STARTTLS\n")

    def data_received(self, data: bytes) -> None:
        if data == b"GO\n":
            assert self.transport is not None
            tls = start_tls(
                self.transport, self.context, server_side=False, server_hostname="localhost"
            )
            tls.write(b"private now")  # sent once the handshake is done
        else:
            self.got += data


def upgrade(reactor: Reactor, ca: str, cert: str, key: str) -> None:
    print("4. STARTTLS: start in the clear, upgrade in place")
    listener = reactor.listen(lambda p: StartTLS(server_context(cert, key)), "127.0.0.1", 0)
    client = StartTLSClient(client_context(ca))
    reactor.connect(lambda p: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: client.got == b"PRIVATE NOW")
    print("  client, inside TLS:", client.got)
    listener.close()


def deadline(reactor: Reactor, cert: str, key: str) -> None:
    print("5. a peer that never finishes its handshake")
    context = server_context(cert, key)
    listener = reactor.listen(
        lambda p: Echo(), "127.0.0.1", 0, ssl=context, ssl_handshake_timeout=0.2
    )
    stalled = socket.create_connection(("127.0.0.1", listener.port))
    stalled.sendall(b"\x16")  # one byte of a ClientHello, then silence
    run_until(reactor, lambda: _readable(stalled) or _closed(stalled))
    print("  closed by the server after 0.2 s:", _closed(stalled))
    stalled.close()
    listener.close()


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False


def main() -> None:
    ca, cert, key = sys.argv[1:4]
    reactor = Reactor()
    serve_and_verify(reactor, ca, cert, key)
    truncation(reactor, cert, key)
    upgrade(reactor, ca, cert, key)
    deadline(reactor, cert, key)
    reactor.close()


if __name__ == "__main__":
    main()
