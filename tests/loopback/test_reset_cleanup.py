"""A reset peer's queued output is freed at once, not when the garbage collector runs."""

from __future__ import annotations

import gc
import socket
import struct
import tracemalloc
from collections.abc import Iterator

import pytest

from reactor.loop import Reactor
from reactor.protocol import BaseHandler, Transport
from reactor.testing import run_until

SIZE = 32 << 20


class Flood(BaseHandler):
    """Writes SIZE bytes to a peer that reads none; keeps the reason it was lost."""

    __slots__ = ("exc", "lost")

    def __init__(self) -> None:
        self.transport = None
        self.exc: Exception | None = None
        self.lost = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        # Not reading: the reset then surfaces in the write path, as it does
        # for a slow reader whose server is busy sending to it.
        transport.pause_reading()
        transport.write(bytes(SIZE))

    def connection_lost(self, exc: Exception | None) -> None:
        self.exc = exc  # a handler may well keep it
        self.lost = True
        super().connection_lost(exc)


@pytest.fixture
def no_collector() -> Iterator[None]:
    """Only reference counting frees memory during the test."""
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()


@pytest.mark.usefixtures("no_collector")
def test_a_reset_slow_readers_write_queue_is_freed_without_the_collector(
    reactor: Reactor,
) -> None:
    handler = Flood()
    listener = reactor.listen(lambda peer: handler, "127.0.0.1", 0)
    base = tracemalloc.get_traced_memory()[0]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", listener.port))
    run_until(reactor, lambda: handler.transport is not None)
    transport = handler.transport
    assert transport is not None
    assert transport.get_write_buffer_size() > SIZE // 2  # most of it is queued
    del transport
    assert tracemalloc.get_traced_memory()[0] > base + SIZE // 2
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST
    run_until(reactor, lambda: handler.lost)
    assert isinstance(handler.exc, OSError)  # ECONNRESET or EPIPE, from send
    # Nothing but reference counting ran: the queue went with the connection.
    assert tracemalloc.get_traced_memory()[0] < base + SIZE // 4
    assert handler.exc.__traceback__ is None
