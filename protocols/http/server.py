"""The HTTP/1.1 handler: the parser and writer driven by a transport.

Theory of operation.  Bytes go into the :class:`RequestParser`; the handler
pulls events and answers each request before it pulls the next, so
pipelined requests are answered in order.  A request is handed to the
application when its body is complete; the response is written at once, or,
for a streamed body, chunk by chunk while the transport accepts more.

Nothing else is read while a response streams, while the write buffer is
above its high-water mark, or while a batch of pipelined requests waits for
its next turn: reading pauses, so the kernel's window pushes back on a peer
that sends faster than it reads.

Fairness: one read may hold hundreds of pipelined requests.  The handler
answers at most ``pipeline_budget`` of them, then yields with
``loop.call_soon`` and carries on next turn; a connection with work queued is
busy, so no idle timer reaps it.

Writes.  The whole responses answered in one turn are joined into one
transport write, so a batch of pipelined requests costs one send; the batch
goes out early once it passes ``_BATCH`` bytes (so the high-water mark
still pushes back on large responses), and before any other write or close,
so bytes leave in request order.

Timers.  The header deadline (the slowloris defence) is armed only when a
read leaves a head incomplete, and cancelled when the head completes, so a
request that arrives in one read costs no timer at all.  The body deadline
(the slow-body defence, after Apache's mod_reqtimeout ``body=20,MinRate=500``)
is armed likewise only when a read leaves a body incomplete: ``body_timeout``
seconds, extended by one second per ``body_min_rate`` bytes received.  Reads
never touch it; when it fires it computes the extended deadline from the
transport's byte count and re-arms itself if that lies ahead, else answers
408 and closes.  The keep-alive timeout is no timer of the handler's: it is
the transport's idle deadline (:meth:`~reactor.protocol.Transport.set_idle_timeout`,
set once per connection), which reads and writes only stamp.  When it passes,
the transport calls :meth:`HTTPHandler.timeout`, which closes a connection
idle between requests and leaves one alone whose request is in progress (the
header and body deadlines govern it) or that has work in hand (a streamed
response, a pipelined batch, answers waiting for the peer to read); the
transport then looks again a whole timeout later.

Drain.  :meth:`HTTPHandler.drain_requested` closes an idle keep-alive
connection at once.  Otherwise every request already started (a partial
head, a body on its way, pipelined requests buffered) is finished and
answered in order; the response after which nothing more is buffered carries
``Connection: close`` and the connection closes once it is flushed.  A
response already streaming when the drain starts cannot take the field any
more: the connection closes after its last byte.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from protocols.http.app import App, Request, Response
from protocols.http.config import HTTPConfig
from protocols.http.events import NEED_DATA, Data, HTTPError, RequestHead
from protocols.http.parser import RequestParser
from protocols.http.writer import CONTINUE, ResponseWriter, date_line, status_line
from reactor.metrics import count_timeout
from reactor.protocol import BaseHandler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from reactor.protocol import PeerKey, TimerHandle, Transport

__all__ = ["HTTPConfig", "HTTPHandler", "current_date"]

log = logging.getLogger(__name__)

# A keep-alive connection with I/O more recent than this may have its next
# request on the way when a drain starts (the transport's DRAIN_QUIET).
DRAIN_QUIET = 1.0

_perf_counter = time.perf_counter

_TEXT = [("Content-Type", "text/plain; charset=utf-8")]
# Whole responses to a batch of pipelined requests are joined into one write
# (one send) up to this size; past it they go out at once, so the transport's
# high-water mark still pushes back as each large response is written.
_BATCH = 16384


def _internal_error() -> Response:
    return Response(500, [*_TEXT, ("Connection", "close")], b"Internal Server Error\n")


_date_second = -1
_date = b""


def current_date(wall_clock: Callable[[], float] = time.time) -> bytes:
    """The ``Date`` line for ``wall_clock()`` (seconds since the epoch), formatted
    at most once per second."""
    global _date_second, _date
    second = int(wall_clock())
    if second != _date_second:
        _date = date_line(second)
        _date_second = second
    return _date


class HTTPHandler(BaseHandler):
    """Serves one connection with an :class:`App`.

    ``wall_clock`` gives the time of the ``Date`` field (:func:`time.time`
    unless a test fixes it).
    """

    __slots__ = (
        "_body",
        "_body_mark",
        "_body_start",
        "_body_timer",
        "_closed",
        "_config",
        "_drain_timer",
        "_draining",
        "_eof",
        "_head",
        "_header_timer",
        "_out",
        "_out_size",
        "_parser",
        "_paused_reading",
        "_scheduled",
        "_stream",
        "_wall_clock",
        "_writer",
        "_writing_paused",
        "app",
        "peer",
    )

    def __init__(
        self,
        app: App,
        config: HTTPConfig,
        peer: PeerKey,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.peer = peer
        self._config = config
        self._parser = RequestParser(config.limits)
        self._writer = ResponseWriter()
        self._head: RequestHead | None = None
        self._body: list[bytes] = []
        self._out: list[bytes] = []  # whole responses not yet written
        self._out_size = 0
        self._stream: Iterator[bytes] | None = None
        self._writing_paused = False
        self._paused_reading = False
        self._scheduled: TimerHandle | None = None
        self._header_timer: TimerHandle | None = None
        self._body_timer: TimerHandle | None = None
        self._body_start = 0.0  # when the body deadline was armed
        self._body_mark = 0  # the transport's bytes_in when the body began
        self._wall_clock = wall_clock
        self._eof = False
        self._draining = False
        self._drain_timer: TimerHandle | None = None
        self._closed = False

    # -- transport callbacks -----------------------------------------------------

    def connection_made(self, transport: Transport) -> None:
        self.transport = transport
        if self._config.keepalive_timeout > 0:
            # The transport's idle deadline: nothing to arm or cancel per request.
            transport.set_idle_timeout(self._config.keepalive_timeout)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._parser.feed(data)
        if self._stream is not None or self._writing_paused or self._scheduled is not None:
            self._pause_reading()  # buffer no more than this read meanwhile
        else:
            self._process()

    def eof_received(self) -> bool | None:
        self._eof = True
        if self._busy():
            return True  # answer what was asked before the half-close
        self._shutdown()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._out.clear()
        self._cancel_timers()
        self._end_stream()
        self.transport = None

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self.transport is not None and not self._closed and self._scheduled is None:
            self._scheduled = self.transport.loop.call_soon(self._resume)

    def timeout(self) -> None:
        """The idle deadline passed: close a keep-alive connection idle between requests.

        A head or body on its way is the business of its own deadline, and a
        connection with work in hand is not idle: both are left open (the
        transport looks again a timeout later).
        """
        if (
            self._closed
            or self.transport is None
            or self._busy()
            or self._parser.in_head
            or self._body_timer is not None
        ):
            return
        log.debug("closing idle connection %s", self.peer)
        self._shutdown()

    def drain_requested(self) -> None:
        """A graceful drain started: finish what was started, then close.

        An idle keep-alive connection closes at once, unless it had I/O in the
        last ``DRAIN_QUIET`` second: a client in the
        middle of a stream of requests may have the next one on its way, and
        a close would race it (the client sees a reset or an EOF instead of
        an answer).  That one gets its answer with ``Connection: close``, or
        the connection closes once it has been quiet that long.  Otherwise
        see the module docstring (the last response carries ``Connection: close``).
        """
        if self._closed or self.transport is None:
            return
        self._draining = True
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        self._drain_timer = None
        transport = self.transport
        if (
            self._closed
            or transport is None
            or not (
                self._head is None
                and self._stream is None
                and self._scheduled is None
                and self._parser.idle
            )
        ):
            return
        quiet = transport.loop.time() - transport.last_activity
        if transport.bytes_in and quiet < DRAIN_QUIET:
            self._drain_timer = transport.loop.call_later(DRAIN_QUIET - quiet, self._close_if_idle)
        else:
            self._shutdown()

    # -- the request cycle ---------------------------------------------------------

    def _busy(self) -> bool:
        return (
            self._stream is not None
            or self._scheduled is not None
            or (self._writing_paused and self._parser.buffered > 0)
        )

    def _resume(self) -> None:
        self._scheduled = None
        if self._closed or self.transport is None:
            return
        if self._stream is not None and not self._pump():
            return
        if not self._closed and not self._writing_paused:
            self._process()

    def _process(self) -> None:
        """Answer buffered requests, at most a budget of them this turn."""
        try:
            self._answer()
        finally:
            if self._out:
                self._flush()

    def _answer(self) -> None:
        parser = self._parser
        next_event = parser.next_event
        budget = self._config.pipeline_budget
        while True:
            try:
                event = next_event()
            except HTTPError as exc:
                self._fail(exc)
                return
            if type(event) is RequestHead:
                self._head = event
                if (
                    event.expect_continue or self._header_timer is not None
                ) and not self._start_request(event):
                    return
            elif event is NEED_DATA:
                if self._head is not None and self._body_timer is None:
                    self._body_begun()
                break
            elif type(event) is Data:
                self._body.append(event.data)
            elif not self._finish_request():
                return
            else:
                budget -= 1
                if not budget:
                    if parser.buffered:
                        self._pause_reading()
                        assert self.transport is not None
                        self._scheduled = self.transport.loop.call_soon(self._resume)
                        return
                    break
        if self._paused_reading or self._eof or self._draining or parser.in_head:
            self._idle_again()

    def _idle_again(self) -> None:
        """Everything buffered is answered: read on, and watch a partial head."""
        if self._paused_reading:
            self._resume_reading()
        if self._parser.in_head:
            if self._header_timer is None and self._config.header_timeout > 0:
                assert self.transport is not None
                self._header_timer = self.transport.loop.call_later(
                    self._config.header_timeout, self._header_expired
                )
        elif self._eof or (self._draining and self._head is None):
            self._shutdown()

    def _start_request(self, head: RequestHead) -> bool:
        """A head arrived; false if the connection is being closed."""
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self._head = head
        if head.expect_continue:
            transport = self.transport
            assert transport is not None
            if self.app.accepts(head.method, Request(head).path):
                self._write(CONTINUE)
            else:
                # Answer without reading the body, which the peer then never
                # sends; the connection cannot carry another request after it.
                response = self._call_app(Request(head, b"", transport))
                self._send(head, response, close=True)
                return False
        return True

    def _finish_request(self) -> bool:
        """The request is complete: answer it; false if this turn must stop."""
        head = self._head
        assert head is not None
        self._head = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        body = self._body
        if body:
            data = body[0] if len(body) == 1 else b"".join(body)
            self._body = []
        else:
            data = b""
        request = Request(head, data, self.transport)
        metrics = self._config.metrics
        start = _perf_counter() if metrics is not None else 0.0
        try:
            response = self.app(request)
        except Exception:  # the application's bug: answer 500, keep serving others
            log.exception("application failed for %s on %r", self.peer, request)
            response = _internal_error()
        if self._draining:  # the last request answered before closing
            self._send(head, response, close=not self._parser.buffered)
        else:
            self._send(head, response)
        if metrics is not None:
            metrics.record(head.method, response.status, _perf_counter() - start)
        if self._closed:
            return False
        if self._stream is not None or self._writing_paused:
            # resume_writing() or the end of the stream carries on.
            self._pause_reading()
            return False
        return True

    def _call_app(self, request: Request) -> Response:
        try:
            return self.app(request)
        except Exception:  # the application's bug: answer 500, keep serving others
            log.exception("application failed for %s on %r", self.peer, request)
            return _internal_error()

    def _send(self, head: RequestHead, response: Response, *, close: bool = False) -> None:
        transport = self.transport
        assert transport is not None
        writer = self._writer
        prepared = response.prepared
        body = response.body
        if prepared is not None and not close:
            assert isinstance(body, bytes)
            data = writer.prepared(head, prepared, body, current_date(self._wall_clock))
            self._out.append(data)
            self._out_size += len(data)
            if self._out_size >= _BATCH:
                self._flush()
        elif isinstance(body, (bytes, bytearray, memoryview)):
            self._queue(
                writer.response(
                    head,
                    response.status,
                    response.headers,
                    bytes(body),
                    current_date(self._wall_clock),
                    close=close,
                )
            )
        else:
            try:
                length = response.content_length
            except ValueError:
                log.exception("invalid Content-Length from the application for %s", self.peer)
                transport.abort()
                self._closed = True
                return
            self._write(
                writer.start(
                    head,
                    response.status,
                    response.headers,
                    current_date(self._wall_clock),
                    length=length,
                    close=close,
                )
            )
            self._stream = iter(body)
            if head.method == "HEAD":  # the head says it all; never run the producer
                self._finish_stream()
            else:
                self._pump()
            return
        if writer.must_close or close:
            self._shutdown()

    def _pump(self) -> bool:
        """Write chunks of the streamed body until the transport pushes back.

        True once the body is complete (or the connection is given up).
        """
        transport = self.transport
        stream = self._stream
        assert transport is not None and stream is not None
        writer = self._writer
        budget = self._config.stream_budget
        while not self._writing_paused:
            if not budget:  # let other connections have this turn
                self._scheduled = transport.loop.call_soon(self._resume)
                return False
            budget -= 1
            try:
                chunk = next(stream)
                if chunk:
                    self._write(writer.body(chunk))
            except StopIteration:
                self._finish_stream()
                return True
            except Exception:  # the application's bug: the response is cut short
                log.exception("response stream failed for %s", self.peer)
                self._end_stream()
                self._closed = True
                self._cancel_timers()
                transport.abort()
                return True
        return False  # paused: resume_writing() schedules the rest

    def _finish_stream(self) -> None:
        transport = self.transport
        assert transport is not None
        self._write(self._writer.end())
        self._end_stream()
        if self._writer.must_close or (self._draining and not self._parser.buffered):
            self._shutdown()

    def _end_stream(self) -> None:
        stream = self._stream
        self._stream = None
        close = getattr(stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("closing the response stream failed for %s", self.peer)

    # -- endings -------------------------------------------------------------------

    def _fail(self, exc: HTTPError) -> None:
        """The peer broke HTTP: answer with the error's status, then close."""
        log.info("closing %s: %s (%d)", self.peer, exc.message, exc.status)
        self._error(exc.status)

    def _error(self, status: int) -> None:
        transport = self.transport
        if transport is None or self._closed:
            return
        reason = status_line(status)[13:-2].decode()
        self._write(
            self._writer.response(
                None, status, _TEXT, f"{reason}\n".encode(), current_date(self._wall_clock)
            )
        )
        self._shutdown()

    def _header_expired(self) -> None:
        self._header_timer = None
        if self._closed or not self._parser.in_head:
            return
        log.info(
            "closing %s: request head not complete in %.3g s",
            self.peer,
            self._config.header_timeout,
        )
        if self.transport is not None:
            count_timeout(self.transport, "header")
        self._error(408)

    def _body_begun(self) -> None:
        """A read left a request's body incomplete: arm the body deadline."""
        config = self._config
        transport = self.transport
        if config.body_timeout <= 0 or transport is None:
            return
        loop = transport.loop
        self._body_start = loop.time()
        # Count the body from its first byte, some of which came with the head.
        self._body_mark = transport.bytes_in - sum(map(len, self._body))
        self._body_timer = loop.call_at(self._body_start + config.body_timeout, self._body_check)

    def _body_check(self) -> None:
        """The body deadline fell due: extend it by what arrived, or answer 408."""
        self._body_timer = None
        transport = self.transport
        if transport is None or self._closed or self._head is None:
            return
        config = self._config
        loop = transport.loop
        now = loop.time()
        if self._paused_reading:  # we stopped reading, not the peer: start afresh
            self._body_start = now
            self._body_mark = transport.bytes_in
        received = transport.bytes_in - self._body_mark
        due = self._body_start + config.body_timeout
        if config.body_min_rate > 0:
            due += received / config.body_min_rate
        if due > now:
            # Checks at least a second apart (a quarter of a shorter timeout):
            # the deadline of a peer just under the rate approaches a limit
            # it never passes, so without a floor the checks would come ever
            # closer.  Such a peer is cut off at most that long after it.
            recheck = now + min(config.body_timeout / 4, 1.0)
            self._body_timer = loop.call_at(max(due, recheck), self._body_check)
            return
        log.info(
            "closing %s: request body too slow (%d bytes in %.3g s)",
            self.peer,
            received,
            now - self._body_start,
        )
        count_timeout(transport, "body")
        self._error(408)

    def _shutdown(self) -> None:
        """Close after flushing what was written; read nothing more."""
        if self._out:
            self._flush()
        self._closed = True
        self._cancel_timers()
        if self.transport is not None:
            self.transport.close()

    # -- writing -------------------------------------------------------------------

    def _queue(self, data: bytes) -> None:
        """Add a whole response to the batch written when this turn ends."""
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size >= _BATCH:
            self._flush()

    def _write(self, data: bytes) -> None:
        """Write at once, after the batch."""
        if self._out:
            self._flush()
        if self.transport is not None:
            self.transport.write(data)

    def _flush(self) -> None:
        out = self._out
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._out_size = 0
        if self.transport is not None and data:
            self.transport.write(data)

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._scheduled, self._body_timer, self._drain_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._scheduled = self._body_timer = self._drain_timer = None

    def _pause_reading(self) -> None:
        if not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._paused_reading and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
