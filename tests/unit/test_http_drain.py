"""HTTPHandler.drain_requested on a fake loop: finish what was started, then close.

An idle keep-alive connection closes at once.  Requests already started are
answered in order; the response after which nothing more is buffered carries
``Connection: close``, and the connection closes once it is written.
"""

from __future__ import annotations

from collections.abc import Iterator

from protocols.http.app import App, Request, Response
from tests.unit.test_http_server import GET, closed, echo_app, feed, make, responses


def test_idle_keep_alive_connection_closes_at_once() -> None:
    loop, transport, handler = make()
    feed(handler, transport, GET)
    assert responses(transport.take())[0][0] == 200
    loop.advance(1.0)  # idle: quiet for DRAIN_QUIET
    handler.drain_requested()
    assert closed(transport) and not transport.aborted
    assert transport.take() == b""
    assert loop.live_timers() == 0


def test_a_connection_just_used_answers_its_next_request_with_close() -> None:
    # A client in the middle of a stream of requests (wrk, a keep-alive pool)
    # may have the next one on the way: closing now would race it.
    loop, transport, handler = make()
    feed(handler, transport, GET)
    transport.take()
    handler.drain_requested()
    assert not closed(transport)
    loop.advance(0.5)
    feed(handler, transport, GET)
    [(status, headers, _)] = responses(transport.take())
    assert status == 200 and headers[b"connection"] == b"close"
    assert closed(transport)
    assert loop.live_timers() == 0


def test_a_connection_just_used_closes_once_quiet() -> None:
    loop, transport, handler = make()
    feed(handler, transport, GET)
    transport.take()
    handler.drain_requested()
    assert not closed(transport)
    loop.advance(1.0)
    assert closed(transport) and not transport.aborted
    assert transport.take() == b""


def test_a_new_connection_with_nothing_sent_closes_at_once() -> None:
    _, transport, handler = make()
    handler.drain_requested()
    assert closed(transport) and transport.take() == b""


def test_a_body_in_progress_is_finished_and_answered_with_close() -> None:
    loop, transport, handler = make(echo_app())
    feed(handler, transport, b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
    handler.drain_requested()
    loop.settle()
    assert not closed(transport)
    feed(handler, transport, b"world")
    [(status, headers, body)] = responses(transport.take(), ["POST"])
    assert (status, body) == (200, b"helloworld")
    assert headers[b"connection"] == b"close"
    assert closed(transport) and not transport.aborted


def test_a_partial_head_is_finished_and_answered_with_close() -> None:
    _, transport, handler = make()
    feed(handler, transport, b"GET / HTTP/1.1\r\nHo")
    handler.drain_requested()
    assert not closed(transport)
    feed(handler, transport, b"st: h\r\n\r\n")
    [(status, headers, _)] = responses(transport.take())
    assert status == 200 and headers[b"connection"] == b"close"
    assert closed(transport)


def test_pipelined_requests_received_are_all_answered_the_last_with_close() -> None:
    loop, transport, handler = make(echo_app(), pipeline_budget=2)
    wire = b"".join(b"GET /n?i=%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(5))
    feed(handler, transport, wire)  # two answered, three wait for the next turn
    handler.drain_requested()
    assert not closed(transport)
    loop.settle()
    got = responses(transport.take())
    assert [b for _, _, b in got] == [b"0", b"1", b"2", b"3", b"4"]
    assert [h.get(b"connection") for _, h, _ in got] == [None, None, None, None, b"close"]
    assert closed(transport)


def test_a_pipelined_partial_request_is_waited_for() -> None:
    _, transport, handler = make(echo_app())
    feed(handler, transport, b"GET /n?i=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /n?i=2 HT")
    handler.drain_requested()
    feed(handler, transport, b"TP/1.1\r\nHost: h\r\n\r\n")
    got = responses(transport.take())
    assert [(b, h.get(b"connection")) for _, h, b in got] == [(b"1", None), (b"2", b"close")]
    assert closed(transport)


def test_a_streaming_response_is_finished_then_the_connection_closes() -> None:
    def gen() -> Iterator[bytes]:
        yield from (b"part%d;" % i for i in range(6))

    app = App(fallback=lambda request: Response(200, [], gen()))
    loop, transport, handler = make(app)
    real_write = transport.write

    def write(data: bytes | bytearray | memoryview) -> None:
        real_write(data)
        if b"part1;" in bytes(data):
            handler.pause_writing()

    transport.write = write  # type: ignore[method-assign]
    feed(handler, transport, GET)
    handler.drain_requested()
    assert not closed(transport)  # the stream is in flight
    handler.resume_writing()
    loop.settle()
    [(status, headers, body)] = responses(transport.take())
    assert status == 200 and body == b"".join(b"part%d;" % i for i in range(6))
    assert headers[b"transfer-encoding"] == b"chunked"  # complete, then the close
    assert closed(transport) and not transport.aborted


def test_a_response_streamed_after_the_drain_says_close() -> None:
    app = App(fallback=lambda request: Response(200, [], iter([b"a", b"b"])))
    _, transport, handler = make(app)
    feed(handler, transport, b"GET / HTTP/1.1\r\nHo")
    handler.drain_requested()
    feed(handler, transport, b"st: h\r\n\r\n")
    [(status, headers, body)] = responses(transport.take())
    assert (status, body, headers[b"connection"]) == (200, b"ab", b"close")
    assert closed(transport)


def test_drain_after_close_is_harmless() -> None:
    def hello(request: Request) -> Response:
        return Response.text("bye")

    _, transport, handler = make(App(fallback=hello))
    feed(handler, transport, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert closed(transport)
    handler.drain_requested()
    handler.connection_lost(None)
    handler.drain_requested()
    assert responses(transport.take())[0][2] == b"bye"
