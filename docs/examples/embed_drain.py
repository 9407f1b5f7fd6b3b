"""A graceful drain from the API: ``reactor.shutdown(timeout, callback)``.

Three clients are connected to an echo server when the program decides to
stop.  One is idle, one has just sent data the server has not even read yet,
one keeps its connection open without ever half-closing.  The drain closes
the idle one at once, keeps serving the busy one until its EOF (every byte
comes back, then a FIN), and aborts the silent one at the deadline.
"""

from __future__ import annotations

import socket
import time

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until


class Echo(BaseHandler):
    """No drain hook of its own: the transport's default drain applies."""

    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def dial(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def read_to_eof(reactor: Reactor, sock: socket.socket) -> bytes:
    got = bytearray()
    ended = False

    def step() -> bool:
        nonlocal ended
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return False
        ended = not chunk
        got.extend(chunk)
        return ended

    run_until(reactor, step)
    return bytes(got)


def main() -> None:
    reactor = Reactor()
    listener = reactor.listen(lambda peer: Echo(), "127.0.0.1", 0)
    idle, busy, silent = dial(listener.port), dial(listener.port), dial(listener.port)
    run_until(reactor, lambda: len(listener.connections) == 3)
    busy.send(b"in flight, ")  # neither is read by the server yet
    silent.send(b"?")

    drained: list[bool] = []
    started = time.monotonic()
    reactor.shutdown(0.5, lambda: drained.append(True))
    print("idle client reads EOF:", read_to_eof(reactor, idle) == b"")
    busy.send(b"and more")  # the busy connection still reads and answers
    busy.shutdown(socket.SHUT_WR)
    print("busy client got back:", read_to_eof(reactor, busy).decode())
    print("still open:", len(reactor.connections))  # silent: answered, but no EOF
    run_until(reactor, lambda: drained)
    print("silent one aborted at the deadline:", time.monotonic() - started >= 0.5)
    print("listeners left:", len(reactor.listeners))
    for sock in (idle, busy, silent):
        sock.close()
    reactor.close()


if __name__ == "__main__":
    main()
