"""Two handlers connected in memory, driven by a reactor.

Each end is a :class:`PairedTransport`: a
:class:`~reactor.testing.MemoryTransport` whose peer is the other end
instead of the test.  An end reads the other's write buffer on the loop's
next turn, one chunk of at most ``read_size`` bytes per turn, and only while
it is reading: a paused reader leaves the bytes in the writer's buffer, so
the writer's water marks feel it at once.  A shut write side (``write_eof()``
or the close) reaches the other end as end of file once the bytes before it
are read.  Writing to an end that has closed resets the writer
(``ConnectionResetError``, as the kernel's RST would); bytes that an end
closing gracefully never read are dropped quietly, as the real transport
reads and drops them so its peer gets a FIN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reactor.testing.memory import DEFAULT_LOCAL, MemoryTransport, new_port
from reactor.transport import DEFAULT_HIGH_WATER, DEFAULT_READ_SIZE

if TYPE_CHECKING:
    from reactor.protocol import EventLoop, Handler, PeerKey

__all__ = ["PairedTransport", "connection_pair"]


class PairedTransport(MemoryTransport):
    """One end of a :func:`connection_pair`; made only by that function.

    :meth:`feed`, :meth:`feed_eof` and :meth:`drain` are the other end's
    job here: they raise :class:`RuntimeError`.
    """

    __slots__ = ("_other",)

    _other: PairedTransport

    @property
    def other(self) -> PairedTransport:
        """The other end of the connection."""
        return self._other

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Not for a pair: write on the other end."""
        raise RuntimeError("feed() on one end of a pair: write on the other end")

    def feed_eof(self) -> None:
        """Not for a pair: ``write_eof()`` on the other end."""
        raise RuntimeError("feed_eof() on one end of a pair: write_eof() on the other end")

    def drain(self, size: int | None = None) -> bytes:
        """Not for a pair: the other end reads by itself."""
        raise RuntimeError("drain() on one end of a pair: the other end reads by itself")

    def _pull(self) -> None:
        """One read: a chunk of the other end's buffer, or its end of file."""
        self._pull_scheduled = False
        if not self.is_reading():
            return
        other = self._other
        out = other._out
        if out:
            chunk = bytes(out[: self._read_size])
            del out[: len(chunk)]
            other._guarded(other._sent, len(chunk))
            self._receive(chunk)
        elif other.eof_sent or self._input_ended():
            self._read_eof()
            return
        if other._out or other.eof_sent or self._input_ended():
            self._schedule_pull()

    def _input_waiting(self) -> bool:
        other = self._other
        return bool(other._out) or other.eof_sent

    def _wrote(self) -> None:
        other = self._other
        if other.closed:
            self._soon(self._reset_by_peer)
        else:
            other._schedule_pull()

    def _write_shut(self) -> None:
        self._other._schedule_pull()  # it reads the end of file

    def _finish(self) -> None:
        other = self._other
        if not self.closed and other._out:
            other._soon(other._peer_gone, self._exc is None)
        super()._finish()

    def _peer_gone(self, graceful: bool) -> None:
        """The other end closed with our bytes unread."""
        if not self._out:
            return
        if graceful:
            count = len(self._out)
            self._out.clear()
            self._sent(count)
        else:
            self._reset_by_peer()

    def _reset_by_peer(self) -> None:
        if not self.closed:
            self._fatal(ConnectionResetError("the peer had closed the connection"))


def connection_pair(
    loop: EventLoop,
    server: Handler,
    client: Handler,
    *,
    server_address: PeerKey = DEFAULT_LOCAL,
    client_address: PeerKey | None = None,
    high_water: int = DEFAULT_HIGH_WATER,
    low_water: int | None = None,
    read_size: int = DEFAULT_READ_SIZE,
) -> tuple[PairedTransport, PairedTransport]:
    """Connect two handlers in memory; returns ``(server_end, client_end)``.

    Bytes written on one end arrive in the other's ``data_received`` on a
    later turn of ``loop``; see the module documentation for the rest.
    ``server.connection_made`` is called first, then the client's, before
    this returns.  Each end's peer key is the other's local address.
    """
    if client_address is None:
        client_address = ("127.0.0.1", new_port())
    server_end = PairedTransport.__new__(PairedTransport)
    server_end._setup(
        server, loop, client_address, server_address, high_water, low_water, read_size
    )
    client_end = PairedTransport.__new__(PairedTransport)
    client_end._setup(
        client, loop, server_address, client_address, high_water, low_water, read_size
    )
    server_end._other, client_end._other = client_end, server_end
    server_end._start()
    client_end._start()
    return server_end, client_end
