"""gen_tcp's first example as coroutines: a server that reads until the peer closes.

The server accepts one connection, calls ``recv(0)`` until ``Closed`` (gen_tcp's
``{error, closed}``) and returns what it read; the client connects, sends
"Some Data" and closes.
"""

from __future__ import annotations

import asyncio

import reactor.aio
from reactor.streams import Closed, ListenSocket, Socket, connect, listen


async def server(lsock: ListenSocket) -> bytes:
    sock = await lsock.accept()
    data = await do_recv(sock, [])
    sock.close()
    lsock.close()
    return data


async def do_recv(sock: Socket, bs: list[bytes]) -> bytes:
    while True:
        try:
            b = await sock.recv(0)
        except Closed:
            return b"".join(bs)
        bs.append(b)


async def client(port: int) -> None:
    sock = await connect("localhost", port)
    await sock.send(b"Some Data")
    sock.close()


async def main() -> None:
    lsock = listen(0)  # 5678 in the notes; 0 picks a free port
    serving = asyncio.create_task(server(lsock))
    await client(lsock.port)
    print(await serving)


if __name__ == "__main__":
    reactor.aio.run(main())
