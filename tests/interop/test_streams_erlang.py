"""reactor.streams against Erlang/OTP's gen_tcp, both ways.

The pool of the documentation (docs/examples/streams_pool.py, the notes'
second example) serves Erlang ``{packet, 2}`` clients, and a coroutine client
talks ``{packet, 2}`` to the classic Erlang acceptor-pool server.  The
escripts are those of test_erlang.py; each bounds its waits and halts itself
after 20 s at worst.  The tests skip when ``escript`` is not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

from reactor.streams import connect
from tests.externals import needs
from tests.interop import test_erlang as erlang
from tests.streams.support import run

ROOT = Path(__file__).resolve().parents[2]

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


class Escript(erlang.Escript):
    """test_erlang's escript child, waited for from a coroutine instead of a stepped reactor."""

    def text(self) -> str:
        return self.poll_output()

    async def line(self, prefix: str, turns: int = 1000) -> str:
        for _ in range(turns):  # bounded: 10 s
            for line in self.text().splitlines():
                if line.startswith(prefix):
                    return line
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {prefix!r} line:\n{self.text()}")

    async def exited(self, turns: int = 2000) -> str:
        for _ in range(turns):  # bounded: 20 s; the loop keeps serving meanwhile
            if self.proc.poll() is not None:
                out = self.text()
                assert self.proc.returncode == 0, out
                assert "FAIL" not in out, out
                return out
            await asyncio.sleep(0.01)
        raise AssertionError(f"escript timed out:\n{self.text()}")

    def close(self) -> None:
        self.kill()


def test_erlang_packet_2_clients_against_the_coroutine_pool() -> None:
    pool = load_pool()

    async def main() -> str:
        lsock = pool.start(4, 0)
        client = Escript("packet_client.escript", f"2:{lsock.port}:65535")
        try:
            out = await client.exited()
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
            return (await server.exited()).splitlines()
        finally:
            server.close()

    lines = run(main(), timeout=40)
    frames = [int(line.split()[3]) for line in lines if line.startswith("closed 2 ")]
    assert frames == [50, 50]  # {active, once} saw each of our messages as one frame
