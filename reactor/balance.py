"""Spreading connections over workers that share one listening socket.

Theory of operation.  Every worker of a shared socket is woken for each new
connection, and the one that runs first accepts it: usually the one that ran
last, whose caches are warm.  Left alone, one worker takes nearly every
connection (measured: 1,000 of 1,000 with two workers).  So each worker
publishes its count of live connections in a small table of shared memory
(an anonymous ``mmap`` made by the supervisor before it forks), and a worker
that holds more than its share stops accepting for a moment: when its count
exceeds the smallest count of the other *accepting* workers by more than
``slack``, it suspends its listener until its next check, ``interval``
seconds later.  The connections wait in the kernel's backlog meanwhile, and a
worker with fewer takes them.  A worker's entry is stamped with the time; an
entry older than ``stale`` seconds (a dead or stuck worker) does not count,
so a worker never waits for one that cannot accept.  A worker that drains
clears its entry.

The cost is one timer per worker (50 checks a second by default) and a few
bytes read per check; accepting itself is untouched.  With ``--reuse-port``
the kernel picks the socket by a hash of the 4-tuple and a suspended socket
still receives its share, so this applies to the shared socket only.
"""

from __future__ import annotations

import mmap
import struct
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reactor.listener import Listener
    from reactor.loop import Reactor

__all__ = ["Balancer", "SharedCounts"]

_ENTRY = struct.Struct("=qd")  # live connections, monotonic stamp


class SharedCounts:
    """A table of ``(connections, stamp)`` entries in memory shared by forked workers."""

    __slots__ = ("_memory", "size")

    def __init__(self, size: int = 256) -> None:
        self.size = size
        """How many entries (workers of two generations, during a reload)."""
        self._memory = mmap.mmap(-1, size * _ENTRY.size)

    def write(self, index: int, count: int, stamp: float) -> None:
        """Publish entry ``index``."""
        _ENTRY.pack_into(self._memory, (index % self.size) * _ENTRY.size, count, stamp)

    def others(self, index: int, since: float) -> list[int]:
        """The counts of the other entries stamped at or after ``since``."""
        found = []
        mine = index % self.size
        for i in range(self.size):
            if i != mine:
                count, stamp = _ENTRY.unpack_from(self._memory, i * _ENTRY.size)
                if stamp >= since and stamp > 0:
                    found.append(count)
        return found

    def clear(self, index: int) -> None:
        """Forget entry ``index`` (a worker that stopped accepting)."""
        self.write(index, 0, 0.0)


class Balancer:
    """A worker's side: publish the count, pause accepting while over its share."""

    __slots__ = ("_counts", "_index", "_listener", "_loop", "interval", "slack", "stale")

    def __init__(
        self,
        loop: Reactor,
        listener: Listener,
        counts: SharedCounts,
        index: int,
        *,
        interval: float = 0.02,
        slack: int = 8,
        stale: float = 0.25,
    ) -> None:
        self._loop = loop
        self._listener = listener
        self._counts = counts
        self._index = index
        self.interval = interval
        self.slack = slack
        self.stale = stale
        self.check()

    def check(self) -> None:
        """Publish, decide, and check again after ``interval``."""
        listener = self._listener
        if listener.is_closed():  # draining: accept nothing, count for nothing
            self._counts.clear(self._index)
            return
        now = time.monotonic()  # shared by processes: not the reactor's clock
        mine = len(listener.connections)
        self._counts.write(self._index, mine, now)
        others = self._counts.others(self._index, now - self.stale)
        if others and mine > min(others) + max(self.slack, min(others) // 10):
            listener.suspend()
        else:
            listener.resume()
        self._loop.call_later(self.interval, self.check)
