"""Private and intact: what TLS adds to a TCP byte stream.

A relay sits on the path between a client and a TLS echo server, as any
router could, and sees every byte TCP carries.

1. Private: the client sends a secret; the relay finds the server's name in
   the clear (the SNI of the ClientHello) but not the secret, and the client
   gets its echo back.
2. Intact: the relay flips one bit of one encrypted record.  TCP's checksum
   is recomputed by the relay's kernel, so TCP delivers the damaged byte
   happily; TLS's authentication tag does not match, the server refuses the
   record, tells the client why (a ``bad_record_mac`` alert) and ends the
   connection: nothing forged is ever delivered to the application.

Run it with the CA, certificate and key files of a server for ``localhost``
as arguments (the test suite makes them with ``trustme``)::

    python docs/examples/tcp_tls.py ca.pem cert.pem key.pem
"""

from __future__ import annotations

import logging
import sys

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until
from reactor.tls import client_context, server_context

SECRET = b"the launch code is 0000"


class Echo(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Client(BaseHandler):
    def __init__(self) -> None:
        self.got = b""
        self.lost = False
        self.exc: Exception | None = None

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(SECRET)

    def data_received(self, data: bytes) -> None:
        self.got += data
        if self.got == SECRET and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.exc = exc


class Relay(BaseHandler):
    """Forwards both ways to the server, keeps what the client sent, may flip a bit."""

    def __init__(self, reactor: Reactor, port: int, tamper: bool) -> None:
        self.reactor = reactor
        self.port = port
        self.tamper = tamper
        self.seen = b""
        self.upstream: Upstream | None = None
        self.next_record = 0  # where the next TLS record header starts in `seen`
        self.encrypted = 0  # encrypted records (type 23) seen so far
        self.flip_at = -1  # the stream position of the bit to flip

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.pause_reading()  # until the server side is connected
        self.upstream = Upstream(self)
        self.reactor.connect(lambda peer: self.upstream, "127.0.0.1", self.port)

    def data_received(self, data: bytes) -> None:
        start = len(self.seen)
        self.seen += data
        # Walk the record headers: type (1 byte), version (2), length (2).
        while self.next_record + 5 <= len(self.seen):
            kind = self.seen[self.next_record]
            length = int.from_bytes(self.seen[self.next_record + 3 : self.next_record + 5], "big")
            if kind == 23:
                self.encrypted += 1
                # the client's first encrypted record is its Finished; the
                # second carries the secret: damage one bit of that one
                if self.tamper and self.encrypted == 2:
                    self.flip_at = self.next_record + 5 + length // 2
            self.next_record += 5 + length
        if start <= self.flip_at < len(self.seen):
            i = self.flip_at - start
            data = data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]
            self.flip_at = -1
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.close()


class Upstream(BaseHandler):
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        if self.relay.transport is not None:
            self.relay.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.relay.transport is not None:
            self.relay.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.relay.transport is not None:
            self.relay.transport.close()


class Rejections(logging.Handler):
    """Collects what the TLS layer logs when it refuses a peer's record."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.reasons: list[str] = []  # one per connection, server's first

    def emit(self, record: logging.LogRecord) -> None:
        self.reasons.append(record.getMessage())


def through_relay(reactor: Reactor, files: list[str], tamper: bool) -> tuple[Relay, Client]:
    ca, cert, key = files
    server = reactor.listen(lambda p: Echo(), "127.0.0.1", 0, ssl=server_context(cert, key))
    relay = Relay(reactor, server.port, tamper)
    on_path = reactor.listen(lambda p: relay, "127.0.0.1", 0)
    client = Client()
    reactor.connect(
        lambda p: client,
        "127.0.0.1",
        on_path.port,
        ssl=client_context(ca),
        server_hostname="localhost",
    )
    run_until(reactor, lambda: client.lost)
    server.close()
    on_path.close()
    return relay, client


def main() -> None:
    reactor = Reactor()
    rejections = Rejections()
    logging.getLogger("reactor.tls").addHandler(rejections)
    logging.getLogger("reactor.tls").setLevel(logging.INFO)

    print("1. private: what a relay on the path sees")
    relay, client = through_relay(reactor, sys.argv[1:4], tamper=False)
    print("  the server's name, in the clear (SNI):", b"localhost" in relay.seen)
    print("  the secret, anywhere in the bytes:", SECRET in relay.seen)
    print("  the client got its echo back:", client.got == SECRET)

    print("2. intact: the relay flips one bit of an encrypted record")
    relay, client = through_relay(reactor, sys.argv[1:4], tamper=True)
    print("  the client got an echo:", client.got != b"")
    server_says, client_hears = (r.rpartition("failed: ")[2] for r in rejections.reasons)
    print("  the server refused the record:", server_says)
    print("  the client was told, by an alert:", client_hears)
    print("  the client's connection_lost() got:", type(client.exc).__name__)
    reactor.close()


if __name__ == "__main__":
    main()
