"""Echo as a coroutine per connection: ``reactor serve echo-async``.

The plugin is an ``async def handle(sock)`` (see :mod:`reactor.streams`):
``recv(0)`` returns what has arrived, ``send`` waits only while the peer
does not read its echo, and ``Closed`` ends the loop once the peer closed
and every byte it sent was echoed.  ``exit_on_close=False`` keeps the
socket open for sending after the peer's EOF, so a half-closed client still
gets its bytes back whole.
"""

from __future__ import annotations

from reactor.streams import AsyncPlugin, Closed, Socket

__all__ = ["handle", "plugin"]


async def handle(sock: Socket) -> None:
    """Echo every byte back, one coroutine per connection (reactor.streams)."""
    while True:
        try:
            data = await sock.recv(0)
        except Closed:
            return
        await sock.send(data)


plugin = AsyncPlugin(handle, exit_on_close=False)
