"""An asyncio streams echo server and client, run on reactor.aio instead of asyncio."""

import asyncio

import reactor.aio


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello, reactor\n")
    print((await reader.readline()).decode().strip())

    # What asyncio never had: every connection is in the reactor's table.
    loop = asyncio.get_running_loop()
    for conn in loop.reactor.connections.values():
        print("connection", conn.id, "local port", "server" if conn.local[1] == port else "client")

    writer.close()
    await writer.wait_closed()
    server.close()


reactor.aio.run(main())  # was: asyncio.run(main())
