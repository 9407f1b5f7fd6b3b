"""Key and TTL commands: DEL, EXISTS, TYPE, EXPIRE, TTL, PERSIST, KEYS, DBSIZE, FLUSHDB.

These act on keys whatever their type.  Deadlines are integer milliseconds
of the keyspace's clock; TTL rounds to the nearest second as Redis does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.resp.glob import compile_pattern, match
from protocols.resp.parser import (
    INT_MAX,
    INT_MIN,
    OK,
    encode_array,
    encode_error,
    encode_integer,
    parse_int,
)
from protocols.resp.replies import NOT_INTEGER, ONE, SYNTAX, ZERO

if TYPE_CHECKING:
    from protocols.resp.commands import Commands, Session
    from protocols.resp.store import Keyspace

__all__ = ["KeyCommands"]

# name, method, arity, flags, (first key, last key), group, summary
_KEYS: tuple[tuple[str, str, int, str, tuple[int, int], str, str], ...] = (
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


class KeyCommands:
    """The key and TTL commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.store: Keyspace = commands.store
        for name, method, arity, flags, keys, group, summary in _KEYS:
            commands.add(
                name, getattr(self, method), arity, flags, keys, group=group, summary=summary
            )

    def delete(self, session: Session, args: list[bytes]) -> bytes:
        """``DEL key ...``: how many existed."""
        delete = self.store.delete
        return encode_integer(sum(1 for key in args[1:] if delete(key)))

    def exists(self, session: Session, args: list[bytes]) -> bytes:
        """``EXISTS key ...``: how many exist (a key named twice counts twice)."""
        exists = self.store.exists
        return encode_integer(sum(1 for key in args[1:] if exists(key)))

    def type_(self, session: Session, args: list[bytes]) -> bytes:
        """``TYPE key``: ``string``, ``list`` or ``none``."""
        value = self.store.get(args[1])
        if value is None:
            return b"+none\r\n"
        return b"+string\r\n" if type(value) is bytes else b"+list\r\n"

    def expire(self, session: Session, args: list[bytes]) -> bytes:
        """``EXPIRE key seconds [NX|XX|GT|LT]``: 1 when the TTL was set."""
        return self._expire(args, 1000, "expire")

    def pexpire(self, session: Session, args: list[bytes]) -> bytes:
        """``PEXPIRE key ms [NX|XX|GT|LT]``: 1 when the TTL was set."""
        return self._expire(args, 1, "pexpire")

    @staticmethod
    def _expire_flags(args: list[bytes]) -> set[bytes] | bytes:
        flags = set()
        for raw in args[3:]:
            flag = raw.upper()
            if flag not in (b"NX", b"XX", b"GT", b"LT"):
                return encode_error(f"ERR Unsupported option {raw.decode('utf-8', 'replace')}")
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
        """``TTL key``: seconds left (rounded), -1 without TTL, -2 when missing."""
        ms = self._remaining(args[1])
        assert ms is not None
        return encode_integer(ms if ms < 0 else (ms + 500) // 1000)

    def pttl(self, session: Session, args: list[bytes]) -> bytes:
        """``PTTL key``: milliseconds left, -1 without TTL, -2 when missing."""
        ms = self._remaining(args[1])
        assert ms is not None
        return encode_integer(ms)

    def persist(self, session: Session, args: list[bytes]) -> bytes:
        """``PERSIST key``: 1 when a TTL was removed."""
        return ONE if self.store.persist(args[1]) else ZERO

    def keys(self, session: Session, args: list[bytes]) -> bytes:
        """``KEYS pattern``: the live keys matching a glob pattern, as an array."""
        pattern = args[1]
        if pattern == b"*":
            return encode_array(list(self.store.live_keys()))
        tokens = compile_pattern(pattern)
        return encode_array([key for key in self.store.live_keys() if match(tokens, key)])

    def dbsize(self, session: Session, args: list[bytes]) -> bytes:
        """``DBSIZE``: the number of keys."""
        return encode_integer(len(self.store))

    def flushdb(self, session: Session, args: list[bytes]) -> bytes:
        """``FLUSHDB [ASYNC|SYNC]`` (and FLUSHALL): remove every key."""
        if len(args) > 2 or (len(args) == 2 and args[1].upper() not in (b"ASYNC", b"SYNC")):
            return SYNTAX
        self.store.flush()
        return OK
