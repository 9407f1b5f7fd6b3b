"""An ``async def`` plugin for the command-line tests: ``tests.streams.plugins:shaky``."""

from __future__ import annotations

from reactor.streams import Closed, Socket


async def shaky(sock: Socket) -> None:
    """Echo lines; a line saying ``boom`` is a bug in the handler."""
    sock.setopts(packet="line")
    while True:
        try:
            line = await sock.recv(0)
        except Closed:
            return
        if line == b"boom\n":
            raise RuntimeError("the handler broke")
        await sock.send(line)
