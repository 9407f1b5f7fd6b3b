"""The command table: one function per command, replies as encoded bytes.

:class:`Commands` maps each command name (upper and lower case, so the
common spellings hit the dict directly) to a bound method and its arity in
Redis's convention: ``n`` exactly n words, ``-n`` at least n.  The arity is
checked once, in :meth:`Commands.execute`; each method then gets the whole
argument list and returns the encoded reply.  Replies that never change are
encoded once at import time; the few whose shape depends on the protocol
version come from the session's :class:`~protocols.resp.replies.Replies`.

Commands about connections (CLIENT, INFO's client figures) go through a
:class:`Host`, which the server implements over the reactor's connection
table, so this module has no I/O of its own and is tested without sockets.
The table holds the connection commands itself; the string commands live in
:mod:`protocols.resp.strings`, the key and TTL commands in
:mod:`protocols.resp.keys`, the server commands in :mod:`protocols.resp.admin`
and :mod:`protocols.resp.clients`, the list commands in
:mod:`protocols.resp.lists`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeAlias

from protocols.resp.keys import KeyCommands
from protocols.resp.parser import (
    OK,
    PONG,
    encode_array,
    encode_bulk,
    encode_error,
    parse_int,
)
from protocols.resp.replies import NOT_INTEGER, RESP2, wrong_arity
from protocols.resp.strings import StringCommands

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from protocols.resp.replies import Replies
    from protocols.resp.store import Keyspace

__all__ = [
    "Command",
    "CommandFn",
    "Commands",
    "Host",
    "Session",
    "Subcommands",
    "parse_int",
    "wrong_arity",
]

CommandFn: TypeAlias = "Callable[[Session, list[bytes]], bytes]"
"""A command's function: the session and the whole argument list in, the encoded reply out."""


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Session:
    """What the commands keep per connection."""

    __slots__ = ("command", "id", "lib_name", "lib_ver", "name", "quit", "resp")

    def __init__(self, ident: int) -> None:
        self.id = ident
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.command = "NULL"  # the last command run, as CLIENT LIST shows it
        self.quit = False  # close after the reply (QUIT, CLIENT KILL of itself)
        self.resp: Replies = RESP2  # HELLO 3 switches to RESP3


class Host(Protocol):
    """The server around the commands: its connections and its figures."""

    def client_lines(self, session: Session, only_self: bool = False) -> list[str]:
        """CLIENT LIST lines: every connection of the listener ``session`` came in on."""
        ...

    def kill(
        self,
        session: Session,
        addrs: list[str],
        laddrs: list[str],
        ids: list[int],
        skip_self: bool,
    ) -> int:
        """Close the connections matching every given filter; how many."""
        ...

    def figures(self, session: Session) -> Mapping[str, int | str]:
        """Server and connection figures for INFO (tcp_port, connected_clients ...)."""
        ...


class Command:
    """A command's entry: the function, its arity and what COMMAND reports."""

    __slots__ = ("arity", "first_key", "flags", "fn", "group", "last_key", "name", "summary")

    def __init__(
        self,
        name: str,
        fn: CommandFn,
        arity: int,
        *,
        flags: tuple[str, ...],
        keys: tuple[int, int],
        group: str,
        summary: str,
    ) -> None:
        self.name = name
        self.fn = fn
        self.arity = arity
        self.flags = flags
        self.first_key, self.last_key = keys
        self.group = group
        self.summary = summary


class Subcommands:
    """A command made of subcommands (``CLIENT LIST``, ``CONFIG GET``): their own table.

    Each entry is the function and its arity counted from the command word,
    as Redis counts ``client|setname``'s 3.  ``HELP`` lists the names.
    """

    def __init__(self, group: str, table: dict[bytes, tuple[CommandFn, int]]) -> None:
        self.group = group
        self.table = table
        table[b"help"] = (self._help, 2)

    def __call__(self, session: Session, args: list[bytes]) -> bytes:
        """Dispatch ``GROUP sub ...``, checking the subcommand's arity."""
        group = self.group
        sub = args[1].lower()
        entry = self.table.get(sub)
        if entry is None:
            text = _text(args[1])[:128]
            return encode_error(f"ERR unknown subcommand '{text}'. Try {group.upper()} HELP.")
        fn, want = entry
        name = f"{group}|{sub.decode()}"
        n = len(args)
        if n != want and (want > 0 or n < -want):
            return wrong_arity(name)
        session.command = name
        return fn(session, args)

    def _help(self, session: Session, args: list[bytes]) -> bytes:
        group = self.group.upper()
        lines = [f"{group} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
        lines += [sub.decode().upper() for sub in self.table]
        return encode_array(line.encode() for line in lines)


# name, method, arity, flags, summary
_CONNECTION: tuple[tuple[str, str, int, str, str], ...] = (
    ("ping", "ping", -1, "fast", "Ping the server"),
    ("echo", "echo", 2, "fast", "Echo the given string"),
    ("quit", "quit", -1, "fast", "Close the connection"),
    ("select", "select", 2, "fast", "Change the selected database"),
)


class Commands:
    """The dispatch table for every command, and the connection commands."""

    def __init__(self, store: Keyspace, host: Host) -> None:
        self.store = store
        self.host = host
        self.processed = 0
        self.errors = 0
        self.commands: dict[str, Command] = {}
        self._table: dict[bytes, tuple[CommandFn, int, str]] = {}
        for name, method, arity, flags, summary in _CONNECTION:
            fn = getattr(self, method)
            self.add(name, fn, arity, flags, group="connection", summary=summary)
        StringCommands(self)
        KeyCommands(self)

    def add(
        self,
        name: str,
        fn: CommandFn,
        arity: int,
        flags: str = "",
        keys: tuple[int, int] = (0, 0),
        *,
        group: str = "generic",
        summary: str = "",
    ) -> None:
        """Register ``fn`` as the command ``name``."""
        command = Command(
            name, fn, arity, flags=tuple(flags.split()), keys=keys, group=group, summary=summary
        )
        self.commands[name] = command
        entry = (fn, arity, name)
        self._table[name.encode()] = entry
        self._table[name.upper().encode()] = entry

    def execute(self, session: Session, args: list[bytes]) -> bytes:
        """Run one command; always returns a reply, errors included."""
        entry = self._table.get(args[0])
        if entry is None:
            entry = self._table.get(args[0].lower())
            if entry is None:
                self.errors += 1
                return self._unknown(args)
        fn, arity, name = entry
        n = len(args)
        if n != arity and (arity > 0 or n < -arity):
            self.errors += 1
            return wrong_arity(name)
        self.processed += 1
        session.command = name
        reply = fn(session, args)
        if reply[0] == 45:  # '-'
            self.errors += 1
        return reply

    @staticmethod
    def _unknown(args: list[bytes]) -> bytes:
        shown = "".join(f"'{_text(arg[:128])}' " for arg in args[1:])
        return encode_error(
            f"ERR unknown command '{_text(args[0][:128])}', with args beginning with: {shown}"
        )

    # -- connection ------------------------------------------------------------

    def ping(self, session: Session, args: list[bytes]) -> bytes:
        """``PING [message]``: PONG, or the message as a bulk string."""
        if len(args) == 1:
            return PONG
        if len(args) == 2:
            return encode_bulk(args[1])
        return wrong_arity("ping")

    def echo(self, session: Session, args: list[bytes]) -> bytes:
        """``ECHO message``."""
        return encode_bulk(args[1])

    def quit(self, session: Session, args: list[bytes]) -> bytes:
        """``QUIT``: OK, then the connection closes."""
        session.quit = True
        return OK

    def select(self, session: Session, args: list[bytes]) -> bytes:
        """``SELECT index``: only database 0 exists."""
        index = parse_int(args[1])
        if index is None:
            return NOT_INTEGER
        if index != 0:
            return b"-ERR DB index is out of range\r\n"
        return OK
