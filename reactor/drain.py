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
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from reactor.options import check_delay

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.protocol import TimerHandle
    from reactor.seam import ServingHost

__all__ = ["Drain"]

log = logging.getLogger(__name__)


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
