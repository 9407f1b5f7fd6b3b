"""The reactor-wide graceful drain behind :meth:`Reactor.shutdown <reactor.loop.Reactor.shutdown>`.

Theory of operation.  A drain closes every listener (no new connection is
accepted; peers still in a backlog are refused by the kernel), then asks every
live connection, listeners' and outbound alike, to finish: each handler gets
``drain_requested()``, or the transport's default drain
(:meth:`~reactor.transport.Connection.close_when_done`).  Nothing is closed
under a handler's feet: a connection ends when its handler closes it, or,
by default, when it is idle or the peer's EOF has come and the write queue is
flushed.  One deadline bounds the whole drain: what is still open then is
aborted.  The reactor tells the drain after each turn that reaped connections,
and once none is left the callbacks run.

Connections made after the drain started (an outbound connect that was still
in progress) are not asked to drain; the deadline aborts them if they are
still open.

One connection's part of a drain (:meth:`~reactor.transport.Connection.drain`,
``close_when_done``, ``end_input``) goes through the stages of
:class:`DrainStage`.  ``close()`` would lose data here: it stops reading, and a
socket closed with unread input resets the connection, which can destroy the
answer still on its way to the peer.  So a drained connection that is not idle
keeps reading and answering until the peer's EOF (``close_when_done``) or
until a read leaves the kernel empty (``end_input``, for request/response
protocols).  The stage is read only on the drain's own paths (the EOF, the
reap, a routed delivery), never on the common read or write path.

A listener's own drain (``Listener.shutdown``) is a :class:`TableDrain`: the
same requests and deadline, over that listener's table only.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

from reactor.options import check_delay

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from reactor.protocol import PeerKey, TimerHandle
    from reactor.seam import ConnectionHost, LiveConnection, ServingHost

__all__ = ["DRAIN_QUIET", "Drain", "DrainStage", "TableDrain"]

log = logging.getLogger(__name__)

DRAIN_QUIET = 1.0
"""Seconds without I/O after which a connection that has received data can be idle.

An empty receive buffer alone does not show that a peer is done: a peer in
the middle of a stream often has nothing in our kernel between two round
trips.  A connection that never received anything is idle without waiting.
"""


class DrainStage(enum.Enum):
    """Where one connection is in a graceful drain."""

    NONE = "none"  # not draining
    REQUESTED = "requested"  # drain() ran the handler's hook, which decides
    CLOSE_AT_EOF = "close at eof"  # close_when_done(): close at the peer's EOF
    END_INPUT = "end input"  # end_input(): EOF once a read leaves the kernel empty
    INPUT_ENDED = "input ended"  # end_input()'s EOF was delivered


class Drain:
    """One graceful drain of a whole reactor; made by ``Reactor.shutdown``."""

    def __init__(self, reactor: ServingHost, timeout: float) -> None:
        self.reactor = reactor
        self.timeout = check_delay("timeout", timeout)
        self._callbacks: list[Callable[[], object]] = []
        self._deadline: TimerHandle | None = None
        self._done = False

    def start(self) -> None:
        """Stop accepting, ask every connection to drain, arm the deadline."""
        reactor = self.reactor
        for listener in list(reactor.listeners):
            listener.close()
        connections = list(reactor.connections.values())
        log.info("draining %d connection(s), %g s at most", len(connections), self.timeout)
        self._deadline = reactor.call_later(self.timeout, self._expire)
        for conn in connections:
            conn.drain()
        self.reaped()  # nothing open: done on the next turn

    def add_callback(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once no connection is left (at once if none is)."""
        if self._done:
            self.reactor.call_soon(callback)
        else:
            self._callbacks.append(callback)

    def done(self) -> bool:
        """Whether every connection is gone."""
        return self._done

    def reaped(self) -> None:
        """The reactor reaped connections: finish if none is left."""
        if self._done or self.reactor.connections:
            return
        self._done = True
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        log.info("drained")
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self.reactor.call_soon(callback)

    def _expire(self) -> None:
        self._deadline = None
        for conn in list(self.reactor.connections.values()):
            log.info("aborting %s: still open at the drain deadline", conn.peer)
            conn.abort()


class TableDrain:
    """The graceful drain of one listener's table; made by ``Listener.shutdown``."""

    __slots__ = ("_callbacks", "_deadline", "_table", "reactor")

    def __init__(self, reactor: ConnectionHost, table: Mapping[PeerKey, LiveConnection]) -> None:
        self.reactor = reactor
        self._table = table
        self._callbacks: list[Callable[[], object]] = []
        self._deadline: TimerHandle | None = None

    def add_callback(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the table is empty (on the next turn if it is now)."""
        if self._table:
            self._callbacks.append(callback)
        else:
            self.reactor.call_soon(callback)

    def start(self, timeout: float, host: str, port: int) -> None:
        """Ask every connection to drain, abort what is left after ``timeout``
        seconds; once only: a second call leaves the first deadline standing."""
        table = self._table
        if not table or self._deadline is not None:
            return
        log.info(
            "draining %d connection(s) of %s:%s, %g s at most", len(table), host, port, timeout
        )
        self._deadline = self.reactor.call_later(timeout, self._expire)
        for conn in list(table.values()):
            conn.drain()

    def released(self) -> None:
        """A connection left the table: if it was the last, the drain is over."""
        if self._table:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self.reactor.call_soon(callback)

    def _expire(self) -> None:
        self._deadline = None
        for conn in list(self._table.values()):
            log.info("aborting %s: still open at the drain deadline", conn.peer)
            conn.abort()
