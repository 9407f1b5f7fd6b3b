"""The figures of a TLS connection: the connection's own, and what TLS negotiated.

A :class:`~reactor.tls.layer.TLSTransport` reports the peer key, id, byte
counts and deadlines of the TCP connection under it (the bytes counted are
ciphertext, as they cross the wire), and adds asyncio's TLS extras.  The SNI
name a server was asked for is kept in :data:`sni_names`, filled by the
context's SNI callback (:func:`reactor.tls.prepare_server_context`).
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from reactor.tls.states import TLSState

if TYPE_CHECKING:
    from reactor.protocol import EventLoop, PeerKey, Transport

__all__ = ["ConnectionFigures", "describe", "server_name", "sni_names"]


class ConnectionFigures:
    """The :class:`~reactor.protocol.ConnectionInfo` half of a TLS transport."""

    __slots__ = ()

    if TYPE_CHECKING:  # set by TLSTransport, which declares the slots
        _conn: Transport | None
        _context: ssl.SSLContext
        _ssl: ssl.SSLObject | None
        _state: TLSState
        _plain_size: int
        _writing_paused: bool
        _reading: bool

    @property
    def connection(self) -> Transport:
        """The TCP connection under the TLS layer."""
        assert self._conn is not None
        return self._conn

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        """The ``SSLObject`` of this connection."""
        return self._ssl

    @property
    def state(self) -> TLSState:
        """HANDSHAKING, OPEN, CLOSING or CLOSED."""
        return self._state

    @property
    def loop(self) -> EventLoop:
        """The reactor this connection runs on."""
        return self.connection.loop

    @property
    def id(self) -> int:
        """The connection id."""
        return self.connection.id

    @property
    def peer(self) -> PeerKey:
        """The peer key."""
        return self.connection.peer

    @property
    def local(self) -> PeerKey:
        """The local address."""
        return self.connection.local

    @property
    def created(self) -> float:
        """When the TCP connection was made."""
        return self.connection.created

    @property
    def last_activity(self) -> float:
        """The last I/O on the connection."""
        return self.connection.last_activity

    @property
    def bytes_in(self) -> int:
        """Bytes received on the wire (ciphertext)."""
        return self.connection.bytes_in

    @property
    def bytes_out(self) -> int:
        """Bytes handed to the kernel (ciphertext)."""
        return self.connection.bytes_out

    @property
    def writing_paused(self) -> bool:
        """True between ``pause_writing()`` and ``resume_writing()``."""
        return self._writing_paused

    def is_reading(self) -> bool:
        """False while reading is paused."""
        return self._reading and self._conn is not None and self._conn.is_reading()

    def get_write_buffer_size(self) -> int:
        """Plaintext not yet encrypted plus ciphertext not yet sent."""
        conn = self._conn
        return self._plain_size + (conn.get_write_buffer_size() if conn is not None else 0)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The connection's ``(low, high)`` water marks."""
        return self.connection.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the connection's water marks."""
        self.connection.set_write_buffer_limits(high, low)

    def set_idle_timeout(self, seconds: float | None) -> None:
        """The connection's idle timeout (calls the user handler's ``timeout()``)."""
        self.connection.set_idle_timeout(seconds)

    def set_write_timeout(self, seconds: float | None) -> None:
        """The connection's write timeout."""
        self.connection.set_write_timeout(seconds)

    def get_extra_info(self, name: str, default: object = None) -> object:
        """The connection's extras plus asyncio's TLS ones.

        ``sslcontext``, ``ssl_object``, ``peercert``, ``cipher``,
        ``compression``, ``ssl_version``, and ``server_name`` (the SNI name)
        and ``alpn_protocol``; the last five are ``default`` until the
        handshake is done.
        """
        if name == "sslcontext":
            return self._context
        if name == "ssl_object":
            return self._ssl
        extra = _SSL_EXTRAS.get(name)
        if extra is None:
            return self.connection.get_extra_info(name, default)
        sslobj = self._ssl
        if sslobj is None or self._state is TLSState.HANDSHAKING:
            return default
        value = extra(sslobj)
        return default if value is None else value


sni_names: weakref.WeakKeyDictionary[ssl.SSLObject, str] = weakref.WeakKeyDictionary()
"""The SNI name each live server-side TLS session was asked for (see
:func:`reactor.tls.prepare_server_context`, which fills it)."""


def server_name(sslobj: ssl.SSLObject) -> str | None:
    """The SNI name a client asked for (server side), or the one we sent (client side)."""
    if sslobj.server_side:
        return sni_names.get(sslobj)
    return sslobj.server_hostname


def describe(exc: BaseException) -> str:
    """OpenSSL's reason for ``exc`` (and the verification's), else its message."""
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        verify = getattr(exc, "verify_message", None)
        return f"{reason} ({verify})" if verify else str(reason)
    return str(exc) or type(exc).__name__


_SSL_EXTRAS: dict[str, Callable[[ssl.SSLObject], object]] = {
    "peercert": ssl.SSLObject.getpeercert,
    "cipher": ssl.SSLObject.cipher,
    "compression": ssl.SSLObject.compression,
    "ssl_version": ssl.SSLObject.version,
    "alpn_protocol": ssl.SSLObject.selected_alpn_protocol,
    "server_name": server_name,
}
