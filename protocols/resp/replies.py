"""Reply shapes per protocol version (RESP2, RESP3) and the replies commands share.

Theory of operation.  RESP3 keeps every RESP2 type and adds a few: a null of
its own (``_``), maps (``%``), sets (``~``) and verbatim strings (``=`` with a
``txt:`` format prefix), among others this server never sends.  A connection
speaks RESP2 until it says ``HELLO 3``.

Most replies are the same bytes in both versions (integers, errors, simple
and bulk strings, arrays), so commands keep encoding those directly.  For the
few shapes that differ, each connection's session points at one
:class:`Replies` table, :data:`RESP2` or :data:`RESP3`, holding the
pre-encoded nulls and the map, set and verbatim encoders for its version.  A
command answers ``session.resp.null`` rather than a fixed ``$-1``: the
version is chosen once, by HELLO, and no reply branches on it.

:func:`encode_reply` encodes a whole value (``None``, ``int``, ``bytes``,
``str`` as a simple string, :class:`Verbatim`, lists, dicts, sets) in either
version; the handshake and the introspection commands use it, the hot
commands do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, Union

from protocols.resp.parser import encode_error

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "NOT_INTEGER",
    "ONE",
    "OVERFLOW",
    "PROTOCOLS",
    "RESP2",
    "RESP3",
    "SYNTAX",
    "WRONGTYPE",
    "ZERO",
    "Replies",
    "Reply",
    "Verbatim",
    "encode_reply",
    "wrong_arity",
]

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
"""A command on a key of another type."""
NOT_INTEGER = b"-ERR value is not an integer or out of range\r\n"
"""An argument or a value that is not a 64-bit integer."""
OVERFLOW = b"-ERR increment or decrement would overflow\r\n"
"""INCR and friends past the 64-bit range."""
SYNTAX = b"-ERR syntax error\r\n"
"""Options that do not parse."""
ZERO = b":0\r\n"
"""The integer 0."""
ONE = b":1\r\n"
"""The integer 1."""


def wrong_arity(name: str) -> bytes:
    """Redis's reply to a command called with the wrong number of words."""
    return encode_error(f"ERR wrong number of arguments for '{name}' command")


class Verbatim(bytes):
    """Text Redis sends as a verbatim string in RESP3 (INFO, CLIENT LIST)."""

    __slots__ = ()


Key: TypeAlias = int | bytes | str
Reply: TypeAlias = Union[
    int, bytes, str, "list[Reply]", "tuple[Reply, ...]", "dict[Key, Reply]", "frozenset[Key]", None
]
"""A value :func:`encode_reply` encodes: ``str`` is a simple string, ``bytes`` a bulk."""


class Replies:
    """The reply shapes of one protocol version: pre-encoded nulls, map/set/verbatim encoders.

    The two tables differ only in their data (type bytes, the RESP2 map's two
    elements per pair, the verbatim prefix), so the encoders have no branches.
    """

    __slots__ = ("_map", "_pair", "_set", "_tag", "_verbatim", "null", "null_array", "version")

    def __init__(
        self,
        version: int,
        *,
        null: bytes,
        null_array: bytes,
        map_type: bytes,
        elements_per_pair: int,
        set_type: bytes,
        verbatim_type: bytes,
        verbatim_tag: bytes,
    ) -> None:
        self.version = version
        self.null = null
        """What Redis's addReplyNull sends: ``$-1`` or ``_``."""
        self.null_array = null_array
        """What Redis's addReplyNullArray sends: ``*-1`` or ``_``."""
        self._map = map_type
        self._pair = elements_per_pair
        self._set = set_type
        self._verbatim = verbatim_type
        self._tag = verbatim_tag

    def __repr__(self) -> str:
        return f"<RESP{self.version} replies>"

    def map_header(self, pairs: int) -> bytes:
        """The header of a map of ``pairs`` key/value pairs (a flat array in RESP2)."""
        return b"%b%d\r\n" % (self._map, pairs * self._pair)

    def map(self, items: list[bytes]) -> bytes:
        """A map of already-encoded items: key, value, key, value ..."""
        return self.map_header(len(items) // 2) + b"".join(items)

    def set_header(self, size: int) -> bytes:
        """The header of a set (an array in RESP2)."""
        return b"%b%d\r\n" % (self._set, size)

    def set(self, items: list[bytes]) -> bytes:
        """A set of already-encoded items."""
        return self.set_header(len(items)) + b"".join(items)

    def verbatim(self, text: bytes) -> bytes:
        """Text as a verbatim string (``=`` and ``txt:``); a bulk string in RESP2."""
        tag = self._tag
        return b"%b%d\r\n%b%b\r\n" % (self._verbatim, len(tag) + len(text), tag, text)


RESP2 = Replies(
    2,
    null=b"$-1\r\n",
    null_array=b"*-1\r\n",
    map_type=b"*",
    elements_per_pair=2,
    set_type=b"*",
    verbatim_type=b"$",
    verbatim_tag=b"",
)
RESP3 = Replies(
    3,
    null=b"_\r\n",
    null_array=b"_\r\n",
    map_type=b"%",
    elements_per_pair=1,
    set_type=b"~",
    verbatim_type=b"=",
    verbatim_tag=b"txt:",
)
PROTOCOLS: dict[int, Replies] = {2: RESP2, 3: RESP3}
"""The tables by the version HELLO names."""


def encode_reply(value: Reply, resp: Replies = RESP2) -> bytes:
    """Encode ``value`` as ``resp``'s version would send it."""
    parts: list[bytes] = []
    _encode(value, resp, parts)
    return b"".join(parts)


def _encode(value: Reply, resp: Replies, out: list[bytes]) -> None:
    if value is None:
        out.append(resp.null)
    elif isinstance(value, Verbatim):
        out.append(resp.verbatim(value))
    elif isinstance(value, bytes):
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif isinstance(value, int):
        out.append(b":%d\r\n" % value)
    elif isinstance(value, str):
        if "\r" in value or "\n" in value:
            raise ValueError(f"a simple string cannot hold CR or LF: {value!r}")
        out.append(b"+%b\r\n" % value.encode())
    elif isinstance(value, dict):
        out.append(resp.map_header(len(value)))
        for key, item in value.items():
            _encode(key, resp, out)
            _encode(item, resp, out)
    elif isinstance(value, frozenset):
        _sequence(resp.set_header(len(value)), value, resp, out)
    else:
        _sequence(b"*%d\r\n" % len(value), value, resp, out)


def _sequence(header: bytes, items: Iterable[Reply], resp: Replies, out: list[bytes]) -> None:
    out.append(header)
    for item in items:
        _encode(item, resp, out)
