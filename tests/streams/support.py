"""Running a test's coroutine on reactor.aio, bounded in time."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import reactor.aio

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
