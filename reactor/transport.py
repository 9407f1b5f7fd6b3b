"""One TCP (or Unix stream) connection: buffers, backpressure, half-close, timers.

Theory of operation.

*Reading.*  The loop calls :meth:`Connection.on_readable` when the socket is
readable.  It does one ``recv`` of at most ``read_size`` bytes (the fairness
bound: one busy peer gets one read per loop turn), stamps the turn's time as
the last activity and hands the bytes to the handler.  ``recv`` returning
``b""`` is the peer's half-close: ``eof_received()`` decides whether the
connection stays open for writing.

*Delivery.*  In the common case (no framer, active mode ``True``) the bytes go
straight to the handler's ``data_received``, a bound method cached when the
handler is set.  With a framer (gen_tcp's ``{packet, N}``) or a bounded active
mode, messages pass through a small queue that honours the active budget and
holds what is not yet wanted while reading is paused.

*Writing.*  ``write()`` sends at once when nothing is queued, and queues only
what the kernel did not take; the selector watches for writability only while
the queue is not empty, and then one ``sendmsg`` flushes many chunks.  Crossing
the high-water mark calls ``pause_writing()``; draining below the low-water
mark calls ``resume_writing()``.

*Timers.*  The idle and write timeouts cost no heap work per read or write:
reads and writes only store a timestamp.  Each armed deadline fires at the
earliest moment its condition could hold and, if activity moved the stamp,
re-arms itself from the stamp (twisted's ``TimeoutMixin`` resets a delayed call
per read; here a read is one attribute store).  Idle deadlines live in the
reactor's :class:`~reactor.timers.DeadlineQueue`, one small entry per
connection rather than a timer handle, since every idle connection has one;
the write timeout, armed only while output is stuck, is an ordinary timer.

*Hooks.*  The hooks (``pause_writing``, ``resume_writing``, ``passive``,
``eof_received``, ``timeout``, ``drain_requested``) are declared on
:class:`~reactor.protocol.Handler` and called as methods, each guarded so
that a failure is contained to the connection the hook belongs to (a
handler that lacks an optional one gets its default).  That matters because
they can run inside *another* connection's callback: handler A writing to
connection B may cross B's high-water mark, and B's ``pause_writing``
failing must abort B, not A.
``data_received`` is called bare, since it runs only from this connection's
own read, where the loop's dispatch already contains its failures.

*Closing.*  ``close()`` stops reading and closes once the queue drains;
``abort()`` drops the queue.  Either way the connection is only *marked*; the
loop reaps it at the end of the turn (:meth:`Connection.on_reap`), which closes
the socket, leaves the tables and calls ``connection_lost`` exactly once.  The
exception kept for ``connection_lost`` is stripped of its traceback once it
has been logged: its frames (the dispatch, ``on_writable``) hold the
connection and its write queue, and that cycle would keep a reset peer's
unsent output, possibly hundreds of megabytes, alive until the garbage
collector happened to run.

*Draining.*  A graceful drain (``Listener.shutdown``, ``Reactor.shutdown``)
calls :meth:`Connection.drain` once per connection, which hands the decision
to the handler's ``drain_requested`` hook, or, without one, to
:meth:`Connection.close_when_done`.  ``close()`` would lose data here: it
stops reading, and a socket closed with unread input resets the connection,
which can destroy the answer still on its way to the peer.  So a drained
connection that is not idle keeps reading and answering until the peer's
EOF (``close_when_done``) or until a read leaves the kernel empty
(``end_input``, for request/response protocols).  The drain state is read
only on the drain's own paths (the EOF, the reap, a routed delivery), never
on the common read or write path.
"""

from __future__ import annotations

import collections
import enum
import itertools
import logging
import selectors
import socket
from typing import TYPE_CHECKING

from reactor.metrics import count_timeout
from reactor.options import (
    DEFAULT_HIGH_WATER,
    DEFAULT_LOW_WATER,
    DEFAULT_READ_SIZE,
    ConnectionOptions,
    check_timeout,
    check_water_marks,
)
from reactor.protocol import ActiveMode, Decoder, Handler, PeerKey, ProtocolError, missing_hook
from reactor.seam import ConnectionOwner

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from reactor.protocol import TimerHandle
    from reactor.seam import ConnectionHost

__all__ = [
    "DEFAULT_HIGH_WATER",
    "DEFAULT_LOW_WATER",
    "DEFAULT_READ_SIZE",
    "DRAIN_QUIET",
    "Connection",
    "ConnectionOptions",
    "ConnectionOwner",
    "State",
    "WriteTimeout",
    "normalise_address",
]

log = logging.getLogger(__name__)

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE
DRAIN_QUIET = 1.0
"""Seconds without I/O after which a connection that has received data can be idle.

An empty receive buffer alone does not show that a peer is done: a peer in
the middle of a stream often has nothing in our kernel between two round
trips.  A connection that never received anything is idle without waiting.
"""
# sendmsg() takes at most IOV_MAX buffers; Linux says 1024.
_IOV_MAX = 1024
_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # SIGPIPE never kills the process
_TRY_AGAIN = (BlockingIOError, InterruptedError)
# Not a selector event: "unregistered for good, reaping at the end of the turn".
_REAPING = 4
_ids = itertools.count(1)
_DEFAULTS = ConnectionOptions()


class State(enum.Enum):
    """Where a connection is in its life."""

    OPEN = "open"
    CLOSING = "closing"  # close() called: flushing, then closing
    CLOSED = "closed"  # connection_lost has been called


_OPEN = State.OPEN  # read on every write: a module constant, not a class attribute


class _Drain(enum.Enum):
    """Where a connection is in a graceful drain."""

    NONE = "none"  # not draining
    REQUESTED = "requested"  # drain() ran the handler's hook, which decides
    CLOSE_AT_EOF = "close at eof"  # close_when_done(): close at the peer's EOF
    END_INPUT = "end input"  # end_input(): EOF once a read leaves the kernel empty
    INPUT_ENDED = "input ended"  # end_input()'s EOF was delivered


class WriteTimeout(TimeoutError):
    """The peer did not drain the write buffer within the write timeout."""


def normalise_address(family: int, address: object, conn_id: int = 0) -> PeerKey:
    """Turn a socket address into a table key ``(host, port)``.

    IPv4-mapped IPv6 addresses become dotted quads; IPv6 flow info and scope
    numbers are dropped (a link-local scope stays in the host as ``%name``);
    a Unix socket, which has no port, is keyed by its path and ``conn_id``.
    """
    if family == socket.AF_UNIX:
        path = address.decode(errors="replace") if isinstance(address, bytes) else str(address)
        return ("unix:" + path, conn_id)
    if not isinstance(address, tuple):
        raise TypeError(f"unexpected address {address!r}")
    host: str = address[0]
    port: int = address[1]
    if family == socket.AF_INET6 and host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return (host, port)


class Connection:
    """A live stream connection; implements :class:`reactor.protocol.Transport`.

    Created by a listener or a connector, never by hand.  ``peer`` is the key
    of the connection table, ``id`` a process-wide monotonic number.
    """

    __slots__ = (
        "_active",
        "_data_received",
        "_drain",
        "_eof_pending",
        "_eof_received",
        "_eof_sent",
        "_events",
        "_exc",
        "_fd",
        "_framer",
        "_high",
        "_idle_timeout",
        "_local",
        "_loop",
        "_low",
        "_notify_passive",
        "_owner",
        "_pending",
        "_protocol",
        "_read_size",
        "_reading",
        "_sock",
        "_state",
        "_wbuf",
        "_write_progress",
        "_write_timeout",
        "_write_timer",
        "_writing_paused",
        "_wsize",
        "bytes_in",
        "bytes_out",
        "created",
        "id",
        "idle_due",
        "last_activity",
        "peer",
    )

    def __init__(
        self,
        loop: ConnectionHost,
        sock: socket.socket,
        handler: Handler,
        peer: PeerKey | None = None,
        *,
        owner: ConnectionOwner | None = None,
        options: ConnectionOptions = _DEFAULTS,
        family: int | None = None,
        local: PeerKey | None = None,
    ) -> None:
        self.id = next(_ids)
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        if family is None:  # the property builds an IntEnum: listeners pass it in
            family = sock.family
        _prepare_socket(sock, family, options.nodelay, options.keepalive)
        self.peer = (
            peer if peer is not None else normalise_address(family, sock.getpeername(), self.id)
        )
        # A listener bound to one address passes it (one shared tuple); other
        # connections ask the socket when first asked, or at the latest on close.
        self._local = local
        self.created = self.last_activity = loop.now
        self.bytes_in = 0
        self.bytes_out = 0
        self._owner = owner
        self._read_size = options.read_size
        self._state = State.OPEN
        self._exc: Exception | None = None
        # Allocated when output first has to wait and dropped once it drains:
        # an idle connection carries no buffer (a deque alone is 760 bytes).
        self._wbuf: collections.deque[bytes | memoryview] | None = None
        self._wsize = 0
        self._writing_paused = False
        # ConnectionOptions checked the values, once for all the connections
        # of a listener or connector: none of that work per accept.
        self._high = options.high_water
        self._low = options.high_water // 4 if options.low_water is None else options.low_water
        self._reading = True
        self._eof_received = False
        self._eof_pending = False
        self._eof_sent = False
        self._drain = _Drain.NONE
        self._framer: Decoder | None = None
        self._active: int = -1  # -1: deliver everything; 0: passive; N: N more
        self._notify_passive = False
        self._pending: collections.deque[bytes] | None = None
        self._write_progress = 0.0
        self._write_timeout = options.write_timeout
        self._write_timer: TimerHandle | None = None
        idle_timeout = self._idle_timeout = options.idle_timeout
        self.idle_due: float | None = None  # owned by loop.deadlines
        self._protocol: Handler = handler
        # None: bytes go straight to the handler (no bound method kept per
        # connection); else the framed / active-mode delivery.
        self._data_received: Callable[[bytes], object] | None = None
        self._events = EVENT_READ
        loop.selector.register(self._fd, EVENT_READ, self)
        loop.add_connection(self)
        if idle_timeout is not None:
            loop.deadlines.arm(self.created + idle_timeout, self)
        try:
            handler.connection_made(self)
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self.on_error(exc)

    # -- figures -----------------------------------------------------------------

    @property
    def loop(self) -> ConnectionHost:
        """The reactor this connection runs on."""
        return self._loop

    @property
    def local(self) -> PeerKey:
        """The local ``(host, port)``; still known after the connection closed."""
        if self._local is None:
            try:
                self._local = normalise_address(self._sock.family, self._sock.getsockname(), 0)
            except OSError:  # closed before anyone asked, and getsockname failed
                return ("", 0)
        return self._local

    @property
    def state(self) -> State:
        """OPEN, CLOSING (flushing before close) or CLOSED."""
        return self._state

    @property
    def writing_paused(self) -> bool:
        """True between ``pause_writing()`` and ``resume_writing()``."""
        return self._writing_paused

    def is_reading(self) -> bool:
        """False while reading is paused (by the handler, an active mode or a close)."""
        return bool(self._events & EVENT_READ)

    def is_closing(self) -> bool:
        """True once the connection is closing or closed."""
        return self._state is not State.OPEN

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet handed to the kernel."""
        return self._wsize

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """``(low, high)`` water marks."""
        return (self._low, self._high)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks; ``low`` defaults to a quarter of ``high``.

        Both are byte counts >= 0 with ``low <= high``; anything else raises
        :exc:`ValueError` naming the bad one.
        """
        high, low = check_water_marks(
            high, low, default_high=DEFAULT_HIGH_WATER, names=("high", "low")
        )
        self._high = high
        self._low = low
        self._check_high_water()

    def get_extra_info(self, name: str, default: object = None) -> object:
        """asyncio-compatible extras: ``peername``, ``sockname``, ``socket``, ``peer``."""
        if name == "socket":
            return self._sock
        if name == "peername":
            try:
                return self._sock.getpeername()
            except OSError:
                return default
        if name == "sockname":
            return self._sock.getsockname()
        if name == "peer":
            return self.peer
        return default

    def __repr__(self) -> str:
        host, port = self.peer
        return f"<Connection #{self.id} {host}:{port} {self._state.value}>"

    # -- handlers ------------------------------------------------------------------

    def get_protocol(self) -> Handler:
        """The handler that currently owns the connection."""
        return self._protocol

    def set_protocol(self, handler: Handler) -> None:
        """Hand the connection to ``handler``; paused state and queued output stay."""
        self._protocol = handler
        self._route()

    def set_framer(self, framer: Decoder | None) -> None:
        """Deliver framed messages (gen_tcp's ``{packet, N}``) instead of raw bytes.

        Messages already decoded but not delivered stay queued.  Unlike
        gen_tcp's ``setopts``, bytes the previous framer held for an
        incomplete message are not re-parsed by the new one: switch framers
        at a message boundary.
        """
        self._framer = framer
        self._route()

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes, over pause/resume reading.

        ``True``: deliver every message.  ``False``: deliver nothing (reading
        pauses).  ``"once"``: one message, then passive.  An int ``N`` adds N
        to the budget; when it runs out, reading pauses and the handler's
        ``passive()`` hook is called.  A message is one frame with a framer,
        else one read.
        """
        self._notify_passive = False
        if mode is True:
            self._active = -1
        elif mode is False:
            self._active = 0
        elif mode == "once":
            self._active = 1
        elif isinstance(mode, int):
            self._active = max(max(self._active, 0) + mode, 0)
            self._notify_passive = True
            if self._active == 0:
                self._became_passive()
        else:
            raise ValueError(f"bad active mode {mode!r}")
        self._route()
        if self._active == 0:
            self._set_reading(False)
        elif self._pending:
            # Messages already read go first, on the next turn (delivery is
            # never re-entrant); reading resumes once they are delivered, so
            # the peer's EOF cannot overtake them.
            self._loop.call_soon(self._deliver_later)
        else:
            self._set_reading(True)

    def _route(self) -> None:
        """Choose how received bytes reach the handler (direct is the hot path)."""
        if self._framer is None and self._active == -1 and not self._pending:
            self._data_received = None
        else:
            if self._pending is None:
                self._pending = collections.deque()
            self._data_received = self._deliver
        if self._drain is _Drain.END_INPUT:  # look at the kernel after each read
            self._data_received = self._deliver_then_check

    def _deliver(self, data: bytes) -> None:
        pending = self._pending
        assert pending is not None
        if self._framer is None:
            pending.append(data)
        else:
            try:
                pending.extend(self._framer.feed(data))
            except ProtocolError as exc:
                # gen_tcp delivers the messages that preceded the bad one
                pending.extend(getattr(exc, "frames", ()))
                self._deliver_pending()
                raise
        self._deliver_pending()

    def _deliver_pending(self) -> None:
        pending = self._pending
        while pending and self._active and self._state is State.OPEN:
            message = pending.popleft()
            if self._active > 0:
                self._active -= 1
                if self._active == 0:  # the budget is spent: stop reading first
                    self._set_reading(False)
                    self._protocol.data_received(message)
                    if self._active == 0 and self._notify_passive:
                        self._became_passive()
                    continue
            self._protocol.data_received(message)
        if not pending and self._framer is None and self._active == -1:
            self._route()

    def _deliver_later(self) -> None:
        try:
            self._deliver_pending()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self.on_error(exc)
            return
        if self._active and not self._pending and self._state is State.OPEN:
            self._set_reading(True)
            if self._drain is _Drain.END_INPUT:  # the queued input is delivered now
                self._try_input_end()

    def _became_passive(self) -> None:
        """gen_tcp's ``{tcp_passive, Socket}``: an active-N budget ran out."""
        if self._state is not State.OPEN:
            return
        protocol = self._protocol
        try:
            protocol.passive()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self._hook_failed(protocol, exc, "passive")

    def _hook_failed(self, protocol: Handler, exc: Exception, name: str) -> bool:
        """The hook ``name`` raised ``exc``: true if the handler just lacks it.

        A hook that fails aborts this connection, whoever's callback it ran
        in (handler A's write may cross B's high-water mark), and is logged
        with this connection's peer key; the caller carries on.
        """
        if missing_hook(exc, protocol, name):
            return True
        self.on_error(exc, name)
        return False

    # -- reading -----------------------------------------------------------------

    def pause_reading(self) -> None:
        """Stop reading; the kernel's receive window then pushes back on the peer."""
        self._reading = False
        self._update_events()

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`."""
        self._reading = True
        self._update_events()

    def _set_reading(self, on: bool) -> None:
        self._reading = on
        self._update_events()

    def on_readable(self) -> None:
        """The loop saw the socket readable: one ``recv``, one delivery."""
        if not self._events & EVENT_READ:  # paused or closed earlier this turn
            return
        try:
            data = self._sock.recv(self._read_size)
        except _TRY_AGAIN:
            return
        if data:
            self.bytes_in += len(data)
            self.last_activity = self._loop.now
            deliver = self._data_received
            if deliver is None:
                self._protocol.data_received(data)
            else:
                deliver(data)
        else:
            self._read_eof()

    def _read_eof(self) -> None:
        self._eof_received = True
        self._update_events()
        protocol = self._protocol
        try:
            keep_open = protocol.eof_received()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            keep_open = None
            self._hook_failed(protocol, exc, "eof_received")
        if self._state is not State.OPEN:  # closed by the hook, or it failed
            return
        if not keep_open or self._eof_sent or self._drain is _Drain.CLOSE_AT_EOF:
            self.close()

    # -- writing -------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``: at once if nothing is queued, else after what is."""
        if self._state is not _OPEN or self._eof_pending:
            self._write_refused()
            return
        if not self._wbuf:
            try:
                sent = self._sock.send(data, _NOSIGNAL)
            except _TRY_AGAIN:
                sent = 0
            except OSError as exc:
                self._fatal(exc)
                return
            if sent:
                self.bytes_out += sent
                self.last_activity = self._loop.now
                if sent == len(data):
                    return
            elif not data:
                return
            rest = memoryview(data)[sent:] if sent else data
        elif not data:
            return
        else:
            rest = data
        if not isinstance(rest, bytes) and not (
            isinstance(rest, memoryview) and isinstance(rest.obj, bytes)
        ):
            rest = bytes(rest)  # a mutable buffer may change after write() returns
        self._queue(rest)

    def _write_refused(self) -> None:
        if self._state is _OPEN:  # open, but write_eof() was called
            raise RuntimeError("write() after write_eof()")
        if self._state is State.CLOSING and self._exc is None and not self._eof_pending:
            log.debug("write to %s after close() dropped", self.peer)

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Write each chunk in order, joined into one send where possible."""
        self.write(b"".join(chunks))

    def _queue(self, data: bytes | memoryview) -> None:
        buf = self._wbuf
        if buf is None:
            buf = self._wbuf = collections.deque()
        was_empty = not buf
        buf.append(data)
        self._wsize += len(data)
        if was_empty:
            self._write_progress = self._loop.now
            self._update_events()
            if self._write_timeout is not None and self._write_timer is None:
                self._write_timer = self._loop.call_at(
                    self._write_progress + self._write_timeout, self._write_check
                )
        self._check_high_water()

    def _check_high_water(self) -> None:
        if self._wsize > self._high and not self._writing_paused:
            self._writing_paused = True
            protocol = self._protocol
            try:
                protocol.pause_writing()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                self._hook_failed(protocol, exc, "pause_writing")

    def on_writable(self) -> None:
        """The loop saw the socket writable: flush what the queue holds."""
        buf = self._wbuf
        if not buf:
            self._update_events()
            return
        try:
            if len(buf) == 1:
                sent = self._sock.send(buf[0], _NOSIGNAL)
            else:
                sent = self._sock.sendmsg(itertools.islice(buf, _IOV_MAX), (), _NOSIGNAL)
        except _TRY_AGAIN:
            return
        self._wsize -= sent
        self.bytes_out += sent
        self.last_activity = self._write_progress = self._loop.now
        while sent:
            chunk = buf[0]
            size = len(chunk)
            if sent >= size:
                buf.popleft()
                sent -= size
            else:
                buf[0] = memoryview(chunk)[sent:]
                break
        if self._writing_paused and self._wsize <= self._low:
            self._writing_paused = False
            protocol = self._protocol
            try:
                protocol.resume_writing()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                self._hook_failed(protocol, exc, "resume_writing")
            if self._wbuf is not buf:  # the hook failed or aborted: queue dropped
                return
        if not buf:
            self._drained()

    def _drained(self) -> None:
        self._wbuf = None
        self._update_events()
        if self._eof_pending and not self._eof_sent:
            self._shutdown_write()
        if self._state is State.CLOSING:
            self._schedule_finish()

    def can_write_eof(self) -> bool:
        """True: TCP and Unix stream sockets can half-close."""
        return True

    def write_eof(self) -> None:
        """Half-close: shut the write side once the queue has drained."""
        if self._state is not State.OPEN or self._eof_pending:
            return
        self._eof_pending = True
        if not self._wbuf:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        self._eof_sent = True
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._fatal(exc)
            return
        if self._eof_received:  # both directions are done
            self.close()

    # -- closing -------------------------------------------------------------------

    def close(self) -> None:
        """Stop reading, flush what was written, then close."""
        if self._state is not State.OPEN:
            return
        self._state = State.CLOSING
        self._update_events()
        if not self._wbuf:
            self._schedule_finish()

    def abort(self) -> None:
        """Close now; whatever is still queued is dropped."""
        self._abort(None)

    def _abort(self, exc: Exception | None) -> None:
        if self._state is State.CLOSED:
            return
        if exc is not None:
            _drop_frames(exc)  # logged already; its frames would keep the buffers
            if self._exc is None:
                self._exc = exc
        self._wbuf = None
        self._wsize = 0
        self._pending = None  # messages read but not delivered: never will be
        if self._state is State.OPEN:
            self._state = State.CLOSING
        self._update_events()
        self._schedule_finish()

    def _fatal(self, exc: Exception) -> None:
        """A socket error: the connection is lost with ``exc``."""
        log.debug("connection %s lost: %s", self.peer, exc)
        self._abort(exc)

    def on_error(self, exc: BaseException, hook: str = "") -> None:
        """The loop caught ``exc`` from this connection's I/O or handler
        (``hook``: from that optional handler hook)."""
        if not isinstance(exc, Exception):
            raise exc
        if isinstance(exc, ProtocolError):  # the peer broke the protocol
            log.info("closing %s: %s", self.peer, exc)
        elif isinstance(exc, OSError):  # resets are routine
            log.debug("closing %s: %s", self.peer, exc)
        elif hook:  # a bug in a handler: loud, but contained to this connection
            log.error("handler failed for %s in %s()", self.peer, hook, exc_info=exc)
        else:
            log.error("handler failed for %s", self.peer, exc_info=exc)
        self._abort(exc)

    # -- draining ------------------------------------------------------------------

    def drain(self) -> None:
        """Start a graceful drain of this connection (at most once).

        Calls the handler's ``drain_requested()`` hook, which finishes the work
        in flight and closes; a handler without the hook gets
        :meth:`close_when_done`.  Listeners and the reactor call this from
        their ``shutdown``; they also own the deadline that aborts stragglers.
        """
        if self._state is not State.OPEN or self._drain is not _Drain.NONE:
            return
        self._drain = _Drain.REQUESTED
        protocol = self._protocol
        try:
            protocol.drain_requested()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            if self._hook_failed(protocol, exc, "drain_requested"):
                self.close_when_done()  # the default drain

    def is_draining(self) -> bool:
        """Whether a graceful drain started (:meth:`drain`, or the handler's own call)."""
        return self._drain is not _Drain.NONE

    def close_when_done(self) -> None:
        """The default drain: close at once if idle, else at the peer's EOF.

        *Idle* means that nothing written is queued, nothing read waits to be
        delivered (messages queued by an active mode, a partial frame in the
        framer), the kernel holds nothing unread from the peer, neither bytes
        nor its EOF (one non-blocking ``MSG_PEEK`` read tells), and either the
        peer never sent anything or the last I/O is :data:`DRAIN_QUIET`
        seconds old.  A connection that is not idle keeps reading and
        answering; when the peer's EOF arrives it flushes and closes with a
        FIN, even if ``eof_received()`` asked to stay open.
        """
        if self._state is not State.OPEN:
            return
        self._drain = _Drain.CLOSE_AT_EOF
        if self._eof_received or self._idle():
            self.close()

    def end_input(self) -> None:
        """Treat the end of what the peer already sent as its EOF.

        Reading goes on while the kernel holds input; once a read leaves it
        empty (or at once, if it is empty now), ``eof_received()`` is called
        as for a half-close and the transport closes after flushing unless it
        returns true.  Input that arrives later is not read; the close still
        ends with a FIN, as after a real EOF.
        """
        if self._state is not State.OPEN or self._eof_received:
            return
        self._drain = _Drain.END_INPUT
        self._route()
        # Never re-entrant: the handler usually calls this from its own hook.
        self._loop.call_soon(self._try_input_end)

    def _idle(self) -> bool:
        if self._wbuf or self._pending:
            return False
        if self.bytes_in and self._loop.now - self.last_activity < DRAIN_QUIET:
            return False  # the peer may be in the middle of a stream
        buffered = getattr(self._framer, "buffered", None)
        if buffered is not None and buffered():
            return False
        return not self._input_waiting()

    def _input_waiting(self) -> bool:
        """Whether the kernel holds input not read yet: bytes, or the peer's EOF."""
        if self._eof_received:
            return False
        try:
            self._sock.recv(1, socket.MSG_PEEK)
        except _TRY_AGAIN:
            return False
        except OSError:  # a reset: the next read reports it
            return True
        return True

    def _deliver_then_check(self, data: bytes) -> None:
        """Delivery while ``end_input()`` waits for the kernel to run dry."""
        if self._framer is None and self._active == -1 and not self._pending:
            self._protocol.data_received(data)
        else:
            if self._pending is None:
                self._pending = collections.deque()
            self._deliver(data)
        self._check_input_end()

    def _check_input_end(self) -> None:
        if (
            self._drain is not _Drain.END_INPUT
            or self._state is not State.OPEN
            or self._eof_received
            or self._pending
            or self._input_waiting()  # more bytes (read next), or the real EOF
        ):
            return
        self._drain = _Drain.INPUT_ENDED
        self._route()
        self._read_eof()

    def _try_input_end(self) -> None:
        try:
            self._check_input_end()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self.on_error(exc)

    def _schedule_finish(self) -> None:
        if not self._events & _REAPING:
            # the socket is closed at the end of this turn, which takes it
            # out of epoll: no epoll_ctl needed on the fast path
            self._loop.reap(self, self._fd if self._events else -1)
            self._events = _REAPING

    def on_reap(self) -> None:
        """Reap: close the socket, leave the tables, call connection_lost once."""
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        self._loop.deadlines.forget(self)
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if self._exc is None and (not self._eof_received or self._drain is _Drain.INPUT_ENDED):
            _drain_unread(self._sock)
        if self._local is None:
            _ = self.local  # fixed for life: keep it for connection_lost and the logs
        self._sock.close()
        if self._owner is not None:
            self._owner.release(self)
        try:
            self._protocol.connection_lost(self._exc)
        except Exception as exc:  # noqa: BLE001  a handler bug must not stop the reap
            self._loop.call_exception_handler(
                {"message": "connection_lost failed", "exception": exc, "peer": self.peer}
            )

    # -- selector registration ------------------------------------------------------

    def _update_events(self) -> None:
        events = self._events
        if events & _REAPING:
            return
        wanted = EVENT_WRITE if self._wbuf else 0
        if self._reading and not self._eof_received and self._state is State.OPEN:
            wanted |= EVENT_READ
        if wanted == events:
            return
        selector = self._loop.selector
        if not events:
            selector.register(self._fd, wanted, self)
        elif not wanted:
            selector.unregister(self._fd)
        else:
            selector.modify(self._fd, wanted, self)
        self._events = wanted

    # -- timers ---------------------------------------------------------------------------

    def set_idle_timeout(self, seconds: float | None) -> None:
        """Close (via the handler's ``timeout()`` hook) after ``seconds`` without I/O.

        ``None`` or ``0`` turns it off; a negative number or ``nan`` raises
        :exc:`ValueError`.
        """
        seconds = check_timeout("idle_timeout", seconds)
        self._idle_timeout = seconds
        deadlines = self._loop.deadlines
        deadlines.forget(self)
        if seconds is not None and self._state is not State.CLOSED:
            deadlines.arm(self.last_activity + seconds, self)

    def on_idle(self) -> None:
        """The idle deadline passed (called by the reactor's deadline queue)."""
        timeout = self._idle_timeout
        if timeout is None or self._state is State.CLOSED:
            return
        now = self._loop.time()
        due = self.last_activity + timeout
        if now < due:  # there was activity: re-arm from the stamp
            self._loop.deadlines.arm(due, self)
            return
        protocol = self._protocol
        count_timeout(self, "idle")
        try:
            protocol.timeout()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            if self._hook_failed(protocol, exc, "timeout"):
                self.close()  # the default
        if self._state is State.OPEN and self.idle_due is None:
            self._loop.deadlines.arm(now + timeout, self)

    def set_write_timeout(self, seconds: float | None) -> None:
        """Abort when queued output makes no progress for ``seconds``.

        ``None`` or ``0`` turns it off; a negative number or ``nan`` raises
        :exc:`ValueError`.
        """
        seconds = check_timeout("write_timeout", seconds)
        self._write_timeout = seconds
        if seconds is not None and self._wbuf and self._write_timer is None:
            self._write_timer = self._loop.call_at(
                self._write_progress + seconds, self._write_check
            )

    def _write_check(self) -> None:
        self._write_timer = None
        timeout = self._write_timeout
        if timeout is None or not self._wbuf or self._state is State.CLOSED:
            return
        due = self._write_progress + timeout
        if self._loop.now < due:
            self._write_timer = self._loop.call_at(due, self._write_check)
            return
        log.info("aborting %s: %d bytes not drained in %.3g s", self.peer, self._wsize, timeout)
        count_timeout(self, "write")
        self._abort(WriteTimeout(f"{self._wsize} bytes not drained in {timeout:g} s"))

    # -- socket options ----------------------------------------------------------------

    def set_nodelay(self, enabled: bool = True) -> None:
        """TCP_NODELAY (on by default): send small writes without waiting (no Nagle)."""
        if self._sock.family in (socket.AF_INET, socket.AF_INET6):
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(enabled))

    def set_keepalive(
        self,
        enabled: bool = True,
        idle: int | None = None,
        interval: int | None = None,
        count: int | None = None,
    ) -> None:
        """TCP keepalive: probe a silent peer after ``idle`` s, every ``interval`` s,
        giving up after ``count`` unanswered probes (Linux option names)."""
        sock = self._sock
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(enabled))
        for name, value in (
            ("TCP_KEEPIDLE", idle),
            ("TCP_KEEPINTVL", interval),
            ("TCP_KEEPCNT", count),
        ):
            option = getattr(socket, name, None)
            if value is not None and option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _drop_frames(exc: BaseException) -> None:
    """Strip the tracebacks of ``exc`` and of the exceptions chained to it.

    Their frames reference the connection and its buffers (and the
    connection references ``exc``): a cycle only the garbage collector could
    break.  The traceback of a handler's bug was logged before this.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        todo += (item.__cause__, item.__context__)


def _prepare_socket(sock: socket.socket, family: int, nodelay: bool, keepalive: bool) -> None:
    """Non-blocking, and for TCP the options asked for (TCP_NODELAY by default)."""
    sock.setblocking(False)
    if family in (socket.AF_INET, socket.AF_INET6):
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def _drain_unread(sock: socket.socket) -> None:
    """Read what the peer sent and we never read, so close() sends FIN, not RST.

    Closing a socket with unread input makes the kernel reset the connection,
    which can destroy our own last bytes still in flight to the peer.
    """
    for _ in range(4):
        try:
            if not sock.recv(65536):
                return
        except OSError:
            return
