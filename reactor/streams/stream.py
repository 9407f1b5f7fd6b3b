"""One connection as gen_tcp's socket: ``recv``, ``send``, an owner.

Theory of operation.  :class:`Socket` adds the task side to its
:class:`~reactor.streams.receiver.Receiver` base (the buffer, framing and
active modes, told there).  A waiting ``recv`` suspends its task on the
socket's waiter: a :class:`~reactor.streams.wakeup.Wakeup`, or the
:class:`~reactor.streams.driver.Driver` of the task ``serve()`` runs for
it.  The waiter carries no data: it only says "look again" (or why to
stop: a deadline, a cancel), and the bytes are taken by the ``recv``
itself when it resumes, in the step that returns them.  So a ``recv`` that
times out or is cancelled consumes nothing.  ``send`` writes at once and
awaits only while the write buffer is above its high-water mark
(``pause_writing`` until ``resume_writing``).
"""

from __future__ import annotations

import asyncio
import types
from typing import TYPE_CHECKING, Literal, TypedDict, cast

from reactor.framing import FrameTooLarge
from reactor.streams.driver import Driver
from reactor.streams.errors import Closed, NotOwner, NotPassive, Timeout
from reactor.streams.receiver import (
    CLOSED,
    DEFAULT_READ_BUFFER,
    DRAINING,
    EOF,
    LOST,
    PAUSED,
    WAITING,
    WRITE_PAUSED,
    Receiver,
)
from reactor.streams.wakeup import Wakeup, current_task

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

    from reactor.framing import PacketType
    from reactor.protocol import ActiveMode, PeerKey, Transport
    from reactor.streams.messages import Mailbox, Message

__all__ = ["DEFAULT_READ_BUFFER", "Socket", "SocketOptions"]

# The receiver's bits that recv and send test together: one constant each
# (Python folds no names, so PAUSED | DRAINING would be computed per test).
_SLOW_WAIT = PAUSED | WAITING | EOF | LOST  # a recv that waits needs _start_waiting
_HELD = PAUSED | DRAINING  # the inline take would have something to tell
_ENDED = EOF | LOST
_GONE = LOST | CLOSED
_NOT_WAITING = ~WAITING

_EMPTY = b""


class _Sent:
    """What ``send`` returns when nothing has to wait: awaiting it returns at once."""

    __slots__ = ()

    # An exhausted iterator, shared: awaiting it finishes at once with None,
    # and the await calls a builtin, not a Python method.
    __await__ = staticmethod(cast("Callable[[], Generator[None, None, None]]", iter(()).__iter__))


_SENT = _Sent()


class SocketOptions(TypedDict, total=False):
    """The options every socket of a ``listen`` or ``connect`` starts with (``setopts``)."""

    packet: PacketType
    max_size: int
    active: ActiveMode
    exit_on_close: bool
    read_buffer: int


def _expire(sock: Socket, timeout: float) -> None:
    sock._wakeup.wake(Timeout(f"nothing received in {timeout:g} s"))


class Socket(Receiver):
    """A connected socket, owned by one task (see :mod:`reactor.streams`).

    Made by ``accept()``, ``connect()`` or ``serve()``, never by hand.
    """

    __slots__ = ()  # every slot is the receiver's

    def timeout(self) -> None:
        """The idle timeout: close (the owner's ``recv`` raises ``Closed``)."""
        self.close()

    # -- the task side ---------------------------------------------------------------

    @property
    def peername(self) -> PeerKey:
        """The peer's ``(host, port)``: the connection table's key (``inet:peername``)."""
        return self._connected().peer

    @property
    def last_peer(self) -> PeerKey | None:
        """The peer key, also once closed; ``None`` if it never connected (for logs)."""
        return self._transport.peer if self._transport is not None else None

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

    def set_owner(self, task: asyncio.Task[object] | None, driver: Driver | None = None) -> None:
        """Make ``task`` the owner, unchecked (``accept``, ``connect`` and ``serve`` do).

        ``driver`` is the :class:`~reactor.streams.driver.Driver` that
        ``task`` runs (``serve`` passes it): a waiting ``recv`` then waits on
        the driver, which resumes the handler with nothing between.
        """
        self._owner = task
        if driver is not None:
            self._wakeup = driver
        elif isinstance(self._wakeup, Driver) and self._wakeup.task is not task:
            self._wakeup = Wakeup(self._loop)  # a driver waits for its own task only

    def controlling_process(self, task: asyncio.Task[object]) -> None:
        """Hand the socket to ``task`` (``gen_tcp:controlling_process/2``).

        Only the owner may call it (:class:`~reactor.streams.NotOwner`
        otherwise).  Buffered bytes and queued messages go with the socket,
        in order; messages arriving meanwhile queue behind them.
        """
        self._check_owner()
        if not isinstance(task, asyncio.Task):
            raise TypeError(f"controlling_process() needs an asyncio.Task, not {task!r}")
        self.set_owner(task)

    @types.coroutine
    def recv(
        self, length: int = 0, timeout: float | None = None
    ) -> Generator[object, None, bytes]:
        """``gen_tcp:recv/3``: the next message, or ``length`` bytes of a raw stream.

        ``length=0`` returns whatever is buffered (one whole message with
        ``packet``, where ``length`` is ignored as gen_tcp ignores it).
        :class:`~reactor.streams.Timeout` after ``timeout`` seconds leaves
        the socket usable; :class:`~reactor.streams.Closed` once the peer
        closed and everything buffered was returned.  (A generator-based
        coroutine, as asyncio's own ``sleep(0)``: it yields the socket's
        waiter to the task itself, with no ``__await__`` call between.)
        """
        if (
            current_task(self._loop) is not self._owner
            or self._active
            or self._flags & CLOSED
            or length < 0
        ):
            self._refuse_recv(length)
        message: bytes | bytearray | None
        if len(self._buf) > self._off:
            message = self._take_checked(length)
            if message is not None:
                return message
        if timeout is None and not self._flags & _SLOW_WAIT:
            handle = None  # the common case, inline: wait with no deadline
        else:
            handle = self._start_waiting(timeout)
        self._flags |= WAITING
        try:  # few locals: this frame is what an idle connection's recv keeps
            while True:
                yield self._wakeup  # the task suspends on it until the socket wakes it
                if self._wakeup.outcome is not None:
                    self._woken_by()
                message = self._buf
                if (
                    type(message) is bytes
                    and message
                    and not (self._off or length or self._setup.packet or self._flags & _HELD)
                ):
                    # _take's recv(0) of a raw stream, inline on the hot path:
                    # the read's own bytes, nothing paused or draining to tell
                    self._buf = _EMPTY
                    return message
                message = self._take_checked(length)
                if message is not None:
                    return message
                self._raise_if_done()
        except BaseException:
            self._wakeup.disarm()  # closed or thrown into while suspended: the task is gone
            raise
        finally:
            # not "&=", whose stack depth under the finally's exception would
            # make every suspended recv frame a word bigger
            self._flags = self._flags & _NOT_WAITING
            if handle is not None:
                handle.cancel()

    def _refuse_recv(self, length: int) -> None:
        if current_task(self._loop) is not self._owner:
            raise NotOwner("only the task that owns the socket may recv")
        if self._active:
            raise NotPassive("recv on a socket in an active mode (read sock.messages)")
        if self._flags & CLOSED:
            raise Closed("the socket was closed")
        raise ValueError(f"length must be >= 0, not {length}")

    def _woken_by(self) -> None:
        """Raise what the recv was woken with: its deadline's Timeout, a cancel's error."""
        wakeup = self._wakeup
        assert isinstance(wakeup, Wakeup)  # a Driver throws its wake's error in instead
        error, wakeup.outcome = wakeup.outcome, None  # the socket keeps no traceback
        assert error is not None
        raise error

    def _take_checked(self, length: int) -> bytes | None:
        try:
            return self._take(length)
        except FrameTooLarge as exc:
            self._frame_error(exc)
            raise

    def _start_waiting(self, timeout: float | None) -> asyncio.TimerHandle | None:
        self._raise_if_done()
        if self._flags & WAITING:
            raise RuntimeError("recv is already waiting on this socket")
        if timeout is not None and timeout <= 0:
            raise Timeout("nothing to receive")
        if self._flags & PAUSED:  # it needs more than is buffered: read on while it waits
            self._flags &= ~PAUSED
            self._connected().resume_reading()
        return (
            self._loop.call_later(timeout, _expire, self, timeout) if timeout is not None else None
        )

    def _raise_if_done(self) -> None:
        if self._flags & CLOSED:
            raise Closed("the socket was closed")
        if self._flags & _ENDED:
            raise Closed("the peer closed the connection") from self._error

    def send(self, data: bytes | bytearray | memoryview) -> Awaitable[None]:
        """``gen_tcp:send/2``: write ``data`` (one message with ``packet``); await the result.

        Writes at once.  The awaitable is done at once unless the write
        buffer is above its high-water mark, then once it drained below the
        low-water mark.  Any task may send.  :class:`~reactor.streams.Closed`
        if the socket is closed; a cancelled wait has still queued the data.
        (A plain method returning a done awaitable, not a coroutine: no
        coroutine is made per message while the peer keeps up.)
        """
        transport = self._transport
        if transport is None or self._flags & _GONE or transport.is_closing():
            raise Closed("the socket is closed")
        encoder = self._setup.encoder
        transport.write(data if encoder is None else encoder.encode(bytes(data)))
        if self._flags & WRITE_PAUSED:  # told by pause_writing, not asked per message
            return self._drained()
        return _SENT

    async def _drained(self) -> None:
        sender = self._loop.create_future()
        if self._senders is None:
            self._senders = [sender]
        else:
            self._senders.append(sender)
        await sender
        if self._flags & LOST:
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
            self._flags |= EOF
            transport.pause_reading()
            self._wake()
        elif how == "read_write":
            self.close()
        else:
            raise ValueError(f"how must be 'write', 'read' or 'read_write', not {how!r}")

    def close(self) -> None:
        """``gen_tcp:close/1``: flush what was sent, then close.  Any task may."""
        if self._flags & CLOSED:
            return
        self._flags |= CLOSED
        self._buf = _EMPTY
        self._off = 0
        self._queued = 0
        if self._transport is not None:
            self._transport.close()
        self._wakeup.wake()
        if self._mailbox is not None:
            self._mailbox.wake()

    def abort(self) -> None:
        """Close now, dropping what is queued for sending."""
        transport = self._transport
        self.close()
        if transport is not None:
            transport.abort()

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
