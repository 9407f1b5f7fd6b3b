"""Echo (RFC 862): every byte received is sent back.

The echo respects backpressure: when the peer does not read its echo, the
write buffer crosses the high-water mark and reading pauses, so the kernel's
window stops the peer from sending more.  At the peer's half-close the
connection flushes the echo and closes, so a half-closed client gets its
bytes back whole.  A graceful drain (SIGTERM) keeps it that way: an idle
connection closes at once, a busy one goes on echoing until the peer's EOF
(the transport's default drain, ``close_when_done``).
"""

from __future__ import annotations

import argparse

from reactor.protocol import BaseHandler, EventLoop, Factory, PeerKey, Transport

__all__ = ["EchoHandler", "plugin"]


class EchoHandler(BaseHandler):
    """Send back what arrives."""

    __slots__ = ()

    transport: Transport

    def connection_made(self, transport: Transport) -> None:
        """Keep the transport."""
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Echo ``data``."""
        self.transport.write(data)

    def pause_writing(self) -> None:
        """The peer is not reading its echo: stop reading from it."""
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        """The echo drained: read again."""
        self.transport.resume_reading()


def _echo(peer: PeerKey) -> EchoHandler:
    return EchoHandler()


class EchoPlugin:
    """``reactor serve echo``."""

    description = "echo every byte back (RFC 862)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Echo has no options of its own."""

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """One :class:`EchoHandler` per connection."""
        return _echo


plugin = EchoPlugin()
