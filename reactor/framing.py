"""Sans-I/O framers, byte-compatible with gen_tcp's ``{packet, N}`` options.

A framer turns a byte stream into messages and messages into bytes:
``feed(data)`` returns every message completed by ``data`` (possibly none),
``encode(message)`` returns the bytes that carry one message, and
``buffered()`` says how many bytes wait for the rest of a message.  A framer
knows nothing of sockets or time, so it is tested by feeding it bytes.

Theory of operation.  gen_tcp makes ``{packet, N}`` a property of the socket,
and its active mode counts *messages*, not reads.  A transport given a framer
with ``set_framer()`` feeds it what it reads and hands each message to the
handler as one ``data_received(message)`` call, so ``set_active(N)`` counts
frames the way gen_tcp counts them.  :class:`FramedHandler` installs its
framer that way and decodes for itself on a transport without framing
support, so a plugin built on it never sees a partial message either way.

The wire formats, as gen_tcp writes them:

* ``{packet, 0}`` / ``raw`` (:class:`RawFramer`): no framing; each chunk read
  is a message, and a message is sent as is.
* ``{packet, 1 | 2 | 4}`` (:class:`LengthPrefixFramer`): a big-endian unsigned
  length of 1, 2 or 4 bytes, then that many bytes.  The length counts the
  payload only; a zero-length message is legal.
* ``{packet, line}`` (:class:`LineFramer`): a message ends at the delimiter
  (``b"\\n"``) and includes it, as gen_tcp delivers it.

Limits.  Every framer that buffers takes ``max_size``, gen_tcp's
``packet_size``: the largest payload a length header may announce, or the
longest line *including* its delimiter.  A header announcing more, or more
than ``max_size`` bytes without a delimiter, raises :class:`FrameTooLarge`
as soon as it can be known, whatever the chunking, and the framer is then
unusable: the connection is expected to close, as gen_tcp closes it with
``emsgsize``.  gen_tcp without ``packet_size`` instead cuts an over-long line
into buffer-sized pieces; here a line is always whole or an error.

Deliberate limits.  A partial message left when the peer closes is not a
message: it stays in the framer (see ``buffered()``) and is dropped with the
connection, as gen_tcp drops it.  Sending through a length framer refuses a
message its header cannot express (gen_tcp sends it with a wrapped-around
header, which the peer then misreads).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, TypeAlias

from reactor.protocol import BaseHandler, ProtocolError

if TYPE_CHECKING:
    from reactor.protocol import Handler, Transport

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FrameTooLarge",
    "FramedHandler",
    "Framer",
    "LengthPrefixFramer",
    "LineBridge",
    "LineFramer",
    "PacketType",
    "RawFramer",
    "make_framer",
    "parse_packet",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 1 << 20
"""Default ``max_size``: 1 MiB, so one peer cannot make a connection hold more."""

PacketType: TypeAlias = int | str
"""What :func:`make_framer` accepts: ``0``, ``1``, ``2``, ``4``, ``"line"``, ``"raw"``
(gen_tcp's ``{packet, ...}`` values) or those numbers as strings."""


class FrameTooLarge(ProtocolError):
    """A length header or a line exceeds the framer's ``max_size``.

    ``size`` is the announced length (or the bytes seen without a delimiter,
    a lower bound of the line's length), ``limit`` the maximum.  ``frames``
    holds the complete messages that preceded the offending one in the data
    given to the ``feed()`` that raised, so a caller may still deliver them,
    as gen_tcp delivers the messages before its ``emsgsize`` error.
    """

    def __init__(self, size: int, limit: int, what: str = "frame") -> None:
        super().__init__(f"{what} of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit
        self.frames: list[bytes] = []


class Framer(Protocol):
    """Bytes in, messages out; messages in, bytes out.  No I/O."""

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return the messages they complete, in order.

        Raises :class:`FrameTooLarge` when a header or line exceeds the limit.
        """
        ...

    def encode(self, message: bytes) -> bytes:
        """The bytes that carry ``message``; ``ValueError`` if it cannot be framed."""
        ...

    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        ...


class RawFramer:
    """``{packet, 0}``: each received chunk is a message; nothing is added."""

    __slots__ = ()

    def feed(self, data: bytes) -> list[bytes]:
        """Return ``[data]``, or nothing for an empty chunk."""
        return [bytes(data)] if data else []

    def encode(self, message: bytes) -> bytes:
        """Return ``message`` unchanged."""
        return bytes(message)

    def buffered(self) -> int:
        """Always zero: nothing is held."""
        return 0

    def __repr__(self) -> str:
        return "RawFramer()"


class LengthPrefixFramer:
    """``{packet, 1 | 2 | 4}``: a big-endian unsigned length, then the payload.

    ``max_size`` bounds the payload a header may announce (gen_tcp's
    ``packet_size``); it is also capped by what the header can express.
    """

    __slots__ = ("_buf", "_limit", "_max_size", "_size")

    def __init__(self, size: int = 4, max_size: int = DEFAULT_MAX_SIZE) -> None:
        if size not in (1, 2, 4):
            raise ValueError(f"length header size must be 1, 2 or 4, not {size!r}")
        if max_size < 0:
            raise ValueError(f"max_size must not be negative, got {max_size}")
        self._size = size
        self._max_size = max_size
        self._limit = min(max_size, (1 << (8 * size)) - 1)
        self._buf = bytearray()

    @property
    def header_size(self) -> int:
        """Bytes in the length header: 1, 2 or 4."""
        return self._size

    @property
    def max_size(self) -> int:
        """The largest payload accepted, after the header's own cap."""
        return self._limit

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data`` and return every complete payload."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        hsize = self._size
        pos = 0
        end = len(buf)
        try:
            while end - pos >= hsize:
                length = int.from_bytes(buf[pos : pos + hsize], "big")
                if length > self._limit:
                    exc = FrameTooLarge(length, self._limit)
                    exc.frames = frames
                    raise exc
                stop = pos + hsize + length
                if stop > end:
                    break
                frames.append(bytes(buf[pos + hsize : stop]))
                pos = stop
        finally:
            # One deletion per feed, not one per frame: a read full of small
            # frames costs one memmove.
            if pos:
                del buf[:pos]
        return frames

    def encode(self, message: bytes) -> bytes:
        """Prefix ``message`` with its length; ``ValueError`` if the header cannot hold it."""
        length = len(message)
        if length >= 1 << (8 * self._size):
            raise ValueError(
                f"message of {length} bytes does not fit a {self._size}-byte length header"
            )
        return length.to_bytes(self._size, "big") + bytes(message)

    def buffered(self) -> int:
        """Bytes of the incomplete header or payload held."""
        return len(self._buf)

    def __repr__(self) -> str:
        return f"LengthPrefixFramer(size={self._size}, max_size={self._max_size})"


class LineFramer:
    """``{packet, line}``: a message ends at the delimiter and includes it.

    ``max_size`` is the longest line accepted, delimiter included (gen_tcp's
    ``packet_size`` for lines): ``max_size`` bytes with no delimiter among
    them is an error at once, without waiting for the rest of the line.
    """

    __slots__ = ("_buf", "_delimiter", "_max_size", "_scanned")

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE, delimiter: bytes = b"\n") -> None:
        if len(delimiter) != 1:
            raise ValueError(f"the delimiter must be one byte, got {delimiter!r}")
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        self._max_size = max_size
        self._delimiter = bytes(delimiter)
        self._buf = bytearray()
        # Bytes at the start of the buffer already known to hold no
        # delimiter: feeding a long line byte by byte stays linear.
        self._scanned = 0

    @property
    def max_size(self) -> int:
        """The longest line accepted, delimiter included."""
        return self._max_size

    @property
    def delimiter(self) -> bytes:
        """The byte that ends a line (gen_tcp's ``line_delimiter``)."""
        return self._delimiter

    def feed(self, data: bytes) -> list[bytes]:
        """Append ``data`` and return every complete line, delimiter included."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        delim = self._delimiter
        limit = self._max_size
        pos = 0
        search = self._scanned
        try:
            while True:
                nl = buf.find(delim, search, pos + limit)
                if nl < 0:
                    unterminated = len(buf) - pos
                    if unterminated >= limit:
                        exc = FrameTooLarge(unterminated, limit, "line")
                        exc.frames = frames
                        raise exc
                    self._scanned = len(buf) - pos
                    break
                frames.append(bytes(buf[pos : nl + 1]))
                pos = search = nl + 1
        finally:
            if pos:
                del buf[:pos]
        return frames

    def encode(self, message: bytes) -> bytes:
        """One line: ``message`` with the delimiter appended unless it ends with it.

        ``ValueError`` if the delimiter occurs before the end, since the
        peer would read two messages.
        """
        delim = self._delimiter
        body = message[:-1] if message.endswith(delim) else message
        if delim in body:
            raise ValueError("a line message may hold the delimiter only at its end")
        return bytes(body) + delim

    def buffered(self) -> int:
        """Bytes of the unterminated line held."""
        return len(self._buf)

    def __repr__(self) -> str:
        return f"LineFramer(max_size={self._max_size}, delimiter={self._delimiter!r})"


def parse_packet(value: PacketType) -> int | str:
    """Normalise a ``{packet, ...}`` value: ``0``, ``1``, ``2``, ``4`` or ``"line"``.

    Accepts the strings a command line gives (``"2"``, ``"raw"``); raises
    ``ValueError`` for anything gen_tcp would not accept.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("raw", "0"):
            return 0
        if text == "line":
            return "line"
        if text in ("1", "2", "4"):
            return int(text)
    elif isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2, 4):
        return value
    raise ValueError(f"packet must be 0, 1, 2, 4, 'line' or 'raw', not {value!r}")


def make_framer(packet: PacketType, max_size: int = DEFAULT_MAX_SIZE) -> Framer:
    """The framer for gen_tcp's ``{packet, packet}``, limited to ``max_size``."""
    kind = parse_packet(packet)
    if kind == 0:
        return RawFramer()
    if kind == "line":
        return LineFramer(max_size)
    assert isinstance(kind, int)
    return LengthPrefixFramer(kind, max_size)


class LineBridge:
    """Lines of text on one side, framed messages on the other (``reactor connect --packet``).

    :meth:`input` turns each input line (its newline dropped) into one
    message; :meth:`output` turns each message into one output line.  With
    ``{packet, line}`` lines pass as they are; with ``{packet, 0}`` bytes
    pass untouched both ways.  A line the framing cannot carry (over 255
    bytes in ``{packet, 1}``) is logged and skipped.  Input and output keep
    separate state, so each side may run in its own thread.
    """

    def __init__(self, packet: PacketType, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.framer = make_framer(packet, max_size)
        self._raw = isinstance(self.framer, RawFramer)
        self._lines = isinstance(self.framer, LineFramer)
        self._pending = bytearray()

    def input(self, data: bytes) -> bytes:
        """The bytes to send for ``data`` typed so far (complete lines only)."""
        if self._raw:
            return bytes(data)
        self._pending += data
        end = self._pending.rfind(b"\n") + 1
        if not end:
            return b""
        lines = bytes(self._pending[:end]).split(b"\n")[:-1]
        del self._pending[:end]
        return b"".join(self._frame(line) for line in lines)

    def end_of_input(self) -> bytes:
        """The bytes to send for a last line that had no newline."""
        if self._raw or not self._pending:
            return b""
        line = bytes(self._pending)
        self._pending.clear()
        return self._frame(line)

    def output(self, message: bytes) -> bytes:
        """One received message as one line of output."""
        if self._raw or (self._lines and message.endswith(b"\n")):
            return message
        return message + b"\n"

    def _frame(self, line: bytes) -> bytes:
        if not self._lines:
            line = line.removesuffix(b"\r")
        try:
            return self.framer.encode(line)
        except ValueError as exc:
            log.warning("line not sent: %s", exc)
            return b""


class FramedHandler(BaseHandler):
    """A handler that speaks in whole messages.

    Subclasses override :meth:`message_received` and call :meth:`send`.  The
    framer comes from the constructor or :attr:`packet` and
    :attr:`max_size`; :meth:`connection_made` installs it on the transport
    when the transport supports ``set_framer()`` (then active modes count
    messages), else the handler decodes each read itself.
    """

    __slots__ = ("_decode_here", "framer")

    packet: PacketType = 4
    """The default ``{packet, ...}`` when no framer is given."""

    max_size: int = DEFAULT_MAX_SIZE
    """The default limit when no framer is given."""

    def __init__(self, framer: Framer | None = None) -> None:
        self.framer: Framer = (
            framer if framer is not None else make_framer(self.packet, self.max_size)
        )
        self._decode_here = True
        self.transport = None

    def connection_made(self, transport: Transport) -> None:
        """Keep the transport and install the framer on it if it can frame."""
        super().connection_made(transport)
        set_framer = getattr(transport, "set_framer", None)
        if callable(set_framer):
            set_framer(self.framer)
            self._decode_here = False
        else:
            self._decode_here = True

    def data_received(self, data: bytes) -> None:
        """One message from a framing transport, or a chunk to decode here."""
        if not self._decode_here:
            self.message_received(data)
            return
        try:
            messages = self.framer.feed(data)
        except FrameTooLarge as exc:
            # Deliver what preceded the bad frame, as a framing transport does.
            self._deliver(exc.frames)
            raise
        self._deliver(messages)

    def _deliver(self, messages: list[bytes]) -> None:
        for message in messages:
            if self.transport is None or self.transport.is_closing():
                break
            self.message_received(message)

    def message_received(self, message: bytes) -> None:
        """A whole message arrived; override this."""

    def hand_off(self, handler: Handler) -> None:
        """Give the connection to ``handler`` (gen_tcp's ``controlling_process``).

        Messages not yet delivered, and the bytes of a partial one, go to the
        new owner.  A :class:`FramedHandler` takes over this one's transport
        and framer, since ``connection_made`` is not called again; any other
        handler receives whole messages in ``data_received`` if the transport
        frames, raw bytes if it does not.
        """
        transport = self.transport
        if transport is None:
            raise RuntimeError("hand_off() on a handler with no connection")
        if isinstance(handler, FramedHandler):
            handler.transport = transport
            handler.framer = self.framer
            handler._decode_here = self._decode_here
        transport.set_protocol(handler)

    def send(self, message: bytes) -> None:
        """Frame ``message`` and write it; ``ValueError`` if it cannot be framed."""
        if self.transport is None:
            raise RuntimeError("send() on a handler with no connection")
        self.transport.write(self.framer.encode(message))
