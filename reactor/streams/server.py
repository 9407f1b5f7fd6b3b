"""gen_tcp's ``listen``, ``accept`` and ``connect`` as coroutines, and ``serve``.

Theory of operation.  :class:`ListenSocket` is a selreactor
:class:`~reactor.listener.Listener` (so its connections are in the
peer-keyed table, under its limits and timeouts) whose factory makes a
:class:`~reactor.streams.Socket` per peer.  Tasks waiting in
:meth:`ListenSocket.accept` queue in FIFO order and each new socket goes to
the first.  With nobody waiting, one accepted socket is held and the
listener leaves the selector, so further peers wait in the kernel's backlog
as they do for gen_tcp.  :func:`serve` skips the queue: each socket gets a
task of its own at once (``asyncio.start_server``'s shape), which is how
``reactor serve`` runs an ``async def handle(sock)`` plugin.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, cast

from reactor.aio import Loop
from reactor.streams.errors import Closed, Timeout
from reactor.streams.receiver import Setup
from reactor.streams.spawner import Spawner
from reactor.streams.stream import DEFAULT_READ_BUFFER, Socket

if TYPE_CHECKING:
    import ssl as ssl_module
    from collections.abc import Callable, Coroutine

    from reactor.framing import PacketType
    from reactor.listener import Listener
    from reactor.protocol import ActiveMode, PeerKey
    from reactor.streams.receiver import Receiver
    from reactor.streams.stream import SocketOptions

__all__ = [
    "ListenSocket",
    "connect",
    "listen",
    "running_loop",
    "serve",
]


def running_loop() -> Loop:
    """The running reactor.aio loop; a one-line error on any other loop."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, Loop):
        raise RuntimeError(
            "reactor.streams runs on a reactor.aio loop: start with reactor.aio.run(main())"
        )
    return loop


class ListenSocket:
    """A listening socket (``gen_tcp:listen/2``); see :func:`listen`."""

    def __init__(
        self,
        loop: Loop,
        *,
        host: str | None,
        port: int,
        options: SocketOptions,
        listener_options: dict[str, object],
        handle: Callable[[Socket], Coroutine[object, object, object]] | None = None,
    ) -> None:
        self._loop = loop
        # what every accepted socket starts with (a bad option fails here, not per accept)
        # (a served listener's spawner makes its own, with its on_made)
        self._setup = Setup(**options, on_made=self._give) if handle is None else None
        self._handle = handle
        self._ready: collections.deque[Socket] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[Socket | None]] = collections.deque()
        self._closed = False
        self._spawner = Spawner(loop, handle, options) if handle is not None else None
        self.listener: Listener = loop.reactor.listen(
            self._factory,
            host,
            port,
            **listener_options,  # type: ignore[arg-type]  # checked by Listener itself
        )
        """The selreactor listener: its ``connections`` table, figures, ``shutdown()``."""
        self._accepting = True
        if handle is None:
            self._pause()  # nobody waits in accept() yet: peers wait in the backlog

    def __repr__(self) -> str:
        host, port = self.sockname
        return f"<ListenSocket {host}:{port} {'closed' if self._closed else 'open'}>"

    @property
    def sockname(self) -> PeerKey:
        """The bound ``(host, port)`` (``inet:sockname/1``): port 0 picked a free one."""
        return self.listener.address

    @property
    def port(self) -> int:
        """The bound port."""
        return self.listener.port

    def _pause(self) -> None:
        if self._accepting:
            self._accepting = False
            self.listener.suspend()

    def _resume(self) -> None:
        if not self._accepting and not self._closed:
            self._accepting = True
            self.listener.resume()

    def _factory(self, peer: PeerKey) -> Socket | None:
        if self._closed:
            return None
        if self._spawner is not None:
            return self._spawner(peer)
        assert self._setup is not None  # made for a listener without a spawner
        return Socket(self._loop, self._setup)  # handed out by _give once connected

    def _give(self, sock: Receiver) -> None:
        """To the first task still waiting in accept(), else hold it and stop accepting."""
        assert isinstance(sock, Socket)
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(sock)
                return
        self._ready.append(sock)
        self._pause()

    async def accept(self, timeout: float | None = None) -> Socket:
        """``gen_tcp:accept/2``: the next connection, owned by the calling task.

        Tasks waiting at once are served in the order they called.
        :class:`~reactor.streams.Timeout` after ``timeout`` seconds,
        :class:`~reactor.streams.Closed` if the listen socket is (or gets)
        closed.  A cancelled ``accept`` takes no connection.
        """
        task = asyncio.current_task(self._loop)
        if self._closed:
            raise Closed("the listen socket is closed")
        if self._ready:
            sock = self._ready.popleft()
            sock.set_owner(cast("asyncio.Task[object]", task))
            return sock
        if timeout is not None and timeout <= 0:
            raise Timeout("no connection to accept")
        waiter: asyncio.Future[Socket | None] = self._loop.create_future()
        self._waiters.append(waiter)
        self._resume()
        handle = None
        if timeout is not None:
            handle = self._loop.call_later(timeout, _no_connection, waiter)
        try:
            given = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                # cancelled after a socket was given: it goes to the next in line
                self._ready.appendleft(cast("Socket", waiter.result()))
                self._redistribute()
            raise
        finally:
            if handle is not None:
                handle.cancel()
        if given is None:
            if self._closed:
                raise Closed("the listen socket was closed")
            raise Timeout(f"no connection in {timeout:g} s")
        given.set_owner(cast("asyncio.Task[object]", task))
        return given

    def _redistribute(self) -> None:
        while self._ready and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._ready.popleft())
        if self._ready:
            self._pause()

    def close(self) -> None:
        """``gen_tcp:close/1`` of the listen socket: waiting ``accept`` calls raise
        :class:`~reactor.streams.Closed`; accepted sockets carry on, those not
        yet accepted are closed."""
        if self._closed:
            return
        self._closed = True
        self.listener.close()
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        ready, self._ready = self._ready, collections.deque()
        for sock in ready:
            sock.close()

    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def __aenter__(self) -> ListenSocket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _no_connection(waiter: asyncio.Future[Socket | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def listen(
    port: int,
    *,
    host: str | None = "127.0.0.1",
    packet: PacketType = 0,
    max_size: int = 1 << 20,
    active: ActiveMode = False,
    exit_on_close: bool = True,
    read_buffer: int = DEFAULT_READ_BUFFER,
    backlog: int = 511,
    ssl: ssl_module.SSLContext | None = None,
    **listener_options: object,
) -> ListenSocket:
    """``gen_tcp:listen/2`` on the running reactor.aio loop: a :class:`ListenSocket`.

    ``port`` 0 picks a free port (see :attr:`ListenSocket.sockname`).  The
    socket options (``packet``, ``max_size``, ``active``, ``exit_on_close``,
    ``read_buffer``) are each accepted socket's first :meth:`Socket.setopts
    <reactor.streams.Socket.setopts>`; ``backlog``, ``ssl`` and the other
    keywords (``idle_timeout``, ``write_timeout``, ``max_connections``,
    ``max_per_peer``, ...) are :class:`~reactor.listener.Listener`'s.
    """
    return _listen(
        port=port,
        host=host,
        options=_options(packet, max_size, active, exit_on_close, read_buffer),
        backlog=backlog,
        ssl=ssl,
        listener_options=listener_options,
        handle=None,
    )


def serve(
    handle: Callable[[Socket], Coroutine[object, object, object]],
    port: int,
    *,
    host: str | None = "127.0.0.1",
    packet: PacketType = 0,
    max_size: int = 1 << 20,
    active: ActiveMode = False,
    exit_on_close: bool = True,
    read_buffer: int = DEFAULT_READ_BUFFER,
    backlog: int = 511,
    ssl: ssl_module.SSLContext | None = None,
    **listener_options: object,
) -> ListenSocket:
    """Listen as :func:`listen` and run ``handle(sock)`` in a task per connection.

    The task owns its socket.  When it returns the socket is closed (after
    flushing what it sent); when it raises, the failure is logged with the
    peer key and only that connection is aborted.  ``accept()`` is not used.
    """
    return _listen(
        port=port,
        host=host,
        options=_options(packet, max_size, active, exit_on_close, read_buffer),
        backlog=backlog,
        ssl=ssl,
        listener_options=listener_options,
        handle=handle,
    )


def _options(
    packet: PacketType, max_size: int, active: ActiveMode, exit_on_close: bool, read_buffer: int
) -> SocketOptions:
    return {
        "packet": packet,
        "max_size": max_size,
        "active": active,
        "exit_on_close": exit_on_close,
        "read_buffer": read_buffer,
    }


def _listen(
    *,
    port: int,
    host: str | None,
    options: SocketOptions,
    backlog: int,
    ssl: ssl_module.SSLContext | None,
    listener_options: dict[str, object],
    handle: Callable[[Socket], Coroutine[object, object, object]] | None,
) -> ListenSocket:
    extra = dict(listener_options, backlog=backlog)
    if ssl is not None:  # TLS under the socket, by the listener (reactor.tls)
        extra["ssl"] = ssl
    return ListenSocket(
        running_loop(),
        host=host,
        port=port,
        options=options,
        listener_options=extra,
        handle=handle,
    )


async def connect(
    host: str,
    port: int,
    *,
    packet: PacketType = 0,
    max_size: int = 1 << 20,
    active: ActiveMode = False,
    exit_on_close: bool = True,
    read_buffer: int = DEFAULT_READ_BUFFER,
    timeout: float | None = None,
    ssl: ssl_module.SSLContext | None = None,
    **connect_options: object,
) -> Socket:
    """``gen_tcp:connect/4``: a :class:`~reactor.streams.Socket` owned by the calling task.

    :class:`~reactor.streams.Timeout` after ``timeout`` seconds (``None``:
    wait as long as the kernel does); a refused or failed connect raises
    its :exc:`OSError`.  The other keywords are the connector's
    (``idle_timeout``, ``write_timeout``, ...).  Cancelling the call
    abandons the attempt.
    """
    loop = running_loop()
    setup = Setup(
        packet=packet,
        max_size=max_size,
        active=active,
        exit_on_close=exit_on_close,
        read_buffer=read_buffer,
    )
    sock = Socket(loop, setup)
    done: asyncio.Future[None] = loop.create_future()
    if ssl is not None:
        connect_options["ssl"] = ssl
    connector = loop.reactor.connect(
        lambda key: sock,
        host,
        port,
        timeout=timeout,
        **connect_options,  # type: ignore[arg-type]  # checked by the connector
    )
    connector.add_done_callback(lambda c: _settle(done))
    try:
        await done
    except asyncio.CancelledError:
        connector.cancel()
        sock.abort()
        raise
    error = connector.error
    if error is not None:
        if isinstance(error, TimeoutError):
            raise Timeout(str(error)) from error
        raise error
    if connector.transport is None:
        raise Closed(f"connect to {host}:{port} was cancelled")
    sock.set_owner(cast("asyncio.Task[object]", asyncio.current_task(loop)))
    return sock
