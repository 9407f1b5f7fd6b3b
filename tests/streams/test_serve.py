"""``serve()`` and ``reactor serve`` with ``async def handle(sock)`` plugins."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reactor.streams import Socket, connect, serve
from tests.helpers import reap
from tests.streams.plugins import shaky
from tests.streams.support import run, until

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_a_handler_that_raises_closes_only_its_own_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        server = serve(shaky, 0, max_connections=10)
        good = await connect("127.0.0.1", server.port, packet="line")
        bad = await connect("127.0.0.1", server.port, packet="line")
        await until(lambda: len(server.listener.connections) == 2)
        await bad.send(b"boom\n")
        with pytest.raises(Exception, match="closed"):
            await bad.recv(0, timeout=5)
        await good.send(b"still here\n")
        assert await good.recv(0, timeout=5) == b"still here\n"
        await until(lambda: len(server.listener.connections) == 1)
        server.close()
        good.close()

    with caplog.at_level(logging.ERROR, logger="reactor.streams"):
        run(main())
    failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(failures) == 1
    assert re.search(r"\('127\.0\.0\.1', \d+\)", failures[0].getMessage())


def test_a_returning_handler_flushes_and_closes() -> None:
    async def goodbye(sock: Socket) -> None:
        await sock.send(b"x" * 1_000_000)

    async def main() -> None:
        server = serve(goodbye, 0)
        client = await connect("127.0.0.1", server.port)
        got = b""
        while True:
            try:
                got += await client.recv(0, timeout=5)
            except Exception as exc:  # noqa: BLE001  Closed, checked below
                assert type(exc).__name__ == "Closed"
                break
        assert got == b"x" * 1_000_000
        server.close()

    run(main())


def test_handler_tasks_are_named_after_the_handler_and_own_their_sockets() -> None:
    seen: list[tuple[str, bool]] = []

    async def greeter(sock: Socket) -> None:
        task = asyncio.current_task()
        assert task is not None
        seen.append((task.get_name(), sock.owner is task))
        await sock.send(b"hi")

    async def main() -> None:
        server = serve(greeter, 0)
        clients = [await connect("127.0.0.1", server.port) for _ in range(2)]
        for client in clients:
            assert await client.recv(2, timeout=5) == b"hi"
            client.close()
        server.close()

    run(main())
    name = "test_handler_tasks_are_named_after_the_handler_and_own_their_sockets.<locals>.greeter"
    assert seen == [(name, True), (name, True)]


def start(*argv: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", "serve", *argv, "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        match = re.search(r"serving \S+ on 127\.0\.0\.1:(\d+)", proc.stderr.readline())
        if match:
            return proc, int(match.group(1))
    proc.kill()
    raise AssertionError("the server never said where it listens")


def talk(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        return got


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_reactor_serve_echo_async_echoes_and_drains_on_signals(signum: int) -> None:
    proc, port = start("echo-async")
    try:
        assert talk(port, b"Some Data" * 10_000) == b"Some Data" * 10_000
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        time.sleep(0.2)  # let the server accept it: the drain then closes it at once
        proc.send_signal(signum)
        assert idle.recv(1) == b""
        idle.close()
        assert proc.wait(15) == 0
    finally:
        reap(proc)


def test_reactor_serve_runs_a_bare_coroutine_function() -> None:
    proc, port = start(
        "tests.streams.plugins:shaky", "--log-level", "ERROR", "--max-connections", "5"
    )
    try:
        assert talk(port, b"one\ntwo\n") == b"one\ntwo\n"
        assert talk(port, b"boom\n") == b""
        assert talk(port, b"three\n") == b"three\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert re.search(r"handler failed for \('127\.0\.0\.1', \d+\)", err), err
    finally:
        reap(proc)
