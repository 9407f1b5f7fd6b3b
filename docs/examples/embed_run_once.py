"""Stepping the reactor from a host loop with ``run_once``.

A host program that owns its own loop (a game's frame loop, a GUI's idle
hook, a simulation's tick) calls ``reactor.run_once(0)`` once per
iteration: one turn, which waits for I/O at most ``timeout`` seconds
(``0`` never waits).  ``reactor.timeout()`` says how long the host may wait
before the reactor next has timed work (``None``: only I/O can wake it), so
the host can give the rest of its frame to ``run_once`` without delaying a
timer.
"""

from __future__ import annotations

from reactor import BaseHandler, Reactor, Transport

FRAME = 1 / 60  # the host's frame time, in seconds
MAX_FRAMES = 600  # a bound, so the example always ends


class Echo(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Client(BaseHandler):
    def __init__(self) -> None:
        self.transport = None
        self.reply = b""

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"ping")

    def data_received(self, data: bytes) -> None:
        self.reply += data


def main() -> None:
    reactor = Reactor()
    listener = reactor.listen(lambda peer: Echo(), "127.0.0.1", 0)
    client = Client()
    reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    ticked: list[str] = []
    reactor.call_later(0.05, ticked.append, "timer")

    frames = 0
    while (client.reply != b"ping" or not ticked) and frames < MAX_FRAMES:
        frames += 1
        # ... the host's own work for this frame goes here ...
        # The reactor's share: dispatch what is ready, waiting at most until
        # the end of the frame or the reactor's next timer, whichever is first.
        wait = reactor.timeout()  # None: only I/O can wake the reactor
        reactor.run_once(FRAME if wait is None else min(wait, FRAME))
    print("reply:", client.reply.decode())
    print("timer fired:", ticked == ["timer"])
    print("done within the frame budget:", frames < MAX_FRAMES)
    reactor.close()


if __name__ == "__main__":
    main()
