"""Running a program on reactor.aio: :func:`run`, :func:`install`, the policy."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, TypeVar

from reactor.aio.loop import Loop

if TYPE_CHECKING:
    from collections.abc import Coroutine

__all__ = ["EventLoopPolicy", "install", "new_event_loop", "run"]

T = TypeVar("T")


def new_event_loop() -> Loop:
    """A new asyncio event loop over a new selreactor reactor.

    On Python 3.12+ it is also a ``loop_factory``:
    ``asyncio.run(main(), loop_factory=reactor.aio.new_event_loop)``, and
    ``asyncio.Runner(loop_factory=...)`` (3.11+).
    """
    return Loop()


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """asyncio's default policy, whose new loops are reactor.aio loops.

    ``asyncio.set_event_loop_policy(reactor.aio.EventLoopPolicy())`` (or
    :func:`install`) switches code that calls ``asyncio.new_event_loop()``
    or ``asyncio.run()`` without naming a loop.
    """

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new reactor.aio loop."""
        return new_event_loop()


def install() -> None:
    """Make reactor.aio the loop of every later ``asyncio.run()`` (as ``uvloop.install()``)."""
    asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main: Coroutine[object, object, T], *, debug: bool | None = None) -> T:
    """``asyncio.run(main)`` on a new reactor.aio loop; returns what ``main`` returns."""
    if sys.version_info >= (3, 11):
        with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
            return runner.run(main)
    else:  # a version check mypy reads: the branch for the other Pythons is skipped
        return _run_310(main, debug)  # pragma: no cover - Python 3.10 only


def _run_310(main: Coroutine[object, object, T], debug: bool | None) -> T:  # pragma: no cover
    """asyncio.run's steps, for Python 3.10 (which has no loop factory)."""
    if asyncio._get_running_loop() is not None:
        raise RuntimeError("reactor.aio.run() cannot be called from a running event loop")
    if not asyncio.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")
    loop = new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        if debug is not None:
            loop.set_debug(debug)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:  # pragma: no cover - 3.10
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during reactor.aio.run() shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )
