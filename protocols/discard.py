"""Discard (RFC 863): read everything, answer nothing.

A graceful drain closes an idle connection at once and reads a busy one to
the peer's EOF (the transport's default drain, ``close_when_done``).
"""

from __future__ import annotations

import argparse

from reactor.protocol import BaseHandler, EventLoop, Factory, PeerKey, Transport

__all__ = ["DiscardHandler", "plugin"]


class DiscardHandler(BaseHandler):
    """Throw away what arrives; close when the peer half-closes."""

    __slots__ = ()

    transport: Transport

    def data_received(self, data: bytes) -> None:
        """Discard ``data``."""


def _discard(peer: PeerKey) -> DiscardHandler:
    return DiscardHandler()


class DiscardPlugin:
    """``reactor serve discard``."""

    description = "read and throw away every byte (RFC 863)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Discard has no options of its own."""

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """One :class:`DiscardHandler` per connection."""
        return _discard


plugin = DiscardPlugin()
