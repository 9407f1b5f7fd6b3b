"""TLS between a connection and its handler, over ``ssl.MemoryBIO`` + ``ssl.SSLObject``.

Theory of operation.

A :class:`TLSTransport` plays two parts.  To the :class:`~reactor.transport.Connection`
under it, it is the *handler*: it receives ciphertext in ``data_received`` and
writes ciphertext with ``Connection.write``.  To the user's handler above it,
it is the *transport*: every :class:`~reactor.protocol.Transport` method, with
plaintext semantics.  OpenSSL never touches the socket: received bytes go into
the incoming memory BIO, and after *every* call into the ``SSLObject``
(handshake, read, write, shutdown) whatever it left in the outgoing BIO is
moved to the connection at once.  That is the only write queue: the
connection's, holding ciphertext in the order OpenSSL produced it, so
handshake records, application data, session tickets and close_notify can
never overtake one another (asyncio and uvloop each had bugs from keeping a
second one).

*Handshake.*  Explicit, started in ``connection_made`` on the client side and
on the first bytes on the server side, under a deadline (10 s by default) that
aborts a peer that never finishes.  The user's handler is made only once the
handshake is done: a peer that fails it (garbage, plaintext HTTP, a bad
certificate, a stall) was never a connection as far as the plugin knows, and
is logged with its peer key and OpenSSL's reason.  Plaintext written before
that (after ``start_tls`` or on the client side) waits in a small list and is
encrypted, in order, the moment the handshake completes.

*Reading.*  Each chunk of ciphertext is fed to the BIO and the ``SSLObject``
read until ``SSLWantReadError``.  A handler that pauses reading stops that
loop: what is not yet decrypted stays in the BIO as ciphertext, the socket
leaves the selector, and the kernel's window pushes back on the peer.

*Writing.*  ``write()`` encrypts at once and hands the records to the
connection, whose water marks drive ``pause_writing``/``resume_writing``; the
sizes reported are plaintext not yet encrypted plus ciphertext not yet sent.

*Closing.*  ``close()`` sends close_notify once and closes the connection
after flushing; it does not wait for the peer's answer, which TLS 1.3 peers
need not send, and a shutdown deadline aborts a peer that never drains it.
A TCP EOF without the peer's close_notify is a truncation:
``connection_lost`` gets :exc:`ssl.SSLEOFError`, never a clean EOF, so a cut
stream cannot pass for a complete message.  On TLS 1.3 ``write_eof()`` sends
close_notify and reading goes on (the half-close TLS 1.3 defines); before
1.3 a half-close is not defined and ``write_eof()`` raises.  Renegotiation is
refused (``OP_NO_RENEGOTIATION``).

*TLS 1.3 session tickets* arrive after the client's handshake is done and
are handled by the ordinary read loop; nothing waits for them, so a client
that never reads them neither stalls nor is stalled (trio#819).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from reactor import metrics
from reactor.options import DEFAULT_READ_SIZE
from reactor.protocol import missing_hook
from reactor.tls.figures import describe, server_name, sni_names
from reactor.tls.shutdown import Shutdown
from reactor.tls.states import TLSState

if TYPE_CHECKING:
    from collections.abc import Iterable

    from reactor.protocol import (
        Handler,
        TimerHandle,
        Transport,
    )

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "HandshakeTimeout",
    "TLSState",
    "TLSTransport",
    "describe",
    "server_name",
    "sni_names",
]

log = logging.getLogger(__name__)

DEFAULT_HANDSHAKE_TIMEOUT = 10.0
"""Seconds a peer has to complete the TLS handshake."""
DEFAULT_SHUTDOWN_TIMEOUT = 30.0
"""Seconds a closing connection has to flush its close_notify before it is aborted."""

_WANT_READ = ssl.SSLWantReadError
_READ_SIZE = DEFAULT_READ_SIZE


class HandshakeTimeout(TimeoutError):
    """The peer did not complete the TLS handshake within the deadline."""


class TLSTransport(Shutdown):
    """TLS over one connection: the connection's handler, the user handler's transport.

    Built by :func:`reactor.tls.wrap` (listeners and connectors with
    ``ssl=``) or :meth:`start_tls`; implements
    :class:`reactor.protocol.Transport` with plaintext semantics.
    """

    __slots__ = (
        "_conn",
        "_context",
        "_handshake_timeout",
        "_incoming",
        "_made",
        "_outgoing",
        "_received_close",
        "_server_hostname",
        "_server_side",
        "_shutdown_timeout",
        "_ssl",
        "_writing_paused",
    )

    def __init__(
        self,
        handler: Handler,
        context: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
        shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
        on_handshake: Callable[[TLSTransport, Exception | None], object] | None = None,
    ) -> None:
        self._handler = handler
        self._context = context
        self._server_side = server_side
        self._server_hostname = server_hostname
        self._handshake_timeout = handshake_timeout
        self._shutdown_timeout = shutdown_timeout
        self._conn: Transport | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl: ssl.SSLObject | None = None
        self._state = TLSState.HANDSHAKING
        self._timer: TimerHandle | None = None
        self._exc = None
        self._made = False  # the user's connection_made has run
        self._plain: list[bytes] | None = None  # written before the handshake completed
        self._plain_size = 0
        self._reading = True
        self._received_close = False  # the peer's close_notify arrived
        self._eof_sent = False  # our close_notify went out
        self._want_eof = False  # write_eof() before the handshake completed
        self._want_close = False  # close() after start_tls, before the handshake completed
        self._end_input = False  # end_input() was called: the next EOF is ours
        self._on_handshake = on_handshake
        self._writing_paused = False
        self._deliver = handler.data_received
        self.delivery = None

    # -- the connection's handler ---------------------------------------------------

    def connection_made(self, transport: Transport) -> None:
        """The TCP connection is up: create the TLS session and start the handshake."""
        self._conn = transport
        self._ssl = self._context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=self._server_side,
            server_hostname=self._server_hostname,
        )
        if self._handshake_timeout:
            self._timer = transport.loop.call_later(
                self._handshake_timeout, self._handshake_timed_out
            )
        if not self._server_side:
            self._handshake()  # the ClientHello goes out now

    def start(self, transport: Transport, buffered: bytes = b"") -> None:
        """Take over ``transport`` in place (STARTTLS); ``buffered`` was read already.

        The user's handler already had its ``connection_made``: it is not
        called again, and the handler writes to this transport from now on.
        """
        self._made = True
        transport.set_protocol(self)
        self.connection_made(transport)
        if buffered and self._state is not TLSState.CLOSED:
            self.data_received(buffered)

    def data_received(self, data: bytes) -> None:
        """Ciphertext from the peer: into the BIO, then handshake or read."""
        self._incoming.write(data)
        if self._state is TLSState.HANDSHAKING:
            self._handshake()
            if self._state is TLSState.HANDSHAKING:
                return
        if self._reading:
            self._read()

    def eof_received(self) -> bool:
        """TCP EOF: clean only after the peer's close_notify, else a truncation."""
        if self._received_close:
            return self._state is TLSState.OPEN and not self._eof_sent
        if self._state is TLSState.HANDSHAKING:
            self._fail(ConnectionResetError("peer closed during the TLS handshake"))
            return False
        if self._end_input:  # end_input()'s EOF: the end of what was sent, not a cut
            return bool(self._user_eof())
        self._incoming.write_eof()
        self._read()  # raises SSLEOFError inside: reported as a truncation
        if self._state is TLSState.OPEN:  # nothing raised (should not happen)
            self._fail(ssl.SSLEOFError("EOF without close_notify"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone: tell the user's handler, if it was ever made."""
        self._state = TLSState.CLOSED
        self._cancel_timer()
        on_handshake, self._on_handshake = self._on_handshake, None
        if on_handshake is not None:
            on_handshake(self, self._exc or exc or ConnectionResetError("closed during handshake"))
        if not self._made:
            return
        if self._exc is not None:
            exc = self._exc
        self._handler.connection_lost(exc)

    def pause_writing(self) -> None:
        """The connection's ciphertext queue is full: pause the user's handler."""
        if not self._writing_paused:
            self._writing_paused = True
            if self._made:
                self._call_hook("pause_writing")

    def resume_writing(self) -> None:
        """The connection drained: resume the user's handler."""
        if self._writing_paused and self._plain_size == 0:
            self._writing_paused = False
            if self._made:
                self._call_hook("resume_writing")

    def timeout(self) -> None:
        """The idle timeout: the user's hook decides, or the handshake is abandoned."""
        if not self._made:
            self._fail(HandshakeTimeout("idle during the TLS handshake"))
            return
        if self._call_hook("timeout"):
            self.close()

    def drain_requested(self) -> None:
        """A graceful drain: the user's hook, or the default drain."""
        if not self._made:
            self.abort()
            return
        if self._call_hook("drain_requested"):
            self.close_when_done()

    def passive(self) -> None:
        """Never called: the connection under TLS stays in active mode."""

    def _call_hook(self, name: str) -> bool:
        """Call the user's optional hook ``name``; true if it lacks it."""
        handler = self._handler
        try:
            getattr(handler, name)()
        except AttributeError as exc:
            if missing_hook(exc, handler, name):
                return True
            raise
        return False

    # -- handshake --------------------------------------------------------------------

    def _handshake(self) -> None:
        sslobj = self._ssl
        assert sslobj is not None
        try:
            sslobj.do_handshake()
        except _WANT_READ:
            self._flush()
            return
        except ssl.SSLError as exc:
            self._flush()  # the alert, if OpenSSL made one, tells the peer why
            # a listener's peer that fails the handshake is refused (an outbound
            # connection has no listener: nothing is counted for it)
            metrics.note_refusal(metrics.listener_of(self._conn), "tls")
            self._fail(exc)
            return
        self._flush()
        self._cancel_timer()
        self._state = TLSState.OPEN
        conn = self._conn
        assert conn is not None
        log.debug(
            "TLS with %s: %s %s%s",
            conn.peer,
            sslobj.version(),
            (sslobj.cipher() or ("?",))[0],
            f" ALPN {sslobj.selected_alpn_protocol()}" if sslobj.selected_alpn_protocol() else "",
        )
        made, self._made = self._made, True
        on_handshake, self._on_handshake = self._on_handshake, None
        if on_handshake is not None:
            on_handshake(self, None)
        if not made:
            self._handler.connection_made(self)
        if self._state is not TLSState.OPEN:
            return
        plain, self._plain = self._plain, None
        self._plain_size = 0
        if plain:
            self._encrypt(b"".join(plain))
            if self._writing_paused and conn.get_write_buffer_size() <= self._low():
                self.resume_writing()
        if self._want_eof:
            self.write_eof()
        if self._want_close:
            self.close()

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self._state is TLSState.HANDSHAKING:
            timeout = self._handshake_timeout
            metrics.count_timeout(self._conn, "handshake")
            self._fail(HandshakeTimeout(f"TLS handshake not done in {timeout:g} s"))

    # -- reading ------------------------------------------------------------------------

    def _read(self) -> None:
        sslobj = self._ssl
        assert sslobj is not None
        read = sslobj.read
        try:
            while self._reading and self._state is TLSState.OPEN:
                data = read(_READ_SIZE)
                if not data:  # close_notify
                    self._close_notify_received()
                    break
                self._deliver(data)
        except _WANT_READ:
            pass
        except ssl.SSLZeroReturnError:
            self._close_notify_received()
        except ssl.SSLError as exc:
            self._flush()
            # a peer leaving without close_notify is common (and reported to
            # the handler as SSLEOFError); broken records are worth an info
            self._fail(exc, logging.DEBUG if isinstance(exc, ssl.SSLEOFError) else logging.INFO)
            return
        if self._outgoing.pending:  # session tickets answered, key updates, alerts
            self._flush()

    def _close_notify_received(self) -> None:
        if self._received_close:
            return
        self._received_close = True
        self._flush()
        if self._state is not TLSState.OPEN:
            return
        if not self._user_eof() or self._eof_sent:  # or both directions are done
            self.close()

    def _user_eof(self) -> bool | None:
        handler = self._handler
        try:
            return handler.eof_received()
        except AttributeError as exc:
            if missing_hook(exc, handler, "eof_received"):
                return None
            raise

    # -- writing --------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt ``data`` and send it (queued in plaintext until the handshake is done)."""
        state = self._state
        if state is TLSState.OPEN and not self._eof_sent:
            self._encrypt(data)
            return
        if state is TLSState.HANDSHAKING and not self._want_eof:
            if data:
                plain = self._plain
                if plain is None:
                    plain = self._plain = []
                plain.append(bytes(data))
                self._plain_size += len(data)
                self._check_plain_high_water()
            return
        if state is TLSState.OPEN or self._want_eof:
            raise RuntimeError("write() after write_eof()")
        conn = self._conn
        log.debug("write to %s after close() dropped", conn.peer if conn else "?")

    def _encrypt(self, data: bytes | bytearray | memoryview) -> None:
        sslobj = self._ssl
        assert sslobj is not None
        try:
            sslobj.write(data)
        except ssl.SSLError as exc:
            self._fail(exc)
            return
        self._flush()

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Write each chunk in order, encrypted as one write."""
        self.write(b"".join(chunks))

    def _flush(self) -> None:
        """Move whatever OpenSSL produced to the connection's write queue."""
        if self._outgoing.pending:
            conn = self._conn
            assert conn is not None
            data = self._outgoing.read()
            if not conn.is_closing():
                conn.write(data)

    def _check_plain_high_water(self) -> None:
        conn = self._conn
        high = conn.get_write_buffer_limits()[1] if conn is not None else 0
        if self.get_write_buffer_size() > high and not self._writing_paused:
            self._writing_paused = True
            # before the handshake the user's handler is made only on the
            # client side or after start_tls, where it is already made
            if self._made or self._conn is not None:
                self._call_hook("pause_writing")

    def _low(self) -> int:
        conn = self._conn
        return conn.get_write_buffer_limits()[0] if conn is not None else 0

    def __repr__(self) -> str:
        conn = self._conn
        where = f"#{conn.id} {conn.peer[0]}:{conn.peer[1]}" if conn is not None else "unconnected"
        return f"<TLSTransport {where} {self._state.value}>"
