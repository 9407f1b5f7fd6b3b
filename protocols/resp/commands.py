"""The command table: one function per command, replies as RESP2 bytes.

:class:`Commands` maps each command name (upper and lower case, so the
common spellings hit the dict directly) to a bound method and its arity in
Redis's convention: ``n`` exactly n words, ``-n`` at least n.  The arity is
checked once, in :meth:`Commands.execute`; each method then gets the whole
argument list and returns the encoded reply.  Replies that never change are
encoded once at import time.

Commands about connections (CLIENT, INFO's client figures) go through a
:class:`Host`, which the server implements over the reactor's connection
table, so this module has no I/O of its own and is tested without sockets.
Server-level commands (INFO, CLIENT, COMMAND, HELLO, CONFIG) live in
:mod:`protocols.resp.admin`, the list commands in :mod:`protocols.resp.lists`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from protocols.resp.glob import compile_pattern, match
from protocols.resp.parser import (
    NIL,
    OK,
    PONG,
    encode_array,
    encode_bulk,
    encode_error,
    encode_integer,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from protocols.resp.store import Keyspace

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "NOT_INTEGER",
    "SYNTAX",
    "WRONGTYPE",
    "Command",
    "Commands",
    "Host",
    "Session",
    "parse_int",
]

INT_MAX = (1 << 63) - 1
INT_MIN = -(1 << 63)

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"
OVERFLOW = b"-ERR increment or decrement would overflow\r\n"
SYNTAX = b"-ERR syntax error\r\n"
ZERO = b":0\r\n"
ONE = b":1\r\n"
MINUS_ONE = b":-1\r\n"
MINUS_TWO = b":-2\r\n"
NIL_ARRAY = b"*-1\r\n"


def parse_int(raw: bytes) -> int | None:
    """A signed 64-bit integer written exactly as Redis's string2ll accepts it.

    No spaces, no ``+``, no leading zeros, no ``-0``; ``None`` otherwise.
    """
    if raw.isdigit():
        if (raw[0] == 48 and len(raw) > 1) or len(raw) > 19:
            return None
        value = int(raw)
    elif raw[:1] == b"-" and raw[1:].isdigit() and raw[1] != 48 and len(raw) <= 20:
        value = int(raw)
    else:
        return None
    if INT_MIN <= value <= INT_MAX:
        return value
    return None


def wrong_arity(name: str) -> bytes:
    """Redis's reply to a command called with the wrong number of words."""
    return encode_error(f"ERR wrong number of arguments for '{name}' command")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Session:
    """What the commands keep per connection."""

    __slots__ = ("command", "id", "lib_name", "lib_ver", "name", "quit")

    def __init__(self, ident: int) -> None:
        self.id = ident
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.command = "NULL"  # the last command run, as CLIENT LIST shows it
        self.quit = False  # close after the reply (QUIT, CLIENT KILL of itself)


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
        fn: Callable[[Session, list[bytes]], bytes],
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


# name, method, arity, flags, (first key, last key), group, summary
_KEYSPACE: tuple[tuple[str, str, int, str, tuple[int, int], str, str], ...] = (
    ("ping", "ping", -1, "fast", (0, 0), "connection", "Ping the server"),
    ("echo", "echo", 2, "fast", (0, 0), "connection", "Echo the given string"),
    ("quit", "quit", -1, "fast", (0, 0), "connection", "Close the connection"),
    ("select", "select", 2, "fast", (0, 0), "connection", "Change the selected database"),
    ("set", "set_", -3, "write", (1, 1), "string", "Set the string value of a key"),
    ("get", "get", 2, "readonly fast", (1, 1), "string", "Get the value of a key"),
    ("getdel", "getdel", 2, "write fast", (1, 1), "string", "Get the value and delete the key"),
    ("mget", "mget", -2, "readonly fast", (1, -1), "string", "Get the values of keys"),
    ("mset", "mset", -3, "write", (1, -1), "string", "Set many keys to many values"),
    ("append", "append", 3, "write fast", (1, 1), "string", "Append a value to a key"),
    ("strlen", "strlen", 2, "readonly fast", (1, 1), "string", "The length of a value"),
    ("incr", "incr", 2, "write fast", (1, 1), "string", "Increment a number by one"),
    ("decr", "decr", 2, "write fast", (1, 1), "string", "Decrement a number by one"),
    ("incrby", "incrby", 3, "write fast", (1, 1), "string", "Increment a number"),
    ("decrby", "decrby", 3, "write fast", (1, 1), "string", "Decrement a number"),
    ("del", "delete", -2, "write", (1, -1), "generic", "Delete keys"),
    ("exists", "exists", -2, "readonly fast", (1, -1), "generic", "Count existing keys"),
    ("type", "type_", 2, "readonly fast", (1, 1), "generic", "The type of a key's value"),
    ("expire", "expire", -3, "write fast", (1, 1), "generic", "Set a TTL in seconds"),
    ("pexpire", "pexpire", -3, "write fast", (1, 1), "generic", "Set a TTL in milliseconds"),
    ("ttl", "ttl", 2, "readonly fast", (1, 1), "generic", "The TTL in seconds"),
    ("pttl", "pttl", 2, "readonly fast", (1, 1), "generic", "The TTL in milliseconds"),
    ("persist", "persist", 2, "write fast", (1, 1), "generic", "Remove the TTL of a key"),
    ("keys", "keys", 2, "readonly", (0, 0), "generic", "Keys matching a glob pattern"),
    ("dbsize", "dbsize", 1, "readonly fast", (0, 0), "server", "The number of keys"),
    ("flushdb", "flushdb", -1, "write", (0, 0), "server", "Remove every key"),
    ("flushall", "flushdb", -1, "write", (0, 0), "server", "Remove every key"),
)


class Commands:
    """The keyspace commands, and the dispatch table for every command."""

    def __init__(self, store: Keyspace, host: Host) -> None:
        self.store = store
        self.host = host
        self.processed = 0
        self.errors = 0
        self.commands: dict[str, Command] = {}
        self._table: dict[bytes, tuple[Callable[[Session, list[bytes]], bytes], int, str]] = {}
        self._register_keyspace()

    def add(
        self,
        name: str,
        fn: Callable[[Session, list[bytes]], bytes],
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

    # -- registration ----------------------------------------------------------

    def _register_keyspace(self) -> None:
        for name, method, arity, flags, keys, group, summary in _KEYSPACE:
            self.add(name, getattr(self, method), arity, flags, keys, group=group, summary=summary)

    # -- connection ------------------------------------------------------------

    def ping(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) == 1:
            return PONG
        if len(args) == 2:
            return encode_bulk(args[1])
        return wrong_arity("ping")

    def echo(self, session: Session, args: list[bytes]) -> bytes:
        return encode_bulk(args[1])

    def quit(self, session: Session, args: list[bytes]) -> bytes:
        session.quit = True
        return OK

    def select(self, session: Session, args: list[bytes]) -> bytes:
        index = parse_int(args[1])
        if index is None:
            return NOT_INTEGER
        if index != 0:
            return b"-ERR DB index is out of range\r\n"
        return OK

    # -- strings ---------------------------------------------------------------

    def get(self, session: Session, args: list[bytes]) -> bytes:
        value = self.store.lookup(args[1])
        if value is None:
            return NIL
        if type(value) is not bytes:
            return WRONGTYPE
        return b"$%d\r\n%b\r\n" % (len(value), value)

    def getdel(self, session: Session, args: list[bytes]) -> bytes:
        value = self.store.lookup(args[1])
        if value is None:
            return NIL
        if type(value) is not bytes:
            return WRONGTYPE
        self.store.delete(args[1])
        return encode_bulk(value)

    def _set_options(self, args: list[bytes]) -> tuple[str, int | None] | bytes:
        """SET's options as (flags, deadline in ms), or the error reply."""
        flags = ""  # letters: N for NX, X for XX, G for GET, K for KEEPTTL
        unit = 0  # 1000 for EX, 1 for PX
        raw_ttl = b""
        i = 3
        n = len(args)
        while i < n:
            opt = args[i].upper()
            if opt == b"NX" and "X" not in flags:
                flags += "N"
            elif opt == b"XX" and "N" not in flags:
                flags += "X"
            elif opt == b"GET":
                flags += "G"
            elif opt == b"KEEPTTL" and not unit:
                flags += "K"
            elif opt in (b"EX", b"PX") and not unit and "K" not in flags and i + 1 < n:
                unit = 1000 if opt == b"EX" else 1
                i += 1
                raw_ttl = args[i]
            else:
                return SYNTAX
            i += 1
        if not unit:
            return flags, None
        ttl = parse_int(raw_ttl)
        if ttl is None:
            return NOT_INTEGER
        now = self.store.now_ms()
        if ttl <= 0 or ttl * unit > INT_MAX - now:
            return b"-ERR invalid expire time in 'set' command\r\n"
        return flags, now + ttl * unit

    def set_(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) == 3:  # the common case: no options
            self.store.set(args[1], args[2])
            return OK
        options = self._set_options(args)
        if isinstance(options, bytes):
            return options
        flags, expire_at = options
        store = self.store
        key = args[1]
        old = store.get(key)
        get = "G" in flags
        if get and old is not None and type(old) is not bytes:
            return WRONGTYPE
        if ("N" in flags and old is not None) or ("X" in flags and old is None):
            return encode_bulk(old) if get else NIL  # type: ignore[arg-type]
        if "K" in flags:
            store.replace(key, args[2])
        else:
            store.set(key, args[2], expire_at)
        return encode_bulk(old) if get else OK  # type: ignore[arg-type]

    def mget(self, session: Session, args: list[bytes]) -> bytes:
        lookup = self.store.lookup
        parts = [b"*%d\r\n" % (len(args) - 1)]
        for key in args[1:]:
            value = lookup(key)
            if value is None or type(value) is not bytes:
                parts.append(NIL)
            else:
                parts.append(b"$%d\r\n%b\r\n" % (len(value), value))
        return b"".join(parts)

    def mset(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) % 2 == 0:
            return wrong_arity("mset")
        set_ = self.store.set
        for i in range(1, len(args), 2):
            set_(args[i], args[i + 1])
        return OK

    def _string(self, key: bytes) -> bytes | None:
        """The string at ``key``; raises TypeError for another type."""
        value = self.store.get(key)
        if value is not None and type(value) is not bytes:
            raise TypeError(key)
        return value

    def append(self, session: Session, args: list[bytes]) -> bytes:
        try:
            old = self._string(args[1])
        except TypeError:
            return WRONGTYPE
        if old is None:
            value = args[2]
            self.store.set(args[1], value)
        else:
            value = old + args[2]
            self.store.replace(args[1], value)
        return encode_integer(len(value))

    def strlen(self, session: Session, args: list[bytes]) -> bytes:
        try:
            value = self._string(args[1])
        except TypeError:
            return WRONGTYPE
        return encode_integer(0 if value is None else len(value))

    def _add(self, key: bytes, delta: int) -> bytes:
        try:
            old = self._string(key)
        except TypeError:
            return WRONGTYPE
        if old is None:
            current = 0
        else:
            parsed = parse_int(old)
            if parsed is None:
                return NOT_INTEGER
            current = parsed
        value = current + delta
        if not INT_MIN <= value <= INT_MAX:
            return OVERFLOW
        raw = b"%d" % value
        if old is None:
            self.store.set(key, raw)
        else:
            self.store.replace(key, raw)
        return b":%b\r\n" % raw

    def incr(self, session: Session, args: list[bytes]) -> bytes:
        return self._add(args[1], 1)

    def decr(self, session: Session, args: list[bytes]) -> bytes:
        return self._add(args[1], -1)

    def incrby(self, session: Session, args: list[bytes]) -> bytes:
        delta = parse_int(args[2])
        if delta is None:
            return NOT_INTEGER
        return self._add(args[1], delta)

    def decrby(self, session: Session, args: list[bytes]) -> bytes:
        delta = parse_int(args[2])
        if delta is None:
            return NOT_INTEGER
        if delta == INT_MIN:
            return b"-ERR decrement would overflow\r\n"
        return self._add(args[1], -delta)

    # -- keyspace --------------------------------------------------------------

    def delete(self, session: Session, args: list[bytes]) -> bytes:
        delete = self.store.delete
        return encode_integer(sum(1 for key in args[1:] if delete(key)))

    def exists(self, session: Session, args: list[bytes]) -> bytes:
        exists = self.store.exists
        return encode_integer(sum(1 for key in args[1:] if exists(key)))

    def type_(self, session: Session, args: list[bytes]) -> bytes:
        value = self.store.get(args[1])
        if value is None:
            return b"+none\r\n"
        return b"+string\r\n" if type(value) is bytes else b"+list\r\n"

    def expire(self, session: Session, args: list[bytes]) -> bytes:
        return self._expire(args, 1000, "expire")

    def pexpire(self, session: Session, args: list[bytes]) -> bytes:
        return self._expire(args, 1, "pexpire")

    @staticmethod
    def _expire_flags(args: list[bytes]) -> set[bytes] | bytes:
        flags = set()
        for raw in args[3:]:
            flag = raw.upper()
            if flag not in (b"NX", b"XX", b"GT", b"LT"):
                return encode_error(f"ERR Unsupported option {_text(raw)}")
            flags.add(flag)
        if b"NX" in flags and len(flags) > 1:
            return b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
        if b"GT" in flags and b"LT" in flags:
            return b"-ERR GT and LT options at the same time are not compatible\r\n"
        return flags

    def _expire(self, args: list[bytes], unit: int, name: str) -> bytes:
        flags = self._expire_flags(args)
        if isinstance(flags, bytes):
            return flags
        ttl = parse_int(args[2])
        if ttl is None:
            return NOT_INTEGER
        store = self.store
        when = store.now_ms() + ttl * unit
        if (unit == 1000 and not INT_MIN // 1000 <= ttl <= INT_MAX // 1000) or when > INT_MAX:
            return encode_error(f"ERR invalid expire time in '{name}' command")
        key = args[1]
        try:
            current = store.deadline(key)
        except KeyError:
            return ZERO
        if (
            (b"NX" in flags and current is not None)
            or (b"XX" in flags and current is None)
            or (b"GT" in flags and (current is None or when <= current))
            or (b"LT" in flags and current is not None and when >= current)
        ):
            return ZERO
        store.expire_at(key, when)
        return ONE

    def _remaining(self, key: bytes) -> int | None:
        """Milliseconds left for ``key``: -2 missing, -1 without TTL."""
        try:
            when = self.store.deadline(key)
        except KeyError:
            return -2
        if when is None:
            return -1
        return max(0, when - self.store.now_ms())

    def ttl(self, session: Session, args: list[bytes]) -> bytes:
        ms = self._remaining(args[1])
        assert ms is not None
        return encode_integer(ms if ms < 0 else (ms + 500) // 1000)

    def pttl(self, session: Session, args: list[bytes]) -> bytes:
        ms = self._remaining(args[1])
        assert ms is not None
        return encode_integer(ms)

    def persist(self, session: Session, args: list[bytes]) -> bytes:
        return ONE if self.store.persist(args[1]) else ZERO

    def keys(self, session: Session, args: list[bytes]) -> bytes:
        pattern = args[1]
        if pattern == b"*":
            return encode_array(list(self.store.live_keys()))
        tokens = compile_pattern(pattern)
        return encode_array([key for key in self.store.live_keys() if match(tokens, key)])

    def dbsize(self, session: Session, args: list[bytes]) -> bytes:
        return encode_integer(len(self.store))

    def flushdb(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) > 2 or (len(args) == 2 and args[1].upper() not in (b"ASYNC", b"SYNC")):
            return SYNTAX
        self.store.flush()
        return OK
