"""Finding gen_tcp's messages in a receive buffer, without copying it.

A :class:`~reactor.streams.Socket` keeps the bytes it received *raw*, in one
buffer with a read offset, and finds message boundaries only when a message
is asked for (``recv``) or due (an active mode).  So ``setopts(packet=...)``
re-frames whatever is buffered, as gen_tcp's driver does: nothing was cut
into messages before it was needed.  These functions do the finding; they
are sans-I/O, and the tests check them against :mod:`reactor.framing`'s
framers, so both read the same bytes as the same messages.
"""

from __future__ import annotations

from reactor.framing import FrameTooLarge, parse_packet

__all__ = ["length_frame", "line_frame", "packet_limit"]


def packet_limit(packet: int | str, max_size: int) -> int:
    """The largest payload (or line) accepted for ``packet``, as the framers cap it.

    A length header of N bytes cannot announce more than ``2**(8N) - 1``.
    """
    kind = parse_packet(packet)
    if isinstance(kind, int) and kind:
        return min(max_size, (1 << (8 * kind)) - 1)
    return max_size


def length_frame(
    buf: bytes | bytearray, off: int, header: int, limit: int
) -> tuple[int, int] | None:
    """The payload ``(start, end)`` of the ``{packet, header}`` message at ``off``.

    ``None`` while it is incomplete; :class:`~reactor.framing.FrameTooLarge`
    as soon as its header announces more than ``limit`` bytes.
    """
    start = off + header
    if len(buf) < start:
        return None
    length = int.from_bytes(buf[off:start], "big")
    if length > limit:
        raise FrameTooLarge(length, limit)
    end = start + length
    return (start, end) if end <= len(buf) else None


def line_frame(buf: bytes | bytearray, off: int, limit: int, scanned: int) -> int:
    """The end of the ``{packet, line}`` message at ``off`` (after its ``\\n``), or -1.

    ``scanned`` is where the search may start: the caller remembers how far
    an earlier search got, so a long line arriving in small pieces is
    searched once, not once per piece.  A line that cannot end within
    ``limit`` bytes raises :class:`~reactor.framing.FrameTooLarge`.
    """
    newline = buf.find(b"\n", max(off, scanned), off + limit)
    if newline >= 0:
        return newline + 1
    unterminated = len(buf) - off
    if unterminated >= limit:
        raise FrameTooLarge(unterminated, limit, "line")
    return -1
