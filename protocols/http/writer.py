"""The sans-I/O HTTP/1.1 response writer: what to send, framed, as bytes.

A :class:`ResponseWriter` frames one response at a time for one connection.
It decides the framing from the request and the response: a known length
gets ``Content-Length``; an unknown one is ``chunked`` for an HTTP/1.1 peer
and delimited by closing the connection for an HTTP/1.0 one.  It owns the
``Content-Length``, ``Transfer-Encoding``, ``Connection`` and ``Date``
fields and says, in :attr:`ResponseWriter.must_close`, whether the
connection ends after this response.

The hot path is a response whose head was prepared once
(:func:`prepare_head`): sending it costs one ``join`` of the prepared bytes,
an optional ``Connection`` line, the ``Date`` line and the body, and for a
keep-alive HTTP/1.1 request not even that: the prepared head keeps the last
whole response it built, valid while the ``Date`` line and the body are the
same objects.  The caller supplies the ``Date`` line (:func:`date_line`),
since this module never reads a clock; handing the same bytes object for a
whole second is what lets the cache hit.
"""

from __future__ import annotations

import enum
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from protocols.http.events import RequestHead

__all__ = [
    "CONTINUE",
    "SERVER",
    "PreparedHead",
    "ResponseWriter",
    "date_line",
    "encode_chunk",
    "prepare_head",
    "status_line",
]

SERVER = "selreactor"
"""The ``Server`` header of responses whose application sets none."""
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
"""The interim response sent before reading a body announced with ``Expect: 100-continue``."""
_LAST_CHUNK = b"0\r\n\r\n"
_CLOSE = b"Connection: close\r\n"
_KEEP_ALIVE = b"Connection: keep-alive\r\n"
_CHUNKED = b"Transfer-Encoding: chunked\r\n"
_SERVER_LINE = f"Server: {SERVER}\r\n".encode()

_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
# Fields the writer sets itself; an application's values for them are dropped.
_OWNED = frozenset({"content-length", "transfer-encoding", "date", "connection"})


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <status> <reason>\\r\\n``."""
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid status code {status}")
        line = f"HTTP/1.1 {status} Unknown\r\n".encode()
    return line


def date_line(epoch: float) -> bytes:
    """The ``Date`` field line for a wall-clock time in seconds since the epoch."""
    return f"Date: {formatdate(epoch, usegmt=True)}\r\n".encode()


def encode_chunk(data: bytes | bytearray | memoryview) -> bytes:
    """One chunk of a chunked body (empty data encodes to nothing)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _bodyless(status: int) -> bool:
    return status < 200 or status in (204, 304)


def _encode_fields(headers: Iterable[tuple[str, str]]) -> tuple[bytes, bool, bool]:
    """The application's fields as bytes, whether it asked to close, and
    whether it named the server itself."""
    parts: list[bytes] = []
    close = False
    has_server = False
    for name, value in headers:
        lname = name.lower()
        if not name or any(c in name for c in " \t\r\n:") or "\r" in value or "\n" in value:
            raise ValueError(f"invalid header field {name!r}: {value!r}")
        if lname in _OWNED:
            if lname == "connection":
                close = close or "close" in value.lower()
            continue
        has_server = has_server or lname == "server"
        parts.append(f"{name}: {value}\r\n".encode("latin-1"))
    return b"".join(parts), close, has_server


class PreparedHead:
    """A response head computed once: status line and fields, without
    ``Connection``, ``Date`` and the blank line that ends the head.

    It also remembers the last whole keep-alive HTTP/1.1 response built from
    it, keyed by the identity of the ``Date`` line and of the body: the
    ``Date`` line changes once a second, so every other response in that
    second is the same bytes object, built once.
    """

    __slots__ = ("_whole", "bodyless", "close", "data", "length", "status")

    def __init__(self, status: int, data: bytes, length: int, close: bool) -> None:
        self.status = status
        self.data = data
        self.length = length
        self.close = close
        self.bodyless = _bodyless(status)
        # (date line, body, response): one tuple, replaced whole, so a reader
        # never pairs one second's key with another's bytes.
        self._whole: tuple[bytes, bytes, bytes] = (b"", b"", b"")


def prepare_head(status: int, headers: Iterable[tuple[str, str]], length: int) -> PreparedHead:
    """Prepare the head of a response whose body is ``length`` bytes."""
    fields, close, has_server = _encode_fields(headers)
    parts = [status_line(status), fields]
    if not has_server:
        parts.append(_SERVER_LINE)
    if not _bodyless(status):
        parts.append(b"Content-Length: %d\r\n" % length)
    return PreparedHead(status, b"".join(parts), length, close)


class _Framing(enum.Enum):
    IDLE = enum.auto()  # no response started
    LENGTH = enum.auto()
    CHUNKED = enum.auto()
    UNTIL_CLOSE = enum.auto()
    NONE = enum.auto()  # no body may follow (HEAD, 204, 304)


class ResponseWriter:
    """Frames the responses of one connection, one at a time."""

    __slots__ = ("_framing", "_remaining", "must_close")

    def __init__(self) -> None:
        self._framing = _Framing.IDLE
        self._remaining = 0
        self.must_close = False

    def _connection(self, request: RequestHead | None, close: bool) -> bytes:
        if request is None or close or not request.keep_alive:
            self.must_close = True
            return _CLOSE
        self.must_close = False
        return b"" if request.version == "1.1" else _KEEP_ALIVE

    def prepared(
        self, request: RequestHead, head: PreparedHead, body: bytes, date: bytes
    ) -> bytes:
        """A whole response from a prepared head; ``body`` must match its length."""
        if (
            request.keep_alive
            and not head.close
            and request.version == "1.1"
            and request.method != "HEAD"
        ):
            # The hot path: no Connection field, the body unless bodyless.
            self.must_close = False
            whole = head._whole
            if whole[0] is date and whole[1] is body:
                return whole[2]
            data = b"".join((head.data, date, b"\r\n", b"" if head.bodyless else body))
            head._whole = (date, body, data)
            return data
        conn = self._connection(request, head.close)
        if request.method == "HEAD" or head.bodyless:
            body = b""
        return b"".join((head.data, conn, date, b"\r\n", body))

    def response(
        self,
        request: RequestHead | None,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        date: bytes,
        *,
        close: bool = False,
    ) -> bytes:
        """A whole response with a body known in advance.

        ``request`` is ``None`` when no head could be parsed (an error
        response); ``close`` forces the connection to end after it.
        """
        head = prepare_head(status, headers, len(body))
        if close:
            head.close = True
        if request is None:
            conn = self._connection(None, True)
            return b"".join((head.data, conn, date, b"\r\n", body))
        return self.prepared(request, head, body, date)

    def start(
        self,
        request: RequestHead,
        status: int,
        headers: Iterable[tuple[str, str]],
        date: bytes,
        *,
        length: int | None = None,
        close: bool = False,
    ) -> bytes:
        """The head of a response whose body follows through :meth:`body`.

        With ``length`` the body is sent as is (it must add up to it);
        without, it is chunked for HTTP/1.1 and delimited by the close of
        the connection for HTTP/1.0.  ``close`` forces the connection to end
        after it.
        """
        fields, app_close, has_server = _encode_fields(headers)
        close = close or app_close
        parts = [status_line(status), fields]
        if not has_server:
            parts.append(_SERVER_LINE)
        if _bodyless(status):
            self._framing = _Framing.NONE
        elif length is not None:
            parts.append(b"Content-Length: %d\r\n" % length)
            self._framing = _Framing.LENGTH
            self._remaining = length
        elif request.version == "1.1":
            parts.append(_CHUNKED)
            self._framing = _Framing.CHUNKED
        else:
            self._framing = _Framing.UNTIL_CLOSE
            close = True
        if request.method == "HEAD":
            self._framing = _Framing.NONE
        parts.append(self._connection(request, close))
        parts.append(date)
        parts.append(b"\r\n")
        return b"".join(parts)

    def body(self, data: bytes) -> bytes:
        """The bytes that carry ``data`` as part of the body."""
        framing = self._framing
        if framing is _Framing.CHUNKED:
            return encode_chunk(data)
        if framing is _Framing.LENGTH:
            if len(data) > self._remaining:
                raise ValueError("body longer than its Content-Length")
            self._remaining -= len(data)
            return data
        if framing is _Framing.UNTIL_CLOSE:
            return data
        if framing is _Framing.IDLE:
            raise RuntimeError("no response started")
        return b""

    def end(self) -> bytes:
        """The bytes that end the body; the writer is then ready for the next response."""
        framing = self._framing
        self._framing = _Framing.IDLE
        if framing is _Framing.CHUNKED:
            return _LAST_CHUNK
        if framing is _Framing.LENGTH and self._remaining:
            # The body fell short: the peer cannot find the next response.
            self.must_close = True
        return b""
