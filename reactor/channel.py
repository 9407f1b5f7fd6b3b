"""The base of a connection: its socket and state, the read path, closing.

Theory of operation.

*Reading.*  The loop calls :meth:`Channel.on_readable` when the socket is
readable.  It does one ``recv`` of at most ``read_size`` bytes (the fairness
bound: one busy peer gets one read per loop turn), stamps the turn's time as
the last activity and hands the bytes to the handler's ``data_received``
directly.  Only a connection with a framer, a bounded active mode or a
drain's ``end_input()`` has a :class:`~reactor.delivery.Delivery`, and its
reads go there instead.  ``recv`` returning ``b""`` is the peer's
half-close: ``eof_received()`` decides whether the connection stays open for
writing.

*Hooks.*  The optional hooks (``pause_writing``, ``resume_writing``,
``passive``, ``eof_received``, ``timeout``, ``drain_requested``) are each
guarded so that a failure is contained to the connection the hook belongs
to.  That matters because they can run inside *another* connection's
callback: handler A writing to connection B may cross B's high-water mark,
and B's ``pause_writing`` failing must abort B, not A.  ``data_received`` is
called bare, since it runs only from this connection's own read, where the
loop's dispatch already contains its failures.

*Closing.*  ``close()`` stops reading and closes once the queue drains;
``abort()`` drops the queue.  Either way the connection is only *marked*; the
loop reaps it at the end of the turn (``on_reap``), which closes the socket,
leaves the tables and calls ``connection_lost`` exactly once.  The exception
kept for ``connection_lost`` is stripped of its traceback once it has been
logged: its frames (the dispatch, ``on_writable``) hold the connection and
its write queue, and that cycle would keep a reset peer's unsent output,
possibly hundreds of megabytes, alive until the garbage collector ran.

Three classes make a connection, each calling only into the ones below it:
:class:`Channel` here, :class:`reactor.writer.Writer` (the write path) and
:class:`reactor.transport.Connection` (the tables, the handler's controls,
the idle timeout and the drain), the class programs meet.
"""

from __future__ import annotations

import collections
import enum
import itertools
import logging
import selectors
import socket
from typing import TYPE_CHECKING

from reactor.addresses import normalise_address
from reactor.drain import DrainStage
from reactor.errors import drop_tracebacks, hook_failed, log_failure
from reactor.sockopts import prepare_socket

if TYPE_CHECKING:
    from reactor.delivery import Delivery
    from reactor.options import ConnectionOptions
    from reactor.protocol import Handler, PeerKey, TimerHandle
    from reactor.seam import ConnectionHost, ConnectionOwner

__all__ = ["REAPING", "Channel", "State"]

log = logging.getLogger("reactor.transport")  # the logger programs know these records by

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE
_TRY_AGAIN = (BlockingIOError, InterruptedError)
REAPING = 4
"""Not a selector event: the connection left the selector for good and is being reaped."""
_ids = itertools.count(1)


class State(enum.Enum):
    """Where a connection is in its life."""

    OPEN = "open"
    CLOSING = "closing"  # close() called: flushing, then closing
    CLOSED = "closed"  # connection_lost has been called


class Channel:
    """The base of :class:`reactor.transport.Connection`: state, reading, closing.

    Not made on its own.  It holds every slot of a connection (its subclasses
    add none), so a connection is one object of one size.
    """

    __slots__ = (
        "_delivery",
        "_drain",
        "_eof_pending",
        "_eof_received",
        "_eof_sent",
        "_events",
        "_exc",
        "_fd",
        "_local",
        "_loop",
        "_options",
        "_owner",
        "_protocol",
        "_reading",
        "_sock",
        "_state",
        "_wbuf",
        "_write_progress",
        "_write_timer",
        "_writing_paused",
        "_wsize",
        "bytes_in",
        "bytes_out",
        "created",
        "id",
        "idle_due",
        "last_activity",
        "linked",
        "peer",
        "proxy_peer",
    )

    def __init__(
        self,
        loop: ConnectionHost,
        sock: socket.socket,
        handler: Handler,
        *,
        peer: PeerKey | None,
        owner: ConnectionOwner | None,
        options: ConnectionOptions,
        family: int | None,
        local: PeerKey | None,
    ) -> None:
        self.id = next(_ids)
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        if family is None:  # the property builds an IntEnum: listeners pass it in
            family = sock.family
        prepare_socket(sock, family, options.nodelay, options.keepalive)
        self.peer = (
            peer if peer is not None else normalise_address(family, sock.getpeername(), self.id)
        )
        # A listener bound to one address passes it (one shared tuple); other
        # connections ask the socket when first asked, or at the latest on close.
        self._local = local
        self.proxy_peer: PeerKey | None = None
        """The proxy's own key when a PROXY header named the client (``peer``)."""
        self.linked: int | None = None
        """The id of the connection this one is paired with (a proxy's other leg)."""
        self.created = self.last_activity = loop.now
        self.bytes_in = 0
        self.bytes_out = 0
        self._owner = owner
        self._state = State.OPEN
        self._exc: Exception | None = None
        # Allocated when output first has to wait and dropped once it drains:
        # an idle connection carries no buffer (a deque alone is 760 bytes).
        self._wbuf: collections.deque[bytes | memoryview] | None = None
        self._wsize = 0
        self._writing_paused = False
        # ConnectionOptions checked the values, once for all the connections
        # of a listener or connector: none of that work per accept, and one
        # slot for its read size, water marks and timeouts (a setter gives
        # the connection a copy of its own).
        self._options = options
        self._reading = True
        self._eof_received = False
        self._eof_pending = False
        self._eof_sent = False
        self._drain = DrainStage.NONE
        # None: bytes go straight to the handler; else gen_tcp's delivery.
        self._delivery: Delivery | None = None
        self._write_progress = 0.0
        self._write_timer: TimerHandle | None = None
        self.idle_due: float | None = None  # owned by loop.deadlines
        self._protocol: Handler = handler
        self._events = EVENT_READ
        loop.selector.register(self._fd, EVENT_READ, self)

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

    def is_reading(self) -> bool:
        """False while reading is paused (by the handler, an active mode or a close)."""
        return bool(self._events & EVENT_READ)

    def is_closing(self) -> bool:
        """True once the connection is closing or closed."""
        return self._state is not State.OPEN

    def _hook_failed(self, protocol: Handler, exc: Exception, name: str) -> bool:
        """The hook ``name`` raised ``exc``: true if the handler just lacks it.

        A hook that fails aborts this connection, whoever's callback it ran
        in (handler A's write may cross B's high-water mark), and is logged
        with this connection's peer key; the caller carries on.
        """
        return hook_failed(exc, protocol, name, self.on_error)

    # -- reading -----------------------------------------------------------------

    def pause_reading(self) -> None:
        """Stop reading; the kernel's receive window then pushes back on the peer."""
        self._reading = False
        self._update_events()

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`."""
        self._reading = True
        self._update_events()

    def on_readable(self) -> None:
        """The loop saw the socket readable: one ``recv``, one delivery."""
        if not self._events & EVENT_READ:  # paused or closed earlier this turn
            return
        try:
            data = self._sock.recv(self._options.read_size)
        except _TRY_AGAIN:
            return
        if data:
            self.bytes_in += len(data)
            self.last_activity = self._loop.now
            delivery = self._delivery
            if delivery is None:
                self._protocol.data_received(data)
            else:
                delivery.feed(data)
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
        if not keep_open or self._eof_sent or self._drain is DrainStage.CLOSE_AT_EOF:
            self.close()

    # -- closing -------------------------------------------------------------------

    def close(self) -> None:
        """Stop reading, flush what was written, then close."""
        if self._state is not State.OPEN:
            return
        self._state = State.CLOSING
        if self._delivery is not None:
            self._delivery.live = False
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
            drop_tracebacks(exc)  # logged already; its frames would keep the buffers
            if self._exc is None:
                self._exc = exc
        self._wbuf = None
        self._wsize = 0
        delivery = self._delivery
        if delivery is not None:  # messages read but not delivered: never will be
            delivery.live = False
            delivery.pending.clear()
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
        log_failure(log, self.peer, exc, hook)
        self._abort(exc)

    def _schedule_finish(self) -> None:
        """Have the loop reap the connection at the end of the turn (``Connection``'s)."""
        raise NotImplementedError

    def _update_events(self) -> None:
        events = self._events
        if events & REAPING:
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
