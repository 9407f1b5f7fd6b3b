"""The HTTP fast paths give exactly what the general paths give.

The parser reads a plain head with one anchored match and a split instead of
the general path's per-part checks; these tests generate heads, valid and
broken in the ways the general path refuses, and require the fast path to
either agree or step aside.  The handler batches whole responses to
pipelined requests into one write; the bytes must be those it would write
one by one.
"""

from __future__ import annotations

import itertools
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.http import parser as parser_module
from protocols.http.app import App, Request, Response, default_app
from protocols.http.events import NEED_DATA, Headers, HTTPError, Limits, RequestHead
from protocols.http.parser import RequestParser
from protocols.http.server import HTTPConfig, HTTPHandler
from protocols.http.writer import ResponseWriter, prepare_head
from tests.unit.test_http_server import NOW, FakeLoop, FakeTransport, feed

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Mostly plain characters, with the ones each rule is about mixed in.
tricky = st.sampled_from(list(" \t\r\n:\x00\x01\x0b\x7f\x80\xa0\xff/?"))
good_tokens = st.one_of(
    st.text(alphabet=TCHAR, min_size=1, max_size=10),
    st.sampled_from(
        ["GET", "HEAD", "OPTIONS", "Host", "Content-Length", "Transfer-Encoding", "Connection"]
    ),
    st.just("Expect"),
)
bad_tokens = st.one_of(
    st.just(""),
    st.text(alphabet=st.one_of(st.sampled_from(list(TCHAR)), tricky), max_size=8),
)
good_values = st.one_of(
    st.sampled_from(["", " x ", "\tx\t", "close", "keep-alive", "100-continue", "5", " 0 "]),
    # Framing values with whitespace other than SP and HTAB, and host lists:
    # both paths must refuse them alike.
    st.sampled_from(["5\xa0", "\x850", "chunked", "chunked\xa0", "\x85chunked", "close\x85"]),
    st.sampled_from(["a, b", "a,b", "h:80", "[::1]:80", "h\xa0", "\xa0h"]),
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    ),
)
bad_values = st.text(alphabet=st.one_of(st.characters(max_codepoint=0xFF), tricky), min_size=1)
good_targets = st.one_of(
    st.sampled_from(["/", "*", "/a?b=c", "http://h/x"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
)
bad_targets = st.one_of(
    st.just(""),
    st.text(alphabet=st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E), tricky)),
)
good_versions = st.sampled_from(["HTTP/1.1", "HTTP/1.0"])
bad_versions = st.sampled_from(["HTTP/1.5", "HTTP/2.0", "HTTP/1", "http/1.1", "HTTP/1.1 "])
good_separators = st.sampled_from([":", ": ", ":\t", ":  "])
bad_separators = st.sampled_from([" :", ""])


@st.composite
def heads(draw: st.DrawFn) -> str:
    """A request head, with every line's CRLF, as the parser decodes it.

    Each part is valid most of the time, so that about half the heads are
    valid and the rest are broken in one or two places.
    """

    def part(good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> str:
        return draw(bad if draw(st.integers(0, 15)) == 0 else good)

    method = part(good_tokens, bad_tokens)
    line = f"{method} {part(good_targets, bad_targets)} {part(good_versions, bad_versions)}"
    if draw(st.integers(0, 15)) == 0:
        line = line.replace(" ", draw(st.sampled_from(["  ", "\t"])), 1)
    lines = [line]
    for _ in range(draw(st.integers(0, 6))):
        name = part(good_tokens, bad_tokens)
        lines.append(
            f"{name}{part(good_separators, bad_separators)}{part(good_values, bad_values)}"
        )
    if draw(st.booleans()):
        lines.insert(1, "Host: h")
    text = "".join(f"{line}\r\n" for line in lines)
    if draw(st.booleans()):  # one odd character anywhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(tricky) + text[at:]
    return text


limits = st.sampled_from(
    [
        Limits(),
        Limits(max_request_line=12, max_head=40, max_headers=2),
        Limits(max_request_line=20, max_head=10_000, max_headers=1),
    ]
)


def general(text: str, lim: Limits) -> tuple[str, str, str, list[tuple[str, str]]]:
    parser = RequestParser(lim)
    line_end = text.find("\r\n")
    method, target, version = parser._request_line(text[:line_end])
    fields = parser_module._fields(text, line_end + 2, lim, "request head")
    return method, target, version, fields


@pytest.mark.timeout(240)  # 1,500 examples: minutes on a slow, loaded interpreter
@settings(max_examples=1500, deadline=None)
@given(heads(), limits)
def test_simple_head_agrees_with_the_general_path_or_steps_aside(text: str, lim: Limits) -> None:
    fast = parser_module._simple_head(text, lim)
    try:
        expected = general(text, lim)
    except HTTPError:
        assert fast is None
        return
    if fast is not None:
        assert fast == expected


def agrees(text: str, lim: Limits) -> bool:
    fast = parser_module._simple_head(text, lim)
    try:
        expected = general(text, lim)
    except HTTPError:
        return fast is None
    return fast is None or fast == expected


PLAINS = ["GET /a?b HTTP/1.1\r\nHost: h\r\nX-A:\tv w \r\nX-B:\r\n", "M * HTTP/1.0\r\nA:b\r\n"]
ODD = [*" \t\r\n:;/?\x00\x01\x0b\x0c\x1f\x7f\x80\x9f\xa0\xffAz0", "\r\n"]


@pytest.mark.parametrize("plain", PLAINS)
def test_every_single_character_edit_of_a_plain_head_agrees(plain: str) -> None:
    lim = Limits()
    assert parser_module._simple_head(plain, lim) is not None
    for at in range(len(plain)):
        for odd in ODD:
            assert agrees(plain[:at] + odd + plain[at:], lim)  # inserted
            assert agrees(plain[:at] + odd + plain[at + 1 :], lim)  # replaced
        assert agrees(plain[:at] + plain[at + 1 :], lim)  # deleted


def test_simple_head_takes_the_plain_heads() -> None:
    lim = Limits()
    text = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-A:\t v \t\r\nX-B:\r\n"
    assert parser_module._simple_head(text, lim) == (
        "GET",
        "/",
        "1.1",
        [("host", "127.0.0.1:8080"), ("x-a", "v"), ("x-b", "")],
    )
    assert parser_module._simple_head("GET * HTTP/1.0\r\n", lim) == ("GET", "*", "1.0", [])
    # Not plain: the general path decides.
    for text in (
        "GET / HTTP/1.2\r\nHost: h\r\n",
        "GET / HTTP/1.1\r\nHost : h\r\n",
        "GET / HTTP/1.1\r\nHost: h\rx\r\n",
        "GET / HTTP/1.1\r\nHost: \x01\r\n",
    ):
        assert parser_module._simple_head(text, lim) is None


def outcome(chunks: list[bytes], lim: Limits) -> tuple[list[object], tuple[type, str] | None]:
    parser = RequestParser(lim)
    events: list[object] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            for _ in range(10_000):
                event = parser.next_event()
                if event is NEED_DATA:
                    break
                events.append(event)
    except HTTPError as exc:
        return events, (type(exc), exc.message)
    return events, None


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=400, deadline=None)
@given(st.lists(heads(), min_size=1, max_size=3), limits, st.data())
def test_requests_cut_anywhere_give_the_same_events_on_either_path(
    texts: list[str], lim: Limits, data: st.DataObject
) -> None:
    wire = b"".join(t.encode("latin-1") + b"\r\n" for t in texts)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=8))
    chunks = split_at(wire, cuts)
    fast, fast_whole = outcome(chunks, lim), outcome([wire], lim)
    with mock.patch.object(parser_module, "_simple_head", lambda text, lim: None):
        slow, slow_whole = outcome(chunks, lim), outcome([wire], lim)
    # (A limit may be reported differently whole and cut, before and after
    # the head ends; the paths agree for the same cuts.)
    assert fast == slow
    assert fast_whole == slow_whole


# -- the handler's batched writes -----------------------------------------------


def answers(app: App, wire: bytes, budget: int, *, pipelined: bool) -> bytes:
    loop = FakeLoop()
    transport = FakeTransport(loop)
    # A fixed wall clock: runs compared byte for byte must not straddle a
    # second, whose tick would change the Date field between them.
    handler = HTTPHandler(
        app, HTTPConfig(pipeline_budget=budget), ("192.0.2.1", 1), wall_clock=lambda: NOW
    )
    handler.connection_made(transport)  # type: ignore[arg-type]
    parts = [wire] if pipelined else wire.split(b"\r\n\r\n")
    for i, part in enumerate(parts):
        feed(handler, transport, part if pipelined or i == len(parts) - 1 else part + b"\r\n\r\n")
        loop.settle()
    return transport.take()


def mixed_app() -> App:
    app = default_app()
    app.add("GET", "/big", lambda r: Response(200, [("X-Big", "1")], b"x" * 20_000))
    app.add("GET", "/text", lambda r: Response.text(f"{r.path} {r.query}"))
    app.add("POST", "/echo", lambda r: Response(200, None, r.body))
    return app


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
                b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n",
                b"GET /text?a=1 HTTP/1.1\r\nHost: h\r\n\r\n",
                b"GET /missing HTTP/1.1\r\nHost: h\r\n\r\n",
                b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
            ]
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 5),
)
def test_pipelined_answers_are_the_sequential_answers(requests: list[bytes], budget: int) -> None:
    wire = b"".join(requests)
    app = mixed_app()
    together = answers(app, wire, budget, pipelined=True)
    one_by_one = b"".join(answers(app, r, budget, pipelined=True) for r in requests)
    assert together == one_by_one


def test_pipelined_batch_is_one_write() -> None:
    loop = FakeLoop()
    transport = FakeTransport(loop)
    writes: list[bytes] = []
    original = transport.write

    def counting(data: bytes | bytearray | memoryview) -> None:
        writes.append(bytes(data))
        original(data)

    transport.write = counting  # type: ignore[method-assign]
    handler = HTTPHandler(default_app(), HTTPConfig(), ("192.0.2.1", 1))
    handler.connection_made(transport)  # type: ignore[arg-type]
    feed(handler, transport, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n" * 10)
    assert len(writes) == 1
    assert writes[0].count(b"Hello, World!") == 10


def test_cached_prepared_response_follows_the_date_and_the_body() -> None:
    writer = ResponseWriter()
    prep = prepare_head(200, [("Content-Type", "text/plain")], 2)
    head = RequestHead("GET", "/", "1.1", Headers(), keep_alive=True)
    date1, date2 = b"Date: one\r\n", b"Date: two\r\n"
    first = writer.prepared(head, prep, b"ab", date1)
    assert writer.prepared(head, prep, b"ab", date1) is first
    second = writer.prepared(head, prep, b"ab", date2)
    assert second.endswith(b"Date: two\r\n\r\nab")
    assert writer.prepared(head, prep, b"cd", date2).endswith(b"\r\n\r\ncd")


def test_plain_route_table_matches_the_general_lookup() -> None:
    seen: list[str] = []

    def record(request: Request) -> Response:
        seen.append(request.path)
        return Response.text("ok")

    app = App()
    app.add("GET", "/a", record)
    app.add("GET", "/a?b", record)  # never matched: a path has no query
    for target, status in [("/a", 200), ("/a?b", 200), ("/a?x", 200), ("http://h/a", 200)]:
        head = RequestHead("GET", target, "1.1", Headers([("Host", "h")]), keep_alive=True)
        assert app(Request(head)).status == status
    assert seen == ["/a", "/a", "/a", "/a"]
