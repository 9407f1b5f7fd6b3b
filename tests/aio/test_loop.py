"""reactor.aio's loop: asyncio's scheduling, contextvars, threads, executors, running."""

from __future__ import annotations

import asyncio
import contextvars
import socket
import sys
import threading

import pytest

import reactor.aio
from reactor import Reactor
from tests.aio.support import running_loop

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def test_new_event_loop_is_an_asyncio_loop_over_a_reactor() -> None:
    loop = reactor.aio.new_event_loop()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(loop.reactor, Reactor)
        assert loop.run_until_complete(asyncio.sleep(0, "done")) == "done"
    finally:
        loop.close()
    assert loop.is_closed()
    assert loop.reactor.is_closed()


def test_run_returns_the_result_and_uses_the_loop() -> None:
    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert reactor.aio.run(main()) == "reactor.aio.loop"


def test_call_soon_and_call_later_keep_order_and_context() -> None:
    seen: list[tuple[str, str]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        context = contextvars.copy_context()
        context.run(request_id.set, "r1")

        def later() -> None:
            seen.append(("later", request_id.get()))
            done.set_result(None)

        loop.call_later(0.01, later)
        loop.call_soon(lambda: seen.append(("soon", request_id.get())), context=context)
        loop.call_soon(lambda: seen.append(("soon2", request_id.get())))
        await asyncio.wait_for(done, 5)

    reactor.aio.run(main())
    assert seen == [("soon", "r1"), ("soon2", "-"), ("later", "-")]


def test_tasks_see_their_own_context() -> None:
    async def child(value: str) -> str:
        request_id.set(value)
        await asyncio.sleep(0)
        return request_id.get()

    async def main() -> list[str]:
        return list(await asyncio.gather(child("a"), child("b")))

    assert reactor.aio.run(main()) == ["a", "b"]


def test_call_soon_threadsafe_wakes_a_blocked_loop() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        thread = threading.Thread(
            target=lambda: loop.call_soon_threadsafe(future.set_result, "from thread")
        )
        thread.start()
        try:
            return await asyncio.wait_for(future, 5)
        finally:
            thread.join(5)

    assert reactor.aio.run(main()) == "from thread"


def test_executor_and_getaddrinfo() -> None:
    async def main() -> tuple[int, list[object]]:
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(None, sum, [1, 2, 3])
        infos = await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
        return value, [info[4] for info in infos]

    value, addresses = reactor.aio.run(main())
    assert value == 6
    assert ("127.0.0.1", 80) in addresses


def test_add_reader_shares_the_reactor_selector() -> None:
    async def main() -> bytes:
        loop = running_loop()
        a, b = socket.socketpair()
        with a, b:
            a.setblocking(False)
            got: asyncio.Future[bytes] = loop.create_future()
            loop.add_reader(a, lambda: got.set_result(a.recv(100)))
            assert a.fileno() in loop.reactor.selector.get_map()
            b.send(b"ping")
            try:
                return await asyncio.wait_for(got, 5)
            finally:
                assert loop.remove_reader(a)

    assert reactor.aio.run(main()) == b"ping"


def test_exceptions_in_callbacks_reach_the_exception_handler() -> None:
    seen: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: seen.append(str(context["exception"])))
        loop.call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    reactor.aio.run(main())
    assert seen == ["division by zero"]


def test_policy_and_install() -> None:
    old = asyncio.get_event_loop_policy()
    try:
        reactor.aio.install()
        assert isinstance(asyncio.get_event_loop_policy(), reactor.aio.EventLoopPolicy)
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, reactor.aio.Loop)
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(old)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="loop_factory arrived in Python 3.12")
def test_asyncio_run_with_loop_factory() -> None:
    async def main() -> bool:
        return isinstance(asyncio.get_running_loop(), reactor.aio.Loop)

    if sys.version_info >= (3, 12):  # the skipif's condition, which mypy reads too
        assert asyncio.run(main(), loop_factory=reactor.aio.new_event_loop)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner arrived in Python 3.11")
def test_runner_with_loop_factory() -> None:
    async def main() -> bool:
        return isinstance(asyncio.get_running_loop(), reactor.aio.Loop)

    if sys.version_info >= (3, 11):  # for the type checker, which targets 3.10
        with asyncio.Runner(loop_factory=reactor.aio.new_event_loop) as runner:
            assert runner.run(main())


def test_debug_mode_reaches_the_reactor() -> None:
    loop = reactor.aio.new_event_loop()
    try:
        loop.set_debug(True)
        assert loop.get_debug()
        assert loop.reactor.get_debug()
    finally:
        loop.close()
