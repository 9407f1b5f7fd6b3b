"""The sans-I/O HTTP/1.1 request parser: whole, byte by byte, chunked, fuzzed."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.http.events import (
    NEED_DATA,
    BadRequest,
    BodyTooLarge,
    Data,
    EndOfMessage,
    Headers,
    HeaderTooLarge,
    HTTPError,
    Limits,
    RequestHead,
    UnsupportedTransferCoding,
    UnsupportedVersion,
)
from protocols.http.parser import RequestParser
from reactor.protocol import ProtocolError

Summary = tuple[str, str, str, list[tuple[str, str]], bytes, list[tuple[str, str]], bool]


def drain(parser: RequestParser) -> list[object]:
    events: list[object] = []
    for _ in range(100_000):
        event = parser.next_event()
        if event is NEED_DATA:
            return events
        events.append(event)
    raise AssertionError("parser never asked for data")


def parse(chunks: Iterable[bytes], limits: Limits | None = None) -> list[object]:
    parser = RequestParser(limits)
    events: list[object] = []
    for chunk in chunks:
        parser.feed(chunk)
        events.extend(drain(parser))
    return events


def summarise(events: list[object]) -> list[Summary]:
    """One tuple per complete request: head fields, joined body, trailers."""
    out: list[Summary] = []
    head: RequestHead | None = None
    body = bytearray()
    for event in events:
        if isinstance(event, RequestHead):
            assert head is None
            head, body = event, bytearray()
        elif isinstance(event, Data):
            assert head is not None and event.data
            body += event.data
        else:
            assert isinstance(event, EndOfMessage) and head is not None
            out.append(
                (
                    head.method,
                    head.target,
                    head.version,
                    head.headers.items(),
                    bytes(body),
                    event.trailers.items(),
                    head.keep_alive,
                )
            )
            head = None
    assert head is None, "a request was left incomplete"
    return out


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


SIMPLE = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n"


def test_simple_get_whole_and_bytewise() -> None:
    for chunks in ([SIMPLE], bytewise(SIMPLE)):
        events = parse(chunks)
        assert len(events) == 2
        head = events[0]
        assert isinstance(head, RequestHead)
        assert (head.method, head.target, head.version) == ("GET", "/index.html?q=1", "1.1")
        assert head.headers.get("HOST") == "example.com"
        assert head.keep_alive and not head.has_body
        assert events[1] == EndOfMessage()


def test_headers_case_insensitive_and_repeats_kept_in_order() -> None:
    raw = (
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Tag: one\r\nx-tag:two\r\n"
        b"Cookie: a=1\r\nX-TAG:   three  \r\n\r\n"
    )
    [(_, _, _, headers, _, _, _)] = summarise(parse([raw]))
    h = Headers(headers)
    assert h.get_all("X-Tag") == ["one", "two", "three"]
    assert h.get("x-TAG") == "one"
    assert "cookie" in h and "Cookie" in h and "missing" not in h
    assert h.get("missing") is None
    assert [n for n, _ in headers] == ["host", "x-tag", "x-tag", "cookie", "x-tag"]


def test_empty_header_value_and_obs_text() -> None:
    raw = b"GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n"
    [(_, _, _, headers, _, _, _)] = summarise(parse([raw]))
    assert ("x-empty", "") in headers
    assert ("x-latin", "caf\xe9") in headers


def test_content_length_body_whole_bytewise_and_with_trailing_data() -> None:
    raw = b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
    expected: list[Summary] = [
        ("POST", "/f", "1.1", [("host", "h"), ("content-length", "11")], b"hello world", [], True)
    ]
    assert summarise(parse([raw])) == expected
    assert summarise(parse(bytewise(raw))) == expected
    # Trailing data is the start of the next request, left buffered.
    parser = RequestParser()
    parser.feed(raw + b"GET / HT")
    assert summarise(drain(parser)) == expected
    assert parser.in_head and parser.buffered == 8


def test_chunked_body_with_extensions_and_trailers() -> None:
    raw = (
        b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"6 ; x\r\n world\r\n"
        b"0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n"
    )
    expected = [
        (
            "POST",
            "/up",
            "1.1",
            [("host", "h"), ("transfer-encoding", "Chunked")],
            b"hello world",
            [("x-checksum", "abc"), ("x-more", "1")],
            True,
        )
    ]
    assert summarise(parse([raw])) == expected
    assert summarise(parse(bytewise(raw))) == expected


def test_chunked_without_trailers_then_pipelined_request() -> None:
    raw = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n" + SIMPLE
    )
    got = summarise(parse(bytewise(raw)))
    assert [(m, body) for m, _, _, _, body, _, _ in got] == [("POST", b"abc"), ("GET", b"")]


def test_pipelined_requests_in_order() -> None:
    reqs = [f"GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n".encode() for i in range(50)]
    got = summarise(parse([b"".join(reqs)]))
    assert [t for _, t, _, _, _, _, _ in got] == [f"/{i}" for i in range(50)]


def test_leading_empty_lines_are_ignored() -> None:
    got = summarise(parse([b"\r\n\r\n" + SIMPLE]))
    assert len(got) == 1


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\nConnection: upgrade\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", True),
    ],
)
def test_keep_alive_rules(raw: bytes, keep_alive: bool) -> None:
    parser = RequestParser()
    parser.feed(raw + SIMPLE)
    events = drain(parser)
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.keep_alive is keep_alive
    if keep_alive:
        assert len(summarise(events)) == 2
    else:  # what follows a closing request is ignored
        assert len(events) == 2 and parser.closed
        parser.feed(SIMPLE)
        assert parser.next_event() is NEED_DATA


def test_expect_100_continue_only_for_http_11() -> None:
    raw = b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n"
    parser = RequestParser()
    parser.feed(raw)
    head = parser.next_event()
    assert isinstance(head, RequestHead) and head.expect_continue
    assert parser.next_event() is NEED_DATA  # waits for the body, which follows the 100
    parser.feed(b"ok")
    assert drain(parser) == [Data(b"ok"), EndOfMessage()]
    parser = RequestParser()
    parser.feed(b"PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n")
    head = parser.next_event()
    assert isinstance(head, RequestHead) and not head.expect_continue


def test_absolute_and_asterisk_targets() -> None:
    got = summarise(
        parse(
            [b"GET http://h/p?q HTTP/1.1\r\nHost: h\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"]
        )
    )
    assert [t for _, t, _, _, _, _, _ in got] == ["http://h/p?q", "*"]


def test_content_length_repeated_equal_values_accepted() -> None:
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc"
    assert summarise(parse([raw]))[0][4] == b"abc"


BAD: list[tuple[bytes, type[HTTPError]]] = [
    (b"GET / HTTP/1.1\r\n\r\n", BadRequest),  # no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BadRequest),
    (b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", BadRequest),
    (b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
    (b"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
    (b"GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
    (b"GET / HTTP/1\r\nHost: h\r\n\r\n", BadRequest),
    (b"GET / FTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
    (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", UnsupportedVersion),
    (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \xb2\r\n\r\n", BadRequest),
    (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        BadRequest,
    ),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", UnsupportedTransferCoding),
    (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        UnsupportedTransferCoding,
    ),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", BadRequest),
    (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\nbad trailer\r\n\r\n",
        BadRequest,
    ),
    # Only SP and HTAB are optional whitespace: NEL (0x85) and NBSP (0xA0),
    # which str.strip() removes, leave a framing field malformed (no desync).
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\xa0\r\n\r\nhello", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \x855\r\n\r\nhello", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\xa0\r\n\r\nhello", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x85chunked\r\n\r\n0\r\n\r\n", BadRequest),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \xa0\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\xa0\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: \x85keep-alive\r\n\r\n", BadRequest),
    # One host per request (RFC 9112, 3.2).
    (b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: a,b\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: a\xa0\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", BadRequest),
    (b"GET / HTTP/1.1\r\nHost: h:80:80\r\n\r\n", BadRequest),
    # The asterisk-form is for OPTIONS only (RFC 9112, 3.2.4).
    (b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
    (b"POST * HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", BadRequest),
    (b"options * HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest),
]


@pytest.mark.parametrize(("raw", "error"), BAD)
def test_malformed_requests(raw: bytes, error: type[HTTPError]) -> None:
    for chunks in ([raw], bytewise(raw)):
        with pytest.raises(error) as info:
            parse(chunks)
        assert isinstance(info.value, ProtocolError)
        assert info.value.status == error.status


def test_error_statuses() -> None:
    assert (BadRequest.status, HeaderTooLarge.status, BodyTooLarge.status) == (400, 431, 413)
    assert (UnsupportedTransferCoding.status, UnsupportedVersion.status) == (501, 505)


def test_error_is_sticky() -> None:
    parser = RequestParser()
    parser.feed(b"BAD\r\n\r\n")
    with pytest.raises(BadRequest):
        parser.next_event()
    parser.feed(SIMPLE)
    with pytest.raises(BadRequest):
        parser.next_event()


def test_request_line_limit_before_the_line_ends() -> None:
    limits = Limits(max_request_line=100, max_head=1000)
    parser = RequestParser(limits)
    parser.feed(b"GET /" + b"a" * 100)
    with pytest.raises(HeaderTooLarge):
        parser.next_event()
    # A complete but long line is refused too.
    with pytest.raises(HeaderTooLarge):
        parse([b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: h\r\n\r\n"], limits)


def test_head_size_limit_while_incomplete_and_complete() -> None:
    limits = Limits(max_head=200)
    parser = RequestParser(limits)
    parser.feed(b"GET / HTTP/1.1\r\nHost: h\r\n")
    assert parser.next_event() is NEED_DATA
    big = b"X-Pad: " + b"p" * 200 + b"\r\n"
    with pytest.raises(HeaderTooLarge):
        for b in bytewise(big):
            parser.feed(b)
            assert parser.next_event() is NEED_DATA
    with pytest.raises(HeaderTooLarge):
        parse([b"GET / HTTP/1.1\r\nHost: h\r\n" + big + b"\r\n"], limits)


def test_header_count_limit() -> None:
    limits = Limits(max_headers=10)
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(9))
    assert len(summarise(parse([b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n"], limits)))
    with pytest.raises(HeaderTooLarge) as info:
        parse([b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"X-A: 1\r\n\r\n"], limits)
    assert info.value.status == 431


def test_body_limit_content_length_refused_before_the_body() -> None:
    parser = RequestParser(Limits(max_body=10))
    parser.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n")
    with pytest.raises(BodyTooLarge) as info:
        parser.next_event()
    assert info.value.status == 413
    with pytest.raises(BodyTooLarge):
        parse([b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + b"9" * 40 + b"\r\n\r\n"])


def test_body_limit_chunked() -> None:
    limits = Limits(max_body=10)
    ok = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n"
    assert parse([ok + b"5\r\n67890\r\n0\r\n\r\n"], limits)
    with pytest.raises(BodyTooLarge):
        parse([ok + b"6\r\n678901\r\n0\r\n\r\n"], limits)
    with pytest.raises(BodyTooLarge):
        parse([ok + b"ffffffffffffffff\r\n"], limits)


def test_chunk_size_line_limit() -> None:
    limits = Limits(max_chunk_line=64)
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    with pytest.raises(BadRequest):
        parse([head + b"1;" + b"e" * 100], limits)


def test_trailer_limits() -> None:
    limits = Limits(max_head=100, max_headers=3)
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    with pytest.raises(HeaderTooLarge):
        parse([head + b"X: " + b"v" * 200], limits)
    with pytest.raises(HeaderTooLarge):
        parse([head + b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"], limits)


def test_state_properties() -> None:
    parser = RequestParser()
    assert (parser.idle, parser.in_head, parser.current) == (True, False, None)
    parser.feed(b"GET / HTTP/1.1\r\n")
    assert parser.next_event() is NEED_DATA
    assert (parser.idle, parser.in_head) == (False, True)
    parser.feed(b"Host: h\r\nContent-Length: 1\r\n\r\n")
    head = parser.next_event()
    assert parser.current is head and not parser.in_head
    parser.feed(b"x")
    assert drain(parser) == [Data(b"x"), EndOfMessage()]
    assert parser.idle


def test_byte_trickle_is_linear() -> None:
    # A head trickled byte by byte is searched incrementally; 16 KiB must be quick.
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: h\r\nX: ")
    for _ in range(16000):
        parser.feed(b"v")
        assert parser.next_event() is NEED_DATA
    parser.feed(b"\r\n\r\n")
    assert isinstance(parser.next_event(), RequestHead)


# -- hypothesis ---------------------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TCHAR, min_size=1, max_size=12)
values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=20,
).map(lambda s: s.replace(" ", ""))
targets = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30
).filter(lambda t: t != "*")  # the asterisk-form is for OPTIONS only
ows = st.text(alphabet=" \t", max_size=3)  # the only whitespace trimmed off a value
reserved = {"host", "content-length", "transfer-encoding", "connection", "expect"}
fields = st.lists(
    st.tuples(tokens.filter(lambda t: t.lower() not in reserved), values), max_size=8
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, Summary]:
    method = draw(tokens)
    target = draw(targets)
    extra = draw(fields)
    body = draw(st.binary(max_size=200))
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    if framing == "none":
        body = b""
    headers = [("Host", "example"), *extra]
    trailers: list[tuple[str, str]] = []
    # Framing values padded with optional whitespace; the padding is not part
    # of the value the parser returns.
    padded: dict[str, str] = {}
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
        padded["Content-Length"] = f"{draw(ows)}{len(body)}{draw(ows)}"
        wire_body = body
    elif framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        padded["Transfer-Encoding"] = (
            f"{draw(ows)}{draw(st.sampled_from(['chunked', 'Chunked', 'CHUNKED']))}{draw(ows)}"
        )
        sizes = draw(st.lists(st.integers(1, 50), max_size=10))
        parts, rest = [], body
        for size in sizes:
            if not rest:
                break
            parts.append(rest[:size])
            rest = rest[size:]
        if rest:
            parts.append(rest)
        trailers = draw(fields)
        wire_body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n"
        wire_body += b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in trailers) + b"\r\n"
    else:
        wire_body = b""
    wire = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
    wire += b"".join(f"{n}:{padded.get(n, v)}\r\n".encode("latin-1") for n, v in headers)
    wire += b"\r\n" + wire_body
    expected: Summary = (
        method,
        target,
        "1.1",
        [(n.lower(), padded.get(n, v).strip(" \t")) for n, v in headers],
        body,
        [(n.lower(), v) for n, v in trailers],
        True,
    )
    return wire, expected


@settings(max_examples=200, deadline=None)
@given(st.lists(requests(), min_size=1, max_size=4), st.data())
def test_any_valid_requests_cut_anywhere_parse_the_same(
    reqs: list[tuple[bytes, Summary]], data: st.DataObject
) -> None:
    wire = b"".join(w for w, _ in reqs)
    expected = [e for _, e in reqs]
    assert summarise(parse([wire])) == expected
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=20))
    assert summarise(parse(split_at(wire, cuts))) == expected


@settings(max_examples=30, deadline=None)
@given(requests())
def test_valid_request_bytewise(req: tuple[bytes, Summary]) -> None:
    wire, expected = req
    assert summarise(parse(bytewise(wire))) == [expected]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.data())
def test_garbage_raises_only_the_parser_error(garbage: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(garbage)), max_size=10))
    try:
        parse(split_at(garbage, cuts), Limits(max_head=256, max_body=64))
    except HTTPError as exc:
        assert exc.status in (400, 413, 431, 501, 505)


@settings(max_examples=300, deadline=None)
@given(requests(), st.integers(0, 400), st.binary(min_size=1, max_size=4))
def test_mutated_requests_raise_only_the_parser_error(
    req: tuple[bytes, Summary], where: int, noise: bytes
) -> None:
    wire = req[0]
    where = min(where, len(wire))
    mutated = wire[:where] + noise + wire[where + len(noise) :]
    with contextlib.suppress(HTTPError):
        parse([mutated])
