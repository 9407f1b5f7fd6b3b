"""TCP carries a byte stream: writes are not messages.

1. Three writes can arrive as one read, and one large write as many reads:
   the receiver sees bytes in order, never where one write ended.
2. Framing puts the boundaries back.  The same messages sent with a line
   framer and with a 2-byte length prefix (gen_tcp's ``{packet, line}`` and
   ``{packet, 2}``) come out whole, however the bytes were cut.
3. Nagle's algorithm and TCP_NODELAY: selreactor sets TCP_NODELAY on every
   connection, so a small write leaves at once instead of waiting for the
   previous segment's acknowledgement.
"""

from __future__ import annotations

import socket

from reactor import BaseHandler, Reactor
from reactor.framing import FramedHandler, Framer, LengthPrefixFramer, LineFramer, make_framer
from reactor.testing import run_until


class Reads(BaseHandler):
    """Count the reads and the bytes."""

    def __init__(self) -> None:
        self.reads: list[int] = []

    def data_received(self, data: bytes) -> None:
        self.reads.append(len(data))


class Messages(FramedHandler):
    """Collect whole messages."""

    def __init__(self, packet: int | str) -> None:
        super().__init__(make_framer(packet))
        self.messages: list[bytes] = []

    def message_received(self, message: bytes) -> None:
        self.messages.append(message)


def stream(reactor: Reactor) -> None:
    print("1. writes are not reads")
    server = Reads()
    listener = reactor.listen(lambda peer: server, "127.0.0.1", 0)
    client = BaseHandler()
    connector = reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: connector.transport is not None and listener.connections)
    transport = connector.transport
    assert transport is not None
    # Three writes before the server's next turn: the kernel joins them.
    for word in (b"one ", b"two ", b"three "):
        transport.write(word)
    run_until(reactor, lambda: sum(server.reads) == 14)
    print(f"  3 writes of 4, 4 and 6 bytes -> {len(server.reads)} read of {server.reads[0]} bytes")
    # One write of 1 MiB: more than a socket buffer, so it arrives in pieces.
    server.reads.clear()
    transport.write(b"x" * (1 << 20))
    run_until(reactor, lambda: sum(server.reads) == 1 << 20)
    print(f"  1 write of 1 MiB -> more than one read: {len(server.reads) > 1}")
    transport.close()
    listener.close()


def send_framed(reactor: Reactor, packet: int | str, framer: Framer) -> None:
    messages = [b"hello", b"", b"a longer message, " * 20]
    server = Messages(packet)
    listener = reactor.listen(lambda peer: server, "127.0.0.1", 0)
    sock = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
    wire = b"".join(framer.encode(m) for m in messages)
    for i in range(len(wire)):  # the worst cutting: one byte per send
        sock.send(wire[i : i + 1])
    run_until(reactor, lambda: len(server.messages) == len(messages))
    got = len(server.messages)
    print(f"  {{packet, {packet}}}: {len(wire)} bytes sent one at a time -> {got} messages")
    print(f"    {[m if len(m) < 20 else m[:17] + b'...' for m in server.messages]}")
    sock.close()
    listener.close()


def framing(reactor: Reactor) -> None:
    print("2. framing restores the messages")
    send_framed(reactor, "line", LineFramer())
    send_framed(reactor, 2, LengthPrefixFramer(2))


def nodelay(reactor: Reactor) -> None:
    print("3. Nagle and TCP_NODELAY")
    listener = reactor.listen(lambda peer: BaseHandler(), "127.0.0.1", 0)
    connector = reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", listener.port)
    run_until(reactor, lambda: connector.transport is not None)
    conn = connector.transport
    assert conn is not None
    sock = conn.get_extra_info("socket")
    assert isinstance(sock, socket.socket)
    print(
        "  TCP_NODELAY on a new connection:",
        bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)),
    )
    conn.set_nodelay(False)  # let Nagle's algorithm coalesce small segments
    print(
        "  after set_nodelay(False):",
        bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)),
    )
    conn.close()
    listener.close()


def main() -> None:
    reactor = Reactor()
    stream(reactor)
    framing(reactor)
    nodelay(reactor)
    reactor.close()


if __name__ == "__main__":
    main()
