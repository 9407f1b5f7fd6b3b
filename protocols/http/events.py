"""The vocabulary of the HTTP/1.1 parser: events, header fields, limits, errors.

A request arrives as ``RequestHead``, then ``Data`` pieces of its body, then
``EndOfMessage``.  Every fault of the peer is an :class:`HTTPError` carrying
the status code to answer with before closing the connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reactor.protocol import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "NEED_DATA",
    "BadRequest",
    "BodyTooLarge",
    "Data",
    "EndOfMessage",
    "Event",
    "HTTPError",
    "HeaderTooLarge",
    "Headers",
    "Limits",
    "NeedData",
    "RequestHead",
    "UnsupportedTransferCoding",
    "UnsupportedVersion",
]


class HTTPError(ProtocolError):
    """The peer broke HTTP; :attr:`status` is the response to send before closing."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HTTPError):
    """Malformed syntax or contradictory framing (400)."""

    status = 400


class BodyTooLarge(HTTPError):
    """The body is over :attr:`Limits.max_body` (413)."""

    status = 413


class HeaderTooLarge(HTTPError):
    """Request line, head size or header count over the limits (431)."""

    status = 431


class UnsupportedTransferCoding(HTTPError):
    """A transfer coding other than ``chunked`` (501)."""

    status = 501


class UnsupportedVersion(HTTPError):
    """An HTTP major version other than 1 (505)."""

    status = 505


class Limits:
    """What one request may cost; every limit is a clear error, not a hang."""

    __slots__ = ("max_body", "max_chunk_line", "max_head", "max_headers", "max_request_line")

    def __init__(
        self,
        *,
        max_request_line: int = 8192,
        max_head: int = 16384,
        max_headers: int = 100,
        max_body: int = 1 << 20,
        max_chunk_line: int = 1024,
    ) -> None:
        self.max_request_line = max_request_line
        self.max_head = max_head
        self.max_headers = max_headers
        self.max_body = max_body
        self.max_chunk_line = max_chunk_line


class Headers:
    """Header fields in arrival order; names are matched case-insensitively.

    Names are stored lower-cased, values as sent (decoded as Latin-1, the
    octets' own values).  Repeated names are kept, in order.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]] | None = None) -> None:
        self._fields = [] if fields is None else [(n.lower(), v) for n, v in fields]

    @classmethod
    def _trusted(cls, fields: list[tuple[str, str]]) -> Headers:
        # The parser's fields are lower-cased already.
        obj = cls.__new__(cls)
        obj._fields = fields
        return obj

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        name = name.lower()
        for n, v in self._fields:
            if n == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        name = name.lower()
        return [v for n, v in self._fields if n == name]

    def items(self) -> list[tuple[str, str]]:
        """``(lower-cased name, value)`` pairs in order."""
        return list(self._fields)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lower()
        return any(n == name for n, _ in self._fields)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._fields == other._fields
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


class RequestHead:
    """The request line and header fields, with what they mean for framing."""

    __slots__ = (
        "chunked",
        "content_length",
        "expect_continue",
        "headers",
        "keep_alive",
        "method",
        "target",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: Headers,
        *,
        keep_alive: bool,
        expect_continue: bool = False,
        content_length: int = 0,
        chunked: bool = False,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version  # "1.0" or "1.1"
        self.headers = headers
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.content_length = content_length  # 0 when chunked
        self.chunked = chunked

    @property
    def has_body(self) -> bool:
        """Whether body bytes follow the head."""
        return self.chunked or self.content_length > 0

    def _key(self) -> tuple[object, ...]:
        return (
            self.method,
            self.target,
            self.version,
            self.headers,
            self.keep_alive,
            self.expect_continue,
            self.content_length,
            self.chunked,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RequestHead):
            return self._key() == other._key()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<RequestHead {self.method} {self.target} HTTP/{self.version}>"


class Data:
    """A piece of the request body (never empty)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Data):
            return self.data == other.data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Data({self.data!r})"


class EndOfMessage:
    """The request is complete; chunked bodies may carry trailer fields."""

    __slots__ = ("trailers",)

    def __init__(self, trailers: Headers | None = None) -> None:
        self.trailers = Headers() if trailers is None else trailers

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EndOfMessage):
            return self.trailers == other.trailers
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EndOfMessage({self.trailers!r})"


class NeedData:
    """The type of :data:`NEED_DATA`: no complete event is buffered."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()

Event = RequestHead | Data | EndOfMessage
"""What :meth:`RequestParser.next_event` returns besides ``NEED_DATA``."""
