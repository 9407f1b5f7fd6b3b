"""Accepting connections behind a load balancer that speaks the PROXY protocol.

Theory of operation.  With ``proxy_protocol=True`` a listener trusts only
the networks it was given (``proxy_trusted``).  A peer from anywhere else is
refused at accept and counted, before a byte is read: a header is never
honoured from an untrusted peer, since anyone could claim any address with
one.  A trusted peer's connection starts with a :class:`ProxyHeaderHandler`,
which owns the raw connection until the header is complete: nothing above it
(the TLS layer included) sees a byte before that.  The header must arrive
within ``proxy_timeout`` seconds (5 by default); a malformed or late one closes
the connection with its reason logged under the proxy's key.  Whether a
header is there is never guessed: the specification forbids auto-detection.

Once the header is in, the listener moves the connection in its table from
the proxy's ``(host, port)`` to the client's, keeps the proxy's in
:attr:`~reactor.transport.Connection.proxy_peer`, calls the real factory with
the client's key and hands the connection, with whatever followed the header,
to the handler it returns (:meth:`~reactor.protocol.Transport.set_protocol`
then ``connection_made``).  A ``LOCAL`` header (a health check), ``UNKNOWN``
or ``AF_UNSPEC`` keeps the proxy's own key.

A Unix-socket listener trusts every peer: who may connect is decided by the
socket file's permissions, and there is no address to check.

A proxy in front of the reactor sends the header; a proxy *in* it (the
``proxy`` plugin) has two legs, a client's connection and its own one
upstream, which :func:`link` pairs so that the status page shows them as one.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Protocol

from reactor.options import check_delay
from reactor.protocol import BaseHandler
from reactor.proxy_header import Family, ProxyHeader, ProxyHeaderError, ProxyHeaderParser
from reactor.transport import Connection

if TYPE_CHECKING:
    from collections.abc import Iterable

    from reactor.protocol import Factory, Handler, PeerKey, TimerHandle, Transport

__all__ = [
    "DEFAULT_PROXY_TIMEOUT",
    "Network",
    "ProxyHeaderHandler",
    "ProxyProtocol",
    "Rekeying",
    "link",
    "parse_networks",
]

log = logging.getLogger(__name__)

DEFAULT_PROXY_TIMEOUT = 5.0
"""Seconds a trusted peer has to send its PROXY header."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
"""A trusted network: what ``proxy_trusted`` holds."""


def parse_networks(text: str | Iterable[str | Network]) -> tuple[Network, ...]:
    """Networks from ``"10.0.0.0/8,127.0.0.1/32"`` (or an iterable of them).

    A bare address is a network of one.  Raises :exc:`ValueError` naming a
    bad entry, and for an empty list.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    networks: list[Network] = []
    for item in items:
        if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(item)
            continue
        entry = item.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not a network: {entry!r}") from None
    if not networks:
        raise ValueError("proxy_trusted needs at least one network")
    return tuple(networks)


class Rekeying(Protocol):
    """What a :class:`ProxyHeaderHandler` asks of its listener (``Listener.rekey``)."""

    def rekey(self, transport: Transport, key: PeerKey) -> str | None:
        """Move ``transport`` to ``key`` in the table; the reason if it cannot."""
        ...

    def count_rejected(self, key: PeerKey, why: str) -> None:
        """Count (and log) a connection refused after it was accepted."""
        ...


class ProxyProtocol:
    """A listener's PROXY protocol settings: who is trusted, how long to wait.

    ``trusted`` is required (a string ``"10.0.0.0/8,::1"`` or networks);
    ``timeout`` is seconds > 0 for the header; ``versions`` may restrict the
    header to version 1 or 2.  Bad values raise :exc:`ValueError`.
    """

    __slots__ = ("_v4", "_v6", "malformed", "timeout", "trusted", "versions")

    def __init__(
        self,
        trusted: str | Iterable[str | Network] | None,
        timeout: float = DEFAULT_PROXY_TIMEOUT,
        versions: tuple[int, ...] = (1, 2),
    ) -> None:
        if trusted is None:
            raise ValueError("proxy_protocol needs proxy_trusted: the networks of the proxies")
        self.trusted = parse_networks(trusted)
        """The networks whose peers may (and must) send a header."""
        self.timeout = check_delay("proxy_timeout", timeout)
        if not self.timeout:
            raise ValueError("proxy_timeout must be more than 0 seconds")
        ProxyHeaderParser(versions)  # checks them
        self.versions = versions
        self.malformed = 0
        """Connections closed for a malformed, missing or late header."""
        self._v4 = tuple(n for n in self.trusted if n.version == 4)
        self._v6 = tuple(n for n in self.trusted if n.version == 6)

    def trusts(self, host: str) -> bool:
        """Whether a peer at ``host`` may speak for its clients (Unix peers always may)."""
        if host.startswith("unix:"):
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        networks: tuple[Network, ...] = self._v4 if address.version == 4 else self._v6
        return any(address in network for network in networks)

    def handler(self, owner: Rekeying, factory: Factory) -> ProxyHeaderHandler:
        """The handler that reads the header, then hands over to ``factory``'s."""
        return ProxyHeaderHandler(self, owner, factory)


def client_key(header: ProxyHeader, conn_id: int) -> PeerKey | None:
    """The table key of the client a header names, or ``None`` to keep the proxy's."""
    if header.source is None:
        return None
    host, port = header.source
    if header.family is Family.UNIX:
        return ("unix:" + host, conn_id)
    if header.family is Family.INET6:
        mapped = ipaddress.IPv6Address(host).ipv4_mapped
        if mapped is not None:
            host = str(mapped)
    return (host, port)


class ProxyHeaderHandler(BaseHandler):
    """Owns a trusted proxy's connection until its PROXY header is complete."""

    __slots__ = ("_factory", "_owner", "_parser", "_settings", "_timer", "header")

    def __init__(self, settings: ProxyProtocol, owner: Rekeying, factory: Factory) -> None:
        self.transport = None
        self._settings = settings
        self._owner = owner
        self._factory = factory
        self._parser = ProxyHeaderParser(settings.versions)
        self._timer: TimerHandle | None = None
        self.header: ProxyHeader | None = None
        """The header, once parsed."""

    def connection_made(self, transport: Transport) -> None:
        """Start the header's deadline."""
        self.transport = transport
        self._timer = transport.loop.call_later(self._settings.timeout, self._timed_out)

    def data_received(self, data: bytes) -> None:
        """Parse; once the header is complete, hand the connection over."""
        try:
            header = self._parser.feed(data)
        except ProxyHeaderError:
            self._settings.malformed += 1
            raise  # the transport logs it with the peer key and closes this connection
        if header is not None:
            self._handover(header)

    def _handover(self, header: ProxyHeader) -> None:
        transport = self.transport
        assert transport is not None
        self._cancel_timer()
        self.header = header
        proxy = transport.peer
        key = client_key(header, transport.id)
        if key is not None:
            refused = self._owner.rekey(transport, key)
            if refused is not None:
                self._owner.count_rejected(key, refused)
                transport.abort()
                return
        log.debug(
            "PROXY v%d header from %s: client %s", header.version, proxy, key or "(the proxy)"
        )
        try:
            handler: Handler | None = self._factory(transport.peer)
        except Exception as exc:
            log.error("factory failed for %s", transport.peer, exc_info=exc)
            handler = None
        if handler is None:
            self._owner.count_rejected(transport.peer, "factory")
            transport.abort()
            return
        transport.set_protocol(handler)
        handler.connection_made(transport)
        rest = self._parser.rest
        if rest and not transport.is_closing():
            handler.data_received(rest)

    def eof_received(self) -> bool | None:
        """The proxy closed before its header was complete."""
        self._settings.malformed += 1
        assert self.transport is not None
        log.info("closing %s: EOF before a complete PROXY header", self.transport.peer)
        return None

    def _timed_out(self) -> None:
        self._timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self._settings.malformed += 1
        log.info("closing %s: no PROXY header within %g s", transport.peer, self._settings.timeout)
        transport.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def drain_requested(self) -> None:
        """Nothing was served yet: close at once."""
        if self.transport is not None:
            self.transport.close()

    def timeout(self) -> None:
        """The idle timeout, before the header: close."""
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline."""
        self._cancel_timer()
        self.transport = None


def link(first: Transport, second: Transport) -> None:
    """Pair two connections of one reactor (a proxy's legs): each names the
    other's id as :attr:`Connection.linked <reactor.transport.Connection.linked>`,
    which the status page shows."""
    for one, other in ((first, second), (second, first)):
        conn = one.loop.connections.get(one.id)
        if isinstance(conn, Connection):
            conn.linked = other.id
