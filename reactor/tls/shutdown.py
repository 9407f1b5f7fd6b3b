"""Closing a TLS connection: close_notify once, half-close on TLS 1.3, bounded deadlines.

``close()`` queues close_notify behind everything written and closes the
connection once it is flushed; it never waits for the peer's close_notify,
which TLS 1.3 peers need not send, and a peer that does not drain is aborted
after the shutdown deadline.  A failure (a bad record, a refused handshake)
flushes the alert OpenSSL made, if any, logs the reason with the peer key,
and ends that connection only.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from reactor.tls.figures import describe
from reactor.tls.flow import DeliveryControl
from reactor.tls.states import TLSState

if TYPE_CHECKING:
    from reactor.protocol import TimerHandle, Transport

__all__ = ["Shutdown"]

log = logging.getLogger("reactor.tls.layer")


class Shutdown(DeliveryControl):
    """The closing half of a TLS transport."""

    # the attributes this half assigns; TLSTransport sets them up
    __slots__ = (
        "_end_input",
        "_eof_sent",
        "_on_handshake",
        "_plain",
        "_plain_size",
        "_state",
        "_timer",
        "_want_close",
        "_want_eof",
    )

    _end_input: bool
    _eof_sent: bool
    _on_handshake: Callable[..., object] | None  # (TLSTransport, Exception | None)
    _plain: list[bytes] | None
    _plain_size: int
    _state: TLSState
    _timer: TimerHandle | None
    _want_close: bool
    _want_eof: bool

    if TYPE_CHECKING:  # set by TLSTransport, which declares the slots
        _conn: Transport | None
        _ssl: ssl.SSLObject | None
        _received_close: bool
        _shutdown_timeout: float | None
        _outgoing: ssl.MemoryBIO
        _incoming: ssl.MemoryBIO

        def _flush(self) -> None: ...

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def can_write_eof(self) -> bool:
        """True on TLS 1.3, where close_notify closes one direction only."""
        return self._ssl is not None and self._ssl.version() == "TLSv1.3"

    def write_eof(self) -> None:
        """Half-close: send close_notify and keep reading (TLS 1.3 only).

        Before the handshake completes this waits for it.  On TLS 1.2 and
        earlier a half-close is not defined (the peer answers close_notify by
        closing), so this raises :exc:`NotImplementedError` rather than
        silently truncate what the peer would still send.
        """
        if self._state is TLSState.HANDSHAKING:
            self._want_eof = True
            return
        if self._state is not TLSState.OPEN or self._eof_sent:
            return
        if not self.can_write_eof():
            sslobj = self._ssl
            version = sslobj.version() if sslobj is not None else None
            raise NotImplementedError(f"half-close needs TLS 1.3; this connection uses {version}")
        self._send_close_notify()
        if self._received_close:
            self.close()

    def _send_close_notify(self) -> None:
        """Queue close_notify once, without waiting for the peer's."""
        if self._eof_sent or self._ssl is None:
            return
        self._eof_sent = True
        with contextlib.suppress(ssl.SSLError):  # WantRead: the peer's answer, not waited for
            self._ssl.unwrap()
        self._flush()

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Send close_notify, flush, then close; reading stops at once."""
        if self._state in (TLSState.CLOSING, TLSState.CLOSED):
            return
        if self._state is TLSState.HANDSHAKING and self._plain:
            self._want_close = True  # what was written goes first, encrypted
            return
        conn = self._conn
        was_open = self._state is TLSState.OPEN
        self._stop()
        if conn is None:
            return
        if was_open:
            self._send_close_notify()
            if self._shutdown_timeout and conn.get_write_buffer_size():
                self._timer = conn.loop.call_later(
                    self._shutdown_timeout, self._shutdown_timed_out
                )
        conn.close()

    def _shutdown_timed_out(self) -> None:
        self._timer = None
        conn = self._conn
        if conn is not None and self._state is not TLSState.CLOSED:
            log.info(
                "aborting %s: close_notify not flushed in %g s", conn.peer, self._shutdown_timeout
            )
            conn.abort()

    def abort(self) -> None:
        """Close now, dropping anything buffered; no close_notify."""
        self._stop()
        self._plain = None
        self._plain_size = 0
        if self._conn is not None:
            self._conn.abort()

    def _stop(self) -> None:
        """Closing, whatever the reason: nothing more is read or delivered."""
        if self._state is not TLSState.CLOSED:
            self._state = TLSState.CLOSING
        if self.delivery is not None:
            self.delivery.live = False
        self._cancel_timer()

    def _fail(self, exc: Exception, level: int = logging.INFO) -> None:
        """End this connection for ``exc``: logged with the peer key, then closed."""
        conn = self._conn
        stage = "handshake" if self._state is TLSState.HANDSHAKING else "connection"
        log.log(
            level, "TLS %s with %s failed: %s", stage, self.peer if conn else "?", describe(exc)
        )
        if self._exc is None:
            self._exc = exc
        on_handshake, self._on_handshake = self._on_handshake, None
        if on_handshake is not None:
            on_handshake(self, exc)
        self._stop()
        if conn is None:
            return
        self._flush()  # the alert, if OpenSSL made one, tells the peer why
        if not conn.get_write_buffer_size():
            conn.abort()
            return
        conn.close()  # a peer that never drains it meets the shutdown deadline
        if self._shutdown_timeout:
            self._timer = conn.loop.call_later(self._shutdown_timeout, self._shutdown_timed_out)

    def close_when_done(self) -> None:
        """The default drain: close at once if idle, else at the peer's EOF.

        Idle is the connection's notion (nothing queued, nothing unread).  An
        idle TLS connection closes with close_notify.
        """
        conn = self._conn
        if conn is None or self._state is not TLSState.OPEN:
            self.abort()
            return
        if not self._plain and not conn.get_write_buffer_size() and not self._incoming.pending:
            self._send_close_notify()
        conn.close_when_done()

    def end_input(self) -> None:
        """Treat the end of what the peer already sent as its EOF (see the connection's)."""
        self._end_input = True
        if self._conn is not None:
            self._conn.end_input()

    def is_closing(self) -> bool:
        """True once closing, closed, or the handshake failed."""
        conn = self._conn
        return self._state in (TLSState.CLOSING, TLSState.CLOSED) or (
            conn is not None and conn.is_closing()
        )
