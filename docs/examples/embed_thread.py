"""The reactor in a thread of its own, beside blocking code.

``ReactorThread`` runs ``reactor.run()`` in a background thread.  The main
thread talks to the reactor only through ``call()`` (which runs a function
on the reactor thread and returns its result) or
``reactor.call_soon_threadsafe()``; everything else it does may block.
"""

from __future__ import annotations

import socket

from reactor import BaseHandler, Listener, Transport
from reactor.embedding import ReactorThread


class Upper(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


def main() -> None:
    with ReactorThread() as rt:
        # listen() must run on the reactor's thread: call() takes it there.
        listener: Listener = rt.call(rt.reactor.listen, lambda peer: Upper(), "127.0.0.1", 0)
        # Plain blocking sockets in this thread, served by the reactor's thread.
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
            sock.sendall(b"from the main thread\n")
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(1024):
                reply += chunk
        print(reply.decode(), end="")
        print("the reactor is running:", rt.reactor.is_running())
        print(
            "connections, read on the reactor thread:", rt.call(lambda: len(listener.connections))
        )
    print("after the with block, the reactor is closed:", rt.reactor.is_closed())


if __name__ == "__main__":
    main()
