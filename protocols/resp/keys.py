"""Key and TTL commands: DEL, EXISTS, TYPE, EXPIRE(AT), TTL, RENAME, COPY, KEYS, FLUSHALL ...

These act on keys whatever their type.  Deadlines are integer Unix
milliseconds of the keyspace's clock (see :mod:`protocols.resp.store`); TTL
and EXPIRETIME round to the nearest second as Redis does.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from protocols.resp.glob import compile_pattern, match
from protocols.resp.parser import (
    INT_MAX,
    INT_MIN,
    OK,
    encode_array,
    encode_bulk,
    encode_error,
    encode_integer,
    parse_int,
)
from protocols.resp.replies import NOT_INTEGER, ONE, SYNTAX, ZERO

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.session import Session
    from protocols.resp.store import Keyspace, Value

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

__all__ = ["KeyCommands"]

# LLONG_MIN / 1000 as C divides (towards zero): the lowest EXPIRE in seconds.
_MIN_SECONDS = -(-INT_MIN // 1000)
_MAX_SECONDS = INT_MAX // 1000
NO_SUCH_KEY = b"-ERR no such key\r\n"
SAME_OBJECT = b"-ERR source and destination objects are the same\r\n"
OUT_OF_RANGE = b"-ERR DB index is out of range\r\n"


def _copy(value: Value) -> Value:
    return value if isinstance(value, bytes) else deque(value)


class KeyCommands:
    """The key and TTL commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.databases = commands.databases

    def delete(self, session: Session, args: list[bytes]) -> bytes:
        """``DEL key ...``: how many existed."""
        delete = session.db.delete
        return encode_integer(sum(1 for key in args[1:] if delete(key)))

    def exists(self, session: Session, args: list[bytes]) -> bytes:
        """``EXISTS key ...``: how many exist (a key named twice counts twice)."""
        lookup = session.db.lookup
        return encode_integer(sum(1 for key in args[1:] if lookup(key) is not None))

    def type_(self, session: Session, args: list[bytes]) -> bytes:
        """``TYPE key``: ``string``, ``list`` or ``none``."""
        value = session.db.lookup(args[1])
        if value is None:
            return b"+none\r\n"
        return b"+string\r\n" if type(value) is bytes else b"+list\r\n"

    def expire(self, session: Session, args: list[bytes]) -> bytes:
        """``EXPIRE key seconds [NX|XX|GT|LT]``: 1 when the TTL was set."""
        return self._expire(session.db, args, 1000, False, "expire")

    def pexpire(self, session: Session, args: list[bytes]) -> bytes:
        """``PEXPIRE key ms [NX|XX|GT|LT]``: 1 when the TTL was set."""
        return self._expire(session.db, args, 1, False, "pexpire")

    def expireat(self, session: Session, args: list[bytes]) -> bytes:
        """``EXPIREAT key unix-seconds [NX|XX|GT|LT]``: 1 when the deadline was set."""
        return self._expire(session.db, args, 1000, True, "expireat")

    def pexpireat(self, session: Session, args: list[bytes]) -> bytes:
        """``PEXPIREAT key unix-ms [NX|XX|GT|LT]``: 1 when the deadline was set."""
        return self._expire(session.db, args, 1, True, "pexpireat")

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

    def _expire(
        self, db: Keyspace, args: list[bytes], unit: int, absolute: bool, name: str
    ) -> bytes:
        flags = self._expire_flags(args)
        if isinstance(flags, bytes):
            return flags
        when = parse_int(args[2])
        if when is None:
            return NOT_INTEGER
        # Redis's overflow checks: the unit conversion, then adding the base
        # time, which is Unix milliseconds (not the monotonic clock's).
        base = 0 if absolute else db.now_ms()
        if (unit == 1000 and not _MIN_SECONDS <= when <= _MAX_SECONDS) or (
            when * unit > INT_MAX - base
        ):
            return encode_error(f"ERR invalid expire time in '{name}' command")
        when = when * unit + base
        key = args[1]
        try:
            current = db.deadline(key)
        except KeyError:
            return ZERO
        if (
            (b"NX" in flags and current is not None)
            or (b"XX" in flags and current is None)
            or (b"GT" in flags and (current is None or when <= current))
            or (b"LT" in flags and current is not None and when >= current)
        ):
            return ZERO
        db.expire_at(key, when)
        return ONE

    @staticmethod
    def _ttl(db: Keyspace, key: bytes, absolute: bool, ms: bool) -> bytes:
        """TTL and friends: -2 missing, -1 without TTL, else the time left or the deadline."""
        value = db.lookup(key)  # counted as a read, as Redis counts it
        if value is None:
            return b":-2\r\n"
        when = db.deadline(key)
        if when is None:
            return b":-1\r\n"
        left = when if absolute else max(0, when - db.now_ms())
        return encode_integer(left if ms else (left + 500) // 1000)

    def ttl(self, session: Session, args: list[bytes]) -> bytes:
        """``TTL key``: seconds left (rounded), -1 without TTL, -2 when missing."""
        return self._ttl(session.db, args[1], absolute=False, ms=False)

    def pttl(self, session: Session, args: list[bytes]) -> bytes:
        """``PTTL key``: milliseconds left, -1 without TTL, -2 when missing."""
        return self._ttl(session.db, args[1], absolute=False, ms=True)

    def expiretime(self, session: Session, args: list[bytes]) -> bytes:
        """``EXPIRETIME key``: the deadline in Unix seconds, -1 without TTL, -2 when missing."""
        return self._ttl(session.db, args[1], absolute=True, ms=False)

    def pexpiretime(self, session: Session, args: list[bytes]) -> bytes:
        """``PEXPIRETIME key``: the deadline in Unix milliseconds, -1 or -2 as EXPIRETIME."""
        return self._ttl(session.db, args[1], absolute=True, ms=True)

    def persist(self, session: Session, args: list[bytes]) -> bytes:
        """``PERSIST key``: 1 when a TTL was removed."""
        return ONE if session.db.persist(args[1]) else ZERO

    def keys(self, session: Session, args: list[bytes]) -> bytes:
        """``KEYS pattern``: the live keys matching a glob pattern, as an array."""
        pattern = args[1]
        if pattern == b"*":
            return encode_array(list(session.db.live_keys()))
        tokens = compile_pattern(pattern)
        return encode_array([key for key in session.db.live_keys() if match(tokens, key)])

    def dbsize(self, session: Session, args: list[bytes]) -> bytes:
        """``DBSIZE``: the number of keys."""
        return encode_integer(len(session.db))

    @staticmethod
    def _flush_mode(args: list[bytes]) -> bool:
        return len(args) == 1 or (len(args) == 2 and args[1].upper() in (b"ASYNC", b"SYNC"))

    def flushdb(self, session: Session, args: list[bytes]) -> bytes:
        """``FLUSHDB [ASYNC|SYNC]``: remove every key of the selected database."""
        if not self._flush_mode(args):
            return SYNTAX
        session.db.flush()
        return OK

    def flushall(self, session: Session, args: list[bytes]) -> bytes:
        """``FLUSHALL [ASYNC|SYNC]``: remove every key of every database."""
        if not self._flush_mode(args):
            return SYNTAX
        self.databases.flush()
        return OK

    def randomkey(self, session: Session, args: list[bytes]) -> bytes:
        """``RANDOMKEY``: a live key, or null when the database is empty."""
        key = session.db.random_key()
        return session.resp.null if key is None else encode_bulk(key)

    def _rename(self, session: Session, args: list[bytes], nx: bool) -> bytes:
        db = session.db
        src, dst = args[1], args[2]
        value = db.get(src)
        if value is None:
            return NO_SUCH_KEY
        if src == dst:
            return ZERO if nx else OK
        if nx and db.get(dst) is not None:
            return ZERO
        when = db.deadline(src)
        db.delete(src)
        db.set(dst, value, when)
        return ONE if nx else OK

    def rename(self, session: Session, args: list[bytes]) -> bytes:
        """``RENAME key newkey``: the value and its TTL move; newkey is overwritten."""
        return self._rename(session, args, nx=False)

    def renamenx(self, session: Session, args: list[bytes]) -> bytes:
        """``RENAMENX key newkey``: 1 when renamed, 0 when newkey exists."""
        return self._rename(session, args, nx=True)

    def _db_index(self, raw: bytes) -> int | bytes:
        index = parse_int(raw)
        if index is None or not INT32_MIN <= index <= INT32_MAX:
            return NOT_INTEGER
        if not 0 <= index < len(self.databases):
            return OUT_OF_RANGE
        return index

    def copy(self, session: Session, args: list[bytes]) -> bytes:
        """``COPY source destination [DB index] [REPLACE]``: 1 when copied."""
        target = session.db
        replace = False
        i = 3
        while i < len(args):
            opt = args[i].upper()
            if opt == b"REPLACE":
                replace = True
            elif opt == b"DB" and i + 1 < len(args):
                index = self._db_index(args[i + 1])
                if isinstance(index, bytes):
                    return index
                target = self.databases[index]
                i += 1
            else:
                return SYNTAX
            i += 1
        src, dst = args[1], args[2]
        db = session.db
        if target is db and src == dst:
            return SAME_OBJECT
        value = db.get(src)
        if value is None:
            return ZERO
        if target.get(dst) is not None:
            if not replace:
                return ZERO
            target.delete(dst)
        target.set(dst, _copy(value), db.deadline(src))
        return ONE

    def move(self, session: Session, args: list[bytes]) -> bytes:
        """``MOVE key db``: 1 when moved, 0 when missing here or present there."""
        index = self._db_index(args[2])
        if isinstance(index, bytes):
            return index
        db = session.db
        target = self.databases[index]
        if target is db:
            return SAME_OBJECT
        value = db.get(args[1])
        if value is None or target.get(args[1]) is not None:
            return ZERO
        when = db.deadline(args[1])
        db.delete(args[1])
        target.set(args[1], value, when)
        return ONE

    def swapdb(self, session: Session, args: list[bytes]) -> bytes:
        """``SWAPDB index1 index2``: exchange two databases' contents."""
        first = parse_int(args[1])
        if first is None:
            return b"-ERR invalid first DB index\r\n"
        second = parse_int(args[2])
        if second is None:
            return b"-ERR invalid second DB index\r\n"
        n = len(self.databases)
        if not (0 <= first < n and 0 <= second < n):
            return OUT_OF_RANGE
        self.databases.swap(first, second)
        return OK
