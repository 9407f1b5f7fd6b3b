"""One TCP (or Unix stream) connection: the transport a handler talks to.

Theory of operation.  :class:`Connection` implements
:class:`reactor.protocol.Transport`.  Its byte path is in its base
classes, :class:`reactor.channel.Channel` (reading, closing) and
:class:`reactor.writer.Writer` (writing, flow control), where the theory of
each is told; this module adds the rest.

*The tables.*  A connection enters the reactor-wide table when made and the
handler's ``connection_made`` follows; at the end of the turn that closed it,
:meth:`Connection.on_reap` closes the socket, leaves the tables (its
listener's through the :class:`~reactor.seam.ConnectionOwner` seam) and calls
``connection_lost`` exactly once.

*Delivery.*  ``set_framer`` and ``set_active`` give the connection a
:class:`~reactor.delivery.Delivery` only when one is needed; the plain path
keeps none and hands bytes to the handler directly.

*Timers.*  The idle timeout costs no heap work per read: reads only store a
timestamp.  The idle deadline lives in the reactor's
:class:`~reactor.timers.DeadlineQueue`, one small entry per connection, and
when it fires it re-arms itself from the stamp if there was activity
(twisted's ``TimeoutMixin`` resets a delayed call per read; here a read is
one attribute store).

*Draining.*  A graceful drain (``Listener.shutdown``, ``Reactor.shutdown``)
calls :meth:`Connection.drain` once per connection, which hands the decision
to the handler's ``drain_requested`` hook, or, without one, to
:meth:`Connection.close_when_done`; :mod:`reactor.drain` tells why a drained
connection keeps reading.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from typing import TYPE_CHECKING

from reactor import sockopts
from reactor.addresses import normalise_address
from reactor.channel import REAPING, State
from reactor.delivery import Delivery
from reactor.drain import DRAIN_QUIET, DrainStage
from reactor.metrics import count_timeout
from reactor.options import (
    DEFAULT_HIGH_WATER,
    DEFAULT_LOW_WATER,
    DEFAULT_READ_SIZE,
    ConnectionOptions,
    check_timeout,
)
from reactor.seam import ConnectionOwner
from reactor.writer import Writer, WriteTimeout

if TYPE_CHECKING:
    import ssl

    from reactor.protocol import ActiveMode, Decoder, Handler, PeerKey
    from reactor.seam import ConnectionHost
    from reactor.tls import TLSTransport

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

_DEFAULTS = ConnectionOptions()


class Connection(Writer):
    """A live stream connection; implements :class:`reactor.protocol.Transport`.

    Created by a listener or a connector, never by hand.  ``peer`` is the key
    of the connection table, ``id`` a process-wide monotonic number.
    """

    __slots__ = ()  # every slot is the channel's

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
        super().__init__(
            loop,
            sock,
            handler,
            peer=peer,
            owner=owner,
            options=options,
            family=family,
            local=local,
        )
        loop.add_connection(self)
        if options.idle_timeout is not None:
            loop.deadlines.arm(self.created + options.idle_timeout, self)
        try:
            handler.connection_made(self)
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self.on_error(exc)

    # -- figures -----------------------------------------------------------------

    @property
    def loop(self) -> ConnectionHost:
        """The reactor this connection runs on."""
        return self._loop

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

    # -- handlers and delivery ---------------------------------------------------------

    def get_protocol(self) -> Handler:
        """The handler that currently owns the connection."""
        return self._protocol

    def set_protocol(self, handler: Handler) -> None:
        """Hand the connection to ``handler``; paused state and queued output stay."""
        self._protocol = handler
        if self._delivery is not None:
            self._delivery.handler = handler

    def set_framer(self, framer: Decoder | None) -> None:
        """Deliver framed messages (gen_tcp's ``{packet, N}``) instead of raw bytes.

        Messages already decoded but not delivered stay queued.  Unlike
        gen_tcp's ``setopts``, bytes the previous framer held for an
        incomplete message are not re-parsed by the new one: switch framers
        at a message boundary.
        """
        if framer is None and self._delivery is None:
            return  # the plain path stays plain
        self._delivery_needed().framer = framer
        self._route()

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes, over pause/resume reading.

        ``True``: deliver every message.  ``False``: deliver nothing (reading
        pauses).  ``"once"``: one message, then passive.  An int ``N`` adds N
        to the budget; when it runs out, reading pauses and the handler's
        ``passive()`` hook is called.  A message is one frame with a framer,
        else one read.
        """
        if mode is True and self._delivery is None:
            self.resume_reading()  # the plain path stays plain
            return
        try:
            self._delivery_needed().set_active(mode)
        finally:
            self._route()

    def _delivery_needed(self) -> Delivery:
        delivery = self._delivery
        if delivery is None:
            delivery = self._delivery = Delivery(self, self._protocol, self._route)
            delivery.live = self._state is State.OPEN
        return delivery

    def _route(self) -> None:
        """Drop the delivery once it is plain again: the direct path is the hot one."""
        delivery = self._delivery
        if delivery is not None and delivery.after_read is None and delivery.plain():
            self._delivery = None

    # -- draining ------------------------------------------------------------------

    def drain(self) -> None:
        """Start a graceful drain of this connection (at most once).

        Calls the handler's ``drain_requested()`` hook, which finishes the work
        in flight and closes; a handler without the hook gets
        :meth:`close_when_done`.  Listeners and the reactor call this from
        their ``shutdown``; they also own the deadline that aborts stragglers.
        """
        if self._state is not State.OPEN or self._drain is not DrainStage.NONE:
            return
        self._drain = DrainStage.REQUESTED
        protocol = self._protocol
        try:
            protocol.drain_requested()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            if self._hook_failed(protocol, exc, "drain_requested"):
                self.close_when_done()  # the default drain

    def is_draining(self) -> bool:
        """Whether a graceful drain started (:meth:`drain`, or the handler's own call)."""
        return self._drain is not DrainStage.NONE

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
        self._drain = DrainStage.CLOSE_AT_EOF
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
        self._drain = DrainStage.END_INPUT
        self._delivery_needed().after_read = self._check_input_end  # look after each read
        # Never re-entrant: the handler usually calls this from its own hook.
        self._loop.call_soon(self._try_input_end)

    def _idle(self) -> bool:
        if self._wbuf or (self._delivery is not None and self._delivery.holds_input()):
            return False
        if self.bytes_in and self._loop.now - self.last_activity < DRAIN_QUIET:
            return False  # the peer may be in the middle of a stream
        return self._eof_received or not sockopts.input_waiting(self._sock)

    def _check_input_end(self) -> None:
        delivery = self._delivery
        if (
            self._drain is not DrainStage.END_INPUT
            or self._state is not State.OPEN
            or self._eof_received
            or (delivery is not None and delivery.pending)
            or sockopts.input_waiting(self._sock)  # more bytes (read next), or the real EOF
        ):
            return
        self._drain = DrainStage.INPUT_ENDED
        if delivery is not None:
            delivery.after_read = None
            self._route()
        self._read_eof()

    def _try_input_end(self) -> None:
        try:
            self._check_input_end()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self.on_error(exc)

    # -- the end ------------------------------------------------------------------

    def _schedule_finish(self) -> None:
        if not self._events & REAPING:
            # the socket is closed at the end of this turn, which takes it
            # out of epoll: no epoll_ctl needed on the fast path
            self._loop.reap(self, self._fd if self._events else -1)
            self._events = REAPING

    def on_reap(self) -> None:
        """Reap: close the socket, leave the tables, call connection_lost once."""
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        self._loop.deadlines.forget(self)
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if self._exc is None and (not self._eof_received or self._drain is DrainStage.INPUT_ENDED):
            sockopts.drain_unread(self._sock)
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

    # -- timers ---------------------------------------------------------------------------

    def set_idle_timeout(self, seconds: float | None) -> None:
        """Close (via the handler's ``timeout()`` hook) after ``seconds`` without I/O.

        ``None`` or ``0`` turns it off; a negative number or ``nan`` raises
        :exc:`ValueError`.
        """
        seconds = check_timeout("idle_timeout", seconds)
        self._options = dataclasses.replace(self._options, idle_timeout=seconds)
        deadlines = self._loop.deadlines
        deadlines.forget(self)
        if seconds is not None and self._state is not State.CLOSED:
            deadlines.arm(self.last_activity + seconds, self)

    def on_idle(self) -> None:
        """The idle deadline passed (called by the reactor's deadline queue)."""
        timeout = self._options.idle_timeout
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

    def start_tls(
        self,
        context: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        buffered: bytes = b"",
    ) -> TLSTransport:
        """Upgrade to TLS in place (STARTTLS); see :func:`reactor.tls.start_tls`."""
        from reactor.tls import start_tls  # noqa: PLC0415  (ssl only when used)

        return start_tls(
            self,
            context,
            server_side=server_side,
            server_hostname=server_hostname,
            buffered=buffered,
        )

    # -- socket options ----------------------------------------------------------------

    def set_nodelay(self, enabled: bool = True) -> None:
        """TCP_NODELAY (on by default): send small writes without waiting (no Nagle)."""
        sockopts.set_nodelay(self._sock, enabled)

    def set_keepalive(
        self,
        enabled: bool = True,
        idle: int | None = None,
        interval: int | None = None,
        count: int | None = None,
    ) -> None:
        """TCP keepalive: probe a silent peer after ``idle`` s, every ``interval`` s,
        giving up after ``count`` unanswered probes (Linux option names)."""
        sockopts.set_keepalive(self._sock, enabled, idle, interval, count)
