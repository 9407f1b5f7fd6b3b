"""``reactor serve upper``: echo each line back in upper case.

A complete protocol plugin: a handler, a factory, and the module-level
``plugin`` object that the ``reactor.protocols`` entry point names.  It
depends on :mod:`reactor.protocol` and :mod:`reactor.framing` alone.
"""

from __future__ import annotations

import argparse

from reactor.framing import FramedHandler, LineFramer
from reactor.protocol import EventLoop, Factory, Handler, PeerKey


class UpperHandler(FramedHandler):
    """One line in, the same line in upper case out (or reversed, with --reverse)."""

    def __init__(self, reverse: bool, max_line: int) -> None:
        super().__init__(LineFramer(max_size=max_line))
        self.reverse = reverse

    def message_received(self, message: bytes) -> None:
        line = message.rstrip(b"\r\n").upper()
        self.send(line[::-1] if self.reverse else line)


class UpperPlugin:
    """What the entry point names: a description, options and a factory."""

    description = "echo each line in upper case"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--reverse", action="store_true", help="also reverse each line")
        parser.add_argument("--max-line", type=int, default=1024, help="longest line, in bytes")

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        reverse: bool = options.reverse
        max_line: int = options.max_line

        def factory(peer: PeerKey) -> Handler:
            return UpperHandler(reverse, max_line)

        return factory


plugin = UpperPlugin()
