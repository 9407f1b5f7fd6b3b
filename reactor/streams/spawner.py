"""What ``serve()`` and ``reactor serve`` run per connection: a task around a Driver.

Theory of operation.  :class:`Spawner` is a listener's factory: each
accepted peer gets a :class:`~reactor.streams.Socket`, and once it is
connected (after the handshake, under TLS) a task runs ``handle(sock)``
under a :class:`~reactor.streams.driver.Driver`, which is also what that
socket's ``recv`` waits on.  When the task ends the spawner closes its
socket: a handler that returned or raised a stream error flushes what it
sent; one that failed otherwise is logged with the peer key and aborts its
own connection only, and every other connection carries on.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import TYPE_CHECKING, cast

from reactor.streams.driver import Driver
from reactor.streams.errors import StreamError
from reactor.streams.receiver import Setup
from reactor.streams.stream import Socket

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from reactor.protocol import PeerKey
    from reactor.streams.receiver import Receiver
    from reactor.streams.stream import SocketOptions

__all__ = ["Spawner"]

log = logging.getLogger(__name__)


class _Serving(Driver):
    """The driver of a served handler, which keeps its socket for the task's end."""

    __slots__ = ("sock",)

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[object, object, object],
        sock: Socket,
    ) -> None:
        super().__init__(loop, coro)
        self.sock = sock


class Spawner:
    """A listener's factory that runs ``handle(sock)`` in a task per connection.

    The task owns its socket; when it ends the socket is closed (flushing
    what was sent), and a handler that raised is logged with the peer key
    and aborts its own connection only.  Each task is named after the
    handler (its ``__qualname__``, what ``task.get_name()`` returns).  The
    live ones are in the listener's connection table: each connection's
    socket and its :attr:`~reactor.streams.Socket.owner`.  (No table of
    its own: at 10k connections one costs 30 bytes each.)
    """

    __slots__ = ("_context", "_done", "_name", "_setup", "handle", "loop", "options")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handle: Callable[[Socket], Coroutine[object, object, object]],
        options: SocketOptions,
    ) -> None:
        self.loop = loop
        self.handle = handle
        self.options = options
        self._done = self._finished  # one bound method for every task
        # ... run in one context: a task's done callback would copy one each
        self._context = contextvars.copy_context()
        # Each task is named after the handler, one string for all of them
        # (asyncio's default makes a "Task-N" string per task before 3.12).
        self._name = getattr(handle, "__qualname__", None) or repr(handle)
        # what every socket starts with (a bad option fails here, not per accept)
        self._setup = Setup(**options, on_made=self._start)

    def __call__(self, peer: PeerKey) -> Socket:
        """A socket for ``peer`` and the task that serves it."""
        return Socket(self.loop, self._setup)  # its task starts once it is connected

    def _start(self, sock: Receiver) -> None:
        assert isinstance(sock, Socket)
        # the task runs a Driver, which steps the handler itself (see its module)
        driver = _Serving(self.loop, self.handle(sock), sock)
        task: asyncio.Task[object] = self.loop.create_task(driver, name=self._name)
        sock.set_owner(task, driver)
        task.add_done_callback(self._done, context=self._context)

    def _finished(self, task: asyncio.Task[object]) -> None:
        """A task ended: close its socket; log a failure with the peer key."""
        sock = cast("_Serving", task.get_coro()).sock
        if task.cancelled():
            sock.abort()
            return
        exc = task.exception()
        if exc is None or isinstance(exc, StreamError):
            sock.close()  # flushes what the handler sent
            if exc is not None:
                log.debug("connection %s ended: %s", sock.last_peer, exc)
            return
        log.error("handler failed for %s", sock.last_peer, exc_info=exc)
        sock.abort()
