"""A listener's accept-limits bookkeeping: live connections per peer host,
and the back-off after a resource error in ``accept``.

Theory of operation.  :class:`PeerCounts` counts the live connections of
each peer host against ``max_per_peer``.  It keeps one copy of each host
string and hands it out for every key from that host, so a table of many
peers from a few hosts holds a few strings.

Running out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS,
ENOMEM) in ``accept`` pauses accepting and retries after a back-off
(:class:`AcceptBackoff`) that doubles up to a ceiling and starts again from
the first delay after an accept succeeds; the pending peer stays in the
backlog.  The loop never spins, open connections carry on, and the warning
is due at most once per interval (the listener logs it, naming itself).

:class:`ListenerCounts` holds the figures :mod:`reactor.metrics` reads from a
listener (refusals by reason, timeouts by kind, what closed connections
carried), all counted on rare paths, never per read.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.protocol import TimerHandle
    from reactor.seam import ConnectionHost

__all__ = [
    "BACKOFF_FIRST",
    "RESOURCE_ERRORS",
    "TRANSIENT_ERRORS",
    "AcceptBackoff",
    "ListenerCounts",
    "PeerCounts",
]

RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
"""The ``accept`` errors that pause accepting (:class:`AcceptBackoff`)."""

TRANSIENT_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR})
"""The ``accept`` errors of a peer gone between the handshake and accept: nothing to do."""

BACKOFF_FIRST = 0.05
"""Seconds of the first pause after a resource error."""

_BACKOFF_MAX = 1.0
_WARN_INTERVAL = 10.0


class PeerCounts:
    """Live connections per peer host, and the ``max_per_peer`` limit on them."""

    __slots__ = ("_hosts", "limit")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        """At most this many connections from one host (``None``: no limit)."""
        # host -> (one shared copy of the host string, live connections from it)
        self._hosts: dict[str, tuple[str, int]] = {}

    def get(self, host: str) -> tuple[str, int]:
        """The shared copy of ``host`` (``host`` itself if new) and its live count."""
        return self._hosts.get(host, (host, 0))

    def over(self, count: int) -> bool:
        """Whether a host with ``count`` live connections is at the limit."""
        return self.limit is not None and count >= self.limit

    def add(self, host: str, shared: str, count: int) -> None:
        """One more connection from ``host``, which had ``count`` (from :meth:`get`)."""
        self._hosts[host] = (shared, count + 1)

    def remove(self, host: str) -> None:
        """One connection from ``host`` fewer."""
        shared, count = self._hosts.get(host, (host, 0))
        if count > 1:
            self._hosts[host] = (shared, count - 1)
        else:
            self._hosts.pop(host, None)

    def move(self, old: str, new: str) -> bool:
        """Count a connection from ``old`` as one from ``new`` instead (its PROXY
        header named a client there); false, and nothing changed, at the limit."""
        shared, count = self.get(new)
        if self.over(count):
            return False
        self.remove(old)
        self._hosts[new] = (shared, count + 1)
        return True


class AcceptBackoff:
    """Accepting paused after a resource error, resumed by ``resume`` after a delay."""

    __slots__ = ("_last_warning", "_loop", "_resume", "_timer", "delay", "errors")

    def __init__(self, loop: ConnectionHost, resume: Callable[[], object]) -> None:
        self._loop = loop
        self._resume = resume
        self._timer: TimerHandle | None = None
        self._last_warning = float("-inf")
        self.delay = BACKOFF_FIRST
        """Seconds of the next pause; set back to :data:`BACKOFF_FIRST` per accept."""
        self.errors = 0
        """Resource errors met so far."""

    def active(self) -> bool:
        """Whether accepting is paused right now."""
        return self._timer is not None

    def start(self) -> float | None:
        """Pause after an error; the delay if a warning is due (once per interval)."""
        self.errors += 1
        delay = self.delay
        now = self._loop.time()
        warn = now - self._last_warning >= _WARN_INTERVAL
        if warn:
            self._last_warning = now
        self._timer = self._loop.call_later(delay, self._end)
        self.delay = min(delay * 2, _BACKOFF_MAX)
        return delay if warn else None

    def cancel(self) -> None:
        """Forget a pause in progress (the listener closed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _end(self) -> None:
        self._timer = None
        self._resume()


class ListenerCounts:
    """The figures :mod:`reactor.metrics` reads from a listener, counted on rare paths only."""

    def __init__(self) -> None:
        self.refusals: dict[str, int] = {}
        """Refusals by reason: ``max_connections``, ``max_per_peer``,
        ``factory`` (and what :func:`reactor.metrics.note_refusal` adds)."""
        self.timeouts: dict[str, int] = {}
        """Timeouts fired on its connections, by kind (:func:`reactor.metrics.count_timeout`)."""
        self.closed = 0
        """Connections accepted and since reaped."""
        self.bytes_in_closed = 0
        """Bytes received by the connections since reaped (the live ones hold their own)."""
        self.bytes_out_closed = 0
        """Bytes sent by the connections since reaped."""
        self.plugin = ""
        """The name of the plugin served, for the metrics' labels (``reactor serve`` sets it)."""

    def count_refusal(self, why: str) -> None:
        """One more refusal for ``why`` (a label value: spaces become ``_``)."""
        reason = why.replace(" ", "_")  # "untrusted proxy"
        self.refusals[reason] = self.refusals.get(reason, 0) + 1
