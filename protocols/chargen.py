"""Character generator (RFC 864): an endless stream, produced only while wanted.

Chargen is backpressure made visible.  It writes lines in bursts until the
transport calls ``pause_writing()`` (the peer is not keeping up), and
produces again only at ``resume_writing()``.  A burst is bounded and the
next one is scheduled with ``call_soon``, so a fast reader cannot keep the
loop inside one connection.  A graceful drain stops the stream: what was
written is flushed, then the connection closes.
"""

from __future__ import annotations

import argparse

from reactor.protocol import BaseHandler, EventLoop, Factory, PeerKey, Transport

__all__ = ["ChargenHandler", "line", "plugin"]

_PRINTABLE = bytes(range(32, 127))  # the 95 printable ASCII characters
_LINE_WIDTH = 72
_BURST_LINES = 256  # about 19 KiB per loop turn


def line(n: int) -> bytes:
    """The ``n``-th line of the RFC 864 pattern: 72 characters rotating by one, then CRLF."""
    start = n % len(_PRINTABLE)
    doubled = _PRINTABLE + _PRINTABLE
    return doubled[start : start + _LINE_WIDTH] + b"\r\n"


_LINES = [line(n) for n in range(len(_PRINTABLE))]


class ChargenHandler(BaseHandler):
    """Write the RFC 864 pattern while the peer keeps up; ignore input."""

    __slots__ = ("_next", "_paused", "_scheduled")

    transport: Transport

    def __init__(self) -> None:
        self._next = 0
        self._paused = False
        self._scheduled = False

    def connection_made(self, transport: Transport) -> None:
        """Start producing."""
        self.transport = transport
        self._produce()

    def data_received(self, data: bytes) -> None:
        """Input is discarded, as the RFC says."""

    def pause_writing(self) -> None:
        """The peer fell behind: stop producing."""
        self._paused = True

    def resume_writing(self) -> None:
        """The peer caught up: produce again."""
        self._paused = False
        self._produce()

    def drain_requested(self) -> None:
        """A graceful drain: stop producing; the lines already written are flushed, then FIN."""
        self.transport.close()

    def _produce(self) -> None:
        self._scheduled = False
        transport = self.transport
        if transport.is_closing() or self._paused:
            return
        first = self._next
        count = len(_LINES)
        transport.write(b"".join(_LINES[(first + i) % count] for i in range(_BURST_LINES)))
        self._next = (first + _BURST_LINES) % count
        if not self._paused and not self._scheduled:
            self._scheduled = True
            transport.loop.call_soon(self._produce)


def _chargen(peer: PeerKey) -> ChargenHandler:
    return ChargenHandler()


class ChargenPlugin:
    """``reactor serve chargen``."""

    description = "stream the RFC 864 character pattern, pausing under backpressure"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Chargen has no options of its own."""

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """One :class:`ChargenHandler` per connection."""
        return _chargen


plugin = ChargenPlugin()
