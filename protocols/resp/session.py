"""What every command module shares: the session, the host, the table's entries.

A :class:`Session` is what the commands keep per connection: its selected
database, its protocol version, its name.  A :class:`Host` is the server
around the commands (the reactor's connection table, INFO's figures), so
the command modules have no I/O of their own and are tested without
sockets.  :class:`Spec` is the one row layout of the command table in
:mod:`protocols.resp.commands`; :class:`Command` is a registered row, as
COMMAND reports it; :class:`Subcommands` dispatches ``CLIENT LIST``-style
commands over a table of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeAlias

from protocols.resp.parser import encode_array, encode_error
from protocols.resp.replies import RESP2, wrong_arity

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from protocols.resp.replies import Replies
    from protocols.resp.store import Keyspace
    from protocols.resp.transactions import Transaction

__all__ = ["Command", "CommandFn", "Host", "Session", "Spec", "Subcommands"]

CommandFn: TypeAlias = "Callable[[Session, list[bytes]], bytes]"
"""A command's function: the session and the whole argument list in, the encoded reply out."""


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Spec(NamedTuple):
    """One row of the command table: who implements it and what COMMAND reports."""

    name: str
    """The command word, lower case."""
    impl: str
    """The implementing object: ``connection``, ``strings``, ``keys``, ``lists``, ``admin``,
    ``clients``."""
    method: str
    """The method of that object."""
    arity: int
    """Redis's arity: ``n`` exactly n words, ``-n`` at least n."""
    flags: str
    """Space-separated COMMAND flags (``write fast``)."""
    keys: tuple[int, int]
    """First and last key position (``-1``: the last argument), ``(0, 0)`` for none."""
    group: str
    """The command's group (``string``, ``generic``, ``server`` ...)."""
    summary: str
    """One line for COMMAND DOCS."""


class Session:
    """What the commands keep per connection."""

    __slots__ = (
        "attention",
        "command",
        "db",
        "db_index",
        "id",
        "lib_name",
        "lib_ver",
        "name",
        "quit",
        "resp",
        "tx",
    )

    def __init__(self, ident: int, db: Keyspace) -> None:
        self.id = ident
        self.db = db  # the selected database (SELECT changes it)
        self.db_index = 0
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.command = "NULL"  # the last command run, as CLIENT LIST shows it
        self.quit = False  # close after the reply (QUIT, CLIENT KILL of itself)
        self.resp: Replies = RESP2  # HELLO 3 switches to RESP3
        self.tx: Transaction | None = None  # from the first MULTI or WATCH
        # The one flag the handler checks after each reply: the connection
        # closes (quit) or its dispatcher changed (MULTI, EXEC, DISCARD).
        self.attention = False

    def close_after_reply(self) -> None:
        """Close the connection once the current reply is written."""
        self.quit = True
        self.attention = True

    def release(self) -> None:
        """The connection is gone: drop its transaction and every WATCH."""
        if self.tx is not None:
            self.tx.end()
            self.tx = None


class Host(Protocol):
    """The server around the commands: its connections and its figures."""

    def client_lines(
        self, session: Session, only_self: bool = False, current: int = 0
    ) -> list[str]:
        """CLIENT LIST lines: every connection of the listener ``session`` came in on.

        ``current`` is the size of the command being run, which Redis still
        counts in its own connection's query buffer.
        """
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

    def configure(self, name: str, value: str) -> str | None:
        """CONFIG SET of a parameter the server acts on; an error text, or None when done."""
        ...


class Command:
    """A command's entry: the function, its arity and what COMMAND reports."""

    __slots__ = (
        "arity",
        "calls",
        "first_key",
        "flags",
        "fn",
        "group",
        "last_key",
        "name",
        "summary",
    )

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
        self.calls = 0  # INFO commandstats


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
