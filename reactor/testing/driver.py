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
* gen_tcp's delivery.  A framer turns reads into messages; the active mode
  (``True``, ``False``, ``"once"``, ``N``) counts them, pauses reading when
  its budget is spent and calls the handler's ``passive()`` hook, exactly as
  :meth:`~reactor.transport.Connection.set_active` documents.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, ClassVar

from reactor.protocol import ProtocolError, missing_hook
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
    (close now, ``connection_lost(exc)`` later) and may override
    ``_reading_resumed()`` to deliver what waited while reading was paused.
    """

    __slots__ = (
        "_active",
        "_framer",
        "_handler",
        "_loop",
        "_notify_passive",
        "_pending",
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
        self._framer: Decoder | None = None
        self._active = -1  # as in Connection: -1 everything, 0 passive, N more
        self._notify_passive = False
        self._pending: collections.deque[bytes] = collections.deque()

    def _abort(self, exc: Exception | None) -> None:
        raise NotImplementedError  # every transport closes in its own way

    def _reading_resumed(self) -> None:
        """Reading is on again: deliver what waited (nothing here)."""

    # -- handlers ---------------------------------------------------------------------

    def get_protocol(self) -> Handler:
        """The handler that currently owns the connection."""
        return self._handler

    def set_protocol(self, handler: Handler) -> None:
        """Hand the connection to ``handler``; paused state and queued output stay."""
        self._handler = handler

    def set_framer(self, framer: Decoder | None) -> None:
        """Deliver framed messages instead of raw bytes (switch at a message boundary)."""
        self._framer = framer

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes, as :meth:`reactor.transport.Connection.set_active`."""
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
        if self._active == 0:
            self._reading = False
        elif self._pending:
            self._soon(self._deliver_later)  # never re-entrant, as in Connection
        else:
            self._set_reading(True)

    def _set_reading(self, on: bool) -> None:
        self._reading = on
        if on:
            self._reading_resumed()

    # -- delivery -----------------------------------------------------------------------

    def _deliver(self, data: bytes) -> None:
        """A read, through the framer and the active budget."""
        if self._framer is None:
            self._pending.append(data)
        else:
            try:
                self._pending.extend(self._framer.feed(data))
            except ProtocolError as exc:
                # the messages before the bad one still go out, as in Connection
                self._pending.extend(getattr(exc, "frames", ()))
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
                    self._reading = False
                    self._handler.data_received(message)
                    if self._active == 0 and self._notify_passive:
                        self._became_passive()
                    continue
            self._handler.data_received(message)

    def _deliver_later(self) -> None:
        self._deliver_pending()
        if self._active and not self._pending and self._state is State.OPEN:
            self._set_reading(True)

    def _became_passive(self) -> None:
        if self._state is State.OPEN:
            handler = self._handler
            try:
                handler.passive()
            except AttributeError as exc:  # an optional hook: absent is fine
                if not missing_hook(exc, handler, "passive"):
                    raise

    # -- running handler code ---------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        if isinstance(exc, ProtocolError):
            log.info("closing %s: %s", self.peer, exc)
        elif isinstance(exc, OSError):
            log.debug("closing %s: %s", self.peer, exc)
        else:
            log.error("handler failed for %s", self.peer, exc_info=exc)
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
            self._fail(exc)
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
