"""reactor.aio's turn: one poll for asyncio and the reactor, the reactor held while running."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

import reactor.aio
from reactor.aio.selector import AioReactor
from tests.aio.support import running_loop


class _Echo(asyncio.Protocol):
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _echo_round_trip() -> bytes:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    got = await asyncio.wait_for(reader.readexactly(4), 10)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return got


def test_the_reactor_runs_while_the_loop_runs_and_refuses_a_nested_turn() -> None:
    async def main() -> tuple[bool, str]:
        loop = running_loop()
        with pytest.raises(RuntimeError) as caught:
            loop.reactor.run_once(0)
        return loop.reactor.is_running(), str(caught.value)

    loop = reactor.aio.new_event_loop()
    try:
        running, message = loop.run_until_complete(main())
        assert running
        assert "already running" in message
        assert not loop.reactor.is_running()
        # once the loop is stopped the reactor may be stepped again
        loop.reactor.run_once(0)
    finally:
        loop.close()


def test_one_poll_per_iteration() -> None:
    loop = reactor.aio.new_event_loop()
    polls = 0
    poll = loop.reactor.selector.poll  # type: ignore[attr-defined]

    def counted(timeout: float | None = None) -> list[tuple[int, int]]:
        nonlocal polls
        polls += 1
        return poll(timeout)  # type: ignore[no-any-return]

    loop.reactor.selector.poll = counted  # type: ignore[attr-defined]

    async def sleeps(n: int) -> None:
        for _ in range(n):
            await asyncio.sleep(0)

    try:
        loop.run_until_complete(sleeps(1))
        before = polls
        loop.run_until_complete(sleeps(100))
        # each sleep(0) is one iteration; run_until_complete adds a few of its own
        assert 100 <= polls - before <= 104
    finally:
        loop.close()


def test_a_connection_closed_by_asyncio_code_is_reaped_in_the_same_turn() -> None:
    async def main() -> tuple[bool, bool]:
        loop = running_loop()
        a, b = socket.socketpair()
        with b:
            transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, a)
            conn = transport.get_extra_info("connection")
            live_before = conn.id in loop.reactor.connections
            transport.abort()
            await asyncio.sleep(0)
            return live_before, conn.id in loop.reactor.connections

    assert reactor.aio.run(main()) == (True, False)


def test_reactor_timers_and_callbacks_wake_an_idle_loop() -> None:
    async def main() -> list[str]:
        loop = running_loop()
        seen: list[str] = []
        done = loop.create_future()
        loop.reactor.call_soon(seen.append, "soon")

        def later() -> None:
            seen.append("later")
            done.set_result(None)

        loop.reactor.call_later(0.01, later)
        await asyncio.wait_for(done, 10)
        return seen

    assert reactor.aio.run(main()) == ["soon", "later"]


def test_a_cancelled_reader_is_forgotten_when_it_is_due() -> None:
    async def main() -> bool:
        loop = running_loop()
        a, b = socket.socketpair()
        with a, b:
            loop.add_reader(a, lambda: None)
            handle = loop._selector.get_key(a).data[0]  # type: ignore[attr-defined]
            handle.cancel()
            b.send(b"x")
            for _ in range(3):
                await asyncio.sleep(0)
            try:
                loop._selector.get_key(a)  # type: ignore[attr-defined]
            except KeyError:
                return True
            return False

    assert reactor.aio.run(main())


def test_debug_mode_reports_a_slow_callback(caplog: pytest.LogCaptureFixture) -> None:
    def slow() -> None:
        deadline = time.monotonic() + 0.02
        while time.monotonic() < deadline:
            pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.01
        loop.call_soon(slow)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        reactor.aio.run(main(), debug=True)
    assert any("slow" in r.getMessage() and "took" in r.getMessage() for r in caplog.records)


def test_echo_over_the_reactor_turn() -> None:
    loop = reactor.aio.new_event_loop()
    try:
        assert isinstance(loop.reactor, AioReactor)
        assert loop.run_until_complete(_echo_round_trip()) == b"ping"
    finally:
        loop.close()
