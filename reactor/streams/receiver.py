"""The receiving half of a :class:`~reactor.streams.Socket`: its buffer and active modes.

Theory of operation.  A socket is at once the connection's handler (the
reactor calls its ``data_received``, ``eof_received``, ...) and the object a
task awaits; :class:`Receiver` is the handler half.  The connection stays on
selreactor's plain path, no framer and no delivery of its own, so a read
costs what it costs a callback handler; the receiver keeps the bytes *raw*
in one buffer with a read offset: the first chunk is kept as the ``bytes``
object the read made, and only a second chunk arriving before the first is
taken starts a ``bytearray``.  ``recv(0)`` of a raw socket then hands back
the very object the read made.

Messages (``packet=1|2|4|line``) are cut out of that buffer when asked for
(:mod:`reactor.streams.frames`), so changing ``packet`` re-frames what is
buffered, as gen_tcp does.  In an active mode they are cut as they arrive,
while the budget lasts, and queued in the mailbox.

Backpressure.  Past ``read_buffer`` bytes buffered (data messages in the
mailbox included) reading pauses, so the kernel's window pushes back on the
peer; taking the buffer below half of it reads again.  A ``recv`` that
needs more than the limit (``recv(N)``, a long frame) reads on while it
waits.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from reactor.framing import FrameTooLarge, make_framer, parse_packet
from reactor.streams.errors import NotOwner
from reactor.streams.frames import length_frame, line_frame, packet_limit
from reactor.streams.messages import Mailbox, Tcp, TcpClosed, TcpError, TcpPassive
from reactor.streams.wakeup import Wakeup

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.framing import Framer, PacketType
    from reactor.protocol import ActiveMode, Transport
    from reactor.streams.driver import Driver

__all__ = ["DEFAULT_READ_BUFFER", "Receiver", "Setup"]

log = logging.getLogger("reactor.streams")

DEFAULT_READ_BUFFER = 256 * 1024
"""Bytes buffered (unread) before a socket stops reading from the kernel."""

_EMPTY = b""

# The bits of a receiver's _flags: what used to be nine boolean slots, one
# int now (an idle socket is 64 bytes smaller; a test of several is one &).
WAITING = 1  # a recv is waiting (suspended, or woken and not yet resumed)
PAUSED = 2  # reading paused: past read_buffer unread
EOF = 4  # the peer's EOF arrived
LOST = 8  # connection_lost was called
CLOSED = 16  # close() here
DRAINING = 32  # a graceful drain asked to close once what was received is taken
NOTICE = 64  # TcpClosed (and TcpError) queued
NOTIFY_PASSIVE = 128  # active=N: say TcpPassive when the budget runs out
EXIT_ON_CLOSE = 256  # close on the peer's EOF (gen_tcp's exit_on_close)
WRITE_PAUSED = 512  # between the transport's pause_writing and resume_writing


def _check_active(mode: ActiveMode) -> None:
    if isinstance(mode, bool) or mode == "once":
        return
    if not isinstance(mode, int):
        raise ValueError(f"active must be True, False, 'once' or an int, not {mode!r}")
    if not -32768 <= mode <= 32767:
        raise ValueError(f"active must be in -32768..32767, not {mode}")


class Setup:
    """What sockets start with: their ``setopts`` options and ``on_made``.

    One is shared by every socket of a listen or serve, so an idle socket
    keeps one pointer, not five options of its own.  A socket's ``setopts``
    of ``packet``, ``max_size`` or ``read_buffer`` gives it a copy.  Bad
    values raise :exc:`ValueError` here, once, not per accept.
    """

    __slots__ = ("active", "encoder", "exit_on_close", "limit", "max_size", "on_made", "packet")

    def __init__(
        self,
        *,
        packet: PacketType = 0,
        max_size: int = 1 << 20,
        active: ActiveMode = False,
        exit_on_close: bool = True,
        read_buffer: int = DEFAULT_READ_BUFFER,
        on_made: Callable[[Receiver], object] | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if read_buffer < 1:
            raise ValueError(f"read_buffer must be at least 1, got {read_buffer}")
        _check_active(active)
        kind = parse_packet(packet)
        self.packet: int | str = kind
        """gen_tcp's ``packet``: 0 (raw), 1, 2, 4 or ``"line"``."""
        self.max_size = max_size
        """gen_tcp's ``packet_size``: the longest message."""
        self.limit = read_buffer
        """``read_buffer``: unread bytes past which reading pauses."""
        self.encoder: Framer | None = None if kind == 0 else make_framer(kind, max_size)
        """What frames a ``send`` (``None`` for a raw stream)."""
        self.active = active
        """The active mode a socket starts in."""
        self.exit_on_close = exit_on_close
        """Whether a socket starts closing on the peer's EOF."""
        self.on_made = on_made
        """Called with each socket once its connection is up: at once for TCP,
        after the handshake under TLS (a listen socket hands it out then)."""

    def replace(
        self,
        *,
        packet: PacketType | None = None,
        max_size: int | None = None,
        read_buffer: int | None = None,
    ) -> Setup:
        """A copy with the options given changed (checked as ``Setup()`` checks them)."""
        return Setup(
            packet=self.packet if packet is None else packet,
            max_size=self.max_size if max_size is None else max_size,
            active=self.active,
            exit_on_close=self.exit_on_close,
            read_buffer=self.limit if read_buffer is None else read_buffer,
            on_made=self.on_made,
        )


class Receiver:
    """The handler half of :class:`~reactor.streams.Socket` (its only base)."""

    __slots__ = (
        "_active",
        "_buf",
        "_error",
        "_flags",
        "_loop",
        "_mailbox",
        "_off",
        "_owner",
        "_queued",
        "_scanned",
        "_senders",
        "_setup",
        "_transport",
        "_wakeup",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, setup: Setup) -> None:
        self._loop = loop
        self._setup = setup  # shared with the other sockets of its listener until setopts
        self._transport: Transport | None = None
        self._owner: asyncio.Task[object] | None = None
        self._buf: bytes | bytearray = _EMPTY
        self._off = 0
        self._scanned = 0
        self._active = 0  # -1: active true; 0: passive; N: N more messages
        self._flags = EXIT_ON_CLOSE if setup.exit_on_close else 0  # the state bits above
        self._mailbox: Mailbox | None = None
        self._queued = 0  # bytes of data messages in the mailbox
        # What a waiting recv's task is suspended on: the Driver of the task
        # serve() runs, or else a Wakeup (this one, until then).
        self._wakeup: Wakeup | Driver = Wakeup(loop)
        self._senders: list[asyncio.Future[None]] | None = None
        self._error: Exception | None = None  # why it was lost, or a framing error
        if setup.active is not False:
            self._set_active(setup.active)

    def __repr__(self) -> str:
        peer = self._transport.peer if self._transport is not None else None
        return f"<Socket {peer} {'closed' if self._flags & (LOST | CLOSED) else 'open'}>"

    # -- the handler side: what the connection calls ---------------------------------

    def connection_made(self, transport: Transport) -> None:
        """The connection is up."""
        self._transport = transport
        if transport.writing_paused:  # (a TLS layer pauses before it tells the handler)
            self._flags |= WRITE_PAUSED
        made = self._setup.on_made
        if made is not None:
            made(self)

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
        elif self._flags & WAITING:
            self._wakeup.wake()
            return  # it takes what it needs; it reads on while it waits
        if (
            len(self._buf) - self._off + self._queued > self._setup.limit
            and not self._flags & PAUSED
        ):
            self._flags |= PAUSED
            if self._transport is not None:
                self._transport.pause_reading()

    def eof_received(self) -> bool:
        """The peer closed its side: recv returns what is buffered, then ``Closed``."""
        self._flags |= EOF
        self._wake()
        return not self._flags & EXIT_ON_CLOSE

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone; a waiting ``recv`` or ``send`` hears of it."""
        self._flags |= LOST
        if exc is not None and self._error is None:
            self._error = exc
        self._wake()
        senders, self._senders = self._senders, None
        for sender in senders or ():
            if not sender.done():
                sender.set_result(None)

    def pause_writing(self) -> None:
        """Above the write high-water mark: ``send`` now waits for the drain."""
        self._flags |= WRITE_PAUSED

    def resume_writing(self) -> None:
        """Below the low-water mark again: waiting senders go on."""
        self._flags &= ~WRITE_PAUSED
        senders, self._senders = self._senders, None
        for sender in senders or ():
            if not sender.done():
                sender.set_result(None)

    def passive(self) -> None:
        """Not used: the socket counts its own active budget."""

    def drain_requested(self) -> None:
        """A graceful drain: close once what was received is taken (at once if idle)."""
        self._flags |= DRAINING
        self._check_drain()

    def _check_drain(self) -> None:
        if self._flags & DRAINING and len(self._buf) == self._off and not self._queued:
            transport = self._transport
            if transport is not None:
                transport.close_when_done()

    def _wake(self) -> None:
        if self._active:
            self._deliver()
        self._wakeup.wake()

    # -- taking bytes out of the buffer ----------------------------------------------

    def _take(self, length: int) -> bytes | None:
        """The next message (``length`` bytes of a raw stream), or ``None`` yet."""
        buf = self._buf
        off = self._off
        size = len(buf) - off
        if not size:
            return None
        if self._setup.packet == 0:
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
        packet = self._setup.packet
        limit = packet_limit(packet, self._setup.max_size)
        if packet == "line":
            end = line_frame(buf, off, limit, self._scanned)
            if end < 0:
                self._scanned = len(buf)
                return None
            return off, end
        return length_frame(buf, off, cast("int", packet), limit)

    def _taken(self) -> None:
        limit = self._setup.limit
        if self._flags & PAUSED and len(self._buf) - self._off + self._queued <= limit // 2:
            self._flags &= ~PAUSED
            if self._transport is not None and not self._flags & LOST:
                self._transport.resume_reading()
        if self._flags & DRAINING:
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
        self._flags |= EOF
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
            mailbox.put(Tcp(message))
            if self._active > 0:
                self._active -= 1
                if not self._active and self._flags & NOTIFY_PASSIVE:
                    mailbox.put(TcpPassive())
        if (
            self._active
            and not self._flags & NOTICE
            and self._flags & (EOF | LOST)
            and len(self._buf) == self._off
        ):
            self._flags |= NOTICE
            error = self._error
            if error is not None:
                mailbox.put(TcpError(error))
            mailbox.put(TcpClosed())

    def _check_owner(self) -> None:
        if asyncio.current_task(self._loop) is not self._owner:
            raise NotOwner("only the task that owns the socket may read it")

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
        if packet is not None or max_size is not None or read_buffer is not None:
            self._setup = self._setup.replace(
                packet=packet, max_size=max_size, read_buffer=read_buffer
            )
            self._scanned = self._off
        if exit_on_close is not None:
            if exit_on_close:
                self._flags |= EXIT_ON_CLOSE
            else:
                self._flags &= ~EXIT_ON_CLOSE
        if active is not None:
            self._set_active(active)

    def _set_active(self, mode: ActiveMode) -> None:
        _check_active(mode)
        self._flags &= ~NOTIFY_PASSIVE
        if mode is True:
            self._active = -1
        elif mode is False:
            self._active = 0
        elif mode == "once":
            self._active = 1
        else:
            self._active = max(max(self._active, 0) + mode, 0)
            self._flags |= NOTIFY_PASSIVE
            if not self._active:
                self._mailbox_needed().put(TcpPassive())
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
            active = self._active if self._flags & NOTIFY_PASSIVE else "once"
        return {
            "packet": self._setup.packet,
            "max_size": self._setup.max_size,
            "active": active,
            "exit_on_close": bool(self._flags & EXIT_ON_CLOSE),
            "read_buffer": self._setup.limit,
        }
