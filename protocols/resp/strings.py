"""String commands: GET, SET and its options, GETEX, MGET, MSET(NX), APPEND, INCR(BYFLOAT) ...

A string is ``bytes`` in the keyspace; a number is a string that
:func:`~protocols.resp.parser.parse_int` reads, as in Redis, so INCR keeps
the key's TTL and type.  A missing key answers the session's null: ``$-1`` in
RESP2, ``_`` in RESP3.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

from protocols.resp.parser import (
    INT_MAX,
    INT_MIN,
    OK,
    encode_bulk,
    encode_error,
    encode_integer,
    parse_int,
)
from protocols.resp.replies import (
    NOT_INTEGER,
    ONE,
    OVERFLOW,
    SYNTAX,
    WRONGTYPE,
    ZERO,
    wrong_arity,
)

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.session import Session
    from protocols.resp.store import Keyspace

INVALID_EXPIRE = "ERR invalid expire time in '%s' command"

__all__ = ["NOT_FLOAT", "StringCommands", "format_float", "parse_float"]

_FLOAT_CHARS = frozenset(b"0123456789+-.eEinfINFtyTY")
_MAX_FLOAT_LEN = 5 * 1024  # Redis's MAX_LONG_DOUBLE_CHARS
NOT_FLOAT = b"-ERR value is not a valid float\r\n"
"""INCRBYFLOAT on a value or an increment that is not a number."""


def parse_float(raw: bytes) -> float | None:
    """A number as Redis's string2ld reads it: no spaces, no NaN; ``None`` otherwise."""
    if not raw or len(raw) > _MAX_FLOAT_LEN or not _FLOAT_CHARS.issuperset(raw):
        return None  # also refuses what float() alone would take: spaces, "1_0"
    try:
        value = float(raw)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def format_float(value: float) -> bytes:
    """Redis's human form of a float: fixed notation, no trailing zeros, never ``-0``."""
    if value == 0:
        return b"0"
    if value.is_integer() and abs(value) < 1e17:
        return b"%d" % value
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.encode()


# SET and GETEX option letters: which options exclude which (Redis's
# parseExtendedStringArgumentsOrReply): a repeated option is accepted.
_EXPIRY = {b"EX": (1000, False), b"PX": (1, False), b"EXAT": (1000, True), b"PXAT": (1, True)}


class StringCommands:
    """The string commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    def get(self, session: Session, args: list[bytes]) -> bytes:
        """``GET key``: the string, or null."""
        value = session.db.lookup(args[1])
        if value is None:
            return session.resp.null
        if type(value) is not bytes:
            return WRONGTYPE
        return b"$%d\r\n%b\r\n" % (len(value), value)

    def getdel(self, session: Session, args: list[bytes]) -> bytes:
        """``GETDEL key``: the string, deleting the key; or null."""
        value = session.db.lookup(args[1])
        if value is None:
            return session.resp.null
        if type(value) is not bytes:
            return WRONGTYPE
        session.db.delete(args[1])
        return encode_bulk(value)

    @staticmethod
    def _options(
        db: Keyspace, args: list[bytes], start: int, name: str, getex: bool = False
    ) -> tuple[str, int | None] | bytes:
        """SET's (or GETEX's) options as (flags, deadline in Unix ms), or the error reply.

        Flags are letters: N for NX, X for XX, G for GET, K for KEEPTTL, P for
        PERSIST, T for any expiry option.  An option may be repeated (the last
        value wins) but not combined with one it excludes.
        """
        flags = ""
        unit = 0
        absolute = False
        raw_ttl = b""
        i = start
        n = len(args)
        while i < n:
            opt = args[i].upper()
            if opt == b"NX" and "X" not in flags and not getex:
                flags += "N"
            elif opt == b"XX" and "N" not in flags and not getex:
                flags += "X"
            elif opt == b"GET" and not getex:
                flags += "G"
            elif opt == b"KEEPTTL" and not unit and not getex:
                flags += "K"
            elif opt == b"PERSIST" and not unit and getex:
                flags += "P"
            elif (
                opt in _EXPIRY
                and (not unit or _EXPIRY[opt] == (unit, absolute))
                and "K" not in flags
                and "P" not in flags
                and i + 1 < n
            ):
                unit, absolute = _EXPIRY[opt]
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
        if ttl <= 0 or (unit == 1000 and ttl > INT_MAX // 1000):
            return encode_error(INVALID_EXPIRE % name)
        when = ttl * unit + (0 if absolute else db.now_ms())
        if when > INT_MAX:  # Redis's overflow check, on Unix milliseconds
            return encode_error(INVALID_EXPIRE % name)
        return flags + "T", when

    def set_(self, session: Session, args: list[bytes]) -> bytes:
        """``SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]``."""
        db = session.db
        if len(args) == 3:  # the common case: no options
            db.set(args[1], args[2])
            return OK
        options = self._options(db, args, 3, "set")
        if isinstance(options, bytes):
            return options
        flags, expire_at = options
        key = args[1]
        get = "G" in flags
        old = db.lookup(key) if get else db.get(key)
        answer: bytes | None = None  # GET's reply, made before the value changes
        if get:
            if old is None:
                answer = session.resp.null
            elif type(old) is bytes:
                answer = encode_bulk(old)
            else:
                return WRONGTYPE
        if ("N" in flags and old is not None) or ("X" in flags and old is None):
            reply = session.resp.null  # not set: GET still answers the old value
        else:
            if "K" in flags:
                db.replace(key, args[2])
            else:
                db.set(key, args[2], expire_at)
            reply = OK
        return reply if answer is None else answer

    def setnx(self, session: Session, args: list[bytes]) -> bytes:
        """``SETNX key value``: 1 when set, 0 when the key existed."""
        if session.db.get(args[1]) is not None:
            return ZERO
        session.db.set(args[1], args[2])
        return ONE

    def _setex(self, session: Session, args: list[bytes], unit: int, name: str) -> bytes:
        db = session.db
        ttl = parse_int(args[2])
        if ttl is None:
            return NOT_INTEGER
        if ttl <= 0 or (unit == 1000 and ttl > INT_MAX // 1000):
            return encode_error(INVALID_EXPIRE % name)
        when = ttl * unit + db.now_ms()
        if when > INT_MAX:
            return encode_error(INVALID_EXPIRE % name)
        db.set(args[1], args[3], when)
        return OK

    def setex(self, session: Session, args: list[bytes]) -> bytes:
        """``SETEX key seconds value``."""
        return self._setex(session, args, 1000, "setex")

    def psetex(self, session: Session, args: list[bytes]) -> bytes:
        """``PSETEX key milliseconds value``."""
        return self._setex(session, args, 1, "psetex")

    def getex(self, session: Session, args: list[bytes]) -> bytes:
        """``GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]``: the value; sets or drops its TTL."""
        db = session.db
        options = self._options(db, args, 2, "getex", getex=True)
        if isinstance(options, bytes):
            return options
        flags, when = options
        key = args[1]
        value = db.lookup(key)
        if value is None:
            return session.resp.null
        if type(value) is not bytes:
            return WRONGTYPE
        if when is not None:
            db.expire_at(key, when)  # a deadline already past deletes the key
        elif "P" in flags:
            db.persist(key)
        return encode_bulk(value)

    def getset(self, session: Session, args: list[bytes]) -> bytes:
        """``GETSET key value``: the old string (or null); the TTL is cleared."""
        db = session.db
        old = db.lookup(args[1])
        if old is not None and type(old) is not bytes:
            return WRONGTYPE
        db.set(args[1], args[2])
        return session.resp.null if old is None else encode_bulk(old)

    def mget(self, session: Session, args: list[bytes]) -> bytes:
        """``MGET key ...``: one string or null per key (null for other types too)."""
        lookup = session.db.lookup
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
        set_ = session.db.set
        for i in range(1, len(args), 2):
            set_(args[i], args[i + 1])
        return OK

    def msetnx(self, session: Session, args: list[bytes]) -> bytes:
        """``MSETNX key value ...``: set every pair if no key exists; 1 if set."""
        if len(args) % 2 == 0:
            return wrong_arity("msetnx")
        db = session.db
        if any(db.get(args[i]) is not None for i in range(1, len(args), 2)):
            return ZERO
        for i in range(1, len(args), 2):
            db.set(args[i], args[i + 1])
        return ONE

    @staticmethod
    def string(db: Keyspace, key: bytes) -> bytes | None:
        """The string at ``key``; raises TypeError for another type."""
        value = db.get(key)
        if value is not None and type(value) is not bytes:
            raise TypeError(key)
        return value

    def append(self, session: Session, args: list[bytes]) -> bytes:
        """``APPEND key value``: the new length."""
        db = session.db
        try:
            old = self.string(db, args[1])
        except TypeError:
            return WRONGTYPE
        if old is None:
            value = args[2]
            db.set(args[1], value)
        else:
            value = old + args[2]
            db.replace(args[1], value)
        return encode_integer(len(value))

    def strlen(self, session: Session, args: list[bytes]) -> bytes:
        """``STRLEN key``: the length, 0 when missing."""
        value = session.db.lookup(args[1])
        if value is not None and type(value) is not bytes:
            return WRONGTYPE
        return encode_integer(0 if value is None else len(value))

    def _add(self, db: Keyspace, key: bytes, delta: int) -> bytes:
        try:
            old = self.string(db, key)
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
            db.set(key, raw)
        else:
            db.replace(key, raw)
        return b":%b\r\n" % raw

    def incr(self, session: Session, args: list[bytes]) -> bytes:
        """``INCR key``: add 1 to the number at key (0 when missing)."""
        return self._add(session.db, args[1], 1)

    def decr(self, session: Session, args: list[bytes]) -> bytes:
        """``DECR key``: subtract 1."""
        return self._add(session.db, args[1], -1)

    def incrby(self, session: Session, args: list[bytes]) -> bytes:
        """``INCRBY key n``: add n."""
        delta = parse_int(args[2])
        if delta is None:
            return NOT_INTEGER
        return self._add(session.db, args[1], delta)

    def decrby(self, session: Session, args: list[bytes]) -> bytes:
        """``DECRBY key n``: subtract n."""
        delta = parse_int(args[2])
        if delta is None:
            return NOT_INTEGER
        if delta == INT_MIN:
            return b"-ERR decrement would overflow\r\n"
        return self._add(session.db, args[1], -delta)

    def incrbyfloat(self, session: Session, args: list[bytes]) -> bytes:
        """``INCRBYFLOAT key increment``: the new value as a bulk string."""
        db = session.db
        key = args[1]
        try:
            old = self.string(db, key)
        except TypeError:
            return WRONGTYPE
        current = 0.0 if old is None else parse_float(old)
        delta = parse_float(args[2])
        if current is None or delta is None:
            return NOT_FLOAT
        value = current + delta
        if not math.isfinite(value):
            return b"-ERR increment would produce NaN or Infinity\r\n"
        raw = format_float(value)
        if old is None:
            db.set(key, raw)
        else:
            db.replace(key, raw)
        return encode_bulk(raw)
