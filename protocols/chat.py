"""``chat``: a line-based chat room; the connection table made visible.

Every line a connection sends goes to every *other* connection, prefixed
with the sender's peer key, ``<127.0.0.1:50312> hello``, or with its nick
and peer key after ``/nick``, ``<ada 127.0.0.1:50312> hello``.  Commands:

``/who``
    the table: each peer key, its nick and how long it has been connected;
``/nick NAME``
    take a nick (letters, digits, ``_ - .``, at most 32, unique);
``/quit``
    leave.

Lines from the server itself start with ``* ``; a graceful drain of the
server (SIGTERM) sends every member ``* server shutting down, goodbye`` after
what was queued for it, then closes.  A line longer than
``--max-line`` (newline included) is a protocol error that closes that
connection only.

Slow readers.  Writes never block, so a reader that stops reading cannot
stall the others; it could only make the server buffer lines for it without
end.  Each connection's output is therefore bounded: the transport's
high-water mark is ``--send-queue`` bytes, and while it is above the mark
(between ``pause_writing`` and ``resume_writing``) further lines wait in a
backlog of at most ``--send-queue`` bytes more.  A reader that overflows
the backlog is disconnected and the room is told why.  Disconnecting was
chosen over dropping the oldest lines because a transcript with silent
holes misleads its reader, while a closed connection says plainly that it
fell behind (IRC servers do the same with "SendQ exceeded"); it also frees
the memory at once.  So the server holds at most about ``2 * send_queue``
bytes plus one line for any reader, however slow.

The room (:class:`ChatRoom`) is sans-I/O: it knows its members through
:class:`Seat` (deliver bytes, report bytes queued) and takes a clock, so it
is tested without sockets; :class:`ChatHandler` adapts it to a transport.
"""

from __future__ import annotations

import argparse
import enum
import logging
import re
from collections import deque
from typing import TYPE_CHECKING, Protocol

from reactor.framing import FramedHandler, LineFramer
from reactor.metrics import Family, registry_for
from reactor.protocol import format_peer

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.protocol import EventLoop, Factory, Handler, PeerKey, Transport

__all__ = [
    "DEFAULT_MAX_LINE",
    "DEFAULT_SEND_QUEUE",
    "GOODBYE",
    "Action",
    "ChatHandler",
    "ChatPlugin",
    "ChatRoom",
    "Seat",
    "format_age",
    "plugin",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_LINE = 4096
"""The longest line a member may send, newline included (``--max-line``)."""
DEFAULT_SEND_QUEUE = 64 * 1024
"""Per-member send queue (``--send-queue``): the high-water mark, and the backlog
allowed beyond it before a slow reader is disconnected."""
GOODBYE = b"* server shutting down, goodbye\n"
"""The line every member gets when a graceful drain closes the room."""
_NICK = re.compile(r"[A-Za-z0-9_.\-]{1,32}")


def format_age(seconds: float) -> str:
    """A short duration: ``42s``, ``3m05s``, ``2h07m``."""
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Seat(Protocol):
    """What the room needs of a member's connection."""

    def deliver(self, data: bytes) -> None:
        """Queue ``data`` (whole lines) for the member."""
        ...

    def queued(self) -> int:
        """Bytes waiting to reach the member."""
        ...


class Action(enum.Enum):
    """What the connection should do after a line."""

    CONTINUE = enum.auto()
    QUIT = enum.auto()


class _Member:
    __slots__ = ("joined", "key", "nick", "seat")

    def __init__(self, key: PeerKey, seat: Seat, joined: float) -> None:
        self.key = key
        self.seat = seat
        self.joined = joined
        self.nick: str | None = None

    @property
    def name(self) -> str:
        peer = format_peer(self.key)
        return peer if self.nick is None else f"{self.nick} {peer}"


class ChatRoom:
    """The members, by peer key, and what their lines mean."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._members: dict[PeerKey, _Member] = {}
        self.relayed = 0
        """Lines relayed to the room (``selreactor_chat_messages_total``)."""

    def families(self) -> list[Family]:
        """``selreactor_chat_messages_total`` and ``selreactor_chat_members``."""
        relayed = Family("selreactor_chat_messages_total", "counter", "Chat lines relayed")
        relayed.add(self.relayed)
        members = Family("selreactor_chat_members", "gauge", "Members in the chat room")
        members.add(len(self._members))
        return [relayed, members]

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def nick(self, key: PeerKey) -> str | None:
        """The nick of ``key``, or ``None``."""
        return self._members[key].nick

    def join(self, key: PeerKey, seat: Seat) -> None:
        """Seat a new member and tell the others."""
        member = _Member(key, seat, self._clock())
        self._members[key] = member
        seat.deliver(
            f"* welcome {member.name}; {len(self._members)} here; "
            "commands: /who, /nick NAME, /quit\n".encode()
        )
        self._broadcast(f"* {member.name} joined\n".encode(), but=key)

    def leave(self, key: PeerKey, reason: str | None = None) -> None:
        """Forget ``key`` (harmless if already gone) and tell the others."""
        member = self._members.pop(key, None)
        if member is None:
            return
        why = f" ({reason})" if reason else ""
        self._broadcast(f"* {member.name} left{why}\n".encode())

    def line(self, key: PeerKey, line: bytes) -> Action:
        """Handle one line from ``key`` (its newline included or not)."""
        member = self._members.get(key)
        if member is None:
            return Action.CONTINUE
        text = line.rstrip(b"\n").removesuffix(b"\r")
        if not text:
            return Action.CONTINUE
        if text.startswith(b"/") and not text.startswith(b"//"):
            return self._command(member, text.decode("utf-8", "replace"))
        if text.startswith(b"//"):
            text = text[1:]
        self.relayed += 1
        self._broadcast(b"<" + member.name.encode() + b"> " + text + b"\n", but=key)
        return Action.CONTINUE

    def who(self) -> list[tuple[PeerKey, str | None, float]]:
        """Each member's peer key, nick and age in seconds, oldest first."""
        now = self._clock()
        return [(m.key, m.nick, now - m.joined) for m in self._members.values()]

    def _command(self, member: _Member, text: str) -> Action:
        command, _, argument = text.partition(" ")
        command = command.lower()
        argument = argument.strip()
        if command == "/who":
            self._who(member)
        elif command == "/nick":
            self._rename(member, argument)
        elif command == "/quit":
            member.seat.deliver(b"* bye\n")
            return Action.QUIT
        else:
            member.seat.deliver(
                f"* unknown command {command}; try /who, /nick NAME, /quit "
                "(start a line with // to send a literal /)\n".encode()
            )
        return Action.CONTINUE

    def _who(self, member: _Member) -> None:
        now = self._clock()
        lines = [f"* {len(self._members)} connected: peer nick age queued"]
        for other in self._members.values():
            you = " (you)" if other is member else ""
            lines.append(
                f"*   {format_peer(other.key)} {other.nick or '-'} "
                f"{format_age(now - other.joined)} {other.seat.queued()}{you}"
            )
        member.seat.deliver(("\n".join(lines) + "\n").encode())

    def _rename(self, member: _Member, nick: str) -> None:
        if not _NICK.fullmatch(nick):
            member.seat.deliver(b"* usage: /nick NAME (1-32 letters, digits, '_', '-' or '.')\n")
            return
        folded = nick.casefold()
        for other in self._members.values():
            if other is not member and other.nick is not None and other.nick.casefold() == folded:
                member.seat.deliver(f"* nick {nick} is taken\n".encode())
                return
        old = member.name
        member.nick = nick
        member.seat.deliver(f"* you are now {member.name}\n".encode())
        self._broadcast(f"* {old} is now {member.name}\n".encode(), but=member.key)

    def _broadcast(self, data: bytes, but: PeerKey | None = None) -> None:
        # A copy: delivering may disconnect a slow reader, which leaves the room.
        for member in list(self._members.values()):
            if member.key != but and member.key in self._members:
                member.seat.deliver(data)


class ChatHandler(FramedHandler):
    """One member's connection: lines in, a bounded queue of lines out."""

    __slots__ = ("_backlog", "_backlog_size", "_paused", "dropped", "key", "room", "send_queue")

    def __init__(
        self,
        room: ChatRoom,
        key: PeerKey,
        max_line: int = DEFAULT_MAX_LINE,
        send_queue: int = DEFAULT_SEND_QUEUE,
    ) -> None:
        super().__init__(LineFramer(max_line))
        self.room = room
        self.key = key
        self.send_queue = send_queue
        self._backlog: deque[bytes] = deque()
        self._backlog_size = 0
        self._paused = False
        self.dropped = False

    def connection_made(self, transport: Transport) -> None:
        """Bound the transport's buffer and take a seat."""
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=self.send_queue, low=self.send_queue // 4)
        self.room.join(self.key, self)

    def message_received(self, message: bytes) -> None:
        """A line for the room."""
        if self.room.line(self.key, message) is Action.QUIT and self.transport is not None:
            self.room.leave(self.key, "quit")
            self.transport.close()

    def deliver(self, data: bytes) -> None:
        """Write ``data`` now, or keep it while the reader is behind; drop a hopeless reader."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if not self._paused:
            transport.write(data)
            return
        self._backlog.append(data)
        self._backlog_size += len(data)
        if self._backlog_size > self.send_queue:
            self._too_slow(transport)

    def queued(self) -> int:
        """Bytes in the transport's buffer and in the backlog."""
        transport = self.transport
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        return buffered + self._backlog_size

    def pause_writing(self) -> None:
        """The reader is behind: keep further lines in the bounded backlog."""
        self._paused = True

    def resume_writing(self) -> None:
        """The reader caught up: hand the backlog to the transport."""
        self._paused = False
        if self._backlog and self.transport is not None:
            backlog = list(self._backlog)
            self._backlog.clear()
            self._backlog_size = 0
            self.transport.writelines(backlog)

    def drain_requested(self) -> None:
        """The server is going away: flush the backlog, say goodbye, close.

        Every member is drained in the same turn, so the room's "left"
        notices that follow reach only closing transports and are dropped.
        """
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        lines = [*self._backlog, GOODBYE]
        self._backlog.clear()
        self._backlog_size = 0
        transport.writelines(lines)
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Leave the room (if the reader was not already dropped)."""
        self.room.leave(self.key, None if exc is None else "connection lost")
        self._backlog.clear()
        self._backlog_size = 0
        super().connection_lost(exc)

    def _too_slow(self, transport: Transport) -> None:
        log.info(
            "disconnecting %s: more than %d bytes queued for a reader that does not read",
            format_peer(self.key),
            self.send_queue,
        )
        self.dropped = True
        self._backlog.clear()
        self._backlog_size = 0
        transport.abort()
        self.room.leave(self.key, f"too slow: over {self.send_queue} bytes queued")


def _positive(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class ChatPlugin:
    """The ``chat`` entry point."""

    description = "line chat room: lines go to every other peer, /who lists the table"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add ``--max-line`` and ``--send-queue``."""
        parser.add_argument(
            "--max-line",
            type=_positive,
            default=DEFAULT_MAX_LINE,
            metavar="BYTES",
            help="longest line accepted, newline included (default: %(default)s)",
        )
        parser.add_argument(
            "--send-queue",
            type=_positive,
            default=DEFAULT_SEND_QUEUE,
            metavar="BYTES",
            help="bytes held for a slow reader before it is disconnected (default: %(default)s)",
        )

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """One room for the listener; one :class:`ChatHandler` per connection."""
        room = ChatRoom(loop.time)
        registry_for(loop).add_collector(room.families)
        max_line = int(getattr(options, "max_line", DEFAULT_MAX_LINE))
        send_queue = int(getattr(options, "send_queue", DEFAULT_SEND_QUEUE))

        def factory(peer: PeerKey) -> Handler:
            return ChatHandler(room, peer, max_line, send_queue)

        return factory


plugin = ChatPlugin()
