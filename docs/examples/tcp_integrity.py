"""Intact and in order, to the peer's kernel: what TCP promises and what it does not.

1. Four MiB of pseudo-random bytes go through an echo server in writes of
   uneven sizes and come back in reads of other sizes.  The SHA-256 of what
   was sent equals the SHA-256 of what came back: sequence numbers put the
   bytes in order, acknowledgements and retransmission fill any gap,
   checksums reject damaged segments.
2. What it does not promise: that the peer *application* got the bytes.  The
   client's bytes are handed to its kernel and acknowledged by the server's
   kernel, yet the server application, which paused reading, never reads
   them before it closes.  Only an answer from the peer application (here,
   the echoed digest in part 1) proves end-to-end delivery.
"""

from __future__ import annotations

import hashlib
import random

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until

SIZE = 4 << 20


class Echo(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    # Respect backpressure: stop reading while the echo is not drained.
    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()


class Sender(BaseHandler):
    """Write the payload in uneven pieces, at the pace the water marks allow."""

    transport: Transport

    def __init__(self, payload: bytes) -> None:
        self.payload = memoryview(payload)
        self.sent = 0
        self.paused = False
        self.rng = random.Random(2)
        self.echo = hashlib.sha256()
        self.received = 0

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.produce()

    def produce(self) -> None:
        while not self.paused and self.sent < len(self.payload):
            size = self.rng.randint(1, 100_000)
            self.transport.write(self.payload[self.sent : self.sent + size])
            self.sent = min(self.sent + size, len(self.payload))
        if self.sent == len(self.payload):
            self.transport.write_eof()
            self.sent += 1  # only once

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.produce()

    def data_received(self, data: bytes) -> None:
        self.echo.update(data)
        self.received += len(data)


def round_trip(reactor: Reactor) -> None:
    print("1. a SHA-256 round trip through an echo server")
    payload = random.Random(1).randbytes(SIZE)
    listener = reactor.listen(lambda peer: Echo(), "127.0.0.1", 0)
    sender = Sender(payload)
    reactor.connect(lambda peer: sender, "127.0.0.1", listener.port)
    run_until(reactor, lambda: sender.received == SIZE and sender.transport is None, timeout=30)
    sent_digest = hashlib.sha256(payload).hexdigest()
    print(f"  sent     {SIZE} bytes, sha256 {sent_digest[:16]}...")
    print(f"  received {sender.received} bytes, sha256 {sender.echo.hexdigest()[:16]}...")
    print("  identical:", sent_digest == sender.echo.hexdigest())
    listener.close()


class Deaf(BaseHandler):
    """A server that never reads, then closes."""

    def __init__(self) -> None:
        self.read = 0

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        self.read += len(data)


class Closed(BaseHandler):
    def __init__(self) -> None:
        self.lost = False
        self.exc: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.lost = True
        self.exc = exc


def delivered_is_not_processed(reactor: Reactor) -> None:
    print("2. handed to the kernel is not read by the application")
    server = Deaf()
    listener = reactor.listen(lambda peer: server, "127.0.0.1", 0)
    client = Closed()
    connector = reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: connector.transport is not None and listener.connections)
    conn = connector.transport
    assert conn is not None
    conn.write(b"an order the server will never see")
    print("  client: written, nothing left in its buffer:", conn.get_write_buffer_size() == 0)
    print("  client: bytes handed to its kernel:", conn.bytes_out)
    (server_conn,) = listener.connections.values()
    server_conn.close()  # the server application goes away without reading
    run_until(reactor, lambda: client.lost)
    print("  server application read:", server.read, "bytes")
    print("  client: connection_lost() with", client.exc, "(a clean close)")
    listener.close()


def main() -> None:
    reactor = Reactor()
    round_trip(reactor)
    delivered_is_not_processed(reactor)
    reactor.close()


if __name__ == "__main__":
    main()
