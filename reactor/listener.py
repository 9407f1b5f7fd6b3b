"""Listening sockets: accept, the connection table, limits, overload.

Theory of operation.  A listener registers its socket for reading.  Each
readiness event accepts a bounded batch (``accept_batch``), so an accept storm
cannot starve established connections.  Every accepted socket gets a peer key,
is checked against the limits, handed to the factory, and enters
:attr:`Listener.connections` under that key.

Overload has two policies.  ``"pause"`` (the default, gen_tcp's way and the
kernel's): at ``max_connections`` the listen socket leaves the selector, new
peers wait in the kernel backlog, and a freed slot resumes accepting.
``"refuse"``: accept anyway, send ``refuse_message`` if any, close, and count
the rejection (a peer over ``max_per_peer`` is always refused this way, since
pausing would block every other peer too).

Running out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM)
in ``accept`` pauses accepting with a back-off; the per-host counts and the
back-off are :mod:`reactor.admission`'s.
"""

from __future__ import annotations

import enum
import logging
import selectors
import socket
from typing import TYPE_CHECKING, TypedDict

from reactor.admission import (
    BACKOFF_FIRST,
    RESOURCE_ERRORS,
    TRANSIENT_ERRORS,
    AcceptBackoff,
    ListenerCounts,
    PeerCounts,
)
from reactor.binding import bind_socket, remove_stale_unix_socket
from reactor.drain import TableDrain
from reactor.options import (
    DEFAULT_HIGH_WATER,
    DEFAULT_READ_SIZE,
    ConnectionOptions,
    check_count,
    check_delay,
)
from reactor.proxied import DEFAULT_PROXY_TIMEOUT, ProxyProtocol
from reactor.transport import Connection, normalise_address

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from ssl import SSLContext

    from reactor.protocol import Factory, Handler, PeerKey, Transport
    from reactor.proxied import Network
    from reactor.seam import LiveConnection, ServingHost

__all__ = ["Listener", "ListenerOptions", "Overload", "bind_socket"]

log = logging.getLogger(__name__)


class Overload(enum.Enum):
    """What a listener does at ``max_connections``."""

    PAUSE = "pause"  # stop accepting; peers wait in the kernel backlog
    REFUSE = "refuse"  # accept, send refuse_message, close, count


class ListenerOptions(TypedDict, total=False):
    """Keyword options of :class:`Listener` (and ``Reactor.listen``)."""

    backlog: int
    max_connections: int | None
    max_per_peer: int | None
    overload: Overload | str
    refuse_message: bytes | None
    idle_timeout: float | None
    write_timeout: float | None
    reuse_port: bool
    dual_stack: bool
    accept_batch: int
    read_size: int
    high_water: int
    low_water: int | None
    nodelay: bool
    keepalive: bool
    sock: socket.socket | None
    ssl: SSLContext | None
    ssl_handshake_timeout: float | None
    proxy_protocol: bool
    proxy_trusted: str | Iterable[str | Network] | None
    proxy_timeout: float


class Listener(ListenerCounts):
    """A listening socket and the table of the connections it accepted.

    ``factory(peer_key)`` returns the handler for a new connection, or
    ``None`` to refuse it.  :attr:`connections` maps each live connection's
    peer key ``(host, port)`` to its :class:`~reactor.transport.Connection`.

    Options are checked here, once, so that a bad one is a :exc:`ValueError`
    naming it at the ``listen()`` call rather than a failure per accept:
    ``port`` 0..65535, ``backlog`` >= 0, ``max_connections``,
    ``max_per_peer``, ``accept_batch`` and ``read_size`` >= 1, the water
    marks as in :meth:`~reactor.transport.Connection.set_write_buffer_limits`.
    ``idle_timeout`` and ``write_timeout`` are seconds > 0; ``None`` or ``0``
    means no timeout.  ``ssl`` serves TLS with that context (see
    :mod:`reactor.tls`), each peer given ``ssl_handshake_timeout`` seconds
    to complete the handshake.

    ``proxy_protocol=True`` requires a PROXY protocol header (v1 or v2) from
    every peer, which must be in ``proxy_trusted`` (networks, required; others
    are refused as ``"untrusted proxy"``) and send it within
    ``proxy_timeout`` seconds; the table then keys the connection by the
    client the header names (see :mod:`reactor.proxied`).
    """

    def __init__(
        self,
        reactor: ServingHost,
        factory: Factory,
        host: str | None = "127.0.0.1",
        port: int = 5678,
        *,
        backlog: int = 511,
        max_connections: int | None = None,
        max_per_peer: int | None = None,
        overload: Overload | str = Overload.PAUSE,
        refuse_message: bytes | None = None,
        idle_timeout: float | None = None,
        write_timeout: float | None = None,
        reuse_port: bool = False,
        dual_stack: bool = False,
        accept_batch: int = 64,
        read_size: int = DEFAULT_READ_SIZE,
        high_water: int = DEFAULT_HIGH_WATER,
        low_water: int | None = None,
        nodelay: bool = True,
        keepalive: bool = False,
        sock: socket.socket | None = None,
        ssl: SSLContext | None = None,
        ssl_handshake_timeout: float | None = 10.0,
        proxy_protocol: bool = False,
        proxy_trusted: str | Iterable[str | Network] | None = None,
        proxy_timeout: float = DEFAULT_PROXY_TIMEOUT,
    ) -> None:
        if ssl is not None:  # TLS under every handler; plain TCP never sees it
            from reactor.tls import wrap_server_factory  # noqa: PLC0415  (ssl only when used)

            factory = wrap_server_factory(factory, ssl, handshake_timeout=ssl_handshake_timeout)
        if max_connections is not None:
            check_count("max_connections", max_connections, 1)
        if max_per_peer is not None:
            check_count("max_per_peer", max_per_peer, 1)
        options = ConnectionOptions(
            idle_timeout, write_timeout, read_size, high_water, low_water, nodelay, keepalive
        )
        check_count("accept_batch", accept_batch, 1)
        self.proxy = ProxyProtocol(proxy_trusted, proxy_timeout) if proxy_protocol else None
        """The PROXY protocol settings (:mod:`reactor.proxied`), or ``None``."""
        self.reactor = reactor
        self.factory = factory
        self.max_connections = max_connections
        self.max_per_peer = max_per_peer
        self.overload = Overload(overload)
        self.refuse_message = refuse_message
        self.options = options
        """The options of every connection accepted (checked once, here)."""
        self.idle_timeout = options.idle_timeout
        self.write_timeout = options.write_timeout
        self.accept_batch = accept_batch
        self.connections: dict[PeerKey, Connection] = {}
        """The table: peer key -> live connection."""
        self._peers = PeerCounts(max_per_peer)
        self.accepted = 0
        """Connections accepted and handed to a handler."""
        self.rejected = 0
        """Peers refused by the overload policy, ``max_per_peer`` or the factory."""
        ListenerCounts.__init__(self)
        self._sock = (
            sock
            if sock is not None
            else bind_socket(
                host, port, backlog=backlog, reuse_port=reuse_port, dual_stack=dual_stack
            )
        )
        self._sock.setblocking(False)
        self.family = int(self._sock.family)
        self.address: PeerKey = normalise_address(self.family, self._sock.getsockname())
        """The bound (host, port); for a Unix socket ``("unix:" + path, 0)``."""
        self._path = self.address[0][5:] if self.family == socket.AF_UNIX else None
        # Every connection of a listener bound to one address shares that
        # address as its local one; a wildcard listener's vary by interface.
        self._local = None if self.address[0] in ("0.0.0.0", "::") else self.address  # noqa: S104
        self._suspended = False  # by suspend()
        self._full = False  # at max_connections with the pause policy
        self._backoff = AcceptBackoff(reactor, self._update_registration)
        self._registered = False
        self._closed = False
        self._drain: TableDrain | None = None  # set by shutdown()
        reactor.listeners.append(self)
        self._update_registration()

    # -- figures -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (useful after binding port 0)."""
        return self.address[1]

    @property
    def host(self) -> str:
        """The bound host (or ``unix:PATH``)."""
        return self.address[0]

    def fileno(self) -> int:
        """The listening socket's descriptor."""
        return self._sock.fileno()

    @property
    def accept_errors(self) -> int:
        """Resource errors (EMFILE, ...) met in accept."""
        return self._backoff.errors

    def is_accepting(self) -> bool:
        """Whether the listen socket is in the selector right now."""
        return self._registered

    def __repr__(self) -> str:
        return f"<Listener {self.host}:{self.port} connections={len(self.connections)}>"

    # -- accepting -------------------------------------------------------------------

    def _update_registration(self) -> None:
        want = not (self._closed or self._suspended or self._full or self._backoff.active())
        if want == self._registered:
            return
        if want:
            self.reactor.selector.register(self._sock.fileno(), selectors.EVENT_READ, self)
        else:
            self.reactor.selector.unregister(self._sock.fileno())
        self._registered = want

    def on_readable(self) -> None:
        """Accept a batch of at most ``accept_batch`` peers."""
        # socket.accept() converts family and type to enums for every peer;
        # the listener knows both, so it wraps the raw descriptor itself.
        accept = self._sock._accept  # type: ignore[attr-defined]
        family = self.family
        backoff = self._backoff
        for _ in range(self.accept_batch):
            try:
                fd, address = accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in RESOURCE_ERRORS:
                    self._pause_accepting(exc)
                    return
                if exc.errno in TRANSIENT_ERRORS:
                    continue
                raise
            backoff.delay = BACKOFF_FIRST
            self._accepted(socket.socket(family, socket.SOCK_STREAM, 0, fd), address)
            if self._full or not self._registered:
                return

    def on_writable(self) -> None:  # pragma: no cover - never registered for writing
        """Never registered for writing."""

    def on_error(self, exc: BaseException) -> None:
        """Accepting raised ``exc``: report it; the listener carries on."""
        self.reactor.call_exception_handler(
            {"message": "accept failed", "exception": exc, "listener": self}
        )

    def _accepted(self, sock: socket.socket, address: object) -> None:
        family = self.family
        key = normalise_address(family, address, -1)
        host, port = key
        shared, from_host = self._peers.get(host)
        if family == socket.AF_UNIX:
            key = (host, -(self.accepted + self.rejected + 1))  # unique until the id exists
        elif shared is not host:
            key = (shared, port)  # many peers, one host string
        count = len(self.connections)
        if self.max_connections is not None and count >= self.max_connections:
            self._refuse(sock, key, "max_connections")  # the refuse policy
            return
        if self._peers.over(from_host):
            self._refuse(sock, key, "max_per_peer")
            return
        handler: Handler | None
        if self.proxy is not None:  # the header first: then the factory, with the client's key
            if not self.proxy.trusts(host):
                self._refuse(sock, key, "untrusted proxy", send_message=False)
                return
            handler = self.proxy.handler(self, self.factory)
        else:
            try:
                handler = self.factory(key)
            except Exception as exc:
                log.error("factory failed for %s", key, exc_info=exc)
                handler = None
        if handler is None:
            self._refuse(sock, key, "factory", send_message=False)
            return
        conn = Connection(
            self.reactor,
            sock,
            handler,
            None if family == socket.AF_UNIX else key,
            owner=self,
            options=self.options,
            family=family,
            local=self._local,
        )
        self.accepted += 1
        self.connections[conn.peer] = conn
        self._peers.add(host, shared, from_host)
        log.debug("accepted %s (%d open)", conn.peer, len(self.connections))
        if (
            self.max_connections is not None
            and len(self.connections) >= self.max_connections
            and self.overload is Overload.PAUSE
        ):
            self._full = True
            self._update_registration()

    def _refuse(
        self, sock: socket.socket, key: PeerKey, why: str, send_message: bool = True
    ) -> None:
        self.rejected += 1
        self.count_refusal(why)
        log.info("refused %s (%s)", key, why)
        if send_message and self.refuse_message:
            try:
                sock.setblocking(False)
                sock.send(self.refuse_message)
            except OSError:
                pass
        sock.close()

    def rekey(self, transport: Transport, key: PeerKey) -> str | None:
        """Move a connection to ``key`` in the table (its PROXY header named
        that client); the proxy's key is kept as ``proxy_peer``.  Returns why
        not, if the key is taken or the client is over ``max_per_peer``."""
        conn = self.reactor.connections.get(transport.id)
        if not isinstance(conn, Connection) or self.connections.get(conn.peer) is not conn:
            return "not in the table"
        if key in self.connections:
            return "client address already connected"
        old = conn.peer
        if not self._peers.move(old[0], key[0]):
            return "max_per_peer"
        del self.connections[old]
        conn.proxy_peer = old
        conn.peer = key
        self.connections[key] = conn
        return None

    def count_rejected(self, key: PeerKey, why: str) -> None:
        """Count a connection refused after accept (its PROXY header's client)."""
        self.rejected += 1
        self.count_refusal(why)
        log.info("refused %s (%s)", key, why)

    def release(self, conn: LiveConnection) -> None:
        """A connection of this listener was reaped: free its slot, maybe
        resume accepting (the :class:`~reactor.seam.ConnectionOwner` seam)."""
        if self.connections.get(conn.peer) is conn:
            del self.connections[conn.peer]
        self.closed += 1
        self.bytes_in_closed += conn.bytes_in
        self.bytes_out_closed += conn.bytes_out
        self._peers.remove(conn.peer[0])
        log.debug("closed %s (%d open)", conn.peer, len(self.connections))
        if self._full and (
            self.max_connections is None or len(self.connections) < self.max_connections
        ):
            self._full = False
            self._update_registration()
        if self._drain is not None:
            self._drain.released()

    def _pause_accepting(self, exc: OSError) -> None:
        delay = self._backoff.start()
        if delay is not None:  # at most once per interval
            log.warning(
                "accept on %s:%s failed (%s); pausing %.2f s",
                self.host,
                self.port,
                exc.strerror,
                delay,
            )
        self._update_registration()

    # -- control ---------------------------------------------------------------------

    def suspend(self) -> None:
        """Stop accepting; peers wait in the backlog.  Connections carry on."""
        self._suspended = True
        self._update_registration()

    def resume(self) -> None:
        """Accept again after :meth:`suspend`."""
        self._suspended = False
        self._update_registration()

    def close(self) -> None:
        """Stop accepting and close the listen socket; connections carry on."""
        if self._closed:
            return
        self._closed = True
        self._backoff.cancel()
        self._update_registration()
        self._sock.close()
        if self in self.reactor.listeners:
            self.reactor.listeners.remove(self)
        if self._path:
            remove_stale_unix_socket(self._path)

    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def shutdown(
        self, timeout: float = 10.0, callback: Callable[[], object] | None = None
    ) -> None:
        """Drain gracefully: stop accepting, let every connection finish its
        work, abort whatever is still open after ``timeout`` seconds.

        Each connection's handler gets ``drain_requested()`` (see
        :meth:`reactor.protocol.BaseHandler.drain_requested`); a handler
        without the hook gets :meth:`Connection.close_when_done
        <reactor.transport.Connection.close_when_done>`, which closes an idle
        connection at once and a busy one after the peer's EOF.  ``callback``
        runs once the table is empty.  Calling it again only adds the
        callback: the first deadline stands.  ``timeout`` is a finite number of
        seconds >= 0, else :exc:`ValueError`.
        """
        timeout = check_delay("timeout", timeout)
        self.close()
        if self._drain is None:
            self._drain = TableDrain(self.reactor, self.connections)
        if callback is not None:
            self._drain.add_callback(callback)
        self._drain.start(timeout, self.host, self.port)
