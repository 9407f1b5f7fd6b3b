"""The response writer, read back by h11 as an independent HTTP/1.1 client."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.http.events import Headers, RequestHead
from protocols.http.writer import (
    CONTINUE,
    ResponseWriter,
    date_line,
    encode_chunk,
    prepare_head,
    status_line,
)

DATE = date_line(784111777.0)


def head(method: str = "GET", version: str = "1.1", keep_alive: bool = True) -> RequestHead:
    return RequestHead(method, "/", version, Headers([("Host", "h")]), keep_alive=keep_alive)


def h11_read(wire: bytes, method: str = "GET") -> list[object]:
    """What an h11 client that sent ``method`` makes of ``wire`` (h11 only
    speaks HTTP/1.1, which reads HTTP/1.0 framing as well)."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("Host", "h")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    events: list[object] = []
    for _ in range(1000):
        event = client.next_event()
        if event is h11.NEED_DATA or event is h11.PAUSED:
            break
        events.append(event)
        if isinstance(event, h11.ConnectionClosed):
            break
    return events


def fields(response: h11.Response) -> dict[bytes, bytes]:
    return {bytes(n): bytes(v) for n, v in response.headers}


def test_date_line_format() -> None:
    assert DATE == b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"


def test_status_lines() -> None:
    assert status_line(200) == b"HTTP/1.1 200 OK\r\n"
    assert status_line(431) == b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    assert status_line(599) == b"HTTP/1.1 599 Unknown\r\n"
    with pytest.raises(ValueError, match="invalid status"):
        status_line(42)


def test_prepared_keep_alive_response_h11() -> None:
    prep = prepare_head(200, [("Content-Type", "text/plain")], 13)
    writer = ResponseWriter()
    wire = writer.prepared(head(), prep, b"Hello, World!", DATE)
    assert not writer.must_close
    assert b"Connection" not in wire
    resp, data, end = h11_read(wire)
    assert isinstance(resp, h11.Response) and resp.status_code == 200
    got = fields(resp)
    assert got[b"content-length"] == b"13"
    assert got[b"server"] == b"selreactor"
    assert got[b"date"] == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert isinstance(data, h11.Data) and data.data == b"Hello, World!"
    assert isinstance(end, h11.EndOfMessage)


def test_http10_keep_alive_and_close() -> None:
    prep = prepare_head(200, [], 2)
    writer = ResponseWriter()
    wire = writer.prepared(head(version="1.0"), prep, b"hi", DATE)
    assert b"Connection: keep-alive\r\n" in wire and not writer.must_close
    writer = ResponseWriter()
    wire = writer.prepared(head(version="1.0", keep_alive=False), prep, b"hi", DATE)
    assert b"Connection: close\r\n" in wire and writer.must_close
    resp = h11_read(wire)[0]
    assert isinstance(resp, h11.Response) and resp.status_code == 200


def test_app_connection_close_and_owned_fields() -> None:
    writer = ResponseWriter()
    wire = writer.response(
        head(),
        200,
        [("Connection", "close"), ("Content-Length", "99"), ("Date", "x"), ("X-A", "1")],
        b"abc",
        DATE,
    )
    assert writer.must_close
    assert wire.count(b"Content-Length") == 1 and b"Content-Length: 3\r\n" in wire
    assert b"Date: x" not in wire and b"X-A: 1\r\n" in wire
    resp, data, _ = h11_read(wire)
    assert isinstance(resp, h11.Response) and fields(resp)[b"connection"] == b"close"
    assert isinstance(data, h11.Data) and data.data == b"abc"


def test_custom_server_field_replaces_ours() -> None:
    wire = ResponseWriter().response(head(), 200, [("Server", "mine")], b"", DATE)
    assert wire.count(b"Server:") == 1 and b"Server: mine\r\n" in wire


def test_error_response_without_request_closes() -> None:
    writer = ResponseWriter()
    wire = writer.response(None, 400, [], b"Bad Request\n", DATE)
    assert writer.must_close and b"Connection: close\r\n" in wire
    resp = h11_read(wire)[0]
    assert isinstance(resp, h11.Response) and resp.status_code == 400


def test_head_request_keeps_length_drops_body() -> None:
    writer = ResponseWriter()
    wire = writer.response(head("HEAD"), 200, [], b"twelve bytes", DATE)
    assert wire.endswith(b"\r\n\r\n") and b"Content-Length: 12\r\n" in wire
    resp, end = h11_read(wire, method="HEAD")
    assert isinstance(resp, h11.Response) and isinstance(end, h11.EndOfMessage)


def test_bodyless_statuses() -> None:
    wire = ResponseWriter().response(head(), 204, [], b"", DATE)
    assert b"Content-Length" not in wire
    resp, end = h11_read(wire)
    assert isinstance(resp, h11.Response) and resp.status_code == 204
    assert isinstance(end, h11.EndOfMessage)


def test_chunked_stream_h11() -> None:
    writer = ResponseWriter()
    wire = writer.start(head(), 200, [("Content-Type", "text/plain")], DATE)
    assert b"Transfer-Encoding: chunked\r\n" in wire
    for part in (b"one ", b"", b"two ", b"three"):
        wire += writer.body(part)
    wire += writer.end()
    assert not writer.must_close
    events = h11_read(wire)
    assert b"".join(e.data for e in events if isinstance(e, h11.Data)) == b"one two three"
    assert isinstance(events[-1], h11.EndOfMessage)


def test_stream_with_length() -> None:
    writer = ResponseWriter()
    wire = writer.start(head(), 200, [], DATE, length=6)
    wire += writer.body(b"abc") + writer.body(b"def") + writer.end()
    assert b"Content-Length: 6\r\n" in wire and not writer.must_close
    events = h11_read(wire)
    assert b"".join(e.data for e in events if isinstance(e, h11.Data)) == b"abcdef"
    with pytest.raises(ValueError, match="longer"):
        writer.start(head(), 200, [], DATE, length=1)
        writer.body(b"xx")


def test_stream_that_falls_short_must_close() -> None:
    writer = ResponseWriter()
    writer.start(head(), 200, [], DATE, length=6)
    writer.body(b"abc")
    writer.end()
    assert writer.must_close


def test_stream_to_http10_is_delimited_by_close() -> None:
    writer = ResponseWriter()
    wire = writer.start(head(version="1.0"), 200, [], DATE)
    assert b"Transfer-Encoding" not in wire and b"Content-Length" not in wire
    assert writer.must_close and b"Connection: close\r\n" in wire
    wire += writer.body(b"raw") + writer.end()
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "h")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    client.receive_data(b"")
    got = []
    for _ in range(10):
        event = client.next_event()
        got.append(event)
        if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
    assert b"".join(e.data for e in got if isinstance(e, h11.Data)) == b"raw"


def test_head_stream_sends_no_body() -> None:
    writer = ResponseWriter()
    wire = writer.start(head("HEAD"), 200, [], DATE)
    assert writer.body(b"ignored") == b"" and writer.end() == b""
    resp, end = h11_read(wire, method="HEAD")
    assert isinstance(resp, h11.Response) and isinstance(end, h11.EndOfMessage)


def test_body_without_start_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        ResponseWriter().body(b"x")


def test_invalid_header_fields_are_refused() -> None:
    for bad in [("X\r\nY", "v"), ("X", "a\r\nInjected: 1"), ("", "v"), ("A B", "v")]:
        with pytest.raises(ValueError, match="invalid header"):
            prepare_head(200, [bad], 0)


def test_continue_and_chunk_encoding() -> None:
    assert CONTINUE == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert encode_chunk(b"") == b""
    assert encode_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([200, 201, 404, 500, 418]),
    st.lists(st.binary(max_size=100), max_size=10),
    st.booleans(),
)
def test_any_streamed_or_whole_body_reads_back_with_h11(
    status: int, chunks: list[bytes], streamed: bool
) -> None:
    writer = ResponseWriter()
    body = b"".join(chunks)
    if streamed:
        wire = writer.start(head(), status, [("X-S", "1")], DATE)
        wire += b"".join(writer.body(c) for c in chunks) + writer.end()
    else:
        wire = writer.response(head(), status, [("X-S", "1")], body, DATE)
    events = h11_read(wire)
    resp = events[0]
    assert isinstance(resp, h11.Response) and resp.status_code == status
    assert b"".join(e.data for e in events if isinstance(e, h11.Data)) == body
    assert isinstance(events[-1], h11.EndOfMessage)
