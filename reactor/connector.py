"""Outbound connections: non-blocking connect with a timeout.

A :class:`Connector` is the handle of one attempt (gen_tcp's ``connect/4``
with its timeout).  Numeric addresses are used directly; names are resolved
in a worker thread so the loop never blocks on DNS.  The socket's
``connect()`` returns ``EINPROGRESS`` and the selector reports it writable
when the handshake ends; ``SO_ERROR`` then tells success from failure.  The
attempt ends exactly once: connected (``transport`` set, the handler's
``connection_made`` called), failed (``error`` set) or cancelled.

Whatever goes wrong after the call returns (resolution, an address the
socket refuses, the handshake, a factory that raises) ends the attempt at
once as failed, with the socket closed and the done callbacks run: never a
traceback from a loop callback followed by a timeout that did not happen.
Bad options are refused at the call itself, with a :exc:`ValueError`.
"""

from __future__ import annotations

import concurrent.futures
import enum
import errno
import logging
import os
import selectors
import socket
from typing import TYPE_CHECKING, TypedDict

from reactor.metrics import count_timeout
from reactor.options import (
    DEFAULT_HIGH_WATER,
    DEFAULT_READ_SIZE,
    ConnectionOptions,
    check_port,
    check_timeout,
)
from reactor.transport import Connection, normalise_address

if TYPE_CHECKING:
    from collections.abc import Callable
    from ssl import SSLContext

    from typing_extensions import Unpack

    from reactor.protocol import Factory, TimerHandle
    from reactor.seam import ServingHost
    from reactor.tls import TLSTransport

__all__ = ["ConnectOptions", "ConnectState", "Connector", "connect"]

log = logging.getLogger(__name__)

_resolver: concurrent.futures.ThreadPoolExecutor | None = None
# What socket.connect_ex raises, rather than returns, for an address it cannot
# use (a path too long, a NUL in a name, a port out of range, a bad tuple).
_ADDRESS_ERRORS = (OSError, ValueError, TypeError, OverflowError)


def _resolve_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _resolver
    if _resolver is None:
        _resolver = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="selreactor-dns")
    return _resolver


def _numeric_family(host: str) -> int | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host.split("%", 1)[0])
        except OSError:
            continue
        return family
    return None


class ConnectOptions(TypedDict, total=False):
    """Keyword options of :func:`connect` (and ``Reactor.connect``)."""

    timeout: float | None
    idle_timeout: float | None
    write_timeout: float | None
    read_size: int
    high_water: int
    low_water: int | None
    nodelay: bool
    keepalive: bool
    ssl: SSLContext | None
    server_hostname: str | None
    ssl_handshake_timeout: float | None
    proxy_header: bytes | None


class ConnectState(enum.Enum):
    """Where a :class:`Connector` is."""

    RESOLVING = "resolving"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Connector:
    """One outbound connection attempt; see :func:`connect`.

    The options are checked at once, so a bad one raises :exc:`ValueError`
    naming it: ``port`` 1..65535 (ignored for a Unix socket path),
    ``read_size`` >= 1, the water marks as in
    :meth:`~reactor.transport.Connection.set_write_buffer_limits`.
    ``timeout`` (for the connect), ``idle_timeout`` and ``write_timeout`` are
    seconds > 0; ``None`` or ``0`` means no timeout.  With ``ssl`` the
    connection speaks TLS with that context, sends ``server_hostname`` (the
    ``host`` by default) as SNI and checks the certificate against it when
    the context checks host names, as :func:`reactor.tls.client_context`'s
    do; the attempt is done once the handshake is, within ``timeout`` and
    ``ssl_handshake_timeout``.  ``proxy_header`` is sent first, before the handler's
    ``connection_made`` (a PROXY protocol header from
    :func:`reactor.proxy_encode.encode`).
    """

    def __init__(
        self,
        reactor: ServingHost,
        factory: Factory,
        host: str,
        port: int,
        *,
        timeout: float | None = 10.0,
        idle_timeout: float | None = None,
        write_timeout: float | None = None,
        read_size: int = DEFAULT_READ_SIZE,
        high_water: int = DEFAULT_HIGH_WATER,
        low_water: int | None = None,
        nodelay: bool = True,
        keepalive: bool = False,
        ssl: SSLContext | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = 10.0,
        proxy_header: bytes | None = None,
    ) -> None:
        unix = host.startswith(("/", "./", "unix:"))
        if ssl is not None:  # done once the TLS handshake is, within ``timeout`` too
            from reactor.tls import wrap_client_factory  # noqa: PLC0415  (ssl only when used)

            factory = wrap_client_factory(
                factory,
                ssl,
                server_hostname if server_hostname is not None else host,
                handshake_timeout=ssl_handshake_timeout,
                on_handshake=self._tls_done,
            )
        self._tls = ssl is not None
        if not unix:
            check_port(port, allow_zero=False)
        timeout = check_timeout("timeout", timeout)
        self.options = ConnectionOptions(
            idle_timeout, write_timeout, read_size, high_water, low_water, nodelay, keepalive
        )
        """The options of the connection (checked once, here)."""
        self.reactor = reactor
        self.factory = factory
        self.proxy_header = proxy_header
        """Bytes sent before anything else (a PROXY header, :mod:`reactor.proxy_encode`)."""
        self.host = host
        self.port = port
        self.state = ConnectState.RESOLVING
        self.transport: Connection | TLSTransport | None = None
        """The connection, once connected (with ``ssl``, the TLS transport once
        the handshake is done)."""
        self._tcp: Connection | None = None  # with ssl: the connection under the handshake
        self.error: Exception | None = None
        """Why the attempt failed (``TimeoutError`` at the deadline)."""
        self._callbacks: list[Callable[[Connector], object]] = []
        self._sock: socket.socket | None = None
        self._address: object = None  # what the socket connects to
        self._timer: TimerHandle | None = None
        if timeout is not None:
            self._timer = reactor.call_later(timeout, self._timed_out, timeout)
        if unix:
            path = host[5:] if host.startswith("unix:") else host
            reactor.call_soon(self._start, socket.AF_UNIX, path)
            return
        family = _numeric_family(host)
        if family is not None:
            reactor.call_soon(self._start, family, (host, port))
            return
        future = _resolve_pool().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        future.add_done_callback(lambda f: reactor.call_soon_threadsafe(self._resolved, f))

    # -- public ------------------------------------------------------------------

    def done(self) -> bool:
        """True once connected, failed or cancelled."""
        return self.state in (ConnectState.CONNECTED, ConnectState.FAILED, ConnectState.CANCELLED)

    def add_done_callback(self, callback: Callable[[Connector], object]) -> None:
        """Call ``callback(connector)`` once the attempt ends (soon, if it has)."""
        if self.done():
            self.reactor.call_soon(callback, self)
        else:
            self._callbacks.append(callback)

    def cancel(self) -> None:
        """Give up the attempt; harmless once it has ended."""
        if not self.done():
            self._end(ConnectState.CANCELLED, None)

    def __repr__(self) -> str:
        return f"<Connector {self.host}:{self.port} {self.state.value}>"

    # -- steps ---------------------------------------------------------------------

    def _resolved(
        self,
        future: concurrent.futures.Future[
            list[tuple[socket.AddressFamily, object, object, object, object]]
        ],
    ) -> None:
        if self.done():
            return
        try:
            infos = future.result()
        except Exception as exc:  # noqa: BLE001  gaierror, UnicodeError for a bad name, ...
            self._end(ConnectState.FAILED, exc)
            return
        family, _, _, _, address = infos[0]
        self._start(family, address)

    def _start(self, family: int, address: object) -> None:
        if self.done():
            return
        self.state = ConnectState.CONNECTING
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            self._end(ConnectState.FAILED, exc)
            return
        sock.setblocking(False)
        self._sock = sock
        self._address = address
        try:
            err = sock.connect_ex(address)  # type: ignore[arg-type]
        except _ADDRESS_ERRORS as exc:
            self._end(ConnectState.FAILED, exc)
            return
        if err == 0:
            self._connected()
        elif err in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self.reactor.selector.register(sock.fileno(), selectors.EVENT_WRITE, self)
        else:
            self._end(ConnectState.FAILED, OSError(err, os.strerror(err)))

    def on_writable(self) -> None:
        """The handshake ended: connected, or failed with the socket's error."""
        sock = self._sock
        assert sock is not None
        self.reactor.selector.unregister(sock.fileno())
        error = _handshake_error(sock)
        if error is not None:
            self._end(ConnectState.FAILED, error)
        else:
            self._connected()

    def on_readable(self) -> None:  # pragma: no cover - registered for writing only
        """Never registered for reading."""

    def on_error(self, exc: BaseException) -> None:
        """The handshake's check raised ``exc``: the attempt failed."""
        if not isinstance(exc, Exception):
            raise exc
        self._end(ConnectState.FAILED, exc)

    def _connected(self) -> None:
        # self._sock stays set until the connection owns the socket, so that
        # every way out, _fail included, closes it in _end.
        sock = self._sock
        assert sock is not None
        try:
            peer = sock.getpeername()
        except OSError as exc:
            if exc.errno != errno.ENOTCONN or sock.family == socket.AF_UNIX:
                self._end(ConnectState.FAILED, exc)
                return
            # Reset since the handshake ended: the peer is the address connected
            # to, and what it sent before the reset is still there to be read.
            peer = self._address
        key = normalise_address(sock.family, peer, 0)
        if self.proxy_header and not self._send_proxy_header(sock, self.proxy_header):
            return
        try:
            handler = self.factory(key)
        except Exception as exc:  # the caller's bug: logged loudly, reported, no leak
            log.error("factory failed for %s", key, exc_info=exc)
            self._end(ConnectState.FAILED, exc)
            return
        if handler is None:
            self._end(ConnectState.CANCELLED, None)
            return
        try:
            transport = Connection(
                self.reactor,
                sock,
                handler,
                None if sock.family == socket.AF_UNIX else key,
                options=self.options,
            )
        except OSError as exc:  # reset before the options could be set
            self._end(ConnectState.FAILED, exc)
            return
        self._sock = None
        if self._tls:
            if not self.done():  # the handshake's end (_tls_done) ends the attempt
                self._tcp = transport
            return
        self.transport = transport
        self._end(ConnectState.CONNECTED, None)

    def _send_proxy_header(self, sock: socket.socket, header: bytes) -> bool:
        """Send ``header`` before anything else; false if that ended the attempt."""
        try:  # a fresh connection's empty send buffer takes a header whole
            sent = sock.send(header)
        except OSError as exc:
            self._end(ConnectState.FAILED, exc)
            return False
        if sent != len(header):
            self._end(ConnectState.FAILED, OSError("the PROXY header did not fit"))
            return False
        return True

    def _tls_done(self, tls: TLSTransport, error: Exception | None) -> None:
        self._tcp = None
        if self.done():
            return
        if error is None:
            self.transport = tls
            self._end(ConnectState.CONNECTED, None)
        else:
            self._end(ConnectState.FAILED, error)

    def _timed_out(self, timeout: float) -> None:
        self._timer = None
        if not self.done():
            count_timeout(self.reactor, "connect")
            self._end(
                ConnectState.FAILED,
                TimeoutError(f"connect to {self.host}:{self.port} timed out after {timeout:g} s"),
            )

    def _end(self, state: ConnectState, error: Exception | None) -> None:
        self.state = state
        self.error = error
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tcp is not None:  # the TLS handshake was under way
            self._tcp.abort()
            self._tcp = None
        sock = self._sock
        if sock is not None:
            self._sock = None
            if sock.fileno() in self.reactor.selector.get_map():
                self.reactor.selector.unregister(sock.fileno())
            sock.close()
        if error is not None:
            log.debug("connect to %s:%s failed: %s", self.host, self.port, error)
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception as exc:  # noqa: BLE001  the caller's bug, reported
                self.reactor.call_exception_handler(
                    {"message": "connect callback failed", "exception": exc, "connector": self}
                )


def _handshake_error(sock: socket.socket) -> OSError | None:
    """Why the handshake failed, or ``None`` if it completed.

    A completed handshake may already be undone by the peer's reset (a
    server that writes a line and aborts): ``getpeername`` then fails with
    ENOTCONN, just as after a refused connect.  A peek tells the two apart
    without taking the error: bytes the peer sent before the reset are read
    first, so the connection goes ahead, delivers them, and then meets the
    reset as ``connection_lost``.  With nothing queued the peek raises the
    socket's error (refused, reset, unreachable), which fails the attempt.
    """
    try:
        sock.getpeername()
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            return exc
    else:
        return None
    try:
        if sock.recv(1, socket.MSG_PEEK):
            return None
    except (BlockingIOError, InterruptedError):
        pass
    except OSError as exc:
        return exc
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return OSError(err, os.strerror(err)) if err else None


def connect(
    reactor: ServingHost, factory: Factory, host: str, port: int, **options: Unpack[ConnectOptions]
) -> Connector:
    """Connect to ``host:port`` without blocking; ``factory(peer_key)`` makes the handler.

    ``host`` may be a Unix socket path (``/...`` or ``unix:...``).  Failure or
    ``timeout`` (10 s by default; ``None`` or ``0``: none) reaches
    :attr:`Connector.error` and the done callbacks.  The options are
    :class:`Connector`'s; a bad one raises :exc:`ValueError` here.
    """
    return Connector(reactor, factory, host, port, **options)
