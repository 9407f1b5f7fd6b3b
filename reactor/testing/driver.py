"""Calling a handler as the reactor calls it, for transports without a socket.

:class:`HandlerDriver` is the handler side of
:class:`~reactor.testing.MemoryTransport`: the part of
:class:`reactor.transport.Connection` that lies between a read and
``data_received``, and the reactor's rules for calling handler code.

* Containment.  Every call into handler code that the transport starts (a
  delivery, ``connection_made``, ``connection_lost``) is guarded: an
  exception is logged with the peer key as the reactor logs it (info for a
  :class:`~reactor.protocol.ProtocolError`, debug for an ``OSError``, an
  error with its traceback for anything else), appended to
  ``failures``, and aborts that connection only.
* No re-entrance.  Work that the reactor would do on a later turn
  (``connection_lost`` after a close, messages held by an active mode) is
  scheduled with the loop's ``call_soon``.  Without a loop it waits until the
  outermost guarded call returns, so a handler never sees ``connection_lost``
  while one of its own callbacks, or another connection's, is on the stack.
* gen_tcp's delivery.  A framer or a bounded active mode gives the
  transport the real connection's :class:`~reactor.delivery.Delivery`, made
  and dropped as :class:`~reactor.transport.Connection` makes and drops it,
  so framing, the active budget and ``passive()`` behave exactly as there.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, ClassVar

from reactor.delivery import Delivery
from reactor.errors import log_failure
from reactor.transport import State

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.protocol import ActiveMode, Decoder, EventLoop, Handler, PeerKey

__all__ = ["HandlerDriver"]

log = logging.getLogger(__name__)


class _Deferred:
    """Calls held until the outermost guarded call returns (loop-less transports).

    Shared by every loop-less transport: a handler of one connection may
    close another (a chat room dropping a slow member), and that one's
    ``connection_lost`` must wait as well.
    """

    depth: ClassVar[int] = 0
    draining: ClassVar[bool] = False
    calls: ClassVar[collections.deque[Callable[[], None]]] = collections.deque()


class HandlerDriver:
    """The handler side of a socket-less transport; subclasses do the I/O.

    A subclass calls :meth:`_init_driver` first, implements ``_abort(exc)``
    (close now, ``connection_lost(exc)`` later) and ``_finish()`` (call
    ``connection_lost``, which :meth:`_schedule_finish` defers), may override
    ``_reading_resumed()`` to deliver what waited while reading was paused,
    and clears the delivery's ``live`` when it closes.
    """

    __slots__ = (
        "_delivery",
        "_finish_scheduled",
        "_handler",
        "_loop",
        "_reading",
        "_state",
        "failures",
        "peer",
    )

    def _init_driver(self, handler: Handler, loop: EventLoop | None, peer: PeerKey) -> None:
        self.peer = peer
        self._handler = handler
        self._loop = loop
        self._state = State.OPEN
        self._reading = True
        self.failures: list[Exception] = []
        """Exceptions from handler code that aborted the connection, in order."""
        # None: reads go straight to the handler, as on a plain Connection
        self._delivery: Delivery | None = None
        self._finish_scheduled = False

    def _abort(self, exc: Exception | None) -> None:
        raise NotImplementedError  # every transport closes in its own way

    def _finish(self) -> None:
        raise NotImplementedError  # connection_lost, after the transport's own cleanup

    def _schedule_finish(self) -> None:
        """Have ``connection_lost`` called after the current handler call, once."""
        if not self._finish_scheduled:
            self._finish_scheduled = True
            self._soon(self._finish)

    def _fatal(self, exc: Exception) -> None:
        """The (simulated) network failed: the connection is lost with ``exc``."""
        log.debug("connection %s lost: %s", self.peer, exc)
        self._abort(exc)

    def _reading_resumed(self) -> None:
        """Reading is on again: deliver what waited (nothing here)."""

    @property
    def loop(self) -> EventLoop:
        """The loop given to the constructor."""
        if self._loop is None:
            raise RuntimeError("this MemoryTransport has no loop: pass loop= (a Reactor)")
        return self._loop

    def pause_reading(self) -> None:
        """Stop reading: what the peer sends waits (and pushes back on a paired writer)."""
        self._reading = False

    def resume_reading(self) -> None:
        """Read again; held input is delivered on the next turn."""
        self._reading = True
        self._reading_resumed()

    @property
    def state(self) -> State:
        """OPEN, CLOSING (flushing before close) or CLOSED (``connection_lost`` ran)."""
        return self._state

    @property
    def closed(self) -> bool:
        """Whether ``connection_lost`` has been called."""
        return self._state is State.CLOSED

    def is_closing(self) -> bool:
        """True once the connection is closing or closed."""
        return self._state is not State.OPEN

    def _now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    # -- handlers ---------------------------------------------------------------------

    def get_protocol(self) -> Handler:
        """The handler that currently owns the connection."""
        return self._handler

    def set_protocol(self, handler: Handler) -> None:
        """Hand the connection to ``handler``; paused state and queued output stay."""
        self._handler = handler
        if self._delivery is not None:
            self._delivery.handler = handler

    def set_framer(self, framer: Decoder | None) -> None:
        """Deliver framed messages instead of raw bytes (switch at a message boundary)."""
        if framer is None and self._delivery is None:
            return  # the plain path stays plain
        self._delivery_needed().framer = framer
        self._route()

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes, as :meth:`reactor.transport.Connection.set_active`."""
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
            delivery = Delivery(self, self._handler, self._route, call_soon=self._soon)
            self._delivery = delivery
            delivery.live = self._state is State.OPEN
        return delivery

    def _route(self) -> None:
        """Drop the delivery once it is plain again, as the connection does."""
        delivery = self._delivery
        if delivery is not None and delivery.plain():
            self._delivery = None

    # -- running handler code ---------------------------------------------------------------

    def on_error(self, exc: BaseException, hook: str = "") -> None:
        """Handler code failed with ``exc`` (``hook``: in that optional hook):
        logged as the reactor logs it, recorded in ``failures``, aborted."""
        if not isinstance(exc, Exception):
            raise exc
        log_failure(log, self.peer, exc, hook)
        self.failures.append(exc)
        self._abort(exc)

    def _soon(self, callback: Callable[..., object], *args: object) -> None:
        """Run ``callback`` after the current handler call: next turn, or when it returns."""
        if self._loop is not None:
            self._loop.call_soon(self._guarded, callback, *args)
        elif _Deferred.depth:
            _Deferred.calls.append(lambda: self._guarded(callback, *args))
        else:
            self._guarded(callback, *args)

    def _guarded(self, callback: Callable[..., object], *args: object) -> None:
        """Call into handler code, containing its failure to this connection."""
        _Deferred.depth += 1
        try:
            callback(*args)
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            self.on_error(exc)
        finally:
            _Deferred.depth -= 1
        if _Deferred.depth or _Deferred.draining or not _Deferred.calls:
            return
        _Deferred.draining = True
        try:
            calls = _Deferred.calls
            while calls:
                calls.popleft()()
        finally:
            _Deferred.draining = False
