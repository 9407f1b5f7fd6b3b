"""The Driver a handler task runs: the handler behaves as if its task ran it."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import types
from typing import TYPE_CHECKING, TypeVar, cast

import pytest

from reactor.streams import Closed, Socket, Timeout, connect, serve
from reactor.streams.driver import Driver
from reactor.streams.receiver import WAITING
from tests.streams.support import run, until

if TYPE_CHECKING:
    from collections.abc import Coroutine, Generator

T = TypeVar("T")
PEER: contextvars.ContextVar[object] = contextvars.ContextVar("PEER", default=None)


def driven(coro: Coroutine[object, object, T]) -> asyncio.Task[T]:
    """A task running ``coro`` under a Driver, as ``serve()`` runs a handler."""
    loop = asyncio.get_running_loop()
    return cast("asyncio.Task[T]", loop.create_task(Driver(loop, coro)))


@types.coroutine
def bare(value: object) -> Generator[object, None, None]:
    yield value


@types.coroutine
def through(awaitable: Generator[object, None, object]) -> Generator[object, None, object]:
    return (yield from awaitable)


def test_the_task_ends_with_the_handlers_result_or_exception() -> None:
    async def waits(fut: asyncio.Future[int]) -> int:
        await asyncio.sleep(0)  # a bare yield: resumed on the next iteration
        helper = asyncio.get_running_loop().create_task(asyncio.sleep(0, 1))
        return await fut + await helper

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("handler bug")

    async def at_once() -> str:
        return "no await"

    async def main() -> None:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        tasks = [driven(waits(fut)), driven(fails()), driven(at_once())]
        await asyncio.sleep(0)
        fut.set_result(41)
        await asyncio.wait(tasks, timeout=5)
        assert tasks[0].result() == 42
        assert isinstance(tasks[1].exception(), ValueError)
        assert tasks[2].result() == "no await"

    run(main())


def test_the_handler_runs_in_its_task_and_its_tasks_context() -> None:
    seen: list[tuple[bool, object]] = []

    async def handler(name: str, fut: asyncio.Future[None]) -> None:
        PEER.set(name)
        await fut
        seen.append((asyncio.current_task() is task_of[name], PEER.get()))
        await asyncio.sleep(0)
        seen.append((asyncio.current_task() is task_of[name], PEER.get()))

    task_of: dict[str, asyncio.Task[object]] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        futs = {name: loop.create_future() for name in ("a", "b")}
        for name, fut in futs.items():
            task_of[name] = driven(handler(name, fut))
        await asyncio.sleep(0)
        assert "handler() running at" in repr(task_of["a"])
        [frame] = task_of["a"].get_stack()
        assert frame.f_code is handler.__code__
        for fut in futs.values():
            fut.set_result(None)
        await asyncio.wait(task_of.values(), timeout=5)
        assert PEER.get() is None  # a handler's context is its task's, not the caller's

    run(main())
    assert sorted(seen) == [(True, "a"), (True, "a"), (True, "b"), (True, "b")]


def test_cancel_reaches_what_the_handler_waits_on() -> None:
    async def catches(fut: asyncio.Future[None]) -> object:
        try:
            await fut
        except asyncio.CancelledError as exc:
            return ("caught", exc.args, fut.cancelled())
        return "not cancelled"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        task = driven(catches(fut))
        await asyncio.sleep(0)
        assert task.cancel("why")
        assert (await task) == ("caught", ("why",), True)

        task = driven(asyncio.sleep(3600))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task], timeout=5)
        assert task.cancelled()

    run(main())


def test_a_cancel_while_the_handler_runs_or_before_it_starts() -> None:
    started: list[str] = []

    async def cancels_itself() -> str:
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # now stepped by the driver
        task.cancel("self")
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError as exc:
            return f"cancelled: {exc.args[0]}"
        return "not cancelled"

    async def never() -> None:
        started.append("never")

    async def main() -> None:
        task = driven(cancels_itself())
        assert (await task) == "cancelled: self"
        unstarted = driven(never())
        unstarted.cancel()
        await asyncio.wait([unstarted], timeout=5)
        assert unstarted.cancelled()
        assert started == []

    run(main())


def test_a_deadline_around_an_await_in_the_handler() -> None:
    async def slow() -> str:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(never, 0.01)
        except asyncio.TimeoutError:
            return "timed out"
        return "done"

    async def main() -> None:
        assert (await driven(slow())) == "timed out"

    run(main())


def test_what_asyncio_refuses_is_thrown_into_the_handler() -> None:
    async def yields_badly() -> list[str]:
        loop = asyncio.get_running_loop()
        other_loop = asyncio.new_event_loop()
        task = asyncio.current_task()
        assert task is not None
        refused: list[Generator[object, None, object]] = [
            bare(42),
            bare(loop.create_future()),  # not marked blocking: a bare yield of a future
            other_loop.create_future().__await__(),
            task.__await__(),
        ]
        errors = []
        try:
            for awaitable in refused:
                try:
                    await through(awaitable)
                except RuntimeError as exc:
                    errors.append(str(exc))
        finally:
            other_loop.close()
        return errors

    async def main() -> None:
        got = await driven(yields_badly())
        assert len(got) == 4, got
        assert got[0] == "Task got bad yield: 42"
        assert got[1].startswith("yield was used instead of yield from")
        assert got[2].endswith("attached to a different loop")
        assert got[3].startswith("Task cannot await on itself")

    run(main())


def test_served_handlers_keep_their_own_context_across_recv() -> None:
    seen: list[tuple[object, object, bool]] = []

    async def handler(sock: Socket) -> None:
        PEER.set(sock.peername)
        while True:
            try:
                data = await sock.recv(0, timeout=5)
            except Closed:
                return
            seen.append((data, PEER.get() == sock.peername, asyncio.current_task() is sock.owner))
            await sock.send(data)

    async def main() -> None:
        server = serve(handler, 0)
        clients = [await connect("127.0.0.1", server.port) for _ in range(2)]
        for n, client in enumerate(clients):
            await client.send(b"%d" % n)
        for n, client in enumerate(clients):
            assert await client.recv(1, timeout=5) == b"%d" % n
            client.close()
        await until(lambda: not server.listener.connections)
        server.close()

    run(main())
    assert sorted(seen) == [(b"0", True, True), (b"1", True, True)]


def test_a_served_sockets_recv_waits_on_its_driver_through_each_wake() -> None:
    # the driver is the socket's waiter: a timer, a cancel, the handler's own
    # pending cancel and a hand-off to another task (and back) each wake it
    got: list[object] = []
    served: list[Socket] = []

    async def borrower(sock: Socket, owner: asyncio.Task[object]) -> bytes:
        data = await sock.recv(0, timeout=5)  # on a Wakeup: the driver waits for its task only
        sock.controlling_process(owner)
        return data

    async def handler(sock: Socket) -> None:
        task = asyncio.current_task()
        assert task is not None and isinstance(task.get_coro(), Driver)
        served.append(sock)
        with pytest.raises(Timeout):
            await sock.recv(0, timeout=0.01)  # the deadline wakes the driver
        await sock.send(b"timed out")
        got.append(await sock.recv(5, timeout=5))  # usable after the timeout
        try:
            await sock.recv(0)
        except asyncio.CancelledError as exc:  # Task.cancel("why") reaches the recv
            got.append(exc.args)
        await sock.send(b"cancelled")
        task.cancel("self")  # pending when the recv yields: thrown in at once
        with pytest.raises(asyncio.CancelledError):
            await sock.recv(0)
        helper = asyncio.get_running_loop().create_task(borrower(sock, task))
        sock.controlling_process(helper)
        await sock.send(b"lent")
        got.append(await helper)
        got.append(await sock.recv(0, timeout=5))  # the driver's task owns it again
        await sock.send(b"back")

    async def main() -> None:
        server = serve(handler, 0)
        client = await connect("127.0.0.1", server.port)
        assert await client.recv(9, timeout=5) == b"timed out"
        await client.send(b"hello")
        [sock] = served
        await until(lambda: got and sock._flags & WAITING)
        owner = sock.owner
        assert owner is not None
        owner.cancel("why")
        assert await client.recv(9, timeout=5) == b"cancelled"
        assert await client.recv(4, timeout=5) == b"lent"
        await client.send(b"to the helper")
        await until(lambda: len(got) == 3)
        await client.send(b"to the owner")
        assert await client.recv(4, timeout=5) == b"back"
        client.close()
        await until(lambda: not server.listener.connections)
        server.close()

    run(main())
    assert got == [b"hello", ("why",), b"to the helper", b"to the owner"]


def test_asyncio_debug_mode_takes_the_drivers_callbacks() -> None:
    # debug mode refuses coroutines (a Driver is one) as call_soon callbacks
    served: list[tuple[asyncio.Task[object], Socket]] = []

    async def handler(sock: Socket) -> str:
        task = asyncio.current_task()
        assert task is not None
        served.append((task, sock))
        await asyncio.sleep(0)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, None)
        await fut
        with pytest.raises(asyncio.CancelledError):
            await sock.recv(0)  # cancelled through the socket's Wakeup, below
        await sock.send(b"cancelled")
        with pytest.raises(Closed):
            await sock.recv(0)  # the other task's close() wakes it through call_soon
        return "done"

    async def main() -> None:
        asyncio.get_running_loop().set_debug(True)
        server = serve(handler, 0)
        client = await connect("127.0.0.1", server.port)
        await until(lambda: served)
        [(task, sock)] = served
        await until(lambda: sock._flags & WAITING)
        task.cancel()
        assert await client.recv(0, timeout=5) == b"cancelled"
        await until(lambda: sock._flags & WAITING)
        sock.close()
        assert (await task) == "done"
        client.close()
        server.close()

    run(main())


def test_a_driver_is_not_awaited_directly() -> None:
    async def nothing() -> None:
        pass

    loop = asyncio.new_event_loop()
    try:
        coro = nothing()
        driver = Driver(loop, coro)
        with pytest.raises(TypeError, match="run by its task"):
            driver.__await__()
        assert repr(driver).startswith("<Driver of <coroutine object")
        driver.close()
        assert inspect.getcoroutinestate(coro) == "CORO_CLOSED"  # closed with it
    finally:
        loop.close()
