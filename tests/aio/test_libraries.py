"""Real asyncio libraries on reactor.aio: aiohttp, websockets, redis-py, streams.

Each test serves and connects on loopback, bounded by asyncio timeouts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import reactor.aio
from reactor.testing import serve_plugin
from tests.aio.support import running_loop

WAIT = 10.0


def test_streams_echo_many_clients() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def client(port: int, n: int) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for i in range(20):
            writer.write(b"client %d line %d\n" % (n, i))
            answers.append(await reader.readline())
        writer.close()
        await writer.wait_closed()
        return answers

    async def main() -> list[list[bytes]]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await asyncio.wait_for(
                asyncio.gather(*(client(port, n) for n in range(10))), WAIT
            )

    results = reactor.aio.run(main())
    assert results == [[b"client %d line %d\n" % (n, i) for i in range(20)] for n in range(10)]


def test_aiohttp_server_and_client() -> None:
    aiohttp = pytest.importorskip("aiohttp")  # the test extra installs it
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(text=f"hello {request.match_info['name']} {len(body)}")

    async def main() -> list[str]:
        loop = running_loop()
        app = web.Application()
        app.router.add_post("/hello/{name}", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            timeout = aiohttp.ClientTimeout(total=WAIT)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                texts = []
                for name in ("a", "b", "c"):  # keep-alive: one connection, three requests
                    async with session.post(
                        f"http://127.0.0.1:{port}/hello/{name}", data=b"x" * 100_000
                    ) as response:
                        assert response.status == 200
                        texts.append(await response.text())
                # the server's connection is in the reactor's table
                assert any(c.local[1] == port for c in loop.reactor.connections.values())
                return texts
        finally:
            await runner.cleanup()

    assert reactor.aio.run(main()) == ["hello a 100000", "hello b 100000", "hello c 100000"]


def test_websockets_server_and_client() -> None:
    pytest.importorskip("websockets")  # the test extra installs it
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import ServerConnection, serve

    async def echo(websocket: ServerConnection) -> None:
        async for message in websocket:
            await websocket.send(message[::-1])

    async def main() -> list[str | bytes]:
        async with serve(echo, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            return await asyncio.wait_for(talk(port), WAIT)

    async def talk(port: int) -> list[str | bytes]:
        async with connect(f"ws://127.0.0.1:{port}") as websocket:
            answers = []
            for message in ("hello", "selreactor", "x" * 70_000):
                await websocket.send(message)
                answers.append(await websocket.recv())
            await websocket.send(b"\x00\x01binary")
            answers.append(await websocket.recv())
            return answers

    assert reactor.aio.run(main()) == ["olleh", "rotcaerles", "x" * 70_000, b"yranib\x01\x00"]


def test_redis_asyncio_client_against_the_resp_plugin() -> None:
    redis_asyncio = pytest.importorskip("redis.asyncio")

    async def main() -> tuple[object, ...]:
        loop = running_loop()
        # The RESP server is a native selreactor plugin on this loop's own reactor.
        listener = serve_plugin(loop.reactor, "resp")
        client = redis_asyncio.Redis(host="127.0.0.1", port=listener.port, socket_timeout=WAIT)
        try:
            return await asyncio.wait_for(talk(client), WAIT)
        finally:
            await client.aclose()
            listener.close()

    async def talk(client: Any) -> tuple[object, ...]:
        assert await client.ping()
        await client.set("greeting", "hello")
        got = await client.get("greeting")
        count = await client.incr("counter")
        async with client.pipeline(transaction=False) as pipe:
            pipe.set("a", 1).get("a").delete("a")
            piped = await pipe.execute()
        return got, count, tuple(piped)

    assert reactor.aio.run(main()) == (b"hello", 1, (True, b"1", 1))
