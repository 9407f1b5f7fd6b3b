"""``packet``: echo each framed message back, in gen_tcp's ``{packet, N}`` format.

``reactor serve packet --packet 2`` answers an Erlang client opened with
``{packet, 2}``: every message it sends comes back as one message.  The
framing is :mod:`reactor.framing`'s, installed on the transport, so the
handler only ever sees whole messages and the active mode counts them.

A header announcing more than ``--max-size`` bytes (or a line that long
without its newline) is a protocol error: that connection closes, as
gen_tcp's ``packet_size`` closes it with ``emsgsize``; the others carry on.

A graceful drain is the echo's: an idle connection (no partial message
either) closes at once, a busy one goes on echoing until the peer's EOF.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from reactor.framing import DEFAULT_MAX_SIZE, FramedHandler, Framer, make_framer, parse_packet

if TYPE_CHECKING:
    from reactor.protocol import EventLoop, Factory, Handler, PeerKey

__all__ = ["PacketEcho", "PacketPlugin", "plugin"]

log = logging.getLogger(__name__)


class PacketEcho(FramedHandler):
    """Send every message back as one message."""

    __slots__ = ("messages",)

    def __init__(self, framer: Framer | None = None) -> None:
        super().__init__(framer)
        self.messages = 0

    def message_received(self, message: bytes) -> None:
        """Echo ``message`` in the same framing."""
        self.messages += 1
        self.send(message)


def _packet_option(text: str) -> int | str:
    try:
        return parse_packet(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size_option(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the size must be at least 1, got {value}")
    return value


def add_packet_arguments(parser: argparse.ArgumentParser, default: int | str = 4) -> None:
    """``--packet`` and ``--max-size``, as ``packet`` and ``reactor connect`` take them."""
    parser.add_argument(
        "--packet",
        type=_packet_option,
        default=default,
        metavar="{0,1,2,4,line,raw}",
        help="gen_tcp framing: 1, 2 or 4 byte length header, line, raw (default: %(default)s)",
    )
    parser.add_argument(
        "--max-size",
        type=_size_option,
        default=DEFAULT_MAX_SIZE,
        metavar="BYTES",
        help="largest message accepted, like gen_tcp's packet_size (default: %(default)s)",
    )


class PacketPlugin:
    """The ``packet`` entry point."""

    description = "echo of framed messages, gen_tcp {packet, 1|2|4|line} compatible"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add ``--packet`` and ``--max-size``."""
        add_packet_arguments(parser)

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """A factory of :class:`PacketEcho` handlers, one framer each."""
        packet = parse_packet(getattr(options, "packet", 4))
        max_size = int(getattr(options, "max_size", DEFAULT_MAX_SIZE))
        make_framer(packet, max_size)  # refuse bad options now, not per connection

        def factory(peer: PeerKey) -> Handler:
            return PacketEcho(make_framer(packet, max_size))

        return factory


plugin = PacketPlugin()
