"""A first handler: upper-case what arrives, served and used in one script.

Run it with ``python docs/examples/first_handler.py``.  It listens on a free
loopback port, connects to itself, sends two lines, half-closes and prints
what came back.
"""

from __future__ import annotations

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until


class Upper(BaseHandler):
    """The server side: send back each chunk in upper case."""

    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


class Client(BaseHandler):
    """The client side: send, half-close, collect the answer until EOF."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.done = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"hello, reactor\n")
        transport.write(b"goodbye\n")
        transport.write_eof()  # "nothing more from me"; the answer may still come

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.done = True


def main() -> None:
    reactor = Reactor()
    listener = reactor.listen(lambda peer: Upper(), "127.0.0.1", 0)
    client = Client()
    reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: client.done)
    print(client.received.decode(), end="")
    print("connections left:", len(listener.connections))
    reactor.close()


if __name__ == "__main__":
    main()
