"""The three-way handshake happens in the kernel, before accept().

A listener is suspended (``listener.suspend()``: its socket leaves the
selector, so the reactor calls ``accept()`` no more).  Clients connect
anyway: the kernel completes each handshake and queues the connection in
the listen socket's backlog.  The client even sends its request.  Only when
the listener resumes does the server accept the connections and read.

Then the same with bare non-blocking sockets: ``accept()`` with an empty
backlog and ``connect()`` before the handshake ends both return at once
with an error that means "not yet", which is what the reactor waits out in
the selector instead of blocking.  Last, a full backlog: the kernel stops
answering new handshakes (Linux behaviour), and the connect times out.
"""

from __future__ import annotations

import errno
import socket

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until


class Server(BaseHandler):
    """Add what arrives to one buffer shared by all connections."""

    def __init__(self, sink: bytearray) -> None:
        self.sink = sink

    def data_received(self, data: bytes) -> None:
        self.sink += data


class Client(BaseHandler):
    """Send a request as soon as the connection is up."""

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"GET / while nobody accepts\n")


def main() -> None:
    reactor = Reactor()
    received = bytearray()
    listener = reactor.listen(lambda peer: Server(received), "127.0.0.1", 0, backlog=8)
    listener.suspend()
    connectors = [reactor.connect(lambda peer: Client(), "127.0.0.1", listener.port)]
    connectors.append(reactor.connect(lambda peer: Client(), "127.0.0.1", listener.port))
    run_until(reactor, lambda: all(c.done() for c in connectors))
    print("listener suspended; is it accepting?", listener.is_accepting())
    print("client connects done:", [c.state.value for c in connectors])
    print(
        "requests handed to the kernel:",
        sum(c.transport.bytes_out for c in connectors if c.transport),
    )
    print("connections in the server's table:", len(listener.connections))

    listener.resume()
    run_until(reactor, lambda: len(received) == 2 * 27)
    print("after resume(): accepted", listener.accepted, "and read", len(received), "bytes")

    # Non-blocking accept() and connect() by hand.
    lsock = socket.create_server(("127.0.0.1", 0), backlog=1)
    lsock.setblocking(False)
    try:
        lsock.accept()
    except BlockingIOError as exc:
        print("accept() with an empty backlog:", errno.errorcode.get(exc.errno or 0))
    csock = socket.socket()
    csock.setblocking(False)
    err = csock.connect_ex(lsock.getsockname())
    print("connect() on a non-blocking socket:", errno.errorcode.get(err, "0 (done at once)"))
    csock.close()
    lsock.close()

    # A full backlog.  backlog=1 lets the kernel queue up to two completed
    # connections; with nobody accepting, the third handshake goes unanswered
    # (the SYN is dropped and the client would retry it for a while).
    full = reactor.listen(lambda peer: BaseHandler(), "127.0.0.1", 0, backlog=1)
    full.suspend()
    for n in range(1, 4):
        attempt = reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", full.port, timeout=0.5)
        run_until(reactor, attempt.done)
        outcome = attempt.state.value
        if attempt.error is not None:
            outcome += f" ({type(attempt.error).__name__})"
        print(f"backlog=1, connect #{n}: {outcome}")
    reactor.close()


if __name__ == "__main__":
    main()
