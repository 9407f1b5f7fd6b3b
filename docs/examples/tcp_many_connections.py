"""One listening port, many connections: the 4-tuple tells them apart.

Three clients connect to one listening port.  The server's connection table,
``listener.connections``, is keyed by the peer's (host, port); with the
server's own (host, port), always the same here, that makes the 4-tuple
that names each TCP connection.  Then two client sockets share one local
port, which is fine as long as their 4-tuples differ.

Ports are chosen by the kernel, so the output names them instead of
printing numbers that change from run to run.
"""

from __future__ import annotations

import socket

from reactor import BaseHandler, Reactor
from reactor.testing import run_until


def main() -> None:
    reactor = Reactor()
    listener = reactor.listen(lambda peer: BaseHandler(), "127.0.0.1", 0)
    names: dict[int, str] = {listener.port: "<listen 1>"}

    def show(port: int) -> str:
        """Name a port by the order it was first seen: run-to-run stable output."""
        if port not in names:
            names[port] = f"<ephemeral {sum(n.startswith('<e') for n in names.values()) + 1}>"
        return names[port]

    print(f"listening on 127.0.0.1 port={show(listener.port)}")
    connectors = [reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", listener.port)]
    connectors += [reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", listener.port)]
    connectors += [reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", listener.port)]
    run_until(reactor, lambda: len(listener.connections) == 3)

    print("the server's connection table (listener.connections):")
    for (host, port), conn in sorted(listener.connections.items()):
        local_host, local_port = conn.local
        print(
            f"  key ({host}, {show(port)}) -> 4-tuple "
            f"local {local_host}:{show(local_port)}  remote {host}:{show(port)}"
        )
    for connector in connectors:
        client = connector.transport
        assert client is not None
        # The client's local address is the server's key for the same connection.
        assert client.local in listener.connections
    print("every client's local (host, port) is a key of the server's table: True")

    # Two sockets bound to the same local port: legal, because each
    # connection's 4-tuple still differs (here, by the remote port).
    second = reactor.listen(lambda peer: BaseHandler(), "127.0.0.1", 0)
    names[second.port] = "<listen 2>"
    a = socket.socket()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    shared = a.getsockname()[1]
    b = socket.socket()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    b.bind(("127.0.0.1", shared))
    a.settimeout(5)
    b.settimeout(5)
    a.connect(("127.0.0.1", listener.port))  # completes in the kernel: see the next section
    b.connect(("127.0.0.1", second.port))
    run_until(reactor, lambda: len(listener.connections) == 4 and len(second.connections) == 1)
    label = show(shared)
    for name, sock in (("a", a), ("b", b)):
        lhost, lport = sock.getsockname()
        rhost, rport = sock.getpeername()
        print(f"socket {name}: local {lhost}:{show(lport)}  remote {rhost}:{show(rport)}")
    key = ("127.0.0.1", shared)
    both = key in listener.connections and key in second.connections
    print(f"two live connections from port {label}: {both}")
    a.close()
    b.close()
    reactor.close()


if __name__ == "__main__":
    main()
