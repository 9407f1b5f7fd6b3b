"""gen_tcp's second example as coroutines: a pool of acceptors on one listen socket.

``start(num, port)`` listens with ``{packet, 2}``, starts ``num`` tasks that each
wait in ``accept()`` and serve one connection at a time with ``{active, once}``,
answering every request.  The notes leave ``process/1`` unwritten; here it
echoes, which is what the Erlang interop test expects.
"""

from __future__ import annotations

import asyncio

import reactor.aio
from reactor.streams import Closed, ListenSocket, Socket, Tcp, TcpClosed, connect, listen

acceptors: list[asyncio.Task[None]] = []
closed: list[Socket] = []
all_closed = asyncio.Event()


def start(num: int, lport: int) -> ListenSocket:
    lsock = listen(lport, packet=2, active=False)
    start_servers(num, lsock)
    return lsock


def start_servers(num: int, lsock: ListenSocket) -> None:
    for _ in range(num):
        acceptors.append(asyncio.create_task(server(lsock)))


async def server(lsock: ListenSocket) -> None:
    while True:
        try:
            sock = await lsock.accept()
        except Closed as other:
            print(f"accept returned {other} - goodbye!")
            return
        await loop(sock)


async def loop(sock: Socket) -> None:
    while True:
        sock.setopts(active="once")
        match await sock.messages.get():
            case Tcp(data=data):
                answer = process(data)
                await sock.send(answer)
            case TcpClosed():
                print(f"Socket {sock.peername[0]} closed")
                closed.append(sock)
                if len(closed) == len(acceptors):
                    all_closed.set()
                return


def process(data: bytes) -> bytes:
    return data  # not written in the notes: an echo


async def main() -> None:
    lsock = start(4, 0)
    clients = [await connect("127.0.0.1", lsock.port, packet=2) for _ in range(4)]
    for n, sock in enumerate(clients):
        await sock.send(b"request %d" % n)
    for sock in clients:
        print(await sock.recv(0))
    for sock in clients:
        sock.close()
    await all_closed.wait()
    lsock.close()
    await asyncio.gather(*acceptors)


if __name__ == "__main__":
    reactor.aio.run(main())
