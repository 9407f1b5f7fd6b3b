"""Tornado peer: a TCPServer echoing through IOStream."""

from __future__ import annotations

import asyncio

from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpserver import TCPServer

from bench.servers.minimal import parse_args

CHUNK = 65536


class EchoServer(TCPServer):
    async def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        try:
            while True:
                data = await stream.read_bytes(CHUNK, partial=True)
                await stream.write(data)
        except StreamClosedError:
            pass


async def serve() -> None:
    args = parse_args("Tornado echo server")
    server = EchoServer()
    server.listen(args.port, address=args.host, backlog=4096)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
