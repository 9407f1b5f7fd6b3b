"""Closing a TCP connection: half-close, who closes first, TIME_WAIT, reset.

1. Half-close.  The client sends a request and shuts its write side
   (``write_eof()``: a FIN).  The server sees ``eof_received()``, returns
   true to keep its own side open, and answers after the client's FIN: a
   half-closed connection still carries data the other way.
2. TIME_WAIT.  Whichever side closes first ends in TIME_WAIT; the example
   reads the kernel's table (``/proc/net/tcp``, so Linux only) to show it.
3. A close by the receiver.  The server closes while the client keeps
   sending.  The client first reads EOF; writing on, it meets the server
   kernel's reset.  Closing a socket with unread data resets at once.
"""

from __future__ import annotations

import socket
from pathlib import Path

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until

TIME_WAIT = "06"  # the state column of /proc/net/tcp


class Log(BaseHandler):
    """Print each callback with the side's name."""

    def __init__(self, side: str) -> None:
        self.side = side
        self.lost = False

    def say(self, what: str) -> None:
        print(f"  {self.side}: {what}")

    def data_received(self, data: bytes) -> None:
        self.say(f"data_received({data!r})")

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.lost = True
        self.say(f"connection_lost({type(exc).__name__ if exc else None})")


class HalfCloseClient(Log):
    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"sum 1 2 3\n")
        transport.write_eof()
        self.say("wrote a request, then write_eof()")

    def eof_received(self) -> None:
        self.say("eof_received(): the server is done too")


class HalfCloseServer(Log):
    def __init__(self) -> None:
        super().__init__("server")
        self.request = b""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.request += data

    def eof_received(self) -> bool:
        self.say("eof_received(): the request is complete; answering")
        assert self.transport is not None
        total = sum(int(n) for n in self.request.split()[1:])
        self.transport.write(b"%d\n" % total)
        self.transport.close()  # flush the answer, then our own FIN
        return True


def half_close(reactor: Reactor) -> None:
    print("1. half-close")
    server = HalfCloseServer()
    listener = reactor.listen(lambda peer: server, "127.0.0.1", 0)
    client = HalfCloseClient("client")
    reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: server.lost and client.lost)
    listener.close()


def time_wait() -> set[tuple[int, int]]:
    """(local port, remote port) of each TIME_WAIT socket in the kernel's IPv4 table."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == TIME_WAIT:
            local, remote = (int(field.split(":")[1], 16) for field in fields[1:3])
            found.add((local, remote))
    return found


class Ender(BaseHandler):
    """Remember the local port while the socket is open; note the end."""

    def __init__(self) -> None:
        self.transport = None
        self.port = 0
        self.lost = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.port = transport.local[1]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.lost = True


class CloseAtOnce(Ender):
    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.close()


def who_gets_time_wait(reactor: Reactor, first: str) -> None:
    server = CloseAtOnce() if first == "server" else Ender()
    client = CloseAtOnce() if first == "client" else Ender()
    listener = reactor.listen(lambda peer: server, "127.0.0.1", 0)
    reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: client.lost and server.lost)
    client_port = client.port
    # Each side's socket is (local port, remote port) in the table.  Match
    # both ports: other programs' sockets may share one of them.
    server_end, client_end = (listener.port, client_port), (client_port, listener.port)
    # The last ACK crosses loopback at once; wait for the kernel's table anyway.
    run_until(reactor, lambda: time_wait() & {server_end, client_end})
    waiting = time_wait()
    sides = [
        name for name, end in (("server", server_end), ("client", client_end)) if end in waiting
    ]
    print(f"  {first} closed first -> TIME_WAIT on the {' and '.join(sides)} side")
    listener.close()


class Flooder(Log):
    """Keep sending, even after the peer's EOF, until the connection breaks."""

    def __init__(self) -> None:
        super().__init__("client")
        self.exc: Exception | None = None

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.send_more()

    def send_more(self) -> None:
        if self.transport is not None:
            self.transport.write(b"x" * 4096)
            self.transport.loop.call_later(0.01, self.send_more)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        self.say("eof_received(): the server closed; writing on regardless")
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.lost = True
        kind = "a ConnectionError" if isinstance(exc, ConnectionError) else repr(exc)
        self.say(f"connection_lost() with {kind}: the server's kernel sent a reset")


class CloseOnFirstData(BaseHandler):
    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.close()


def receiver_closes(reactor: Reactor) -> None:
    print("3. the receiver closes first")
    listener = reactor.listen(lambda peer: CloseOnFirstData(), "127.0.0.1", 0)
    client = Flooder()
    reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: client.lost)
    listener.close()

    # Closing with unread input: the kernel answers with a reset, not a FIN.
    lsock = socket.create_server(("127.0.0.1", 0))
    csock = socket.create_connection(lsock.getsockname(), timeout=5)
    conn, _ = lsock.accept()
    csock.sendall(b"a request the server never reads")
    conn.settimeout(5)
    conn.recv(1, socket.MSG_PEEK)  # wait until the bytes are here, without reading them
    conn.close()
    try:
        csock.recv(100)
    except ConnectionResetError:
        print("  bare sockets: close() with unread input -> the peer's recv() gets a reset")
    csock.close()
    lsock.close()


def main() -> None:
    reactor = Reactor()
    half_close(reactor)
    print("2. TIME_WAIT")
    who_gets_time_wait(reactor, "server")
    who_gets_time_wait(reactor, "client")
    receiver_closes(reactor)
    reactor.close()


if __name__ == "__main__":
    main()
