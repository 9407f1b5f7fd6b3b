"""reactor.streams against Erlang/OTP's gen_tcp, both ways.

The pool of the documentation (docs/examples/streams_pool.py, the notes'
second example) serves Erlang ``{packet, 2}`` clients, and a coroutine client
talks ``{packet, 2}`` to the classic Erlang acceptor-pool server.  The
escripts are those of test_erlang.py; each bounds its waits and halts itself
after 20 s at worst.  The tests skip when ``escript`` is not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import subprocess
from pathlib import Path
from types import ModuleType

from reactor.streams import connect
from tests.externals import needs, program
from tests.streams.support import run

ROOT = Path(__file__).resolve().parents[2]
ERL = Path(__file__).parent / "erl"

pytestmark = needs("escript", "erlang-base erlang-crypto")


def load_pool() -> ModuleType:
    """The documentation's pool, as the page shows it."""
    spec = importlib.util.spec_from_file_location(
        "streams_pool", ROOT / "docs" / "examples" / "streams_pool.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Escript:
    """An escript child, its output read without blocking the loop."""

    def __init__(self, name: str, *args: object) -> None:
        self.proc = subprocess.Popen(
            [program("escript", "erlang-base erlang-crypto"), str(ERL / name), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.output = bytearray()

    def text(self) -> str:
        assert self.proc.stdout is not None
        with contextlib.suppress(BlockingIOError, TypeError):
            while chunk := self.proc.stdout.read(65536):
                self.output += chunk
        return self.output.decode(errors="replace")

    async def line(self, prefix: str, turns: int = 1000) -> str:
        for _ in range(turns):  # bounded: 10 s
            for line in self.text().splitlines():
                if line.startswith(prefix):
                    return line
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {prefix!r} line:\n{self.text()}")

    async def finish(self, turns: int = 2000) -> str:
        for _ in range(turns):  # bounded: 20 s; the loop keeps serving meanwhile
            if self.proc.poll() is not None:
                out = self.text()
                assert self.proc.returncode == 0, out
                assert "FAIL" not in out, out
                return out
            await asyncio.sleep(0.01)
        raise AssertionError(f"escript timed out:\n{self.text()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def test_erlang_packet_2_clients_against_the_coroutine_pool() -> None:
    pool = load_pool()

    async def main() -> str:
        lsock = pool.start(4, 0)
        client = Escript("packet_client.escript", f"2:{lsock.port}:65535")
        try:
            out = await client.finish()
        finally:
            client.close()
        lsock.close()
        await asyncio.gather(*pool.acceptors)
        return out

    out = run(main(), timeout=40)
    for check in ("sizes", "batch", "split"):
        assert f"ok 2 {check}" in out, out


def test_coroutine_client_against_an_erlang_packet_2_server() -> None:
    async def main() -> list[str]:
        server = Escript("multi_acceptor_server.escript", 2, "2")
        try:
            port = int((await server.line("port 2 ")).split()[2])
            clients = [await connect("127.0.0.1", port, packet=2, timeout=5) for _ in range(2)]
            for n, sock in enumerate(clients):
                messages = [bytes([n]) * (i * 97 % 3000) for i in range(50)]
                for message in messages:
                    await sock.send(message)
                assert [await sock.recv(0, timeout=5) for _ in messages] == messages
                sock.close()
            await server.line("closed 2 ")
            for _ in range(1000):
                if server.text().count("closed 2 ") == 2:
                    break
                await asyncio.sleep(0.01)
            assert server.proc.stdin is not None
            server.proc.stdin.close()
            return (await server.finish()).splitlines()
        finally:
            server.close()

    lines = run(main(), timeout=40)
    frames = [int(line.split()[3]) for line in lines if line.startswith("closed 2 ")]
    assert frames == [50, 50]  # {active, once} saw each of our messages as one frame
