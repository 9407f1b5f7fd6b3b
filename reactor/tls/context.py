"""SSL contexts for listeners and connectors, and the factories that put TLS under a handler.

:func:`server_context` and :func:`client_context` build contexts from files
(what ``reactor serve --tls-*`` and ``reactor connect --tls`` do);
:func:`prepare_server_context` makes any server context fit for the reactor:
renegotiation refused, and the SNI name each client asked for remembered so
the connection table can show it.  :func:`wrap_server_factory` and
:func:`wrap_client_factory` turn a listener's or connector's factory into one
whose handlers sit on a :class:`~reactor.tls.layer.TLSTransport`: the core
never learns about TLS, and plain TCP pays nothing for it.
"""

from __future__ import annotations

import enum
import logging
import ssl
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from reactor.tls.layer import DEFAULT_HANDSHAKE_TIMEOUT, TLSTransport, sni_names

if TYPE_CHECKING:
    from reactor.protocol import Factory, Handler, PeerKey

__all__ = [
    "ClientAuth",
    "SNICallback",
    "client_context",
    "prepare_server_context",
    "server_context",
    "wrap_client_factory",
    "wrap_server_factory",
]

log = logging.getLogger(__name__)

SNICallback = Callable[[ssl.SSLObject, str | None, ssl.SSLContext], int | None]
"""What ``SSLContext.sni_callback`` takes (the object is an ``SSLObject`` here)."""

_PREPARED: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()


class ClientAuth(enum.Enum):
    """Whether a server asks for client certificates (``--tls-client-auth``)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


def server_context(
    certfile: str,
    keyfile: str | None = None,
    *,
    cafile: str | None = None,
    client_auth: ClientAuth | str = ClientAuth.NONE,
    alpn: list[str] | None = None,
    sni: Mapping[str, ssl.SSLContext] | None = None,
) -> ssl.SSLContext:
    """A server context from PEM files: TLS 1.2 or later, no renegotiation.

    ``cafile`` holds the CAs client certificates are checked against
    (``client_auth`` optional or required needs it); ``alpn`` lists the
    protocols offered, by preference; ``sni`` maps server names to other
    contexts (see :func:`prepare_server_context`).  A missing or bad file
    raises :exc:`OSError` or :exc:`ssl.SSLError`; a bad option
    :exc:`ValueError`.
    """
    auth = ClientAuth(client_auth)
    if auth is not ClientAuth.NONE and cafile is None:
        raise ValueError(
            f"client_auth {auth.value!r} needs a CA file to check client certificates"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    if cafile is not None:
        context.load_verify_locations(cafile)
    context.verify_mode = {
        ClientAuth.NONE: ssl.CERT_NONE,
        ClientAuth.OPTIONAL: ssl.CERT_OPTIONAL,
        ClientAuth.REQUIRED: ssl.CERT_REQUIRED,
    }[auth]
    if alpn:
        context.set_alpn_protocols(alpn)
    return prepare_server_context(context, sni)


def client_context(cafile: str | None = None, *, insecure: bool = False) -> ssl.SSLContext:
    """A client context verifying the server's certificate and name by default.

    ``cafile`` replaces the system's CAs; ``insecure`` checks nothing (for
    tests against self-signed servers only).
    """
    context = ssl.create_default_context(cafile=cafile)
    context.options |= ssl.OP_NO_RENEGOTIATION
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def prepare_server_context(
    context: ssl.SSLContext, sni: Mapping[str, ssl.SSLContext] | None = None
) -> ssl.SSLContext:
    """Make ``context`` fit for a listener; returns it (changed in place).

    Renegotiation is refused.  The server name each client asks for is
    remembered (:data:`sni_names`, ``get_extra_info("server_name")``), around
    any ``sni_callback`` the context already has.  With ``sni``, a client
    asking for a name in the map is served that name's context (its
    certificate); other names get ``context`` itself.  Preparing a context
    twice is harmless.
    """
    context.options |= ssl.OP_NO_RENEGOTIATION
    if context in _PREPARED and sni is None:
        return context
    inner: SNICallback | None = context.sni_callback  # type: ignore[assignment]
    by_name = {name.lower(): ctx for name, ctx in (sni or {}).items()}
    for other in by_name.values():
        other.options |= ssl.OP_NO_RENEGOTIATION

    def on_server_name(sslobj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> int | None:
        if name is not None:
            sni_names[sslobj] = name
            chosen = by_name.get(name.lower())
            if chosen is not None:
                sslobj.context = chosen
        if inner is not None:
            return inner(sslobj, name, ctx)
        return None

    context.sni_callback = on_server_name
    _PREPARED.add(context)
    return context


def wrap_server_factory(
    factory: Factory,
    context: ssl.SSLContext,
    *,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
) -> Callable[[PeerKey], TLSTransport | None]:
    """A listener factory whose handlers are the TLS layers over ``factory``'s."""
    prepare_server_context(context)

    def tls_factory(peer: PeerKey) -> TLSTransport | None:
        handler = factory(peer)
        if handler is None:
            return None
        return TLSTransport(
            handler, context, server_side=True, handshake_timeout=handshake_timeout
        )

    return tls_factory


def wrap_client_factory(
    factory: Factory,
    context: ssl.SSLContext,
    server_hostname: str | None,
    *,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    on_handshake: Callable[[TLSTransport, Exception | None], object] | None = None,
) -> Callable[[PeerKey], TLSTransport | None]:
    """A connector factory whose handler is the TLS layer over ``factory``'s.

    ``server_hostname`` is sent as SNI and checked against the certificate
    (when the context checks host names, as :func:`client_context`'s do).
    """
    context.options |= ssl.OP_NO_RENEGOTIATION

    def tls_factory(peer: PeerKey) -> TLSTransport | None:
        handler: Handler | None = factory(peer)
        if handler is None:
            return None
        return TLSTransport(
            handler,
            context,
            server_side=False,
            server_hostname=server_hostname,
            handshake_timeout=handshake_timeout,
            on_handshake=on_handshake,
        )

    return tls_factory
