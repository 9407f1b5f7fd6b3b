"""The reactor inside an asyncio application, on one thread.

asyncio watches the reactor's selector descriptor (``reactor.fileno()``,
an epoll or kqueue descriptor that turns readable when the reactor has I/O
to dispatch) with ``loop.add_reader``, and schedules the reactor's timers
with ``loop.call_later(reactor.timeout(), ...)``.  Each time either fires,
one ``reactor.run_once(0)`` turn runs, and the timer is re-armed.

Here an asyncio client (``asyncio.open_connection``) talks to a selreactor
server, both in one thread and one asyncio loop.
"""

from __future__ import annotations

import asyncio

from reactor import BaseHandler, Reactor, Transport


class Upper(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


class Bridge:
    """Drive a reactor from an asyncio loop."""

    def __init__(self, reactor: Reactor, loop: asyncio.AbstractEventLoop) -> None:
        self.reactor = reactor
        self.loop = loop
        self.timer: asyncio.TimerHandle | None = None
        loop.add_reader(reactor.fileno(), self.step)
        self.rearm()

    def step(self) -> None:
        self.reactor.run_once(0)
        self.rearm()

    def rearm(self) -> None:
        """Wake up for the reactor's next timer (or ready callback)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        wait = self.reactor.timeout()
        if wait is not None:
            self.timer = self.loop.call_later(wait, self.step)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.loop.remove_reader(self.reactor.fileno())


async def main() -> None:
    reactor = Reactor()
    bridge = Bridge(reactor, asyncio.get_running_loop())
    listener = reactor.listen(lambda peer: Upper(), "127.0.0.1", 0)
    fired = asyncio.Event()
    reactor.call_later(0.05, fired.set)  # a reactor timer, woken by asyncio
    bridge.rearm()  # new reactor work was scheduled outside a turn

    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(b"asyncio client, selreactor server\n")
    await writer.drain()
    writer.write_eof()
    reply = await asyncio.wait_for(reader.read(), timeout=5)
    print(reply.decode(), end="")
    writer.close()
    await writer.wait_closed()
    await asyncio.wait_for(fired.wait(), timeout=5)
    print("the reactor's timer fired inside asyncio:", fired.is_set())

    bridge.close()
    reactor.close()


if __name__ == "__main__":
    asyncio.run(main())
