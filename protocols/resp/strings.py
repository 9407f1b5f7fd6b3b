"""String commands: GET, SET and its options, MGET, MSET, APPEND, STRLEN, INCR ...

A string is ``bytes`` in the keyspace; a number is a string that
:func:`~protocols.resp.parser.parse_int` reads, as in Redis, so INCR keeps
the key's TTL and type.  A missing key answers the session's null: ``$-1`` in
RESP2, ``_`` in RESP3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.resp.parser import (
    INT_MAX,
    INT_MIN,
    OK,
    encode_bulk,
    encode_integer,
    parse_int,
)
from protocols.resp.replies import NOT_INTEGER, OVERFLOW, SYNTAX, WRONGTYPE, wrong_arity

if TYPE_CHECKING:
    from protocols.resp.commands import Commands, Session
    from protocols.resp.store import Keyspace

__all__ = ["StringCommands"]

# name, method, arity, flags, (first key, last key), summary
_STRINGS: tuple[tuple[str, str, int, str, tuple[int, int], str], ...] = (
    ("set", "set_", -3, "write", (1, 1), "Set the string value of a key"),
    ("get", "get", 2, "readonly fast", (1, 1), "Get the value of a key"),
    ("getdel", "getdel", 2, "write fast", (1, 1), "Get the value and delete the key"),
    ("mget", "mget", -2, "readonly fast", (1, -1), "Get the values of keys"),
    ("mset", "mset", -3, "write", (1, -1), "Set many keys to many values"),
    ("append", "append", 3, "write fast", (1, 1), "Append a value to a key"),
    ("strlen", "strlen", 2, "readonly fast", (1, 1), "The length of a value"),
    ("incr", "incr", 2, "write fast", (1, 1), "Increment a number by one"),
    ("decr", "decr", 2, "write fast", (1, 1), "Decrement a number by one"),
    ("incrby", "incrby", 3, "write fast", (1, 1), "Increment a number"),
    ("decrby", "decrby", 3, "write fast", (1, 1), "Decrement a number"),
)


class StringCommands:
    """The string commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.store: Keyspace = commands.store
        for name, method, arity, flags, keys, summary in _STRINGS:
            commands.add(
                name, getattr(self, method), arity, flags, keys, group="string", summary=summary
            )

    def get(self, session: Session, args: list[bytes]) -> bytes:
        """``GET key``: the string, or null."""
        value = self.store.lookup(args[1])
        if value is None:
            return session.resp.null
        if type(value) is not bytes:
            return WRONGTYPE
        return b"$%d\r\n%b\r\n" % (len(value), value)

    def getdel(self, session: Session, args: list[bytes]) -> bytes:
        """``GETDEL key``: the string, deleting the key; or null."""
        value = self.store.lookup(args[1])
        if value is None:
            return session.resp.null
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
        """``SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL]``."""
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
            reply = session.resp.null  # not set: GET still answers the old value
        else:
            if "K" in flags:
                store.replace(key, args[2])
            else:
                store.set(key, args[2], expire_at)
            reply = OK
        if get and old is not None:
            return encode_bulk(old)  # type: ignore[arg-type]
        return session.resp.null if get else reply

    def mget(self, session: Session, args: list[bytes]) -> bytes:
        """``MGET key ...``: one string or null per key (null for other types too)."""
        lookup = self.store.lookup
        null = session.resp.null
        parts = [b"*%d\r\n" % (len(args) - 1)]
        for key in args[1:]:
            value = lookup(key)
            if value is None or type(value) is not bytes:
                parts.append(null)
            else:
                parts.append(b"$%d\r\n%b\r\n" % (len(value), value))
        return b"".join(parts)

    def mset(self, session: Session, args: list[bytes]) -> bytes:
        """``MSET key value ...``: set every pair."""
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
        """``APPEND key value``: the new length."""
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
        """``STRLEN key``: the length, 0 when missing."""
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
        """``INCR key``: add 1 to the number at key (0 when missing)."""
        return self._add(args[1], 1)

    def decr(self, session: Session, args: list[bytes]) -> bytes:
        """``DECR key``: subtract 1."""
        return self._add(args[1], -1)

    def incrby(self, session: Session, args: list[bytes]) -> bytes:
        """``INCRBY key n``: add n."""
        delta = parse_int(args[2])
        if delta is None:
            return NOT_INTEGER
        return self._add(args[1], delta)

    def decrby(self, session: Session, args: list[bytes]) -> bytes:
        """``DECRBY key n``: subtract n."""
        delta = parse_int(args[2])
        if delta is None:
            return NOT_INTEGER
        if delta == INT_MIN:
            return b"-ERR decrement would overflow\r\n"
        return self._add(args[1], -delta)
