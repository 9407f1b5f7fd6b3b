"""The command table: one row per command, one function per command, replies as bytes.

:data:`TABLE` is the whole table, one :class:`~protocols.resp.session.Spec`
row per command: which object implements it and what COMMAND reports.
:class:`Commands` builds those objects once and registers every row in one
loop; it maps each name (upper and lower case, so the common spellings hit
the dict directly) to the bound method, its arity and its
:class:`~protocols.resp.session.Command`.  The arity is checked once, in
:meth:`Commands.execute`; each method then gets the whole argument list and
returns the encoded reply.  Replies that never change are encoded once at
import time; the few whose shape depends on the protocol version come from
the session's :class:`~protocols.resp.replies.Replies`.

The string commands live in :mod:`protocols.resp.strings` and
:mod:`protocols.resp.bits`, the key and TTL commands in
:mod:`protocols.resp.keys`, the server commands in :mod:`protocols.resp.admin`
and :mod:`protocols.resp.clients`, the list commands in
:mod:`protocols.resp.lists`; the connection commands are here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.resp.admin import Admin
from protocols.resp.bits import BitCommands
from protocols.resp.clients import ClientCommands
from protocols.resp.keys import KeyCommands
from protocols.resp.lists import ListCommands
from protocols.resp.parser import OK, PONG, encode_bulk, encode_error, parse_int
from protocols.resp.replies import NOT_INTEGER, wrong_arity
from protocols.resp.session import Command, CommandFn, Host, Session, Spec
from protocols.resp.strings import StringCommands
from protocols.resp.transactions import TransactionCommands

if TYPE_CHECKING:
    from collections.abc import Callable

    from protocols.resp.store import Databases

__all__ = ["TABLE", "Commands", "ConnectionCommands"]

_S = Spec
_K1 = (1, 1)
_ALL = (1, -1)
_NONE = (0, 0)

TABLE: tuple[Spec, ...] = (
    # name, implementation, method, arity, flags, keys, group, summary
    _S("ping", "connection", "ping", -1, "fast", _NONE, "connection", "Ping the server"),
    _S("echo", "connection", "echo", 2, "fast", _NONE, "connection", "Echo the given string"),
    _S("quit", "connection", "quit", -1, "fast", _NONE, "connection", "Close the connection"),
    _S("select", "connection", "select", 2, "fast", _NONE, "connection", "Change the database"),
    _S("hello", "clients", "hello", -1, "fast", _NONE, "connection", "Handshake"),
    _S("auth", "clients", "auth", -2, "fast", _NONE, "connection", "Authenticate"),
    _S("client", "clients", "client", -2, "admin", _NONE, "connection", "Manage connections"),
    _S("set", "strings", "set_", -3, "write", _K1, "string", "Set the string value of a key"),
    _S("setnx", "strings", "setnx", 3, "write fast", _K1, "string", "Set a key if missing"),
    _S("setex", "strings", "setex", 4, "write", _K1, "string", "Set with a TTL in seconds"),
    _S("psetex", "strings", "psetex", 4, "write", _K1, "string", "Set with a TTL in ms"),
    _S("get", "strings", "get", 2, "readonly fast", _K1, "string", "Get the value of a key"),
    _S("getdel", "strings", "getdel", 2, "write fast", _K1, "string", "Get and delete"),
    _S("getex", "strings", "getex", -2, "write fast", _K1, "string", "Get and set the TTL"),
    _S("getset", "strings", "getset", 3, "write fast", _K1, "string", "Set, return the old"),
    _S("mget", "strings", "mget", -2, "readonly fast", _ALL, "string", "Get many values"),
    _S("mset", "strings", "mset", -3, "write", (1, -1), "string", "Set many keys"),
    _S("msetnx", "strings", "msetnx", -3, "write", (1, -1), "string", "Set many if all missing"),
    _S("append", "strings", "append", 3, "write fast", _K1, "string", "Append to a value"),
    _S("strlen", "strings", "strlen", 2, "readonly fast", _K1, "string", "Length of a value"),
    _S("incr", "strings", "incr", 2, "write fast", _K1, "string", "Increment by one"),
    _S("decr", "strings", "decr", 2, "write fast", _K1, "string", "Decrement by one"),
    _S("incrby", "strings", "incrby", 3, "write fast", _K1, "string", "Increment a number"),
    _S("decrby", "strings", "decrby", 3, "write fast", _K1, "string", "Decrement a number"),
    _S("incrbyfloat", "strings", "incrbyfloat", 3, "write fast", _K1, "string", "Add a float"),
    _S("getrange", "bits", "getrange", 4, "readonly", _K1, "string", "A substring"),
    _S("substr", "bits", "getrange", 4, "readonly", _K1, "string", "A substring (old name)"),
    _S("setrange", "bits", "setrange", 4, "write", _K1, "string", "Overwrite part of a value"),
    _S("setbit", "bits", "setbit", 4, "write", _K1, "bitmap", "Set or clear one bit"),
    _S("getbit", "bits", "getbit", 3, "readonly fast", _K1, "bitmap", "One bit of a value"),
    _S("bitcount", "bits", "bitcount", -2, "readonly", _K1, "bitmap", "Count set bits"),
    _S("lcs", "bits", "lcs", -3, "readonly", (1, 2), "string", "Longest common subsequence"),
    _S("del", "keys", "delete", -2, "write", _ALL, "generic", "Delete keys"),
    _S("unlink", "keys", "delete", -2, "write fast", _ALL, "generic", "Delete keys"),
    _S("exists", "keys", "exists", -2, "readonly fast", _ALL, "generic", "Count existing keys"),
    _S("type", "keys", "type_", 2, "readonly fast", _K1, "generic", "The type of a value"),
    _S("expire", "keys", "expire", -3, "write fast", _K1, "generic", "Set a TTL in seconds"),
    _S("pexpire", "keys", "pexpire", -3, "write fast", _K1, "generic", "Set a TTL in ms"),
    _S("expireat", "keys", "expireat", -3, "write fast", _K1, "generic", "Expire at a time (s)"),
    _S("pexpireat", "keys", "pexpireat", -3, "write fast", _K1, "generic", "Expire at (ms)"),
    _S("ttl", "keys", "ttl", 2, "readonly fast", _K1, "generic", "The TTL in seconds"),
    _S("pttl", "keys", "pttl", 2, "readonly fast", _K1, "generic", "The TTL in ms"),
    _S("expiretime", "keys", "expiretime", 2, "readonly fast", _K1, "generic", "Deadline (s)"),
    _S("pexpiretime", "keys", "pexpiretime", 2, "readonly fast", _K1, "generic", "Deadline ms"),
    _S("persist", "keys", "persist", 2, "write fast", _K1, "generic", "Remove the TTL"),
    _S("keys", "keys", "keys", 2, "readonly", _NONE, "generic", "Keys matching a pattern"),
    _S("randomkey", "keys", "randomkey", 1, "readonly", _NONE, "generic", "A random key"),
    _S("rename", "keys", "rename", 3, "write", (1, 2), "generic", "Rename a key"),
    _S("renamenx", "keys", "renamenx", 3, "write fast", (1, 2), "generic", "Rename if free"),
    _S("copy", "keys", "copy", -3, "write", (1, 2), "generic", "Copy a key"),
    _S("move", "keys", "move", 3, "write fast", _K1, "generic", "Move to another database"),
    _S("dbsize", "keys", "dbsize", 1, "readonly fast", _NONE, "server", "The number of keys"),
    _S("flushdb", "keys", "flushdb", -1, "write", _NONE, "server", "Empty the database"),
    _S("flushall", "keys", "flushall", -1, "write", _NONE, "server", "Empty every database"),
    _S("swapdb", "keys", "swapdb", 3, "write fast", _NONE, "server", "Swap two databases"),
    _S("lpush", "lists", "lpush", -3, "write fast", _K1, "list", "Prepend to a list"),
    _S("rpush", "lists", "rpush", -3, "write fast", _K1, "list", "Append to a list"),
    _S("lpop", "lists", "lpop", -2, "write fast", _K1, "list", "Remove the first elements"),
    _S("rpop", "lists", "rpop", -2, "write fast", _K1, "list", "Remove the last elements"),
    _S("llen", "lists", "llen", 2, "readonly fast", _K1, "list", "The length of a list"),
    _S("lrange", "lists", "lrange", 4, "readonly", _K1, "list", "A range of a list"),
    _S("info", "admin", "info", -1, "", _NONE, "server", "Information about the server"),
    _S("command", "admin", "command", -1, "", _NONE, "server", "Details of the commands"),
    _S("config", "admin", "config_", -2, "admin", _NONE, "server", "Read and change settings"),
    _S("time", "admin", "time", 1, "fast", _NONE, "server", "The server's clock"),
    _S("function", "admin", "function", -2, "", _NONE, "scripting", "Functions (none)"),
    _S("multi", "transactions", "multi", 1, "fast", _NONE, "transactions", "Start a transaction"),
    _S("exec", "transactions", "exec_", 1, "", _NONE, "transactions", "Run the transaction"),
    _S("discard", "transactions", "discard", 1, "fast", _NONE, "transactions", "Drop it"),
    _S("watch", "transactions", "watch", -2, "fast", _ALL, "transactions", "Watch keys"),
    _S("unwatch", "transactions", "unwatch", 1, "fast", _NONE, "transactions", "Forget WATCH"),
)
"""Every command, in COMMAND's order."""


class ConnectionCommands:
    """The connection commands: PING, ECHO, QUIT, SELECT."""

    def __init__(self, commands: Commands) -> None:
        self.databases = commands.databases

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
        session.close_after_reply()
        return OK

    def select(self, session: Session, args: list[bytes]) -> bytes:
        """``SELECT index``: one of the databases, 0 to 15 by default."""
        index = parse_int(args[1])
        if index is None:
            return NOT_INTEGER
        if not 0 <= index < len(self.databases):
            return b"-ERR DB index is out of range\r\n"
        session.db = self.databases[index]
        session.db_index = index
        return OK


class Commands:
    """The dispatch table for every command of :data:`TABLE`."""

    def __init__(
        self,
        databases: Databases,
        host: Host,
        clock: Callable[[], float],
        hz: int = 10,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.databases = databases
        self.store = databases[0]
        self.host = host
        self.clock = clock
        self.wall = wall if wall is not None else databases.wall_time
        self.hz = hz
        self.errors = 0
        self.commands: dict[str, Command] = {}
        self._table: dict[bytes, tuple[CommandFn, int, Command]] = {}
        self.strings = StringCommands(self)
        self.keys = KeyCommands(self)
        self.bits = BitCommands(self)
        self.clients = ClientCommands(self)
        self.admin = Admin(self)
        self.transactions = TransactionCommands(self)
        impls: dict[str, object] = {
            "connection": ConnectionCommands(self),
            "strings": self.strings,
            "bits": self.bits,
            "keys": self.keys,
            "lists": ListCommands(self),
            "clients": self.clients,
            "admin": self.admin,
            "transactions": self.transactions,
        }
        for spec in TABLE:
            self.add(spec, getattr(impls[spec.impl], spec.method))

    def add(self, spec: Spec, fn: CommandFn) -> None:
        """Register ``fn`` as the command of ``spec``."""
        command = Command(
            spec.name,
            fn,
            spec.arity,
            flags=tuple(spec.flags.split()),
            keys=spec.keys,
            group=spec.group,
            summary=spec.summary,
        )
        self.commands[spec.name] = command
        entry = (fn, spec.arity, command)
        self._table[spec.name.encode()] = entry
        self._table[spec.name.upper().encode()] = entry

    @property
    def processed(self) -> int:
        """Commands run (arity errors and unknown commands not counted)."""
        return sum(command.calls for command in self.commands.values())

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: the counters start again from zero."""
        self.errors = 0
        for command in self.commands.values():
            command.calls = 0
        self.databases.reset_stats()

    def execute(self, session: Session, args: list[bytes]) -> bytes:
        """Run one command; always returns a reply, errors included."""
        entry = self._table.get(args[0])
        if entry is None:
            entry = self._table.get(args[0].lower())
            if entry is None:
                self.errors += 1
                return self._unknown(args)
        fn, arity, command = entry
        n = len(args)
        if n != arity and (arity > 0 or n < -arity):
            self.errors += 1
            return wrong_arity(command.name)
        command.calls += 1
        session.command = command.name
        reply = fn(session, args)
        if reply[0] == 45:  # '-'
            self.errors += 1
        return reply

    def dispatcher(self, session: Session) -> CommandFn:
        """The function that runs ``session``'s commands: :meth:`execute`, or MULTI's queue.

        The handler takes it once and again only after a reply that set
        ``session.attention``.
        """
        tx = session.tx
        if tx is not None and tx.queue is not None:
            return self.transactions.queue
        return self.execute

    def run(self, session: Session, args: list[bytes]) -> bytes:
        """Run one command as the session's connection would (inside MULTI: queue it)."""
        return self.dispatcher(session)(session, args)

    def find(self, args: list[bytes]) -> Command | bytes:
        """The command ``args`` names with a right number of words, else the error reply."""
        entry = self._table.get(args[0]) or self._table.get(args[0].lower())
        if entry is None:
            self.errors += 1
            return self._unknown(args)
        _fn, arity, command = entry
        n = len(args)
        if n != arity and (arity > 0 or n < -arity):
            self.errors += 1
            return wrong_arity(command.name)
        return command

    @staticmethod
    def _unknown(args: list[bytes]) -> bytes:
        shown = "".join(f"'{arg[:128].decode('utf-8', 'replace')}' " for arg in args[1:])
        name = args[0][:128].decode("utf-8", "replace")
        return encode_error(f"ERR unknown command '{name}', with args beginning with: {shown}")
