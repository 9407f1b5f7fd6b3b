"""TLS for every listener, connector and plugin, over ``ssl.MemoryBIO`` + ``ssl.SSLObject``.

``reactor.listen(factory, host, port, ssl=context)`` serves TLS,
``reactor.connect(factory, host, port, ssl=context, server_hostname=...)``
speaks it, and :func:`start_tls` upgrades a plain connection in place
(STARTTLS).  Handlers see a :class:`TLSTransport`: the
:class:`~reactor.protocol.Transport` interface with plaintext semantics, so a
plugin gets TLS without a line of its own.  :mod:`reactor.tls.layer` explains
how it works, :mod:`reactor.tls.context` builds contexts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reactor.tls.context import (
    ClientAuth,
    client_context,
    prepare_server_context,
    server_context,
    wrap_client_factory,
    wrap_server_factory,
)
from reactor.tls.layer import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_SHUTDOWN_TIMEOUT,
    HandshakeTimeout,
    TLSState,
    TLSTransport,
    server_name,
)

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

    from reactor.protocol import ConnectionInfo, Transport

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "ClientAuth",
    "HandshakeTimeout",
    "TLSState",
    "TLSTransport",
    "client_context",
    "negotiated",
    "prepare_server_context",
    "server_context",
    "server_name",
    "start_tls",
    "wrap_client_factory",
    "wrap_server_factory",
]


def start_tls(
    transport: Transport,
    context: ssl.SSLContext,
    *,
    server_side: bool,
    server_hostname: str | None = None,
    buffered: bytes = b"",
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    on_handshake: Callable[[TLSTransport, Exception | None], object] | None = None,
) -> TLSTransport:
    """Upgrade a plain connection to TLS in place (STARTTLS); returns the TLS transport.

    The handler that owns ``transport`` keeps the connection and writes to
    the returned transport from now on (its ``connection_made`` is not
    called again); what it writes before the handshake completes is
    encrypted once it does, and it receives plaintext.  ``on_handshake(tls,
    error)`` runs when the handshake completes (``error`` is ``None``) or
    fails.  What was written before the call goes
    out first, in the clear, as STARTTLS protocols need (the "go ahead"
    line).  ``buffered`` is what the handler already read past its STARTTLS
    command (a client may send its ClientHello right behind it): it is fed
    to the handshake first.  Any framer on ``transport`` is removed: it would
    frame ciphertext.  Upgrading a connection twice raises :exc:`RuntimeError`.
    """
    if isinstance(transport.get_protocol(), TLSTransport) or isinstance(transport, TLSTransport):
        raise RuntimeError("start_tls() on a connection that already speaks TLS")
    if server_side:
        prepare_server_context(context)
    transport.set_framer(None)
    layer = TLSTransport(
        transport.get_protocol(),
        context,
        server_side=server_side,
        server_hostname=server_hostname,
        handshake_timeout=handshake_timeout,
        on_handshake=on_handshake,
    )
    layer.start(transport, buffered)
    return layer


def negotiated(conn: ConnectionInfo) -> dict[str, str]:
    """What a connection negotiated, for the connection table: ``-`` for plain TCP.

    Keys ``tls`` (the version), ``cipher``, ``sni`` and ``alpn``; ``conn`` is
    an entry of ``loop.connections`` (the TCP connection) or a TLS transport.
    """
    layer: object = conn
    get_protocol = getattr(conn, "get_protocol", None)
    if not isinstance(layer, TLSTransport) and get_protocol is not None:
        layer = get_protocol()
    sslobj = layer.ssl_object if isinstance(layer, TLSTransport) else None
    if (
        sslobj is None
        or not isinstance(layer, TLSTransport)
        or layer.state is TLSState.HANDSHAKING
    ):
        return {"tls": "-", "cipher": "-", "sni": "-", "alpn": "-"}
    cipher = sslobj.cipher()
    return {
        "tls": sslobj.version() or "-",
        "cipher": cipher[0] if cipher else "-",
        "sni": server_name(sslobj) or "-",
        "alpn": sslobj.selected_alpn_protocol() or "-",
    }
