"""A sans-I/O HTTP/1.1 request parser: bytes in, events out.

Theory of operation.  :meth:`RequestParser.feed` appends bytes;
:meth:`RequestParser.next_event` returns the next complete event or
:data:`NEED_DATA`.  One request is always the sequence::

    RequestHead  Data*  EndOfMessage

and pipelined requests simply follow one another in the buffer: after the
``EndOfMessage`` of a keep-alive request the parser is ready for the next
head, so a caller that wants to answer in order pulls one request, answers
it, and only then pulls the next.  After a request that ends the connection
(``Connection: close``, or HTTP/1.0 without ``keep-alive``) the parser stops
and ignores whatever follows.

The buffer is the caller's ``bytes`` object itself while it is consumed in
place (the common case: one read holds whole requests), and becomes a
``bytearray`` only when a request is split across reads.  The search for the
end of a head resumes where the last one stopped, so a peer that trickles a
head byte by byte costs linear, not quadratic, work.  A complete head is
first offered to a fast path (:func:`_simple_head`: one anchored match for
the whole head, one split into lines); whatever it does not take, well
formed or not, goes through the general path, which alone raises errors.

Every fault of the peer raises an :class:`HTTPError` subclass carrying the
status code to answer with; after one the parser is unusable and the
connection should be closed.  Deliberate limits: lines must end in CRLF
(bare LF is refused, as are obsolete line folds), and ``chunked`` is the only
transfer coding understood.
"""

from __future__ import annotations

import enum
import re

from protocols.http.events import (
    NEED_DATA,
    BadRequest,
    BodyTooLarge,
    Data,
    EndOfMessage,
    Event,
    Headers,
    HeaderTooLarge,
    HTTPError,
    Limits,
    NeedData,
    RequestHead,
    UnsupportedTransferCoding,
    UnsupportedVersion,
)

__all__ = ["RequestParser"]

_END = EndOfMessage()  # shared by every request without trailers (never mutated)


class _State(enum.Enum):
    HEAD = enum.auto()
    BODY = enum.auto()
    CHUNK_SIZE = enum.auto()
    CHUNK_DATA = enum.auto()
    CHUNK_END = enum.auto()
    TRAILERS = enum.auto()
    END = enum.auto()  # body complete, EndOfMessage not yet returned
    CLOSED = enum.auto()  # the connection ends after this request
    ERROR = enum.auto()


# The states as module constants: a global is read several times faster
# than an enum's attribute, and next_event() reads a few per call.
_ST_HEAD = _State.HEAD
_ST_BODY = _State.BODY
_ST_CHUNK_SIZE = _State.CHUNK_SIZE
_ST_CHUNK_DATA = _State.CHUNK_DATA
_ST_CHUNK_END = _State.CHUNK_END
_ST_TRAILERS = _State.TRAILERS
_ST_END = _State.END
_ST_CLOSED = _State.CLOSED
_ST_ERROR = _State.ERROR


_TCHARS = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rf"({_TCHARS}) ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
_FIELD_LINES = re.compile(rf"^({_TCHARS}):[ \t]*(.*?)[ \t]*\r$", re.MULTILINE)
_FRAMING_FIELDS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "expect"}
)
# Control characters other than HTAB, CR and LF; CR and LF are checked by count.
# The head of the fast path: HTTP/1.0 or 1.1, field values free of control
# characters other than HTAB (RFC 9110, 5.5), lines ended by CRLF.
_SIMPLE_HEAD = re.compile(
    rf"({_TCHARS}) ([\x21-\x7e]+) HTTP/1\.([01])\r\n"
    rf"((?:{_TCHARS}:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*)"
)
_CTL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CTL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_TOKEN = re.compile(_TCHARS)
# Optional whitespace is SP and HTAB only (RFC 9110, 5.6.3).  Never trim with
# a bare str.strip(): on a head decoded as Latin-1 it also strips NEL (0x85)
# and NBSP (0xA0), so ``Content-Length: 5\xa0`` would read as 5 and
# ``Transfer-Encoding: chunked\xa0`` as chunked where other servers and
# proxies refuse them: a request smuggling desync.
_OWS = " \t"
# uri-host [":" port] (RFC 9112, 3.2; RFC 3986, 3.2.2): an IP literal or a
# reg-name.  The comma, a sub-delim, is refused: ``Host: a, b`` names several
# hosts, which RFC 9112 answers with 400 like several Host fields.
# Host values already found valid: a server sees few of them, and a dict
# lookup costs a tenth of the match.  Bounded: emptied when full, so a peer
# sending ever new hosts only pays the match each time.
_valid_hosts: dict[str, None] = {}
_VALID_HOSTS_MAX = 256
_HOST = re.compile(r"(?:\[[0-9A-Za-z:._~!$&'()*+;=-]+\]|[0-9A-Za-z._~!$&'()*+;=%-]*)(?::[0-9]*)?")


class RequestParser:
    """Parses the requests of one connection; see the module docstring."""

    __slots__ = (
        "_body_seen",
        "_buf",
        "_error",
        "_head",
        "_limits",
        "_pos",
        "_remaining",
        "_scanned",
        "_state",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = Limits() if limits is None else limits
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self._scanned = 0  # bytes after _pos known not to start the head's end
        self._state = _ST_HEAD
        self._remaining = 0  # body or chunk bytes still expected
        self._body_seen = 0
        self._head: RequestHead | None = None
        self._error: HTTPError | None = None

    # -- input -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append bytes from the peer (ignored once the connection must close)."""
        if self._state is _ST_CLOSED or not data:
            return
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            self._buf = data
            self._pos = 0
        elif isinstance(buf, bytearray):
            if pos:
                del buf[:pos]
                self._pos = 0
            buf += data
        else:
            grown = bytearray(memoryview(buf)[pos:])
            grown += data
            self._buf = grown
            self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as events."""
        return len(self._buf) - self._pos

    @property
    def idle(self) -> bool:
        """True between requests with nothing buffered."""
        return self._state is _ST_HEAD and self._pos >= len(self._buf)

    @property
    def in_head(self) -> bool:
        """True while a request's head has started but is incomplete."""
        return self._state is _ST_HEAD and self._pos < len(self._buf)

    @property
    def closed(self) -> bool:
        """True after the last request of a connection that must close."""
        return self._state is _ST_CLOSED

    @property
    def current(self) -> RequestHead | None:
        """The head of the request being read, if any."""
        return self._head

    # -- output ------------------------------------------------------------------

    def next_event(self) -> Event | NeedData:
        """The next complete event, or :data:`NEED_DATA`.

        Raises an :class:`HTTPError` subclass on a fault of the peer; after
        that every call raises it again.
        """
        state = self._state
        try:
            if state is _ST_HEAD:
                if self._pos >= len(self._buf):
                    return NEED_DATA
                return self._next_head()
            if state is _ST_END:
                return self._finish(_END)
            if state is _ST_BODY:
                return self._next_body()
            if state is _ST_ERROR:
                assert self._error is not None
                raise self._error
            if state is _ST_CLOSED:
                return NEED_DATA
            return self._next_chunked()
        except HTTPError as exc:
            self._state = _ST_ERROR
            self._error = exc
            raise

    def _finish(self, event: EndOfMessage) -> EndOfMessage:
        head = self._head
        self._head = None
        if head is not None and head.keep_alive:
            self._state = _ST_HEAD
        else:
            self._state = _ST_CLOSED
            self._buf = b""
            self._pos = 0
        return event

    def _next_head(self) -> RequestHead | NeedData:
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            return NEED_DATA
        if buf[pos] == 13:  # CR
            # Tolerate empty lines before a request line (RFC 9112, section 2.2).
            while buf.startswith(b"\r\n", pos):
                pos += 2
            self._pos = pos
        end = buf.find(b"\r\n\r\n", pos + self._scanned)
        if end < 0:
            pending = len(buf) - pos
            limits = self._limits
            if pending > limits.max_head:
                raise HeaderTooLarge(f"request head over {limits.max_head} bytes")
            if (
                pending > limits.max_request_line
                and buf.find(b"\r\n", pos, pos + limits.max_request_line + 2) < 0
            ):
                raise HeaderTooLarge(f"request line over {limits.max_request_line} bytes")
            self._scanned = max(0, pending - 3)
            return NEED_DATA
        self._scanned = 0
        self._pos = end + 4
        head = self._parse_head(buf[pos : end + 2].decode("latin-1"))
        self._head = head
        if head.chunked:
            self._state = _ST_CHUNK_SIZE
        elif head.content_length:
            self._state = _ST_BODY
            self._remaining = head.content_length
        else:
            self._state = _ST_END
        self._body_seen = 0
        return head

    def _parse_head(self, text: str) -> RequestHead:
        # ``text`` is the head with every line's CRLF, the request line first.
        simple = _simple_head(text, self._limits)
        if simple is None:  # unusual, or wrong: the general path decides
            line_end = text.find("\r\n")
            method, target, version = self._request_line(text[:line_end])
            fields = _fields(text, line_end + 2, self._limits, "request head")
        else:
            method, target, version, fields = simple
        length: str | None = None
        codings: str | None = None
        connection: str | None = None
        expect = False
        hosts = 0
        host = ""
        for name, value in fields:
            if name not in _FRAMING_FIELDS:
                continue
            if name == "host":
                hosts += 1
                host = value
            elif name == "content-length":
                length = value if length is None else f"{length},{value}"
            elif name == "transfer-encoding":
                codings = value if codings is None else f"{codings},{value}"
            elif name == "connection":
                connection = value if connection is None else f"{connection},{value}"
            else:  # expect
                expect = expect or value.lower() == "100-continue"
        if hosts != 1 or host not in _valid_hosts or target == "*":
            _check_routing(method, target, version, hosts, host)
        if length is None and codings is None:
            content_length, chunked = 0, False
        else:
            content_length, chunked = self._framing(version, length, codings)
        return RequestHead(
            method,
            target,
            version,
            Headers._trusted(fields),
            keep_alive=version == "1.1"
            if connection is None
            else _keep_alive(version, connection),
            expect_continue=expect and version == "1.1",
            content_length=content_length,
            chunked=chunked,
        )

    def _request_line(self, line: str) -> tuple[str, str, str]:
        if len(line) > self._limits.max_request_line:
            raise HeaderTooLarge(f"request line over {self._limits.max_request_line} bytes")
        m = _REQUEST_LINE.fullmatch(line)
        if m is None:
            raise BadRequest("malformed request line")
        method, target, major, minor = m.groups()
        if major != "1":
            raise UnsupportedVersion(f"HTTP/{major}.{minor} is not supported")
        return method, target, "1.0" if minor == "0" else "1.1"

    def _framing(self, version: str, length: str | None, codings: str | None) -> tuple[int, bool]:
        """``(content_length, chunked)`` from the framing fields (RFC 9112, 6.3)."""
        if codings is None:
            return (0 if length is None else self._content_length(length)), False
        if length is not None:
            raise BadRequest("both Content-Length and Transfer-Encoding")
        if version == "1.0":
            raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")
        names = [c.strip(_OWS).lower() for c in codings.split(",")]
        for name in names:
            if name != "chunked":
                if not name:
                    raise BadRequest("empty transfer coding")
                if _TOKEN.fullmatch(name.partition(";")[0].rstrip(_OWS)) is None:
                    raise BadRequest(f"malformed transfer coding {name!r}")
                raise UnsupportedTransferCoding(f"transfer coding {name!r}")
        if len(names) > 1:
            raise BadRequest("chunked applied more than once")
        return 0, True

    def _content_length(self, value: str) -> int:
        # Repeated or listed values are accepted only when all agree.
        values = {v.strip(_OWS) for v in value.split(",")}
        if len(values) != 1:
            raise BadRequest("conflicting Content-Length values")
        text = values.pop()
        if _DIGITS.fullmatch(text) is None:
            if text.isascii() and text.isdigit():
                raise BodyTooLarge("Content-Length beyond any limit")
            raise BadRequest("malformed Content-Length")
        length = int(text)
        if length > self._limits.max_body:
            raise BodyTooLarge(f"body of {length} bytes over {self._limits.max_body}")
        return length

    def _take(self, n: int) -> bytes:
        pos = self._pos
        self._pos = pos + n
        chunk = self._buf[pos : pos + n]
        return chunk if type(chunk) is bytes else bytes(chunk)

    def _next_body(self) -> Data | NeedData:
        available = len(self._buf) - self._pos
        if not available:
            return NEED_DATA
        n = min(available, self._remaining)
        self._remaining -= n
        if not self._remaining:
            self._state = _ST_END
        return Data(self._take(n))

    def _next_chunked(self) -> Data | EndOfMessage | NeedData:
        while True:
            state = self._state
            buf = self._buf
            pos = self._pos
            if state is _ST_CHUNK_SIZE:
                if not self._chunk_size_line():
                    return NEED_DATA
            elif state is _ST_CHUNK_DATA:
                available = len(buf) - pos
                if not available:
                    return NEED_DATA
                n = min(available, self._remaining)
                self._remaining -= n
                if not self._remaining:
                    self._state = _ST_CHUNK_END
                return Data(self._take(n))
            elif state is _ST_CHUNK_END:
                if len(buf) - pos < 2:
                    return NEED_DATA
                if not buf.startswith(b"\r\n", pos):
                    raise BadRequest("chunk data not followed by CRLF")
                self._pos = pos + 2
                self._state = _ST_CHUNK_SIZE
            else:  # TRAILERS
                return self._next_trailers()

    def _chunk_size_line(self) -> bool:
        """Consume a chunk size line; false if it is not complete yet."""
        limits = self._limits
        buf = self._buf
        pos = self._pos
        end = buf.find(b"\r\n", pos, pos + limits.max_chunk_line)
        if end < 0:
            if len(buf) - pos >= limits.max_chunk_line:
                raise BadRequest(f"chunk size line over {limits.max_chunk_line} bytes")
            return False
        size = _chunk_size(bytes(buf[pos:end]))
        self._pos = end + 2
        if size == 0:
            self._state = _ST_TRAILERS
            return True
        if self._body_seen + size > limits.max_body:
            raise BodyTooLarge(f"chunked body over {limits.max_body} bytes")
        self._body_seen += size
        self._remaining = size
        self._state = _ST_CHUNK_DATA
        return True

    def _next_trailers(self) -> EndOfMessage | NeedData:
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < 2:
            return NEED_DATA
        if buf.startswith(b"\r\n", pos):
            self._pos = pos + 2
            return self._finish(_END)
        end = buf.find(b"\r\n\r\n", pos)
        limits = self._limits
        if end < 0:
            if len(buf) - pos > limits.max_head:
                raise HeaderTooLarge(f"trailer section over {limits.max_head} bytes")
            return NEED_DATA
        self._pos = end + 4
        text = buf[pos : end + 2].decode("latin-1")
        fields = _fields(text, 0, limits, "trailer section")
        return self._finish(EndOfMessage(Headers._trusted(fields)))


def _simple_head(text: str, limits: Limits) -> tuple[str, str, str, list[tuple[str, str]]] | None:
    """``(method, target, version, fields)`` of a plain, valid head, else None.

    The fast path: one anchored match checks the whole head, then one split
    and a partition per field line take it apart.  It accepts only what the
    general path (:meth:`RequestParser._request_line` and :func:`_fields`)
    accepts, with the same result, and returns None for anything else, well
    formed or not: the general path then parses it or raises the right error.
    """
    m = _SIMPLE_HEAD.fullmatch(text)
    if m is None:
        return None
    method, target, minor, block = m.groups()
    if len(text) - 2 > limits.max_head or m.start(4) - 2 > limits.max_request_line:
        return None
    fields: list[tuple[str, str]] = []
    if block:
        lines = block.split("\r\n")
        lines.pop()  # the block ends in CRLF
        if len(lines) > limits.max_headers:
            return None
        append = fields.append
        for line in lines:
            name, _, value = line.partition(":")
            append((name.lower(), value.strip(" \t")))
    return method, target, "1.1" if minor == "1" else "1.0", fields


def _fields(text: str, start: int, limits: Limits, what: str) -> list[tuple[str, str]]:
    """The ``(lower-cased name, value)`` pairs of the CRLF-ended lines of
    ``text`` from ``start``, checked against the limits.

    One ``findall`` does the work: the pattern is anchored at line starts and
    ends, so each match is one whole line, and the section is well formed
    exactly when every line matched.
    """
    if len(text) - 2 > limits.max_head:
        raise HeaderTooLarge(f"{what} over {limits.max_head} bytes")
    lines = text.count("\n", start)
    if lines > limits.max_headers:
        raise HeaderTooLarge(f"more than {limits.max_headers} fields in {what}")
    if text.count("\r", start) != lines or _CTL.search(text) is not None:
        raise BadRequest(f"bare CR or LF, or a control character, in {what}")
    found = _FIELD_LINES.findall(text, start)
    if len(found) != lines:
        raise BadRequest(f"malformed field line in {what}")
    if " \r" in text or "\t\r" in text:  # rare: whitespace after a value
        return [(name.lower(), value.rstrip(" \t")) for name, value in found]
    return [(name.lower(), value) for name, value in found]


def _check_routing(method: str, target: str, version: str, hosts: int, host: str) -> None:
    """Exactly one valid Host (RFC 9112, 3.2), ``*`` only for OPTIONS (3.2.4)."""
    if hosts == 1:
        if host not in _valid_hosts:
            if _HOST.fullmatch(host) is None:
                raise BadRequest("malformed Host, or several hosts in one field")
            if len(_valid_hosts) >= _VALID_HOSTS_MAX:
                _valid_hosts.clear()
            _valid_hosts[host] = None
    elif hosts or version == "1.1":
        raise BadRequest("an HTTP/1.1 request needs exactly one Host field")
    if target == "*" and method != "OPTIONS":
        raise BadRequest(f"asterisk-form target with {method}, not OPTIONS")


def _keep_alive(version: str, connection: str | None) -> bool:
    if connection is None:
        return version == "1.1"
    options = {t.strip(_OWS).lower() for t in connection.split(",")}
    options.discard("")  # empty list elements are allowed (RFC 9110, 5.6.1)
    for option in options:
        if _TOKEN.fullmatch(option) is None:
            raise BadRequest(f"malformed Connection option {option!r}")
    if "close" in options:
        return False
    return version == "1.1" or "keep-alive" in options


def _chunk_size(line: bytes) -> int:
    size_text, _, ext = line.partition(b";")
    size_text = size_text.rstrip(b" \t")
    if _HEX.fullmatch(size_text) is None or _CTL_BYTES.search(ext) is not None:
        raise BadRequest("malformed chunk size line")
    return int(size_text, 16)
