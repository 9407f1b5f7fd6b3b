"""One connection as gen_tcp's socket: ``recv``, ``send``, an owner, active modes.

Theory of operation.  A :class:`Socket` is at once the connection's handler
(the reactor calls its ``data_received``, ``eof_received``, ...) and the
object a task awaits.  The connection stays on selreactor's plain path, no
framer and no delivery of its own, so a read costs what it costs a callback
handler; the socket keeps the bytes *raw* in one buffer with a read offset:
the first chunk is kept as the ``bytes`` object the read made, and only a
second chunk arriving before the first is taken starts a ``bytearray``.
``recv(0)`` of a raw socket then hands back the very object the read made.

Messages (``packet=1|2|4|line``) are cut out of that buffer when asked for
(:mod:`reactor.streams.frames`), so changing ``packet`` re-frames what is
buffered, as gen_tcp does.  A waiting ``recv`` holds a future that carries
no data: it only says "look again", and the bytes are taken by the ``recv``
itself when it resumes, in the step that returns them.  So a ``recv`` that
times out or is cancelled consumes nothing.

Backpressure.  Past ``read_buffer`` bytes buffered (data messages in the
mailbox included) the socket pauses reading, so the kernel's window pushes
back on the peer; taking the buffer below half of it reads again.  A
``recv`` that needs more than the limit (``recv(N)``, a long frame) reads
on while it waits.  ``send`` writes at once and awaits only while the
write buffer is above its high-water mark (``pause_writing`` until
``resume_writing``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Literal, cast

from reactor.framing import FrameTooLarge, make_framer, parse_packet
from reactor.streams.errors import Closed, NotOwner, NotPassive, Timeout
from reactor.streams.frames import length_frame, line_frame, packet_limit
from reactor.streams.messages import Mailbox, Message, Tcp, TcpClosed, TcpError, TcpPassive

if TYPE_CHECKING:
    from reactor.framing import Framer, PacketType
    from reactor.protocol import ActiveMode, PeerKey, Transport

__all__ = ["DEFAULT_READ_BUFFER", "Socket"]

log = logging.getLogger(__name__)

DEFAULT_READ_BUFFER = 256 * 1024
"""Bytes buffered (unread) before a socket stops reading from the kernel."""

_current_task = asyncio.current_task
_TIMEOUT = object()  # the result a recv waiter gets when its deadline passes
_EMPTY = b""


def _expire(sock: Socket) -> None:
    waiter = sock._waiter
    if waiter is not None and not waiter.done():
        waiter.set_result(_TIMEOUT)


class Socket:
    """A connected socket, owned by one task (see :mod:`reactor.streams`).

    Made by ``accept()``, ``connect()`` or ``serve()``, never by hand.
    """

    __slots__ = (
        "__weakref__",
        "_active",
        "_buf",
        "_closed",
        "_draining",
        "_encoder",
        "_eof",
        "_error",
        "_exit_on_close",
        "_limit",
        "_loop",
        "_lost",
        "_mailbox",
        "_max_size",
        "_notice",
        "_notify_passive",
        "_off",
        "_owner",
        "_packet",
        "_paused",
        "_queued",
        "_scanned",
        "_senders",
        "_transport",
        "_waiter",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        packet: PacketType = 0,
        max_size: int = 1 << 20,
        active: ActiveMode = False,
        exit_on_close: bool = True,
        read_buffer: int = DEFAULT_READ_BUFFER,
    ) -> None:
        self._loop = loop
        self._transport: Transport | None = None
        self._owner: asyncio.Task[object] | None = None
        self._buf: bytes | bytearray = _EMPTY
        self._off = 0
        self._scanned = 0
        self._packet: int | str = 0
        self._max_size = max_size
        self._encoder: Framer | None = None
        self._active = 0  # -1: active true; 0: passive; N: N more messages
        self._notify_passive = False
        self._mailbox: Mailbox | None = None
        self._queued = 0  # bytes of data messages in the mailbox
        self._limit = read_buffer
        self._paused = False
        self._waiter: asyncio.Future[object] | None = None
        self._senders: list[asyncio.Future[None]] | None = None
        self._eof = False  # the peer's EOF arrived
        self._lost = False  # connection_lost was called
        self._closed = False  # close() here
        self._error: Exception | None = None  # why it was lost, or a framing error
        self._notice = False  # TcpClosed (and TcpError) queued
        self._exit_on_close = exit_on_close
        self._draining = False
        self.setopts(packet=packet, max_size=max_size, active=active)

    def __repr__(self) -> str:
        peer = self._transport.peer if self._transport is not None else None
        return f"<Socket {peer} {'closed' if self._lost or self._closed else 'open'}>"

    # -- the handler side: what the connection calls ---------------------------------

    def connection_made(self, transport: Transport) -> None:
        """The connection is up."""
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        """Buffer ``data``; wake a waiting ``recv``, or deliver messages if active."""
        buf = self._buf
        if not buf:
            self._buf = data
            self._off = 0
        elif type(buf) is bytes:
            grown = bytearray(memoryview(buf)[self._off :])
            grown += data
            self._buf = grown
            self._scanned = max(self._scanned - self._off, 0)
            self._off = 0
        else:
            buf += data
        if self._active:
            self._deliver()
        else:
            waiter = self._waiter
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(None)
                return  # it takes what it needs; it reads on while it waits
        if len(self._buf) - self._off + self._queued > self._limit and not self._paused:
            self._paused = True
            if self._transport is not None:
                self._transport.pause_reading()

    def eof_received(self) -> bool:
        """The peer closed its side: recv returns what is buffered, then ``Closed``."""
        self._eof = True
        self._wake()
        return not self._exit_on_close

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone; a waiting ``recv`` or ``send`` hears of it."""
        self._lost = True
        if exc is not None and self._error is None:
            self._error = exc
        self._wake()
        senders, self._senders = self._senders, None
        for sender in senders or ():
            if not sender.done():
                sender.set_result(None)

    def pause_writing(self) -> None:
        """Above the write high-water mark: ``send`` now waits for the drain."""

    def resume_writing(self) -> None:
        """Below the low-water mark again: waiting senders go on."""
        senders, self._senders = self._senders, None
        for sender in senders or ():
            if not sender.done():
                sender.set_result(None)

    def timeout(self) -> None:
        """The idle timeout: close (the owner's ``recv`` raises ``Closed``)."""
        self.close()

    def passive(self) -> None:
        """Not used: the socket counts its own active budget."""

    def drain_requested(self) -> None:
        """A graceful drain: close once what was received is taken (at once if idle)."""
        self._draining = True
        self._check_drain()

    def _check_drain(self) -> None:
        if self._draining and len(self._buf) == self._off and not self._queued:
            transport = self._transport
            if transport is not None:
                transport.close_when_done()

    def _wake(self) -> None:
        if self._active:
            self._deliver()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- taking bytes out of the buffer ----------------------------------------------

    def _take(self, length: int) -> bytes | None:
        """The next message (``length`` bytes of a raw stream), or ``None`` yet."""
        buf = self._buf
        off = self._off
        size = len(buf) - off
        if not size:
            return None
        if self._packet == 0:
            if length == 0:
                if off == 0 and type(buf) is bytes:
                    self._buf = _EMPTY
                    message = buf
                else:
                    message = bytes(memoryview(buf)[off:])
                    self._buf = _EMPTY
                    self._off = 0
                self._taken()
                return message
            if size < length:
                return None
            start, end = off, off + length
        else:
            bounds = self._frame(buf, off)
            if bounds is None:
                return None
            start, end = bounds
        message = bytes(memoryview(buf)[start:end])
        if end == len(buf):
            self._buf = _EMPTY
            self._off = 0
        elif end > 65536 and end > len(buf) // 2 and type(buf) is bytearray:
            del buf[:end]  # compact: the consumed front is most of the buffer
            self._off = 0
        else:
            self._off = end
        self._scanned = self._off
        self._taken()
        return message

    def _frame(self, buf: bytes | bytearray, off: int) -> tuple[int, int] | None:
        """The payload of the next whole ``{packet, N | line}`` message, if there is one."""
        packet = self._packet
        limit = packet_limit(packet, self._max_size)
        if packet == "line":
            end = line_frame(buf, off, limit, self._scanned)
            if end < 0:
                self._scanned = len(buf)
                return None
            return off, end
        return length_frame(buf, off, cast("int", packet), limit)

    def _taken(self) -> None:
        if self._paused and len(self._buf) - self._off + self._queued <= self._limit // 2:
            self._paused = False
            if self._transport is not None and not self._lost:
                self._transport.resume_reading()
        if self._draining:
            self._check_drain()

    def _message_taken(self, size: int) -> None:
        self._queued -= size
        self._taken()

    def _frame_error(self, exc: FrameTooLarge) -> None:
        """An over-long frame: gen_tcp's ``emsgsize``, for this connection only."""
        peer = self._transport.peer if self._transport is not None else None
        log.info("closing %s: %s", peer, exc)
        self._buf = _EMPTY
        self._off = 0
        self._eof = True
        if self._transport is not None:
            self._transport.abort()

    # -- active modes -------------------------------------------------------------

    def _mailbox_needed(self) -> Mailbox:
        mailbox = self._mailbox
        if mailbox is None:
            mailbox = self._mailbox = Mailbox(self._loop, self._check_owner, self._message_taken)
        return mailbox

    def _deliver(self) -> None:
        """Move messages from the buffer to the mailbox while the budget lasts."""
        mailbox = self._mailbox_needed()
        while self._active:
            try:
                message = self._take(0)
            except FrameTooLarge as exc:
                self._frame_error(exc)
                self._error = exc  # TcpError says why, then TcpClosed
                break
            if message is None:
                break
            self._queued += len(message)
            mailbox.put(Tcp(self, message))
            if self._active > 0:
                self._active -= 1
                if not self._active and self._notify_passive:
                    mailbox.put(TcpPassive(self))
        if (
            self._active
            and not self._notice
            and (self._eof or self._lost)
            and len(self._buf) == self._off
        ):
            self._notice = True
            error = self._error
            if error is not None:
                mailbox.put(TcpError(self, error))
            mailbox.put(TcpClosed(self))

    # -- the task side ---------------------------------------------------------------

    @property
    def peername(self) -> PeerKey:
        """The peer's ``(host, port)``: the connection table's key (``inet:peername``)."""
        return self._connected().peer

    @property
    def sockname(self) -> PeerKey:
        """The local ``(host, port)`` (``inet:sockname``)."""
        return self._connected().local

    @property
    def transport(self) -> Transport:
        """The connection under the socket (its figures, timeouts, socket options)."""
        return self._connected()

    @property
    def owner(self) -> asyncio.Task[object] | None:
        """The task that may ``recv`` (gen_tcp's controlling process)."""
        return self._owner

    @property
    def messages(self) -> Mailbox:
        """The mailbox of the active modes (``await sock.messages.get()``)."""
        return self._mailbox_needed()

    def _connected(self) -> Transport:
        if self._transport is None:
            raise Closed("the socket is not connected")
        return self._transport

    def _check_owner(self) -> None:
        if _current_task(self._loop) is not self._owner:
            raise NotOwner("only the task that owns the socket may read it")

    def set_owner(self, task: asyncio.Task[object] | None) -> None:
        """Make ``task`` the owner, unchecked (``accept``, ``connect`` and ``serve`` do)."""
        self._owner = task

    def controlling_process(self, task: asyncio.Task[object]) -> None:
        """Hand the socket to ``task`` (``gen_tcp:controlling_process/2``).

        Only the owner may call it (:class:`~reactor.streams.NotOwner`
        otherwise).  Buffered bytes and queued messages go with the socket,
        in order; messages arriving meanwhile queue behind them.
        """
        self._check_owner()
        if not isinstance(task, asyncio.Task):
            raise TypeError(f"controlling_process() needs an asyncio.Task, not {task!r}")
        self._owner = task

    async def recv(self, length: int = 0, timeout: float | None = None) -> bytes:
        """``gen_tcp:recv/3``: the next message, or ``length`` bytes of a raw stream.

        ``length=0`` returns whatever is buffered (one whole message with
        ``packet``, where ``length`` is ignored as gen_tcp ignores it).
        :class:`~reactor.streams.Timeout` after ``timeout`` seconds leaves
        the socket usable; :class:`~reactor.streams.Closed` once the peer
        closed and everything buffered was returned.
        """
        if _current_task(self._loop) is not self._owner:
            raise NotOwner("only the task that owns the socket may recv")
        if self._active:
            raise NotPassive("recv on a socket in an active mode (read sock.messages)")
        if self._closed:
            raise Closed("the socket was closed")
        if length < 0:
            raise ValueError(f"length must be >= 0, not {length}")
        try:
            message = self._take(length)
        except FrameTooLarge as exc:
            self._frame_error(exc)
            raise
        if message is not None:
            return message
        return await self._wait(length, timeout)

    async def _wait(self, length: int, timeout: float | None) -> bytes:
        self._raise_if_done()
        if self._waiter is not None:
            raise RuntimeError("recv is already waiting on this socket")
        loop = self._loop
        if timeout is not None and timeout <= 0:
            raise Timeout("nothing to receive")
        handle = loop.call_later(timeout, _expire, self) if timeout is not None else None
        if self._paused:  # it needs more than is buffered: read on while it waits
            self._paused = False
            self._connected().resume_reading()
        try:
            while True:
                waiter = self._waiter = loop.create_future()
                if await waiter is _TIMEOUT:
                    raise Timeout(f"nothing received in {timeout:g} s")
                try:
                    message = self._take(length)
                except FrameTooLarge as exc:
                    self._frame_error(exc)
                    raise
                if message is not None:
                    return message
                self._raise_if_done()
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    def _raise_if_done(self) -> None:
        if self._closed:
            raise Closed("the socket was closed")
        if self._eof or self._lost:
            raise Closed("the peer closed the connection") from self._error

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """``gen_tcp:send/2``: write ``data`` (one message with ``packet``).

        Returns at once unless the write buffer is above its high-water
        mark, then once it drained below the low-water mark.  Any task may
        send.  :class:`~reactor.streams.Closed` if the socket is closed; a
        cancelled ``send`` has still queued its data.
        """
        transport = self._transport
        if transport is None or self._lost or self._closed or transport.is_closing():
            raise Closed("the socket is closed")
        encoder = self._encoder
        transport.write(data if encoder is None else encoder.encode(bytes(data)))
        if transport.writing_paused:
            sender = self._loop.create_future()
            if self._senders is None:
                self._senders = [sender]
            else:
                self._senders.append(sender)
            await sender
            if self._lost:
                raise Closed("the connection was lost before the data was sent") from self._error

    def shutdown(self, how: Literal["write", "read", "read_write"] = "write") -> None:
        """``gen_tcp:shutdown/2``: ``"write"`` sends a FIN once the queue drained
        (reading goes on); ``"read"`` drops what is buffered and reads no more;
        ``"read_write"`` is :meth:`close`."""
        transport = self._connected()
        if how == "write":
            transport.write_eof()
        elif how == "read":
            self._buf = _EMPTY
            self._off = 0
            self._eof = True
            transport.pause_reading()
            self._wake()
        elif how == "read_write":
            self.close()
        else:
            raise ValueError(f"how must be 'write', 'read' or 'read_write', not {how!r}")

    def close(self) -> None:
        """``gen_tcp:close/1``: flush what was sent, then close.  Any task may."""
        if self._closed:
            return
        self._closed = True
        self._buf = _EMPTY
        self._off = 0
        self._queued = 0
        if self._transport is not None:
            self._transport.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._mailbox is not None:
            self._mailbox.wake()

    def abort(self) -> None:
        """Close now, dropping what is queued for sending."""
        transport = self._transport
        self.close()
        if transport is not None:
            transport.abort()

    def setopts(
        self,
        *,
        packet: PacketType | None = None,
        max_size: int | None = None,
        active: ActiveMode | None = None,
        exit_on_close: bool | None = None,
        read_buffer: int | None = None,
    ) -> None:
        """``inet:setopts/2``; options left ``None`` stay as they are.

        ``packet`` (0, 1, 2, 4, ``"line"``) re-frames what is buffered;
        ``max_size`` is gen_tcp's ``packet_size``; ``active`` is ``True``,
        ``False``, ``"once"`` or ``N`` (added to the budget; when it runs out
        a :class:`~reactor.streams.TcpPassive` message says so);
        ``exit_on_close=False`` keeps the socket open for sending after the
        peer's EOF; ``read_buffer`` is the limit past which reading pauses.
        """
        if max_size is not None:
            if max_size < 1:
                raise ValueError(f"max_size must be at least 1, got {max_size}")
            self._max_size = max_size
        if packet is not None or max_size is not None:
            kind = parse_packet(packet if packet is not None else self._packet)
            self._packet = kind
            self._encoder = None if kind == 0 else make_framer(kind, self._max_size)
            self._scanned = self._off
        if exit_on_close is not None:
            self._exit_on_close = exit_on_close
        if read_buffer is not None:
            if read_buffer < 1:
                raise ValueError(f"read_buffer must be at least 1, got {read_buffer}")
            self._limit = read_buffer
        if active is not None:
            self._set_active(active)

    def _set_active(self, mode: ActiveMode) -> None:
        self._notify_passive = False
        if mode is True:
            self._active = -1
        elif mode is False:
            self._active = 0
        elif mode == "once":
            self._active = 1
        elif isinstance(mode, int) and not isinstance(mode, bool):
            if not -32768 <= mode <= 32767:
                raise ValueError(f"active must be in -32768..32767, not {mode}")
            self._active = max(max(self._active, 0) + mode, 0)
            self._notify_passive = True
            if not self._active:
                self._mailbox_needed().put(TcpPassive(self))
        else:
            raise ValueError(f"active must be True, False, 'once' or an int, not {mode!r}")
        if self._active and self._transport is not None:
            self._deliver()

    def getopts(self) -> dict[str, object]:
        """The options :meth:`setopts` takes, as they are now."""
        active: ActiveMode
        if self._active == -1:
            active = True
        elif self._active == 0:
            active = False
        else:
            active = self._active if self._notify_passive else "once"
        return {
            "packet": self._packet,
            "max_size": self._max_size,
            "active": active,
            "exit_on_close": self._exit_on_close,
            "read_buffer": self._limit,
        }

    # -- iteration and context ----------------------------------------------------

    def __aiter__(self) -> Socket:
        return self

    async def __anext__(self) -> Message:
        """The next message of an active socket; the iteration ends after ``TcpClosed``."""
        try:
            return await self._mailbox_needed().get()
        except Closed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
