"""Backpressure: a reader that pauses slows the writer down, end to end.

The server pauses reading.  The client writes as fast as it may.  First the
kernels absorb the bytes: the server's receive buffer fills and its window,
advertised in every acknowledgement, shrinks to zero; then the client's
send buffer fills.  From then on ``write()`` can hand nothing to the kernel
and queues in the transport; past the high-water mark the client's
``pause_writing()`` fires and it stops producing.  When the server resumes
reading, the window opens, the queue drains, and below the low-water mark
``resume_writing()`` lets the client carry on.  Nothing is lost, and no
buffer grows without bound.

Buffer sizes depend on the kernel, so the output states the relations, not
the numbers.
"""

from __future__ import annotations

import array
import fcntl
import socket
import termios

from reactor import BaseHandler, Reactor, Transport
from reactor.testing import run_until

CHUNK = b"x" * 16384
TOTAL = 32 << 20  # more than any loopback socket buffers can hold


class SlowReader(BaseHandler):
    """Starts paused; counts what it reads."""

    def __init__(self) -> None:
        self.read = 0
        self.eof = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        self.read += len(data)

    def eof_received(self) -> None:
        self.eof = True


class Producer(BaseHandler):
    """Write until told to pause; record what the water marks said."""

    transport: Transport

    def __init__(self) -> None:
        self.written = 0
        self.paused = False
        self.events: list[tuple[str, int]] = []

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.produce()

    def produce(self) -> None:
        while not self.paused and self.written < TOTAL:
            self.transport.write(CHUNK)
            self.written += len(CHUNK)
        if self.written >= TOTAL and not self.paused:
            self.transport.close()  # flushes the queue first

    def pause_writing(self) -> None:
        self.paused = True
        self.events.append(("pause_writing", self.transport.get_write_buffer_size()))

    def resume_writing(self) -> None:
        self.paused = False
        self.events.append(("resume_writing", self.transport.get_write_buffer_size()))
        self.produce()


def unread(conn: Transport) -> int:
    """Bytes in the socket's receive buffer that the application has not read."""
    sock = conn.get_extra_info("socket")
    assert isinstance(sock, socket.socket)
    count = array.array("i", [0])
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    return count[0]


def main() -> None:
    reactor = Reactor()
    reader = SlowReader()
    listener = reactor.listen(lambda peer: reader, "127.0.0.1", 0)
    producer = Producer()
    connector = reactor.connect(lambda peer: producer, "127.0.0.1", listener.port)
    run_until(reactor, lambda: producer.paused)
    conn = connector.transport
    assert conn is not None
    low, high = conn.get_write_buffer_limits()
    print(f"water marks: low={low} high={high}")
    event, size = producer.events[0]
    print(f"{event}() fired with the write buffer above the high-water mark: {size > high}")
    print("the kernels took some bytes first:", conn.bytes_out > 0)
    print("the paused server has read nothing:", reader.read == 0)
    (server_conn,) = listener.connections.values()
    print("the server's kernel holds unread bytes:", unread(server_conn) > 0)

    # Nothing moves while the reader is paused: turning the loop does not
    # grow the client's buffer, because the client stopped producing.
    before = conn.get_write_buffer_size()
    for _ in range(5):
        reactor.run_once(0.01)
    print("the client's buffer stayed put while paused:", conn.get_write_buffer_size() == before)

    server_conn.resume_reading()
    run_until(reactor, lambda: any(e == "resume_writing" for e, _ in producer.events))
    event, size = next(e for e in producer.events if e[0] == "resume_writing")
    print(f"after resume_reading(): {event}() fired at or below the low-water mark: {size <= low}")

    run_until(reactor, lambda: reader.eof, timeout=30)
    print(f"the server read {reader.read} bytes of {producer.written} written:", end=" ")
    print(reader.read == producer.written == TOTAL)
    reactor.close()


if __name__ == "__main__":
    main()
