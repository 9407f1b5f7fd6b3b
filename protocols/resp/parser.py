"""RESP requests in, RESP2 replies out: sans-I/O (RESP3 shapes are in replies.py).

Theory of operation.  A client sends either an array of bulk strings
(``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\na\\r\\n``) or an inline command, one line of
space-separated words with Redis's quoting rules (``GET "a b"``).  The first
byte decides which.  :meth:`RequestParser.feed` only buffers;
:meth:`RequestParser.next_command` parses at most one command, so the handler
can stop after a budget of pipelined commands and pick up where it left off.

The buffer is ``bytes`` plus a read offset rather than a ``bytearray``: when a
read holds only whole commands (the common case) the read itself becomes the
buffer and every argument is one slice.  A half-received command keeps its
parsed arguments, and a large bulk string arriving in many reads is gathered
in a list and joined once, when enough bytes are there to finish it, so
neither case is quadratic.

Every length the peer announces is checked against a limit before anything
is allocated for it, and a command still being received may hold at most
``max_query`` bytes (arguments parsed plus input buffered), Redis's
``client-query-buffer-limit``: a command is bounded by its size, not by how
many words it has.  Errors carry Redis's own texts (``Protocol error:
invalid bulk length`` ...); the server answers them with ``-ERR`` and closes
that connection.  The parser is dead after an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reactor.protocol import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "CRLF",
    "EMPTY_ARRAY",
    "INT_MAX",
    "INT_MIN",
    "NIL",
    "OK",
    "PONG",
    "RequestParser",
    "RespProtocolError",
    "encode_array",
    "encode_bulk",
    "encode_command",
    "encode_error",
    "encode_integer",
    "encode_simple",
    "parse_int",
]

MAX_BULK = 512 * 1024 * 1024
"""Redis's default ``proto-max-bulk-len``."""
MAX_ARRAY = (1 << 31) - 1
"""Largest multibulk count accepted by default (Redis's ``INT_MAX``): commands are
bounded by their bytes (:data:`MAX_QUERY`), not their word count."""
MAX_QUERY = 1024 * 1024 * 1024
"""Redis's default ``client-query-buffer-limit``: the most bytes one command may hold."""
MAX_INLINE = 64 * 1024
"""Longest inline command or length line (Redis's ``PROTO_INLINE_MAX_SIZE``)."""

INT_MAX = (1 << 63) - 1
"""The largest integer Redis stores (signed 64-bit)."""
INT_MIN = -(1 << 63)
"""The smallest integer Redis stores (signed 64-bit)."""

CRLF = b"\r\n"
"""The line ending of every RESP line."""
OK = b"+OK\r\n"
"""The usual success reply."""
PONG = b"+PONG\r\n"
"""PING's reply."""
NIL = b"$-1\r\n"
"""The RESP2 null bulk string (see :mod:`protocols.resp.replies` for RESP3)."""
EMPTY_ARRAY = b"*0\r\n"
"""An empty array, the same in RESP2 and RESP3."""

_SPACE = b" \t\n\r\v\f"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


class RespProtocolError(ProtocolError):
    """The peer sent something that is not a RESP request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Protocol error: {reason}")
        self.reason = reason


def _length(line: bytes, allow_negative: bool) -> int | None:
    """A length as Redis's string2ll reads it: no sign, spaces or leading zeros."""
    if line.isdigit():
        if line[0] == 48 and len(line) > 1:
            return None
        return int(line)
    if allow_negative and line[:1] == b"-" and line[1:].isdigit() and line[1] != 48:
        return -1
    return None


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


class RequestParser:
    """Split a stream of RESP requests into commands (lists of ``bytes``)."""

    __slots__ = (
        "_args",
        "_buf",
        "_chunks",
        "_held",
        "_left",
        "_max_array",
        "_max_bulk",
        "_max_inline",
        "_max_query",
        "_need",
        "_pending",
        "_pos",
    )

    def __init__(
        self,
        max_bulk: int = MAX_BULK,
        max_array: int = MAX_ARRAY,
        max_inline: int = MAX_INLINE,
        max_query: int = MAX_QUERY,
    ) -> None:
        self._max_bulk = max_bulk
        self._max_query = max_query
        self._held = 0  # bytes of the arguments of a half-received command
        self._max_array = max_array
        self._max_inline = max_inline
        self._buf = b""
        self._pos = 0
        self._chunks: list[bytes] = []  # reads not yet joined onto _buf
        self._pending = 0  # their total size
        self._need = 0  # bytes past _pos before parsing can make progress
        self._args: list[bytes] | None = None  # a half-received array
        self._left = 0  # bulk strings still missing from it

    @property
    def buffered(self) -> int:
        """Bytes received and not yet parsed (arguments of a partial command are held)."""
        return len(self._buf) - self._pos + self._pending

    @property
    def held(self) -> int:
        """Bytes of the arguments already parsed of a half-received command."""
        return self._held

    def set_limits(self, max_bulk: int | None = None, max_query: int | None = None) -> None:
        """Change the bulk and query limits (CONFIG SET); they apply from the next length."""
        if max_bulk is not None:
            self._max_bulk = max_bulk
        if max_query is not None:
            self._max_query = max_query

    def feed(self, data: bytes) -> None:
        """Buffer ``data``; call :meth:`next_command` to get the commands out."""
        if self._pos >= len(self._buf) and not self._chunks:
            self._buf = data
            self._pos = 0
            return
        self._chunks.append(data)
        self._pending += len(data)
        if len(self._buf) - self._pos + self._pending >= self._need:
            self._join()

    def _join(self) -> None:
        self._chunks.insert(0, self._buf[self._pos :])
        self._buf = b"".join(self._chunks)
        self._pos = 0
        self._chunks.clear()
        self._pending = 0

    def commands(self, data: bytes = b"") -> list[list[bytes]]:
        """Feed ``data`` and return every complete command now buffered."""
        if data:
            self.feed(data)
        out = []
        while (command := self.next_command()) is not None:
            out.append(command)
        return out

    def next_command(self) -> list[bytes] | None:
        """The next complete command, or ``None`` until more data arrives.

        Empty arrays and blank inline lines are skipped, as Redis does.
        Raises :class:`RespProtocolError` on malformed input.
        """
        if self._chunks:
            if len(self._buf) - self._pos + self._pending < self._need:
                if self._held + len(self._buf) - self._pos + self._pending > self._max_query:
                    raise RespProtocolError("client query buffer limit reached")
                return None
            self._join()
        while True:
            if self._args is not None:
                command = self._bulk_strings(self._args)
                if command is not None:
                    self._held = 0
            else:
                buf = self._buf
                pos = self._pos
                if pos >= len(buf):
                    return None
                command = self._array() if buf[pos] == 42 else self._inline()  # '*'
            if command is None or command:
                return command

    def _array(self) -> list[bytes] | None:
        buf = self._buf
        pos = self._pos
        end = buf.find(CRLF, pos)
        if end < 0 or end - pos > self._max_inline:
            self._short_line("too big mbulk count string")
            return None
        count = _length(buf[pos + 1 : end], allow_negative=True)
        if count is None or count > self._max_array:
            raise RespProtocolError("invalid multibulk length")
        self._pos = end + 2
        if count <= 0:
            return []
        self._left = count
        return self._bulk_strings([])

    def _bulk_strings(self, args: list[bytes]) -> list[bytes] | None:
        buf = self._buf
        pos = self._pos
        size = len(buf)
        left = self._left
        while left:
            if pos >= size:
                break
            if buf[pos] != 36:  # '$'
                raise RespProtocolError(f"expected '$', got '{chr(buf[pos])}'")
            end = buf.find(CRLF, pos)
            if end < 0 or end - pos > self._max_inline:
                self._held += pos - self._pos
                self._pos = pos
                self._args = args
                self._left = left
                self._short_line("too big bulk count string")
                return None
            n = _length(buf[pos + 1 : end], allow_negative=False)
            if n is None or n > self._max_bulk:
                raise RespProtocolError("invalid bulk length")
            start = end + 2
            stop = start + n
            if stop + 2 > size:
                self._need = stop + 2 - pos
                break
            if buf[stop : stop + 2] != CRLF:
                raise RespProtocolError("expected CRLF after bulk string")
            args.append(buf[start:stop])
            pos = stop + 2
            left -= 1
        if left:
            self._held += pos - self._pos
            if self._held + size - pos > self._max_query:
                raise RespProtocolError("client query buffer limit reached")
            self._pos = pos
            self._args = args
            self._left = left
            if pos >= size:
                self._need = 1
            return None
        self._pos = pos
        self._args = None
        self._left = 0
        return args

    def _short_line(self, reason: str) -> None:
        """No CRLF yet: wait for more, unless the line is already too long."""
        waiting = len(self._buf) - self._pos
        if waiting > self._max_inline:
            raise RespProtocolError(reason)
        self._need = waiting + 1

    def _inline(self) -> list[bytes] | None:
        buf = self._buf
        pos = self._pos
        end = buf.find(b"\n", pos)
        if end < 0 or end - pos > self._max_inline:
            self._short_line("too big inline request")
            return None
        line = buf[pos:end]
        self._pos = end + 1
        if b'"' not in line and b"'" not in line:
            return line.split()
        return split_inline(line)


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command into words with Redis's quoting rules.

    Double quotes take the escapes ``\\n \\r \\t \\b \\a \\xHH`` and ``\\``
    before any other byte; single quotes take only ``\\'``.  A closing quote
    must be followed by a space or the end of the line.
    """
    words: list[bytes] = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return words
        word = bytearray()
        while i < n:
            c = line[i]
            if c in _SPACE:
                break
            if c in (34, 39):
                i = _quoted(line, i + 1, c, word)
                break
            word.append(c)
            i += 1
        words.append(bytes(word))


def _quoted(line: bytes, i: int, quote: int, word: bytearray) -> int:
    """Append the quoted part starting at ``i`` to ``word``; return the index past it."""
    n = len(line)
    while i < n:
        c = line[i]
        if c == quote:
            if i + 1 < n and line[i + 1] not in _SPACE:
                break
            return i + 1
        if c == 92 and i + 1 < n:  # backslash
            nxt = line[i + 1]
            if quote == 39:
                if nxt == 39:
                    word.append(39)
                    i += 2
                    continue
            elif nxt == 120 and i + 3 < n and _is_hex(line, i + 2):  # \xHH
                word.append(int(line[i + 2 : i + 4], 16))
                i += 4
                continue
            else:
                word.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
        word.append(c)
        i += 1
    raise RespProtocolError("unbalanced quotes in request")


def _is_hex(line: bytes, i: int) -> bool:
    return line[i] in _HEX and line[i + 1] in _HEX


# -- replies -------------------------------------------------------------------


def encode_simple(text: str | bytes) -> bytes:
    """``+text``; the text must not contain CR or LF."""
    raw = text.encode() if isinstance(text, str) else text
    return b"+" + raw + CRLF


def encode_error(text: str) -> bytes:
    """``-text``: CR and LF become spaces, as Redis does for error replies."""
    return b"-" + text.replace("\r", " ").replace("\n", " ").encode() + CRLF


def encode_integer(value: int) -> bytes:
    """``:value``."""
    return b":%d\r\n" % value


def encode_bulk(value: bytes | None) -> bytes:
    """``$len`` and the bytes, or the nil bulk for ``None``."""
    if value is None:
        return NIL
    return b"$%d\r\n%b\r\n" % (len(value), value)


def encode_array(items: Iterable[bytes | None]) -> bytes:
    """An array of bulk strings (``None`` items are nil)."""
    parts = [encode_bulk(item) for item in items]
    return b"*%d\r\n" % len(parts) + b"".join(parts)


def encode_command(*args: bytes | str | int) -> bytes:
    """A request as clients send it: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(parts)
