"""selreactor's extensions to create_server: an idle timeout and a connection limit."""

import asyncio

import reactor.aio

finished: asyncio.Queue[None] = asyncio.Queue()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
    writer.close()
    finished.put_nowait(None)


async def main() -> None:
    server = await asyncio.start_server(
        handle, "127.0.0.1", 0, idle_timeout=0.2, max_connections=1
    )
    port = server.sockets[0].getsockname()[1]

    first_reader, first_writer = await asyncio.open_connection("127.0.0.1", port)
    first_writer.write(b"ping")
    print("first:", await first_reader.read(4))

    # At max_connections the listener stops accepting: the second peer waits
    # in the kernel's backlog until a slot is free.
    second_reader, second_writer = await asyncio.open_connection("127.0.0.1", port)
    second_writer.write(b"pong")

    # The first connection goes quiet; the idle timeout closes it.
    print("first, idle:", await first_reader.read())
    print("second, accepted now:", await second_reader.read(4))

    for writer in (first_writer, second_writer):
        writer.close()
    for _ in range(2):
        await finished.get()  # both handlers saw their connection end
    server.close()


reactor.aio.run(main())
