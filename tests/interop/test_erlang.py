"""Interop with Erlang/OTP's gen_tcp: real Erlang code against selreactor, both ways.

The escripts in ``erl/`` are the Erlang side; each takes its ports as
arguments, bounds every wait, and halts itself after 20 s at worst.  The
reactor runs in this process and is stepped until the escript exits, so
there is never a thread or a sleep to synchronise.  The tests skip when
``escript`` is not installed (tests/externals.py).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protocols.packet import plugin as packet_plugin
from reactor.framing import FramedHandler, make_framer
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Transport
from reactor.testing import StepTimeout, run_until
from tests.externals import needs, program

ERL = Path(__file__).parent / "erl"

# the escripts use the crypto application, which Debian packages apart from the runtime
pytestmark = needs("escript", "erlang-base erlang-crypto")


class Escript:
    """An escript child whose stdout is read without blocking the reactor."""

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

    def poll_output(self) -> str:
        assert self.proc.stdout is not None
        with contextlib.suppress(BlockingIOError, TypeError):
            while chunk := self.proc.stdout.read(65536):
                self.output += chunk
        return self.output.decode(errors="replace")

    def lines(self) -> list[str]:
        return self.poll_output().splitlines()

    def wait_for_line(self, reactor: Reactor, prefix: str, timeout: float = 10) -> str:
        def found() -> bool:
            return any(line.startswith(prefix) for line in self.lines()) or (
                self.proc.poll() is not None
            )

        run_until(reactor, found, timeout=timeout)
        for line in self.lines():
            if line.startswith(prefix):
                return line
        raise AssertionError(f"escript exited without {prefix!r}:\n{self.poll_output()}")

    def finish(self, reactor: Reactor, timeout: float = 45) -> str:
        """Step the reactor until the escript exits; its output, asserted successful."""
        try:
            run_until(reactor, lambda: self.proc.poll() is not None, timeout=timeout)
        except StepTimeout:
            self.kill()
            raise AssertionError(f"escript timed out:\n{self.poll_output()}") from None
        self.proc.wait()
        out = self.poll_output()
        assert self.proc.returncode == 0, out
        assert "FAIL" not in out, out
        return out

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def escripts() -> Iterator[list[Escript]]:
    started: list[Escript] = []
    yield started
    for script in started:
        script.kill()


def start(escripts: list[Escript], name: str, *args: object) -> Escript:
    script = Escript(name, *args)
    escripts.append(script)
    return script


def packet_server(reactor: Reactor, packet: int | str, max_size: int) -> int:
    options = argparse.Namespace(packet=packet, max_size=max_size)
    return reactor.listen(packet_plugin.make_factory(reactor, options), "127.0.0.1", 0).port


def test_erlang_packet_clients_against_our_packet_server(
    reactor: Reactor, escripts: list[Escript]
) -> None:
    # The maxima: what a 1- and 2-byte header can say, 1 MiB for packet 4,
    # a 4096-byte line; the last two also check the oversize refusal.
    servers: list[tuple[int | str, int]] = [(1, 255), (2, 65535), (4, 1 << 20), ("line", 4096)]
    args = [f"{p}:{packet_server(reactor, p, m)}:{m}" for p, m in servers]
    out = start(escripts, "packet_client.escript", *args).finish(reactor)
    for packet, _ in servers:
        for check in ("sizes", "batch", "split"):
            assert f"ok {packet} {check}" in out, out
    assert "ok 4 oversize" in out, out
    assert "ok line oversize" in out, out


class EchoClient(FramedHandler):
    """Sends its messages at once and keeps the replies."""

    def __init__(self, packet: int | str, messages: list[bytes]) -> None:
        super().__init__(make_framer(packet))
        self.messages = messages
        self.replies: list[bytes] = []

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        for message in self.messages:
            self.send(message)

    def message_received(self, message: bytes) -> None:
        self.replies.append(message)
        if len(self.replies) == len(self.messages) and self.transport is not None:
            self.transport.close()


def handing(handler: BaseHandler) -> Callable[[PeerKey], BaseHandler]:
    return lambda peer: handler


def test_our_framed_clients_against_a_multi_acceptor_erlang_server(
    reactor: Reactor, escripts: list[Escript]
) -> None:
    acceptors = 4
    server = start(escripts, "multi_acceptor_server.escript", acceptors, 2, "line")
    ports = {}
    for packet in ("2", "line"):
        line = server.wait_for_line(reactor, f"port {packet} ")
        ports[packet] = int(line.split()[2])
    clients: list[EchoClient] = []
    for packet, port in ports.items():
        kind: int | str = int(packet) if packet.isdigit() else packet
        for n in range(acceptors):  # as many at once as there are acceptors
            if kind == "line":
                messages = [f"client {n} line {i}\n".encode() for i in range(50)]
            else:
                messages = [bytes([n]) * (i * 97 % 3000) for i in range(50)]
            client = EchoClient(kind, messages)
            clients.append(client)
            connector = reactor.connect(handing(client), "127.0.0.1", port, timeout=5)
            run_until(reactor, connector.done)
            assert connector.error is None
    run_until(reactor, lambda: all(len(c.replies) == len(c.messages) for c in clients))
    for client in clients:
        assert client.replies == client.messages
    run_until(reactor, lambda: server.poll_output().count("closed ") == 2 * acceptors)
    server.close_stdin()
    lines = server.finish(reactor).splitlines()
    for packet in ("2", "line"):
        served_by = {line.split()[2] for line in lines if line.startswith(f"accepted {packet} ")}
        assert len(served_by) == acceptors  # every acceptor process took a connection
        frames = [int(line.split()[3]) for line in lines if line.startswith(f"closed {packet} ")]
        assert frames == [50] * acceptors  # {active, once} saw one message per frame


def test_erlang_half_close_against_our_raw_echo(reactor: Reactor, escripts: list[Escript]) -> None:
    port = packet_server(reactor, 0, 1 << 20)
    out = start(escripts, "halfclose.escript", "client", port, 1_000_000).finish(reactor)
    sent = next(line.split()[1] for line in out.splitlines() if line.startswith("sent "))
    back = next(line.split()[1] for line in out.splitlines() if line.startswith("received "))
    assert sent == back
    assert "ok" in out.splitlines()


class HalfCloser(BaseHandler):
    """Sends ``data``, shuts its write side, and collects the echo until EOF."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.got = bytearray()
        self.eof = False
        self.lost = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.write(self.data)
        self.transport.write_eof()

    def data_received(self, data: bytes) -> None:
        self.got += data

    def eof_received(self) -> bool:
        self.eof = True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        super().connection_lost(exc)


def test_our_half_close_against_an_erlang_raw_echo(
    reactor: Reactor, escripts: list[Escript]
) -> None:
    server = start(escripts, "halfclose.escript", "server")
    port = int(server.wait_for_line(reactor, "port ").split()[1])
    data = os.urandom(1_000_000)
    handler = HalfCloser(data)
    connector = reactor.connect(lambda peer: handler, "127.0.0.1", port, timeout=5)
    run_until(reactor, lambda: handler.lost, timeout=15)
    assert connector.error is None
    assert handler.eof
    assert hashlib.sha256(handler.got).hexdigest() == hashlib.sha256(data).hexdigest()
    out = server.finish(reactor)
    received = next(line for line in out.splitlines() if line.startswith("received "))
    assert received.split()[1:] == [hashlib.sha256(data).hexdigest(), str(len(data))]
