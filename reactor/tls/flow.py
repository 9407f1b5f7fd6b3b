"""Reading control and gen_tcp's delivery for a TLS transport.

Pausing stops the decryption loop and takes the socket out of the selector:
ciphertext not yet decrypted waits in the incoming BIO and then the kernel,
so a handler that does not read pushes back on the peer.  Framed and
active-mode delivery is the reactor's own (:mod:`reactor.delivery`), fed with
decrypted bytes, so ``{packet, N}`` plugins behave over TLS as over TCP.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING

from reactor.delivery import Delivery
from reactor.protocol import ProtocolError
from reactor.tls.figures import ConnectionFigures
from reactor.tls.states import TLSState

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.protocol import ActiveMode, Decoder, Handler, PeerKey, Transport

__all__ = ["DeliveryControl"]

log = logging.getLogger("reactor.tls.layer")


class DeliveryControl(ConnectionFigures):
    """The reading half of a TLS transport: pause, resume, framers, active modes."""

    # the attributes this half assigns; TLSTransport sets them up
    __slots__ = ("_deliver", "_exc", "_handler", "_reading", "delivery")

    _deliver: Callable[[bytes], object]
    _exc: Exception | None
    _handler: Handler
    _reading: bool
    delivery: Delivery | None
    """The framer, queue and active budget, once :meth:`set_framer` or
    :meth:`set_active` asked for one (``None``: straight to the handler)."""

    if TYPE_CHECKING:  # set by TLSTransport, which declares the slots
        _conn: Transport | None
        _state: TLSState
        _incoming: ssl.MemoryBIO

        def _read(self) -> None: ...

        def abort(self) -> None: ...

        @property
        def peer(self) -> PeerKey: ...

    def pause_reading(self) -> None:
        """Stop decrypting and reading; ciphertext waits in the BIO and the kernel."""
        self._reading = False
        if self._conn is not None:
            self._conn.pause_reading()

    def resume_reading(self) -> None:
        """Read again; what the BIO already holds is delivered on the next turn."""
        if self._reading:
            return
        self._reading = True
        conn = self._conn
        if conn is not None:
            conn.resume_reading()
            if self._incoming.pending and self._state is TLSState.OPEN:
                conn.loop.call_soon(self._read_later)

    def _read_later(self) -> None:
        if self._reading and self._state is TLSState.OPEN:
            try:
                self._read()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                self.on_error(exc)

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes over the decrypted stream (see the connection's)."""
        delivery = self._delivery()
        delivery.set_active(mode)
        if delivery.plain():
            self._plain_again()

    def set_framer(self, framer: Decoder | None) -> None:
        """Deliver whole decrypted messages (gen_tcp's ``{packet, N}``)."""
        delivery = self._delivery()
        delivery.framer = framer
        if delivery.plain():
            self._plain_again()

    def _delivery(self) -> Delivery:
        delivery = self.delivery
        if delivery is None:
            # the reactor's own delivery: framed plugins behave as over TCP
            delivery = self.delivery = Delivery(self, self._handler, self._plain_again)
            self._deliver = delivery.feed
        return delivery

    def _plain_again(self) -> None:
        self.delivery = None
        self._deliver = self._handler.data_received

    def on_error(self, exc: BaseException, hook: str = "") -> None:
        """A delivery outside the connection's read failed: abort this connection."""
        if not isinstance(exc, Exception):
            raise exc
        if isinstance(exc, ProtocolError):  # the peer broke the protocol
            log.info("closing %s: %s", self.peer, exc)
        else:
            where = f" in {hook}()" if hook else ""
            log.error("handler failed for %s%s", self.peer, where, exc_info=exc)
        if self._exc is None:
            self._exc = exc
        self.abort()

    # -- handlers ------------------------------------------------------------------------------

    def set_protocol(self, handler: Handler) -> None:
        """Hand the plaintext stream to another handler."""
        self._handler = handler
        if self.delivery is None:
            self._deliver = handler.data_received
        else:
            self.delivery.handler = handler

    def get_protocol(self) -> Handler:
        """The handler that owns the plaintext stream."""
        return self._handler
