"""The reusable wakeup a waiting recv's task suspends on, and recv's cancellation through it."""

from __future__ import annotations

import asyncio
from contextvars import copy_context
from typing import TYPE_CHECKING, cast

import pytest

from reactor.streams import Closed
from reactor.streams.wakeup import Wakeup
from tests.streams.support import pair, run

if TYPE_CHECKING:
    from collections.abc import Generator


def test_waking_outside_a_task_runs_the_waiter_at_once_inside_one_it_is_scheduled() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        wakeup = Wakeup(loop)
        woken: list[object] = []
        inside, outside = RuntimeError("inside"), RuntimeError("outside")
        wakeup.add_done_callback(lambda w: woken.append(w.outcome), context=copy_context())
        assert not wakeup.done()
        with pytest.raises(RuntimeError, match="already waiting"):
            wakeup.add_done_callback(woken.append)
        wakeup.wake(inside)  # from this task: through call_soon
        assert woken == []
        assert wakeup.done()
        await asyncio.sleep(0)
        assert woken == [inside]

        wakeup.add_done_callback(lambda w: woken.append(w.outcome), context=copy_context())
        loop.call_soon(wakeup.wake, outside)  # from a plain callback: stepped at once
        await asyncio.sleep(0)
        assert woken == [inside, outside]
        wakeup.wake(RuntimeError("nobody waits"))  # a wake with nobody waiting does nothing
        assert woken == [inside, outside]

    run(main())


def test_cancel_says_why_through_the_outcome_and_only_while_armed() -> None:
    async def main() -> None:
        wakeup = Wakeup(asyncio.get_running_loop())
        assert not wakeup.cancel("nobody")
        woken: list[object] = []
        wakeup.add_done_callback(lambda w: woken.append(w.outcome))
        assert wakeup.cancel("why")
        assert wakeup.cancelled()
        assert not wakeup.cancel("twice")
        await asyncio.sleep(0)
        [outcome] = woken
        assert isinstance(outcome, asyncio.CancelledError)
        assert outcome.args == ("why",)

    run(main())


def test_task_cancel_message_reaches_the_waiting_recv_and_the_socket_stays_usable() -> None:
    async def main() -> None:
        _, server, client = await pair()
        caught: list[BaseException] = []
        parent = asyncio.current_task()
        assert parent is not None

        async def reader() -> bytes:
            try:
                return await server.recv(0)
            except asyncio.CancelledError as exc:
                caught.append(exc)
                raise
            finally:
                server.controlling_process(parent)

        task = asyncio.create_task(reader())
        server.controlling_process(task)
        await asyncio.sleep(0)  # the reader is suspended in recv now
        assert not task.done()
        task.cancel("enough")
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [exc.args for exc in caught] == [("enough",)]
        caught.clear()

        # a cancel without a message: a bare CancelledError, as asyncio raises
        task = asyncio.create_task(reader())
        server.controlling_process(task)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [exc.args for exc in caught] == [()]
        # the reader handed the socket back; it reads on
        await client.send(b"after")
        assert await server.recv(0, timeout=5) == b"after"

    run(main())


def test_a_close_by_another_task_wakes_the_owner_and_a_cancel_after_it_wins() -> None:
    async def main() -> None:
        _, server, client = await pair()
        outcomes: list[str] = []

        async def reader() -> None:
            try:
                await server.recv(0)
            except Closed:
                outcomes.append("closed")
            except asyncio.CancelledError:
                outcomes.append("cancelled")
                raise

        first = asyncio.create_task(reader())
        server.controlling_process(first)
        await asyncio.sleep(0)
        server.close()  # from this task: the owner is woken through call_soon
        await asyncio.wait_for(first, 5)
        assert outcomes == ["closed"]

        _, server2, client2 = await pair()
        server = server2
        second = asyncio.create_task(reader())
        server.controlling_process(second)
        await asyncio.sleep(0)
        server.close()  # woken, not yet run ...
        second.cancel()  # ... and cancelled before it runs: the cancel wins, as for a future
        with pytest.raises(asyncio.CancelledError):
            await second
        assert outcomes == ["closed", "cancelled"]
        client.close()
        client2.close()

    run(main())


def test_a_recv_closed_while_suspended_lets_the_socket_wait_again() -> None:
    async def main() -> None:
        _, server, client = await pair()
        # recv is a generator-based coroutine: step it by hand to its yield
        waiting = cast("Generator[object, None, bytes]", server.recv(0))
        assert isinstance(waiting.send(None), Wakeup)
        waiting.close()  # as when its task is destroyed while it waits
        await client.send(b"again")
        assert await server.recv(0, timeout=5) == b"again"

    run(main())
