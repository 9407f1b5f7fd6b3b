"""Running a test's coroutine on reactor.aio, bounded in time, and a connected socket pair."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import reactor.aio
from reactor.streams import DEFAULT_READ_BUFFER, ListenSocket, Socket, connect, listen

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Coroutine

    from reactor.framing import PacketType

T = TypeVar("T")


def run(main: Coroutine[object, object, T], timeout: float = 20) -> T:
    """``reactor.aio.run(main)``, failing (not hanging) after ``timeout`` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(main, timeout)

    return reactor.aio.run(bounded())


async def until(condition: Callable[[], object], turns: int = 10_000) -> None:
    """Let the loop turn until ``condition()`` holds; fail after ``turns`` turns."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


async def pair(
    *,
    packet: PacketType = 0,
    max_size: int = 1 << 20,
    read_buffer: int = DEFAULT_READ_BUFFER,
    server_ssl: ssl.SSLContext | None = None,
    client_ssl: ssl.SSLContext | None = None,
    client_host: str = "127.0.0.1",
) -> tuple[ListenSocket, Socket, Socket]:
    """A listen socket, the server's accepted socket and the client's.

    Both sockets start with the same ``packet``, ``max_size`` and
    ``read_buffer``; under TLS each side has its own context, and the
    client connects to ``client_host`` (the name its certificate check wants).
    """
    lsock = listen(0, packet=packet, max_size=max_size, read_buffer=read_buffer, ssl=server_ssl)
    parent = asyncio.current_task()
    assert parent is not None

    async def acceptor() -> Socket:
        sock = await lsock.accept(timeout=5)
        sock.controlling_process(parent)
        return sock

    accepting = asyncio.create_task(acceptor())
    client = await connect(
        client_host,
        lsock.port,
        packet=packet,
        max_size=max_size,
        read_buffer=read_buffer,
        timeout=5,
        ssl=client_ssl,
    )
    return lsock, await accepting, client
