"""Limiting connections to protect a busy server.

1. ``max_connections=2`` with the default ``pause`` policy: at the limit the
   listen socket leaves the selector.  A third client still completes its
   handshake (the kernel queues it in the backlog) but waits there, unserved,
   until a slot frees.
2. ``overload="refuse"`` with a ``refuse_message``: over the limit a peer is
   accepted, told why, and closed at once, and the listener counts it.
3. ``max_per_peer=1``: a second connection from the same address is
   refused, whatever the total.
4. The factory itself may refuse a peer by returning ``None``.
"""

from __future__ import annotations

from reactor import BaseHandler, Connector, Listener, Reactor, Transport
from reactor.protocol import PeerKey
from reactor.testing import run_until


class Greeter(BaseHandler):
    """Say hello, then keep the connection open."""

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"hello\n")


class Client(BaseHandler):
    """Collect what the server says; note the end."""

    def __init__(self) -> None:
        self.transport = None
        self.heard = b""
        self.closed = False

    def factory(self, peer: PeerKey) -> Client:
        return self

    def data_received(self, data: bytes) -> None:
        self.heard += data

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.closed = True


def clients(reactor: Reactor, listener: Listener, n: int) -> list[tuple[Connector, Client]]:
    """Connect ``n`` clients one after the other; wait until each connect ends."""
    made = []
    for _ in range(n):
        client = Client()
        connector = reactor.connect(client.factory, "127.0.0.1", listener.port)
        run_until(reactor, connector.done)
        made.append((connector, client))
    return made


def report(label: str, made: list[tuple[Connector, Client]]) -> None:
    for n, (connector, client) in enumerate(made, 1):
        state = "closed" if client.closed else connector.state.value
        print(f"  {label} {n}: {state:9}  heard {client.heard!r}")


def pause_policy(reactor: Reactor) -> None:
    print("1. max_connections=2, overload='pause'")
    listener = reactor.listen(lambda peer: Greeter(), "127.0.0.1", 0, max_connections=2)
    made = clients(reactor, listener, 3)
    run_until(reactor, lambda: sum(c.heard == b"hello\n" for _, c in made) == 2)
    report("client", made)
    print("  listener accepting:", listener.is_accepting(), " served:", len(listener.connections))
    print("  the first client leaves")
    first = made[0][0].transport
    assert first is not None
    first.close()
    run_until(reactor, lambda: made[2][1].heard == b"hello\n")
    report("client", made)
    print("  listener accepting:", listener.is_accepting(), " served:", len(listener.connections))
    listener.close()


def refuse_policy(reactor: Reactor) -> None:
    print("2. max_connections=2, overload='refuse'")
    listener = reactor.listen(
        lambda peer: Greeter(),
        "127.0.0.1",
        0,
        max_connections=2,
        overload="refuse",
        refuse_message=b"busy, try later\n",
    )
    made = clients(reactor, listener, 3)
    run_until(reactor, lambda: made[2][1].closed and made[1][1].heard)
    report("client", made)
    print(f"  accepted={listener.accepted} rejected={listener.rejected}")
    listener.close()


def per_peer(reactor: Reactor) -> None:
    print("3. max_per_peer=1")
    listener = reactor.listen(lambda peer: Greeter(), "127.0.0.1", 0, max_per_peer=1)
    made = clients(reactor, listener, 2)
    run_until(reactor, lambda: made[1][1].closed and made[0][1].heard)
    report("client", made)
    print(f"  accepted={listener.accepted} rejected={listener.rejected}")
    listener.close()


def factory_refuses(reactor: Reactor) -> None:
    print("4. the factory decides")
    served: list[PeerKey] = []

    def factory(peer: PeerKey) -> Greeter | None:
        if served:  # one at a time, and only ever one
            return None
        served.append(peer)
        return Greeter()

    listener = reactor.listen(factory, "127.0.0.1", 0)
    made = clients(reactor, listener, 2)
    run_until(reactor, lambda: made[1][1].closed and made[0][1].heard)
    report("client", made)
    print(f"  accepted={listener.accepted} rejected={listener.rejected}")
    listener.close()


def main() -> None:
    reactor = Reactor()
    pause_policy(reactor)
    refuse_policy(reactor)
    per_peer(reactor)
    factory_refuses(reactor)
    reactor.close()


if __name__ == "__main__":
    main()
