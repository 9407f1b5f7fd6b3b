"""Active modes as messages: gen_tcp's ``{tcp, S, Data}``, ``{tcp_closed, S}``, ...

With ``active=True``, ``"once"`` or ``N`` a socket turns what it receives
into messages in its :class:`Mailbox`, ``sock.messages``, which only the
owner reads (``await sock.messages.get()`` or ``async for msg in sock``).
The mailbox belongs to the socket, not to a task, so
``controlling_process`` hands it over whole: messages already queued and
messages arriving during the hand-over keep their order (OTP's ERL-90 race
cannot happen).

A message does not name its socket, as gen_tcp's do: the mailbox is the
socket's own, never shared.  The bytes of queued data messages count toward
the socket's receive buffer: past its limit reading pauses and the kernel
pushes back on the peer, where an Erlang mailbox would grow without bound.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from reactor.streams.errors import Closed

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

__all__ = ["Mailbox", "Message", "Tcp", "TcpClosed", "TcpError", "TcpPassive"]


@dataclass(frozen=True, slots=True)
class Tcp:
    """``{tcp, Socket, Data}``: one message (one frame with ``packet``, else a chunk)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class TcpClosed:
    """``{tcp_closed, Socket}``: the peer closed; it follows every data message."""


@dataclass(frozen=True, slots=True)
class TcpError:
    """``{tcp_error, Socket, Reason}``: the connection failed; ``TcpClosed`` follows."""

    reason: Exception


@dataclass(frozen=True, slots=True)
class TcpPassive:
    """``{tcp_passive, Socket}``: an ``active=N`` budget ran out; the socket is passive."""


Message: TypeAlias = Tcp | TcpClosed | TcpError | TcpPassive
"""What a mailbox holds."""


class Mailbox:
    """The messages of one socket, read by its owner in arrival order.

    ``check_owner()`` raises :class:`~reactor.streams.NotOwner` for any
    other task; ``taken(size)`` tells the socket that a data message of
    ``size`` bytes left the mailbox (it may read again).
    """

    __slots__ = ("_check_owner", "_closed", "_getter", "_items", "_loop", "_taken")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        check_owner: Callable[[], None],
        taken: Callable[[int], None],
    ) -> None:
        self._loop = loop
        self._check_owner = check_owner
        self._taken = taken
        self._items: collections.deque[Message] = collections.deque()
        self._getter: asyncio.Future[None] | None = None
        self._closed = False  # the last message (TcpClosed) was taken

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        """Whether no message waits."""
        return not self._items

    def put(self, message: Message) -> None:
        """Queue ``message`` (the socket does) and wake the owner if it waits."""
        self._items.append(message)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def get_nowait(self) -> Message | None:
        """The next message, or ``None`` if none waits (owner only)."""
        self._check_owner()
        return self._pop()

    async def get(self) -> Message:
        """The next message, waiting for one (owner only).

        After the final :class:`TcpClosed` has been taken, raises
        :class:`~reactor.streams.Closed`.  A cancelled ``get`` takes nothing.
        """
        self._check_owner()
        while True:
            message = self._pop()
            if message is not None:
                return message
            if self._closed:
                raise Closed("the socket is closed and its messages were read")
            getter = self._getter = self._loop.create_future()
            try:
                await getter
            finally:
                self._getter = None

    def _pop(self) -> Message | None:
        items = self._items
        if not items:
            return None
        message = items.popleft()
        if type(message) is Tcp:
            self._taken(len(message.data))
        elif type(message) is TcpClosed:
            self._closed = True
        return message

    def wake(self) -> None:
        """Wake a waiting ``get`` without a message (the socket closed here)."""
        self._closed = True
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
