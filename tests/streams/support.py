"""Running a test's coroutine on reactor.aio, bounded in time, and a connected socket pair."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import reactor.aio
from reactor.streams import ListenSocket, Socket, connect, listen

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

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


async def pair(**options: object) -> tuple[ListenSocket, Socket, Socket]:
    """A listen socket, the server's accepted socket and the client's (same options)."""
    lsock = listen(0, **options)  # type: ignore[arg-type]  # the tests pass valid options
    parent = asyncio.current_task()
    assert parent is not None

    async def acceptor() -> Socket:
        sock = await lsock.accept(timeout=5)
        sock.controlling_process(parent)
        return sock

    accepting = asyncio.create_task(acceptor())
    client = await connect("127.0.0.1", lsock.port, timeout=5, **options)  # type: ignore[arg-type]
    return lsock, await accepting, client
