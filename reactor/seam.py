"""The seam between the loop and what it drives.

Theory of operation.  The loop knows nothing of sockets, buffers or
handlers: it polls a selector and calls the object registered for each ready
descriptor, a :class:`Watcher`.  A transport, a listener or a connector knows
nothing of the loop's insides: it asks for what it needs through a
:class:`ConnectionHost` (the turn's timestamp, the selector, the idle deadline
queue, the connection table, a reap at the end of the turn), and a listener
through a :class:`ServingHost`.  :class:`reactor.loop.Reactor` implements both;
a different loop (an asyncio bridge, a test double) may implement them too.

Selector events are :data:`selectors.EVENT_READ` and
:data:`selectors.EVENT_WRITE`, never raw numbers.

Both sides sit on this module, which imports nothing of the reactor above
:mod:`reactor.protocol` and :mod:`reactor.timers`: the loop does not import
the transport, and nothing below the loop names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from reactor.protocol import EventLoop, Transport

if TYPE_CHECKING:
    import selectors
    from collections.abc import Callable, Mapping

    from reactor.timers import DeadlineQueue

__all__ = [
    "Closable",
    "ConnectionHost",
    "ConnectionOwner",
    "LiveConnection",
    "Reapable",
    "ServingHost",
    "Watcher",
]


class Watcher(Protocol):
    """What the selector's ``data`` holds: an object the loop dispatches to.

    The loop calls :meth:`on_readable` and then :meth:`on_writable` for the
    events that are ready, and :meth:`on_error` with whatever either raised;
    a failure is contained to the watcher that raised it.
    """

    def on_readable(self) -> None:
        """The descriptor is readable (or at EOF, or in error)."""
        ...

    def on_writable(self) -> None:
        """The descriptor is writable."""
        ...

    def on_error(self, exc: BaseException) -> None:
        """:meth:`on_readable` or :meth:`on_writable` raised ``exc``."""
        ...


class Reapable(Protocol):
    """A connection in the loop's table, reaped at the end of a turn."""

    @property
    def id(self) -> int:
        """The key of the loop's connection table."""
        ...

    def on_reap(self) -> None:
        """End of the turn it was marked in: close, call ``connection_lost``."""
        ...


class LiveConnection(Transport, Reapable, Protocol):
    """A connection in the loop's table: a transport the loop reaps and drains."""

    def drain(self) -> None:
        """Start a graceful drain (the handler's ``drain_requested()``)."""
        ...


class ConnectionOwner(Protocol):
    """Whoever made a connection and keeps a table of it (a listener)."""

    def release(self, conn: LiveConnection) -> None:
        """``conn`` was reaped: take it out of the table, free its slot."""
        ...


class ConnectionHost(EventLoop, Protocol):
    """What a connection needs from the reactor that drives it.

    ``now`` is a plain attribute, read on every read and write as the
    activity stamp: the loop stamps it once per turn, after polling, so the
    hot path never calls the clock.
    """

    now: float
    """The time of the current turn (stamped after the poll)."""

    selector: selectors.BaseSelector
    """Where watchers register their descriptors, with themselves as ``data``."""

    deadlines: DeadlineQueue
    """The idle deadlines of every connection, behind one timer."""

    @property
    def connections(self) -> Mapping[int, LiveConnection]:
        """Every live connection, by id."""
        ...

    def add_connection(self, conn: LiveConnection) -> None:
        """Enter ``conn`` in the reactor-wide table."""
        ...

    def reap(self, conn: LiveConnection, fd: int) -> None:
        """Reap ``conn`` at the end of this turn (it leaves the table then).

        ``fd`` is its descriptor if it is still registered in the selector,
        else ``-1``; the loop takes it out cheaply, since it is closed before
        the next poll.
        """
        ...

    def call_exception_handler(self, context: dict[str, object]) -> None:
        """Report a failure nobody else can handle (logged by default)."""
        ...


class Closable(Protocol):
    """A listener as the reactor sees it: something to close on shutdown."""

    def close(self) -> None:
        """Stop accepting and close the listening socket."""
        ...


class ServingHost(ConnectionHost, Protocol):
    """What a listener (and a reactor-wide drain) needs from the reactor."""

    @property
    def listeners(self) -> list[Closable]:
        """The open listeners; a listener adds itself and leaves on close."""
        ...

    def is_closed(self) -> bool:
        """Whether the reactor was closed (its listeners are closed then)."""
        ...

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: object) -> object:
        """Like ``call_soon``, from any thread (a resolver's, for a connector)."""
        ...
