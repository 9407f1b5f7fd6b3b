"""Commands on parts of a string: GETRANGE, SETRANGE, SETBIT, GETBIT, BITCOUNT, LCS.

Strings are immutable ``bytes`` in the keyspace, so a write builds the new
value (one copy of the string per SETRANGE or SETBIT); a cache's strings are
small, and the common commands stay allocation-light.  Offsets are bounded as
Redis bounds them: a string never grows past ``proto-max-bulk-len``.

LCS is the classic dynamic-programming table, walked back from the end as
Redis walks it, so IDX reports the same ranges in the same order.  It is
O(len(a) * len(b)) in time and table memory, refused past the same
transient-memory bound as Redis's.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from protocols.resp.parser import (
    MAX_BULK,
    encode_bulk,
    encode_error,
    encode_integer,
    parse_int,
)
from protocols.resp.replies import NOT_INTEGER, ONE, SYNTAX, WRONGTYPE, ZERO, encode_reply

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.replies import Reply
    from protocols.resp.session import Session
    from protocols.resp.store import Keyspace

__all__ = ["BitCommands"]

EMPTY_BULK = b"$0\r\n\r\n"
TOO_BIG = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
BAD_OFFSET = b"-ERR bit offset is not an integer or out of range\r\n"
BAD_BIT = b"-ERR bit is not an integer or out of range\r\n"
_POPCOUNT = bytes(bin(i).count("1") for i in range(256))


def _string(db: Keyspace, key: bytes, count: bool = True) -> bytes | None:
    """The string at ``key``; raises TypeError for another type."""
    value = db.lookup(key) if count else db.get(key)
    if value is not None and type(value) is not bytes:
        raise TypeError(key)
    return value


class BitCommands:
    """The substring and bit commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.max_bulk = MAX_BULK

    def getrange(self, session: Session, args: list[bytes]) -> bytes:
        """``GETRANGE key start end``: inclusive, negative offsets from the end."""
        start = parse_int(args[2])
        end = parse_int(args[3])
        if start is None or end is None:
            return NOT_INTEGER
        try:
            value = _string(session.db, args[1])
        except TypeError:
            return WRONGTYPE
        if value is None or (start < 0 and end < 0 and start > end):
            return EMPTY_BULK
        n = len(value)
        start = max(start + n if start < 0 else start, 0)
        end = min(max(end + n if end < 0 else end, 0), n - 1)
        if start > end or n == 0:
            return EMPTY_BULK
        return encode_bulk(value[start : end + 1])

    def setrange(self, session: Session, args: list[bytes]) -> bytes:
        """``SETRANGE key offset value``: overwrite from offset (zero-padded); the length."""
        offset = parse_int(args[2])
        if offset is None:
            return NOT_INTEGER
        if offset < 0:
            return b"-ERR offset is out of range\r\n"
        db = session.db
        try:
            old = _string(db, args[1], count=False)
        except TypeError:
            return WRONGTYPE
        part = args[3]
        current = b"" if old is None else old
        if not part:
            return encode_integer(len(current))
        if offset + len(part) > self.max_bulk:
            return TOO_BIG
        if len(current) < offset:
            current += bytes(offset - len(current))
        value = current[:offset] + part + current[offset + len(part) :]
        self._store(db, args[1], old, value)
        return encode_integer(len(value))

    @staticmethod
    def _store(db: Keyspace, key: bytes, old: bytes | None, value: bytes) -> None:
        if old is None:
            db.set(key, value)
        else:
            db.replace(key, value)  # keeps the TTL, as Redis does

    def _offset(self, raw: bytes) -> int | None:
        offset = parse_int(raw)
        if offset is None or offset < 0 or (offset >> 3) >= self.max_bulk:
            return None
        return offset

    def setbit(self, session: Session, args: list[bytes]) -> bytes:
        """``SETBIT key offset 0|1``: the bit's old value; the string grows as needed."""
        offset = self._offset(args[2])
        if offset is None:
            return BAD_OFFSET
        if args[3] not in (b"0", b"1"):
            return BAD_BIT
        db = session.db
        try:
            old = _string(db, args[1], count=False)
        except TypeError:
            return WRONGTYPE
        value = bytearray(b"" if old is None else old)
        byte = offset >> 3
        if len(value) <= byte:
            value += bytes(byte + 1 - len(value))
        mask = 0x80 >> (offset & 7)
        was = value[byte] & mask
        if args[3] == b"1":
            value[byte] |= mask
        else:
            value[byte] &= ~mask & 0xFF
        self._store(db, args[1], old, bytes(value))
        return ONE if was else ZERO

    def getbit(self, session: Session, args: list[bytes]) -> bytes:
        """``GETBIT key offset``: 0 past the end or for a missing key."""
        offset = self._offset(args[2])
        if offset is None:
            return BAD_OFFSET
        try:
            value = _string(session.db, args[1])
        except TypeError:
            return WRONGTYPE
        byte = offset >> 3
        if value is None or byte >= len(value):
            return ZERO
        return ONE if value[byte] & (0x80 >> (offset & 7)) else ZERO

    def bitcount(self, session: Session, args: list[bytes]) -> bytes:
        """``BITCOUNT key [start end [BYTE|BIT]]``: set bits in the range."""
        span = _bit_range(args)
        if isinstance(span, bytes):
            return span
        try:
            value = _string(session.db, args[1]) or b""
        except TypeError:
            return WRONGTYPE
        if span is None:
            return encode_integer(sum(value.translate(_POPCOUNT)))
        start, end, bits = span
        total = len(value) * 8 if bits else len(value)
        start = max(start + total if start < 0 else start, 0)
        end = min(max(end + total if end < 0 else end, 0), total - 1)
        if start > end:
            return ZERO
        if not bits:
            return encode_integer(sum(value[start : end + 1].translate(_POPCOUNT)))
        return encode_integer(
            sum(1 for i in range(start, end + 1) if value[i >> 3] & (0x80 >> (i & 7)))
        )

    def lcs(self, session: Session, args: list[bytes]) -> bytes:
        """``LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]``."""
        db = session.db
        try:
            a = _string(db, args[1]) or b""
            b = _string(db, args[2]) or b""
        except TypeError:
            return b"-ERR The specified keys must contain string values\r\n"
        options = _lcs_options(args)
        if isinstance(options, bytes):
            return options
        get_len, get_idx, with_len, min_len = options
        if (len(a) + 1) * (len(b) + 1) * 4 > self.max_bulk:
            return encode_error(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
            )
        table = _lcs_table(a, b)
        length = table[len(a)][len(b)]
        if get_len:
            return encode_integer(length)
        text, matches = _walk(a, b, table, min_len, with_len)
        if not get_idx:
            return encode_bulk(text)
        return encode_reply({b"matches": matches, b"len": length}, session.resp)


def _bit_range(args: list[bytes]) -> tuple[int, int, bool] | bytes | None:
    """BITCOUNT's range as (start, end, in bits), None for the whole string, or the error."""
    n = len(args)
    if n == 2:
        return None
    unit = args[4].upper() if n == 5 else b"BYTE"
    if n not in (4, 5) or unit not in (b"BYTE", b"BIT"):
        return SYNTAX
    start = parse_int(args[2])
    end = parse_int(args[3])
    if start is None or end is None:
        return NOT_INTEGER
    return start, end, unit == b"BIT"


def _lcs_options(args: list[bytes]) -> tuple[bool, bool, bool, int] | bytes:
    """LCS's options as (LEN, IDX, WITHMATCHLEN, MINMATCHLEN), or the error reply."""
    get_len = get_idx = with_len = False
    min_len = 0
    i = 3
    while i < len(args):
        opt = args[i].upper()
        if opt == b"IDX":
            get_idx = True
        elif opt == b"LEN":
            get_len = True
        elif opt == b"WITHMATCHLEN":
            with_len = True
        elif opt == b"MINMATCHLEN" and i + 1 < len(args):
            parsed = parse_int(args[i + 1])
            if parsed is None:
                return NOT_INTEGER
            min_len = max(parsed, 0)
            i += 1
        else:
            return SYNTAX
        i += 1
    if get_len and get_idx:
        return encode_error("ERR If you want both the length and indexes, please just use IDX.")
    return get_len, get_idx, with_len, min_len


def _lcs_table(a: bytes, b: bytes) -> list[array[int]]:
    """``table[i][j]``: the LCS length of ``a[:i]`` and ``b[:j]``."""
    width = len(b) + 1
    table = [array("I", bytes(4 * width))]
    for i in range(1, len(a) + 1):
        above = table[i - 1]
        row = array("I", bytes(4 * width))
        ca = a[i - 1]
        for j in range(1, width):
            if ca == b[j - 1]:
                row[j] = above[j - 1] + 1
            else:
                up = above[j]
                left = row[j - 1]
                row[j] = up if up > left else left
        table.append(row)
    return table


def _match(a_start: int, a_end: int, b_start: int, b_end: int, with_len: bool) -> Reply:
    match: list[Reply] = [[a_start, a_end], [b_start, b_end]]
    if with_len:
        match.append(a_end - a_start + 1)
    return match


def _walk(
    a: bytes, b: bytes, table: list[array[int]], min_len: int, with_len: bool
) -> tuple[bytes, list[Reply]]:
    """The LCS itself and its matching ranges, walked back from the ends as Redis does."""
    i, j = len(a), len(b)
    out = bytearray()
    matches: list[Reply] = []
    unset = len(a)  # a range start of len(a) means "no range open"
    a_start = a_end = b_start = b_end = 0
    a_start = unset
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            if a_start == unset:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            i -= 1
            j -= 1
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if a_start != unset:
                emit = True
        if emit:
            size = a_end - a_start + 1
            if min_len == 0 or size >= min_len:
                matches.append(_match(a_start, a_end, b_start, b_end, with_len))
            a_start = unset
    out.reverse()
    return bytes(out), matches
