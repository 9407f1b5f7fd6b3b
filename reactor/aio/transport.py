"""asyncio's transport interface over a selreactor :class:`~reactor.transport.Connection`.

Theory of operation.  asyncio's ``Protocol`` callbacks have the names and the
order of selreactor's handler hooks, so an ``asyncio.Protocol`` *is* the
connection's handler: ``data_received`` is called by the connection's own
read, with nothing in between (the hot path).  What differs is the object
the protocol is given in ``connection_made``: asyncio code expects an
:class:`asyncio.Transport`, so :class:`AioTransport` wraps the connection.
Its hot methods (``write``, ``is_closing``, ``get_write_buffer_size``) are
the connection's own bound methods, kept in slots, so a write costs no extra
Python frame.

A connection starts with a :class:`Starter` as its handler, whose only job is
``connection_made``: it builds the transport, hands the connection to the
protocol itself, calls the protocol's ``connection_made`` and wakes asyncio's
waiter.  A ``BufferedProtocol`` gets :class:`BufferedHandler` in between,
which copies each read into the protocol's buffer.

The hooks asyncio never had (``timeout``, ``passive``, ``drain_requested``)
are missing on an asyncio protocol, and the connection gives it their
defaults: an idle timeout closes, a drain closes when idle.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import constants, transports, trsock
from typing import TYPE_CHECKING, Protocol, cast

from reactor.options import check_water_marks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from reactor.protocol import Handler
    from reactor.transport import Connection

__all__ = ["AioTransport", "BufferedHandler", "Starter", "TransportTable", "handler_for"]

log = logging.getLogger(__name__)

_ASYNCIO_HIGH_WATER = 64 * 1024  # asyncio's default, which protocols expect


class _Server(Protocol):
    """The part of :class:`asyncio.Server` a transport reports to."""

    def _attach(self, *transport: object) -> None: ...
    def _detach(self, *transport: object) -> None: ...


class TransportTable:
    """The live asyncio transports of one loop, by connection id.

    It keeps each transport alive while its connection lives (asyncio's
    ``Server`` only holds them weakly) and, as the connection's owner, hears
    of its reaping: the server is told then, as asyncio's transports tell it.
    """

    def __init__(self, server_takes_transport: bool) -> None:
        self.live: dict[int, AioTransport] = {}
        """Connection id -> its transport."""
        self._with_transport = server_takes_transport

    def attach(self, transport: AioTransport, server: object) -> None:
        """Enter a new transport; tell ``server`` it has one more client."""
        self.live[transport.connection.id] = transport
        if server is not None:
            attach = cast("_Server", server)._attach
            if self._with_transport:  # Python 3.13: the server keeps its clients
                attach(transport)
            else:
                attach()

    def release(self, conn: object) -> None:
        """``conn`` was reaped (the :class:`~reactor.seam.ConnectionOwner` seam)."""
        transport = self.live.pop(cast("Connection", conn).id, None)
        if transport is None:
            return
        server = transport.server
        if server is not None:
            transport.server = None
            detach = cast("_Server", server)._detach
            if self._with_transport:
                detach(transport)
            else:
                detach()


class BufferedHandler:
    """The handler between a connection and an :class:`asyncio.BufferedProtocol`."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: asyncio.BufferedProtocol) -> None:
        self.protocol = protocol

    def data_received(self, data: bytes) -> None:
        """Copy ``data`` into the protocol's buffers (``get_buffer``/``buffer_updated``)."""
        protocol = self.protocol
        view = memoryview(data)
        size = len(view)
        while size:
            buf = memoryview(protocol.get_buffer(size)).cast("B")
            room = len(buf)
            if not room:
                raise RuntimeError("get_buffer() returned an empty buffer")
            if room >= size:
                buf[:size] = view
                protocol.buffer_updated(size)
                return
            buf[:room] = view[:room]
            protocol.buffer_updated(room)
            view = view[room:]
            size -= room

    def eof_received(self) -> bool | None:
        """The peer half-closed."""
        return self.protocol.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone."""
        self.protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        """Above the high-water mark."""
        self.protocol.pause_writing()

    def resume_writing(self) -> None:
        """Below the low-water mark again."""
        self.protocol.resume_writing()


def handler_for(protocol: asyncio.BaseProtocol) -> Handler:
    """The connection's handler for an asyncio ``protocol``: itself, or a buffer copier."""
    if isinstance(protocol, asyncio.BufferedProtocol):
        return cast("Handler", BufferedHandler(protocol))
    return cast("Handler", protocol)


# _FlowControlMixin: asyncio's sendfile fallback accepts no other transport.
class AioTransport(transports._FlowControlMixin):
    """An :class:`asyncio.Transport` over a selreactor connection.

    ``get_extra_info`` knows asyncio's keys (``peername``, ``sockname``,
    ``socket``) and two of selreactor's: ``peer`` (the connection table's
    key) and ``connection`` (the :class:`~reactor.transport.Connection`, for
    its idle and write timeouts, active modes and figures).
    """

    __slots__ = (
        "__weakref__",
        "connection",
        "get_write_buffer_size",
        "is_closing",
        "protocol",
        "server",
        "write",
    )

    # asyncio's start_tls() refuses a transport without this flag.
    _start_tls_compatible = True
    # loop.sendfile() tries os.sendfile() first (Loop._sendfile_native).
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: Connection,
        protocol: asyncio.BaseProtocol,
        extra: dict[str, object] | None,
        server: object,
    ) -> None:
        # _FlowControlMixin.__init__ would set up water marks of its own:
        # the connection has them, so only the base slots are filled here.
        self._extra = dict(extra) if extra else {}
        self._loop = loop
        self.connection = conn
        self.protocol = protocol
        self.server = server
        # a slot holding the connection's bound method: a write costs no extra frame
        self.write = conn.write  # type: ignore[method-assign]
        self.is_closing: Callable[[], bool] = conn.is_closing
        self.get_write_buffer_size: Callable[[], int] = conn.get_write_buffer_size
        sock = conn.get_extra_info("socket")
        extras = self._extra
        extras["socket"] = trsock.TransportSocket(sock)  # type: ignore[arg-type]
        extras["peer"] = conn.peer
        extras["connection"] = conn
        try:
            extras["sockname"] = sock.getsockname()  # type: ignore[attr-defined]
        except OSError:
            extras["sockname"] = None
        if "peername" not in extras:
            try:
                extras["peername"] = sock.getpeername()  # type: ignore[attr-defined]
            except OSError:
                extras["peername"] = None

    def __repr__(self) -> str:
        host, port = self.connection.peer
        state = "closing" if self.connection.is_closing() else "open"
        return f"<AioTransport #{self.connection.id} {host}:{port} {state}>"

    # -- asyncio.BaseTransport ------------------------------------------------------

    def get_extra_info(self, name: str, default: object = None) -> object:
        """asyncio's extras plus ``peer`` and ``connection`` (see the class)."""
        return self._extra.get(name, default)

    def close(self) -> None:
        """Stop reading, flush what was written, then close (``connection_lost(None)``)."""
        self.connection.close()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Hand the connection to ``protocol``."""
        self.protocol = protocol
        self.connection.set_protocol(handler_for(protocol))

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol that owns the connection now."""
        return self.protocol

    # -- asyncio.ReadTransport --------------------------------------------------------

    def is_reading(self) -> bool:
        """Whether reading is on (not paused, not closing)."""
        return self.connection.is_reading()

    def pause_reading(self) -> None:
        """Stop reading; the kernel's window pushes back on the peer."""
        self.connection.pause_reading()

    def resume_reading(self) -> None:
        """Read again."""
        self.connection.resume_reading()

    # -- asyncio.WriteTransport -------------------------------------------------------

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """asyncio's rules: ``high`` defaults to 64 KiB (or 4 x ``low``), ``low`` to high/4."""
        if high is None:
            high = _ASYNCIO_HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        high, low = check_water_marks(
            high, low, default_high=_ASYNCIO_HIGH_WATER, names=("high", "low")
        )
        self.connection.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """``(low, high)``."""
        return self.connection.get_write_buffer_limits()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        """Write the chunks in order, in one send where possible."""
        self.connection.write(b"".join(list_of_data))

    def write_eof(self) -> None:
        """Half-close once what was written is flushed."""
        self.connection.write_eof()

    def can_write_eof(self) -> bool:
        """True: stream sockets half-close."""
        return True

    def abort(self) -> None:
        """Close now, dropping what is queued (``connection_lost(None)``)."""
        self.connection.abort()

    # -- what asyncio's own protocols read (sslproto, sendfile's fallback) ------------

    @property
    def _protocol_paused(self) -> bool:
        return self.connection.writing_paused

    @property
    def _paused(self) -> bool:
        return not self.connection.is_reading()

    @property
    def _closed(self) -> bool:
        return self.connection.is_closing()

    @_closed.setter
    def _closed(self, value: bool) -> None:
        """sslproto marks a transport closed; the connection knows better."""

    def refuse_writes(self, refuse: bool) -> None:
        """While ``loop.sendfile()`` sends, ``write()`` raises :exc:`RuntimeError`."""
        self.write = _refuse_write if refuse else self.connection.write  # type: ignore[method-assign]

    def _force_close(self, exc: BaseException | None) -> None:
        if exc is None:
            self.connection.abort()
        else:
            self.connection.on_error(exc)


def _refuse_write(data: bytes | bytearray | memoryview) -> None:
    raise RuntimeError("sendfile is in progress")


class Starter:
    """A connection's first handler: it hands the connection to an asyncio protocol.

    ``waiter`` (asyncio's, in ``create_connection``) is woken once the
    protocol's ``connection_made`` has run.
    """

    __slots__ = ("extra", "loop", "protocol", "server", "table", "transport", "waiter")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        table: TransportTable,
        protocol: asyncio.BaseProtocol,
        *,
        waiter: asyncio.Future[None] | None = None,
        extra: dict[str, object] | None = None,
        server: object = None,
    ) -> None:
        self.loop = loop
        self.table = table
        self.protocol = protocol
        self.waiter = waiter
        self.extra = extra
        self.server = server
        self.transport: AioTransport | None = None

    def connection_made(self, conn: Connection) -> None:
        """Build the transport, give the connection to the protocol, call it."""
        transport = self.transport = AioTransport(
            self.loop, conn, self.protocol, self.extra, self.server
        )
        self.table.attach(transport, self.server)
        conn.set_protocol(handler_for(self.protocol))
        waiter, self.waiter = self.waiter, None
        try:
            self.protocol.connection_made(transport)
        finally:
            if waiter is not None and not waiter.cancelled():
                waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        """Lost before ``connection_made`` finished: the waiter hears of it."""
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("connection lost"))
            self.waiter = None
