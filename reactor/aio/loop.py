"""The asyncio event loop over a selreactor :class:`~reactor.loop.Reactor`.

Theory of operation (uvloop is the model: asyncio's interface over another
core).  :class:`Loop` is asyncio's own selector loop (pure Python and
loop-agnostic above its selector and its transports), with two parts
replaced:

* the selector is :class:`~reactor.aio.selector.SharedSelector`, so each
  iteration of asyncio's ``_run_once`` polls once, in a reactor turn, for
  both the reactor's connections and asyncio's descriptors.  ``call_soon``,
  ``call_later`` and the ready queue stay asyncio's, with its ``Handle``,
  ``context=`` and debug-mode semantics; futures and tasks are asyncio's
  (C-accelerated) ones;
* stream transports are selreactor connections: ``create_connection``,
  ``create_unix_connection``, ``connect_accepted_socket`` and ``start_tls``
  reach :meth:`Loop._make_socket_transport`, and ``create_server`` /
  ``create_unix_server`` serve each socket with a reactor
  :class:`~reactor.listener.Listener`.  So every connection is in the
  reactor's peer-keyed table (and on the status page), and servers accept
  selreactor's limits and timeouts as keyword arguments of their own.

Everything else (datagrams, pipes, subprocesses, signals, ``sock_*``,
``add_reader``, executors, ``getaddrinfo``, SSL through asyncio's
``sslproto``, ``sendfile``'s fallback) is asyncio's own code, over the shared
selector.  This module reads asyncio's underscore names where uvloop does
too (its loop hooks ``_make_socket_transport``, ``_start_serving``,
``_stop_serving``); they are stable across Python 3.10 to 3.13.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
import sys
import weakref
from asyncio import base_events, sslproto
from typing import IO, TYPE_CHECKING, TypedDict, cast

from reactor.aio.selector import AioReactor, SharedSelector
from reactor.aio.transport import AioTransport, Starter, TransportTable
from reactor.listener import Listener
from reactor.options import ConnectionOptions, check_count
from reactor.transport import Connection

if TYPE_CHECKING:
    import ssl as ssl_module
    from collections.abc import Callable

    from reactor.loop import Reactor
    from reactor.protocol import Handler, PeerKey
    from reactor.seam import LiveConnection

__all__ = ["Loop", "ServeOptions"]

log = logging.getLogger(__name__)

# Python 3.13's Server keeps its clients: _attach/_detach take the transport.
_SERVER_TAKES_TRANSPORT = sys.version_info >= (3, 13)
# Python 3.10's SSLProtocol has no shutdown timeout.
_SSL_SHUTDOWN_TIMEOUT = sys.version_info >= (3, 11)


class ServeOptions(TypedDict, total=False):
    """selreactor's keyword arguments to ``create_server`` / ``create_unix_server``.

    ``idle_timeout``: close a connection after so many seconds without I/O;
    ``write_timeout``: abort one whose peer drains nothing for so long;
    ``max_connections``: at the limit the listener stops accepting (peers
    wait in the backlog); ``max_per_peer``: refuse more from one address.
    """

    idle_timeout: float | None
    write_timeout: float | None
    max_connections: int | None
    max_per_peer: int | None


# The options of the create_server() call in progress: asyncio's create_server
# calls _start_serving from inside itself, before the Server is returned.
_serving_options: contextvars.ContextVar[ServeOptions | None] = contextvars.ContextVar(
    "reactor_aio_serving_options", default=None
)


def _check_serve_options(options: ServeOptions) -> ServeOptions:
    """Refuse a bad option at the call, before any socket is made."""
    unknown = set(options) - set(ServeOptions.__annotations__)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    ConnectionOptions(options.get("idle_timeout"), options.get("write_timeout"))
    for name in ("max_connections", "max_per_peer"):
        value = options.get(name)
        if value is not None:
            check_count(name, cast("int", value), 1)
    return options


class _ServedListener(Listener):
    """A listener serving an asyncio server's socket; its connections' transports
    leave the loop's table when they are reaped."""

    def __init__(
        self, reactor: Reactor, factory: _AcceptFactory, sock: socket.socket, options: ServeOptions
    ) -> None:
        self.table = factory.table
        super().__init__(reactor, factory, sock=sock, **options)
        # asyncio owns a Unix server's path (3.13 unlinks it on close, if it
        # is still this socket's; earlier versions leave it): the listener
        # must not remove it, which could take a newer server's socket.
        self._path = None

    def release(self, conn: LiveConnection) -> None:
        """As :meth:`Listener.release`; then the asyncio server hears of it."""
        super().release(conn)
        self.table.release(conn)


class _AcceptFactory:
    """A listener's factory for an asyncio server: one protocol per peer."""

    __slots__ = ("loop", "protocol_factory", "server", "ssl", "ssl_timeouts", "table")

    def __init__(
        self,
        loop: Loop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        ssl: ssl_module.SSLContext | None,
        server: asyncio.Server | None,
        ssl_timeouts: dict[str, float | None],
    ) -> None:
        self.loop = loop
        self.table = loop.transports
        self.protocol_factory = protocol_factory
        self.ssl = ssl
        self.server = server
        self.ssl_timeouts = ssl_timeouts

    def __call__(self, key: PeerKey) -> Handler | None:
        protocol = self.protocol_factory()
        if self.ssl is not None:
            protocol = self.loop.ssl_protocol(
                protocol,
                self.ssl,
                waiter=None,
                server_side=True,
                server_hostname=None,
                timeouts=self.ssl_timeouts,
            )
        return cast("Handler", Starter(self.loop, self.table, protocol, server=self.server))


class Loop(asyncio.SelectorEventLoop):
    """An asyncio event loop driven by a selreactor reactor.

    ``reactor`` is the :class:`~reactor.loop.Reactor` it runs (a new one by
    default); it is closed with the loop.  Native selreactor listeners and
    connectors opened on :attr:`reactor` run in the same turns as the
    asyncio code.
    """

    def __init__(self, reactor: Reactor | None = None) -> None:
        self.reactor: Reactor = reactor if reactor is not None else AioReactor()
        """The reactor under this loop: its connection table, listeners, timers."""
        self.transports = TransportTable(_SERVER_TAKES_TRANSPORT)
        """The asyncio transports over the reactor's connections, by connection id."""
        self._served: dict[socket.socket, _ServedListener] = {}
        self._serve_options: weakref.WeakKeyDictionary[asyncio.Server, ServeOptions] = (
            weakref.WeakKeyDictionary()
        )
        super().__init__(SharedSelector(self.reactor))
        self.reactor.set_exception_handler(self._reactor_failed)

    def _reactor_failed(self, reactor: Reactor, context: dict[str, object]) -> None:
        self.call_exception_handler(context)

    def set_debug(self, enabled: bool) -> None:
        """asyncio's debug mode, and the reactor's."""
        super().set_debug(enabled)
        reactor = getattr(self, "reactor", None)  # asyncio's __init__ calls this first
        if reactor is not None:
            reactor.set_debug(enabled)

    def close(self) -> None:
        """Close the loop and its reactor (every listener and connection)."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        # Connections first, while the loop still takes the callbacks their
        # protocols' connection_lost may schedule.
        if not self.reactor.is_closed():
            for listener in list(self.reactor.listeners):
                listener.close()
            for conn in list(self.reactor.connections.values()):
                conn.abort()
            self.reactor.run_once(0)
        super().close()

    # -- stream transports: selreactor connections ------------------------------------

    def _make_socket_transport(
        self,
        sock: socket.socket,
        protocol: asyncio.BaseProtocol,
        waiter: asyncio.Future[None] | None = None,
        *,
        extra: dict[str, object] | None = None,
        server: asyncio.Server | None = None,
    ) -> asyncio.Transport:
        starter = Starter(
            self, self.transports, protocol, waiter=waiter, extra=extra, server=server
        )
        Connection(self.reactor, sock, cast("Handler", starter), owner=self.transports)
        if starter.transport is None:  # connection_made failed; the connection is closing
            raise ConnectionError("the transport could not be made")
        return starter.transport

    def _make_ssl_transport(
        self,
        rawsock: socket.socket,
        protocol: asyncio.BaseProtocol,
        sslcontext: ssl_module.SSLContext,
        waiter: asyncio.Future[None] | None = None,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        extra: dict[str, object] | None = None,
        server: asyncio.Server | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> asyncio.Transport:
        ssl_protocol = self.ssl_protocol(
            protocol,
            sslcontext,
            waiter=waiter,
            server_side=server_side,
            server_hostname=server_hostname,
            timeouts={
                "ssl_handshake_timeout": ssl_handshake_timeout,
                "ssl_shutdown_timeout": ssl_shutdown_timeout,
            },
        )
        self._make_socket_transport(rawsock, ssl_protocol, extra=extra, server=server)
        return cast("asyncio.Transport", ssl_protocol._app_transport)

    def ssl_protocol(
        self,
        protocol: asyncio.BaseProtocol,
        sslcontext: ssl_module.SSLContext,
        *,
        waiter: asyncio.Future[None] | None,
        server_side: bool,
        server_hostname: str | None,
        timeouts: dict[str, float | None],
    ) -> sslproto.SSLProtocol:
        """asyncio's TLS protocol between a connection and ``protocol``."""
        kwargs = {"ssl_handshake_timeout": timeouts.get("ssl_handshake_timeout")}
        if _SSL_SHUTDOWN_TIMEOUT:
            kwargs["ssl_shutdown_timeout"] = timeouts.get("ssl_shutdown_timeout")
        return sslproto.SSLProtocol(
            self,
            protocol,
            sslcontext,
            waiter,  # type: ignore[arg-type]
            server_side,
            server_hostname,
            **kwargs,  # type: ignore[arg-type]
        )

    async def _sendfile_native(
        self, transp: asyncio.Transport, file: IO[bytes], offset: int, count: int | None
    ) -> int:
        """``loop.sendfile()``: flush what is queued, then ``os.sendfile()``
        from the file to the socket (asyncio's ``sock_sendfile``)."""
        if not isinstance(transp, AioTransport):
            return await super()._sendfile_native(transp, file, offset, count)  # type: ignore[misc, no-any-return]
        conn = transp.connection
        # asyncio's own helper: it pauses reading, takes the protocol's place
        # (connection_lost still reaches the protocol), and waits for a drain.
        proto = base_events._SendfileFallbackProtocol(transp)  # type: ignore[attr-defined]
        low, high = conn.get_write_buffer_limits()
        try:
            conn.set_write_buffer_limits(0, 0)  # pause_writing until it is all sent
            await proto.drain()
            conn.set_write_buffer_limits(high, low)
            transp.refuse_writes(True)
            sock = cast("socket.socket", conn.get_extra_info("socket"))
            return await self.sock_sendfile(sock, file, offset, count, fallback=False)
        finally:
            transp.refuse_writes(False)
            if not conn.is_closing():
                conn.set_write_buffer_limits(high, low)
            await proto.restore()

    # -- servers: selreactor listeners ------------------------------------------------

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: str | list[str] | None = None,
        port: int | None = None,
        **kwargs: object,
    ) -> asyncio.Server:
        """asyncio's ``create_server``; also takes :class:`ServeOptions`."""
        return await self._serve(super().create_server, protocol_factory, host, port, **kwargs)

    async def create_unix_server(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        path: str | None = None,
        **kwargs: object,
    ) -> asyncio.Server:
        """asyncio's ``create_unix_server``; also takes :class:`ServeOptions`."""
        return await self._serve(super().create_unix_server, protocol_factory, path, **kwargs)

    async def _serve(
        self, create: Callable[..., object], *args: object, **kwargs: object
    ) -> asyncio.Server:
        options = _check_serve_options(
            cast(
                "ServeOptions",
                {
                    name: kwargs.pop(name)
                    for name in list(kwargs)
                    if name in ServeOptions.__annotations__
                },
            )
        )
        token = _serving_options.set(options)
        try:
            server = await cast("asyncio.Future[asyncio.Server]", create(*args, **kwargs))
        finally:
            _serving_options.reset(token)
        self._serve_options[server] = options
        return server

    def _start_serving(  # noqa: PLR0917  asyncio.Server calls it positionally
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        sock: socket.socket,
        sslcontext: ssl_module.SSLContext | None = None,
        server: asyncio.Server | None = None,
        backlog: int = 100,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        if sock in self._served:
            return
        options = self._serve_options.get(server) if server is not None else None
        if options is None:
            options = _serving_options.get() or {}
        factory = _AcceptFactory(
            self,
            protocol_factory,
            sslcontext,
            server,
            {
                "ssl_handshake_timeout": ssl_handshake_timeout,
                "ssl_shutdown_timeout": ssl_shutdown_timeout,
            },
        )
        self._served[sock] = _ServedListener(self.reactor, factory, sock, options)

    def _stop_serving(self, sock: socket.socket) -> None:
        listener = self._served.pop(sock, None)
        if listener is not None:
            listener.suspend()  # out of the selector while the socket is open
        super()._stop_serving(sock)  # type: ignore[misc]  # asyncio's cleanup (3.13: the path)
        if listener is not None:
            listener.close()
