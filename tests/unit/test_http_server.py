"""The HTTP handler driven by a fake transport and loop: no sockets, fake time."""

from __future__ import annotations

import heapq
import itertools
import json
import logging
from collections.abc import Callable, Iterator

import h11
import pytest

from protocols.http.app import App, Request, Response, default_app
from protocols.http.events import Limits
from protocols.http.plugin import HTTPPlugin, load_app
from protocols.http.server import HTTPConfig, HTTPHandler, current_date
from reactor.testing import FakeClock

PEER = ("192.0.2.7", 40000)
NOW = 784111777.9  # the wall clock of the handlers made by make(): a fixed Date
DATE = b"Sun, 06 Nov 1994 08:49:37 GMT"


class FakeTimer:
    def __init__(self, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        self.callback = callback
        self.args = args
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled


class FakeLoop:
    """Enough of the reactor for a handler: time, callbacks, the table."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.ready: list[FakeTimer] = []
        self.timers: list[tuple[float, int, FakeTimer]] = []
        self.seq = itertools.count()
        self.table: dict[int, FakeTransport] = {}

    @property
    def connections(self) -> dict[int, FakeTransport]:
        return self.table

    def time(self) -> float:
        return self.clock()

    def call_soon(self, callback: Callable[..., object], *args: object) -> FakeTimer:
        timer = FakeTimer(callback, args)
        self.ready.append(timer)
        return timer

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> FakeTimer:
        return self.call_at(self.clock() + delay, callback, *args)

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> FakeTimer:
        timer = FakeTimer(callback, args)
        heapq.heappush(self.timers, (when, next(self.seq), timer))
        return timer

    def live_timers(self) -> int:
        return sum(1 for _, _, t in self.timers if not t.cancelled())

    def turn(self) -> bool:
        """Run due timers and the callbacks ready now; false if nothing ran."""
        while self.timers and self.timers[0][0] <= self.clock():
            self.ready.append(heapq.heappop(self.timers)[2])
        batch, self.ready = self.ready, []
        ran = False
        for timer in batch:
            if not timer.cancelled():
                ran = True
                timer.callback(*timer.args)
        return ran

    def settle(self, limit: int = 1000) -> int:
        for turns in range(limit):
            if not self.turn():
                return turns
        raise AssertionError("loop never settled")

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()


class FakeTransport:
    """Records what the handler writes; water marks are driven by the test.

    The idle deadline behaves as the real transport's: one timer, re-armed
    from ``last_activity`` when it fires early, then the handler's
    ``timeout()`` (``protocol``, set by :func:`make`) and a whole timeout
    later again while the connection stays open.
    """

    _ids = itertools.count(1)

    def __init__(self, loop: FakeLoop, peer: tuple[str, int] = PEER) -> None:
        self.loop = loop
        self.peer = peer
        self.local = ("127.0.0.1", 8080)
        self.id = next(self._ids)
        self.created = self.last_activity = loop.time()
        self.bytes_in = 0
        self.bytes_out = 0
        self.out = bytearray()
        self._reading = True
        self._closed = False
        self.aborted = False
        self.protocol: HTTPHandler | None = None
        self.idle_timeout: float | None = None
        self.idle_timer: FakeTimer | None = None
        loop.table[self.id] = self

    def set_idle_timeout(self, seconds: float | None) -> None:
        self.idle_timeout = seconds or None
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        if self.idle_timeout is not None and not self._closed:
            due = self.last_activity + self.idle_timeout
            self.idle_timer = self.loop.call_at(due, self._idle_fire)

    def _idle_fire(self) -> None:
        self.idle_timer = None
        timeout = self.idle_timeout
        if timeout is None or self._closed:
            return
        now = self.loop.time()
        if now < self.last_activity + timeout:  # there was activity: re-arm from it
            self.idle_timer = self.loop.call_at(self.last_activity + timeout, self._idle_fire)
            return
        if self.protocol is not None:
            self.protocol.timeout()
        else:
            self.close()
        if not self._closed and self.idle_timer is None:
            self.idle_timer = self.loop.call_at(now + timeout, self._idle_fire)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self._closed, "write after close"
        self.out += data
        self.bytes_out += len(data)
        self.last_activity = self.loop.time()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def reading(self) -> bool:
        return self._reading

    def close(self) -> None:
        self._closed = True
        self._forget_idle()

    def abort(self) -> None:
        self._closed = self.aborted = True
        self._forget_idle()

    def _forget_idle(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def is_reading(self) -> bool:
        return self._reading

    def get_write_buffer_size(self) -> int:
        return 0

    @property
    def writing_paused(self) -> bool:
        return False

    def pause_reading(self) -> None:
        self._reading = False

    def resume_reading(self) -> None:
        self._reading = True

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out.clear()
        return data


def closed(transport: FakeTransport) -> bool:
    return transport.closed


def reading(transport: FakeTransport) -> bool:
    return transport.reading


def make(app: App | None = None, **config: object) -> tuple[FakeLoop, FakeTransport, HTTPHandler]:
    loop = FakeLoop()
    transport = FakeTransport(loop)
    handler = HTTPHandler(
        app or default_app(),
        HTTPConfig(**config),  # type: ignore[arg-type]
        PEER,
        wall_clock=lambda: NOW,
    )
    transport.protocol = handler
    handler.connection_made(transport)  # type: ignore[arg-type]
    return loop, transport, handler


def feed(handler: HTTPHandler, transport: FakeTransport, data: bytes) -> None:
    transport.bytes_in += len(data)
    transport.last_activity = transport.loop.time()
    handler.data_received(data)


def responses(
    wire: bytes, methods: list[str] | None = None
) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """Read ``wire`` with h11 as the client of ``methods`` (GETs by default)."""
    client = h11.Connection(h11.CLIENT)
    out: list[tuple[int, dict[bytes, bytes], bytes]] = []
    client.receive_data(wire)
    for method in methods or itertools.repeat("GET"):
        if client.our_state is h11.MUST_CLOSE or client.their_state is h11.CLOSED:
            break
        if client.our_state is h11.DONE:
            client.start_next_cycle()
        client.send(h11.Request(method=method, target="/", headers=[("Host", "h")]))
        client.send(h11.EndOfMessage())
        status, body = 0, bytearray()
        headers: dict[bytes, bytes] = {}
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                if not out and not status:
                    raise AssertionError("no complete response")
                return out if not status else [*out, (status, headers, bytes(body))]
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {bytes(n): bytes(v) for n, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                out.append((status, headers, bytes(body)))
                break
        if client.their_state is h11.MUST_CLOSE:
            break
    return out


GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


def test_hello_keep_alive() -> None:
    loop, transport, handler = make()
    armed = len(loop.timers)
    for _ in range(3):
        feed(handler, transport, GET)
        [(status, headers, body)] = responses(transport.take())
        assert (status, body) == (200, b"Hello, World!")
        assert headers[b"server"] == b"selreactor"
        assert headers[b"content-length"] == b"13"
        assert headers[b"date"] == DATE
    assert not closed(transport) and reading(transport)
    # The transport's idle deadline is the only timer: the handler arms none per request.
    assert transport.idle_timeout == 15.0
    assert loop.live_timers() == 1 and transport.idle_timer is not None
    assert len(loop.timers) == armed  # nothing armed (or cancelled) per request


def test_date_comes_from_the_wall_clock_at_most_once_a_second() -> None:
    assert current_date(lambda: NOW) == b"Date: " + DATE + b"\r\n"
    assert current_date(lambda: 0.0) == b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
    assert current_date(lambda: 0.999) is current_date(lambda: 0.5)  # formatted once


def test_head_request_gets_no_body() -> None:
    _, transport, handler = make()
    feed(handler, transport, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    wire = transport.take()
    assert wire.endswith(b"\r\n\r\n") and b"Content-Length: 13\r\n" in wire
    [(status, _, body)] = responses(wire, ["HEAD"])
    assert (status, body) == (200, b"")


def test_http10_close_and_keep_alive() -> None:
    _, transport, handler = make()
    feed(handler, transport, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert b"Connection: keep-alive\r\n" in transport.take() and not closed(transport)
    feed(handler, transport, b"GET / HTTP/1.0\r\n\r\n" + GET)
    wire = transport.take()
    assert wire.count(b"HTTP/1.1 200") == 1 and b"Connection: close\r\n" in wire
    assert closed(transport)


def test_connection_close_request() -> None:
    _, transport, handler = make()
    feed(handler, transport, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + GET)
    wire = transport.take()
    assert wire.count(b"HTTP/1.1 200") == 1 and closed(transport)
    feed(handler, transport, GET)  # ignored after close
    assert transport.take() == b""


def echo_app() -> App:
    app = App()

    @app.route("GET", "/n")
    def number(request: Request) -> Response:
        return Response.text(request.args["i"][0])

    @app.route("POST", "/echo")
    @app.route("PUT", "/echo")
    def echo(request: Request) -> Response:
        return Response(200, [("X-Method", request.method)], request.body)

    return app


def test_pipelined_requests_answered_in_order_within_a_budget() -> None:
    loop, transport, handler = make(echo_app(), pipeline_budget=32)
    wire = b"".join(b"GET /n?i=%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(100))
    feed(handler, transport, wire)
    first = transport.take()
    assert first.count(b"HTTP/1.1 200") == 32
    assert not reading(transport)  # a batch is waiting: read nothing more meanwhile
    loop.clock.advance(100)  # time passes while the batch waits ...
    turns = loop.settle()
    assert turns == 3  # 32 + 32 + 4 more, one batch per turn
    rest = transport.take()
    assert rest.count(b"HTTP/1.1 200") == 68
    got = responses(first + rest)
    assert [body for _, _, body in got] == [str(i).encode() for i in range(100)]
    assert reading(transport) and not closed(transport)  # ... but the work was activity


def test_pipelined_bodies_mixed_framing_bytewise() -> None:
    loop, transport, handler = make(echo_app())
    wire = (
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        b"PUT /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
        b"GET /n?i=7 HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    for i in range(len(wire)):
        feed(handler, transport, wire[i : i + 1])
        loop.settle()
    got = responses(transport.take(), ["POST", "PUT", "GET"])
    assert [(h.get(b"x-method"), b) for _, h, b in got] == [
        (b"POST", b"hello"),
        (b"PUT", b"abcde"),
        (None, b"7"),
    ]


def test_expect_continue_sent_before_reading_the_body() -> None:
    _, transport, handler = make(echo_app())
    feed(
        handler,
        transport,
        b"PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    )
    assert transport.take() == b"HTTP/1.1 100 Continue\r\n\r\n"
    feed(handler, transport, b"data")
    [(status, _, body)] = responses(transport.take(), ["PUT"])
    assert (status, body) == (200, b"data")
    assert not closed(transport)


def test_expect_continue_refused_for_an_unrouted_path() -> None:
    _, transport, handler = make(echo_app())
    feed(
        handler,
        transport,
        b"PUT /nowhere HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    )
    wire = transport.take()
    assert b"100 Continue" not in wire
    assert wire.startswith(b"HTTP/1.1 404 ") and b"Connection: close\r\n" in wire
    assert closed(transport)


def test_expect_continue_body_too_large_is_413_without_continue() -> None:
    _, transport, handler = make(echo_app(), limits=Limits(max_body=10))
    feed(
        handler,
        transport,
        b"PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
    )
    wire = transport.take()
    assert wire.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in wire
    assert closed(transport)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 20000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X: v\r\n" * 101 + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505),
    ],
)
def test_protocol_errors_answer_and_close(
    raw: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    _, transport, handler = make()
    with caplog.at_level(logging.INFO, logger="protocols.http.server"):
        feed(handler, transport, GET + raw + GET)
    got = responses(transport.take())
    assert [s for s, _, _ in got] == [200, status]
    assert got[1][1][b"connection"] == b"close"
    assert closed(transport) and not transport.aborted
    [record] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert str(PEER) in record.getMessage() and str(status) in record.getMessage()


def test_header_deadline_408_then_close() -> None:
    loop, transport, handler = make(header_timeout=10.0, keepalive_timeout=60.0)
    feed(handler, transport, b"GET / HTTP/1.1\r\nHost:")
    loop.advance(5)
    feed(handler, transport, b" h\r\nX-Slow: 1\r\n")  # trickling does not extend it
    loop.advance(4.9)
    assert transport.take() == b"" and not closed(transport)
    loop.advance(0.2)
    [(status, headers, _)] = responses(transport.take())
    assert status == 408 and headers[b"connection"] == b"close"
    assert closed(transport)


def test_header_deadline_cancelled_when_head_completes() -> None:
    loop, transport, handler = make(header_timeout=10.0, keepalive_timeout=60.0)
    feed(handler, transport, b"GET / HTTP/1.1\r\n")
    assert loop.live_timers() == 2
    feed(handler, transport, b"Host: h\r\n\r\n")
    assert loop.live_timers() == 1
    loop.advance(30)
    assert [s for s, _, _ in responses(transport.take())] == [200]
    assert not closed(transport)


def test_header_deadline_armed_for_a_pipelined_partial_head() -> None:
    loop, transport, handler = make(header_timeout=10.0, keepalive_timeout=60.0)
    feed(handler, transport, GET + b"GET / HT")
    loop.advance(11)
    assert [s for s, _, _ in responses(transport.take())] == [200, 408]


def test_idle_keep_alive_closes_quietly() -> None:
    loop, transport, handler = make(keepalive_timeout=15.0)
    feed(handler, transport, GET)
    transport.take()
    loop.advance(10)
    feed(handler, transport, GET)  # activity pushes the deadline
    transport.take()
    loop.advance(10)
    assert not closed(transport)
    loop.advance(5.1)
    assert closed(transport) and transport.take() == b""
    assert loop.live_timers() == 0


@pytest.mark.parametrize(
    "partial",
    [b"GET / HTTP/1.1\r\nHost:", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nab"],
)
def test_a_request_in_progress_outlives_the_keep_alive_timeout(partial: bytes) -> None:
    loop, transport, handler = make(
        echo_app(), keepalive_timeout=1.0, header_timeout=10.0, body_timeout=10.0, body_min_rate=0
    )
    feed(handler, transport, GET)
    transport.take()
    feed(handler, transport, partial)
    loop.advance(9.9)  # ten keep-alive timeouts: its own deadline governs it
    assert not closed(transport) and transport.take() == b""
    loop.advance(0.2)
    [(status, _, _)] = responses(transport.take())
    assert status == 408 and closed(transport)


def test_keep_alive_timeout_counts_from_the_last_response() -> None:
    loop, transport, handler = make(keepalive_timeout=5.0)
    loop.advance(4.0)
    feed(handler, transport, GET)  # the response is written now: activity
    assert transport.take()
    loop.advance(4.9)
    assert not closed(transport)
    loop.advance(0.2)
    assert closed(transport) and not transport.aborted and transport.take() == b""


def test_idle_timer_ignores_a_busy_stream() -> None:
    def forever(request: Request) -> Response:
        return Response(200, [], iter(lambda: b"x", None))

    loop, transport, handler = make(App(fallback=forever), keepalive_timeout=1.0)
    feed(handler, transport, GET)
    handler.pause_writing()  # the peer does not read
    transport.last_activity -= 100
    loop.advance(5)
    assert not closed(transport)
    handler.connection_lost(None)


def test_stream_respects_backpressure() -> None:
    produced: list[int] = []

    def gen() -> Iterator[bytes]:
        for i in range(10):
            produced.append(i)
            yield b"chunk%d;" % i

    def stream(request: Request) -> Response:
        return Response(200, [("Content-Type", "text/plain")], gen())

    app = App()
    app.add("GET", "/", stream)
    app.add("GET", "/next", lambda r: Response.text("next"))
    loop, transport, handler = make(app)
    real_write = transport.write

    def write(data: bytes | bytearray | memoryview) -> None:
        real_write(data)
        if b"chunk2;" in bytes(data):
            handler.pause_writing()

    transport.write = write  # type: ignore[method-assign]
    feed(handler, transport, GET + b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
    assert produced == [0, 1, 2]  # stopped pulling at the high-water mark
    loop.settle()
    assert produced == [0, 1, 2] and not reading(transport)
    handler.resume_writing()
    loop.settle()
    assert produced == list(range(10))
    got = responses(transport.take())
    assert [s for s, _, _ in got] == [200, 200]
    assert got[0][1][b"transfer-encoding"] == b"chunked"
    assert got[0][2] == b"".join(b"chunk%d;" % i for i in range(10))
    assert got[1][2] == b"next"
    assert reading(transport) and not closed(transport)


def test_stream_yields_to_other_connections_every_budget() -> None:
    def stream(request: Request) -> Response:
        return Response(200, [], (b"%d," % i for i in range(40)))

    loop, transport, handler = make(App(fallback=stream), stream_budget=16)
    feed(handler, transport, GET)
    assert transport.out.count(b",\r\n") == 16
    assert loop.settle() == 2
    [(_, _, body)] = responses(transport.take())
    assert body == b"".join(b"%d," % i for i in range(40))


def test_stream_with_length_to_http10_and_head() -> None:
    def stream(request: Request) -> Response:
        return Response(200, [("Content-Length", "6")], iter([b"abc", b"def"]))

    _, transport, handler = make(App(fallback=stream))
    feed(handler, transport, b"GET / HTTP/1.0\r\n\r\n")
    wire = transport.take()
    assert wire.endswith(b"\r\n\r\nabcdef") and b"Content-Length: 6\r\n" in wire
    assert closed(transport)
    _, transport, handler = make(App(fallback=stream))
    feed(handler, transport, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert transport.take().endswith(b"Content-Length: 6\r\nDate: " + DATE + b"\r\n\r\n")


def test_stream_closed_when_the_connection_is_lost() -> None:
    closed: list[bool] = []

    def gen() -> Iterator[bytes]:
        try:
            while True:
                yield b"x"
        finally:
            closed.append(True)

    loop, transport, handler = make(App(fallback=lambda r: Response(200, [], gen())))
    feed(handler, transport, GET)
    handler.pause_writing()
    handler.connection_lost(ConnectionResetError())
    assert closed == [True]
    loop.settle()


def test_failing_stream_aborts(caplog: pytest.LogCaptureFixture) -> None:
    def gen() -> Iterator[bytes]:
        yield b"x"
        raise RuntimeError("boom")

    _, transport, handler = make(App(fallback=lambda r: Response(200, [], gen())))
    with caplog.at_level(logging.ERROR):
        feed(handler, transport, GET)
    assert transport.aborted
    assert "response stream failed" in caplog.text


def test_application_error_is_500_and_close(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: Request) -> Response:
        raise ValueError("bug")

    _, transport, handler = make(App(fallback=broken))
    with caplog.at_level(logging.ERROR):
        feed(handler, transport, GET + GET)
    [(status, headers, _)] = responses(transport.take())
    assert status == 500 and headers[b"connection"] == b"close"
    assert closed(transport) and "application failed" in caplog.text


def test_half_close_after_pipelined_requests_answers_them() -> None:
    loop, transport, handler = make(pipeline_budget=2)
    feed(handler, transport, GET * 5)
    assert handler.eof_received() is True  # keep writing: work is queued
    assert not closed(transport)
    loop.settle()
    assert len(responses(transport.take())) == 5
    assert closed(transport)


def test_half_close_when_idle_closes() -> None:
    _, transport, handler = make()
    feed(handler, transport, GET)
    assert handler.eof_received() is None
    assert closed(transport)


def test_transport_idle_timeout_spares_a_busy_connection() -> None:
    loop, transport, handler = make(pipeline_budget=1)
    feed(handler, transport, GET * 3)
    handler.timeout()
    assert not closed(transport)
    loop.settle()
    handler.timeout()
    assert closed(transport)


def test_writing_paused_stops_pipelined_work_until_resumed() -> None:
    loop, transport, handler = make()
    handler.pause_writing()
    feed(handler, transport, GET * 3)
    assert transport.out.count(b"HTTP/1.1 200") == 0 and not reading(transport)
    loop.settle()
    assert transport.out.count(b"HTTP/1.1 200") == 0
    handler.resume_writing()
    loop.settle()
    assert transport.out.count(b"HTTP/1.1 200") == 3 and reading(transport)


def test_connections_page_is_the_status_table_as_json_and_html() -> None:
    loop, transport, handler = make()
    other = FakeTransport(loop, ("::1", 5555))
    other.bytes_in = 42
    loop.clock.advance(2.5)
    feed(handler, transport, b"GET /connections?format=json HTTP/1.1\r\nHost: h\r\n\r\n")
    [(status, headers, body)] = responses(transport.take())
    assert status == 200 and headers[b"content-type"] == b"application/json"
    table = json.loads(body)
    assert list(table) == ["127.0.0.1:8080"]  # the status page's table, by local address
    rows = table["127.0.0.1:8080"]
    assert list(rows[0]) == [
        "id",
        "peer",
        "age",
        "idle",
        "bytes_in",
        "bytes_out",
        "queued",
        "flow",
        "tls",  # what TLS negotiated: "-" for these plain connections
        "cipher",
        "sni",
        "alpn",
    ]
    assert rows[0]["tls"] == "-"
    assert [r["peer"] for r in rows] == ["192.0.2.7:40000", "[::1]:5555"]
    assert rows[1]["bytes_in"] == 42 and rows[1]["age"] == 2.5 and rows[1]["idle"] == 2.5
    feed(
        handler,
        transport,
        b"GET /connections HTTP/1.1\r\nHost: h\r\nAccept: application/json\r\n\r\n",
    )
    [(_, _, body)] = responses(transport.take())
    assert len(json.loads(body)["127.0.0.1:8080"]) == 2
    feed(handler, transport, b"GET /connections HTTP/1.1\r\nHost: h\r\n\r\n")
    [(_, headers, body)] = responses(transport.take())
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"<h2>127.0.0.1:8080: 2 connections</h2>" in body  # the status page's rendering
    assert b'<meta http-equiv="refresh" content="2">' in body
    assert b"<td>[::1]:5555</td>" in body and b"2 live connections" in body


def test_unknown_path_and_method() -> None:
    _, transport, handler = make()
    feed(handler, transport, b"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n")
    feed(handler, transport, b"DELETE / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    got = responses(transport.take(), ["GET", "DELETE"])
    assert [s for s, _, _ in got] == [404, 405]
    assert got[1][1][b"allow"] == b"GET, HEAD"


def test_plugin_factory_and_options() -> None:
    import argparse

    plugin = HTTPPlugin()
    parser = argparse.ArgumentParser()
    plugin.add_arguments(parser)
    options = parser.parse_args(["--max-body", "5", "--pipeline-budget", "4"])
    loop = FakeLoop()
    factory = plugin.make_factory(loop, options)  # type: ignore[arg-type]
    handler = factory(PEER)
    assert isinstance(handler, HTTPHandler)
    transport = FakeTransport(loop)
    handler.connection_made(transport)  # type: ignore[arg-type]
    feed(handler, transport, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n")
    assert transport.take().startswith(b"HTTP/1.1 413 ")
    assert isinstance(plugin.description, str) and plugin.description


def test_load_app() -> None:
    assert isinstance(load_app(None), App)
    assert isinstance(load_app("protocols.http.app:hello"), App)  # a handler function
    with pytest.raises(TypeError):
        load_app("protocols.http.app:__all__")
