"""The benchmark's C load generator: it builds, it counts, it catches corruption.

Needs gcc (tests/externals.py).  Each run is about one second against a tiny
echo server in a thread; nothing here asserts on timing.  The TLS mode
(OpenSSL's headers, libssl-dev) runs half a second against the benchmark's
own asyncio TLS echo peer, in a thread, with the benchmark's throwaway
certificate.
"""

from __future__ import annotations

import asyncio
import gc
import json
import selectors
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import cast

import pytest

from bench import peers, report, runner
from bench.servers.asyncio_server import EchoProtocol, tls_context
from bench.servers.certs import tls_pair
from tests.externals import needs, program, unavailable

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "bench" / "loadgen.c"
C_TLS_ECHO = ROOT / "bench" / "servers" / "c_tls_echo.c"
pytestmark = needs("gcc", "gcc")


class EchoThread(threading.Thread):
    """Echoes every connection; with ``corrupt_after`` it flips one byte past that offset."""

    def __init__(self, corrupt_after: int | None = None) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self.corrupt_after = corrupt_after
        self.echoed = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ)
        try:
            while not self.stopping.is_set():
                for key, _ in sel.select(0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self.listener:
                        conn, _ = self.listener.accept()
                        conn.setblocking(True)
                        sel.register(conn, selectors.EVENT_READ)
                        continue
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(sock)
                        sock.close()
                        continue
                    sock.sendall(self._maybe_corrupt(data))
        finally:
            for key in list(sel.get_map().values()):
                obj = key.fileobj
                assert isinstance(obj, socket.socket)
                obj.close()
            sel.close()

    def _maybe_corrupt(self, data: bytes) -> bytes:
        start = self.echoed
        self.echoed += len(data)
        limit = self.corrupt_after
        if limit is None or self.echoed <= limit:
            return data
        self.corrupt_after = None  # once is enough
        at = max(0, limit - start)
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "loadgen"
    subprocess.run(
        [program("gcc", "gcc"), "-O2", "-o", str(out), str(SOURCE)], check=True, timeout=120
    )
    return out


def run(loadgen: Path, port: int, *args: str) -> tuple[int, dict[str, object]]:
    argv = [str(loadgen), "--port", str(port), "-t", "1", "-w", "0", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return done.returncode, json.loads(done.stdout)


def test_pingpong_verifies_every_byte(loadgen: Path) -> None:
    server = EchoThread()
    server.start()
    try:
        code, result = run(loadgen, server.port, "-c", "4", "-s", "1000", "-d", "2")
    finally:
        server.stop()
    assert code == 0
    assert result["verify_failures"] == 0
    assert result["errors"] == 0
    assert isinstance(result["messages"], int) and result["messages"] > 0
    assert result["bytes"] == result["messages"] * 1000
    assert result["p50_us"] is not None


def test_a_flipped_byte_is_caught(loadgen: Path) -> None:
    server = EchoThread(corrupt_after=5000)
    server.start()
    try:
        code, result = run(loadgen, server.port, "-c", "1", "-s", "1000")
    finally:
        server.stop()
    assert code == 2
    assert result["verify_failures"] == 1


def test_connect_mode_counts_cycles(loadgen: Path) -> None:
    server = EchoThread()
    server.start()
    try:
        code, result = run(loadgen, server.port, "--mode", "connect", "-c", "2", "-s", "64")
    finally:
        server.stop()
    assert code == 0
    assert result["verify_failures"] == 0
    assert isinstance(result["messages"], int) and result["messages"] > 0


# -- TLS --------------------------------------------------------------------------


class RecordingEcho(EchoProtocol):
    """The benchmark's echo protocol, noting whether each TLS session was resumed."""

    def __init__(self, owner: TlsEchoThread) -> None:
        self.owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        self.owner.resumed.append(bool(ssl_object.session_reused))
        self.owner.live.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.live.discard(self)


class TlsEchoThread(threading.Thread):
    """asyncio's SSL transport echoing, in a thread, on a port it knows once ``ready``."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(daemon=True)
        self.ctx = tls_context(str(cert), str(key))
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.resumed: list[bool] = []
        self.live: set[RecordingEcho] = set()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(lambda: RecordingEcho(self), "127.0.0.1", 0, ssl=self.ctx)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            if sys.version_info >= (3, 13):  # also those still in their handshake
                server.abort_clients()
            self.loop.run_until_complete(self._close_all())
            self.loop.run_until_complete(server.wait_closed())
            self.loop.close()

    async def _close_all(self) -> None:
        # Connections still shutting TLS down are aborted and reaped, so no
        # transport is left to the garbage collector (a ResourceWarning).
        for echo in list(self.live):
            echo.transport.abort()
        for _ in range(1000):
            if not self.live:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{len(self.live)} TLS connections did not close")

    def __enter__(self) -> TlsEchoThread:
        self.start()
        assert self.ready.wait(20), "the TLS echo server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(10)
        # Whatever asyncio's TLS server leaked is reclaimed here, inside the
        # test (and its filter below), not in whichever test runs next.
        gc.collect()


@pytest.fixture(scope="module")
def tls_loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "loadgen-tls"
    argv = [program("gcc", "gcc libssl-dev"), "-O2", "-DLOADGEN_TLS", "-o", str(out)]
    argv += [str(SOURCE), "-lssl", "-lcrypto"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 and "openssl/" in done.stderr:
        unavailable("OpenSSL's headers (openssl/ssl.h)", "libssl-dev")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    program("openssl", "openssl")
    return tls_pair(tmp_path_factory.mktemp("cert"))


# The TLS peer of these tests is asyncio's own TLS server: before 3.11 its
# sslproto leaks a transport for each client that closes without waiting.
PEER_SSLPROTO_LEAK = pytest.mark.filterwarnings(
    "ignore:unclosed transport <asyncio.sslproto:ResourceWarning"
)


def run_tls(loadgen: Path, port: int, *args: str) -> tuple[int, dict[str, object]]:
    # The window only has to hold one round trip or one full handshake; a
    # later ``-t`` in ``args`` overrides it.
    argv = [str(loadgen), "--port", str(port), "-t", "0.5", "-w", "0", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@needs("gcc", "gcc libssl-dev")
@PEER_SSLPROTO_LEAK
def test_tls_pingpong_verifies_every_plaintext_byte(
    tls_loadgen: Path, certificate: tuple[Path, Path]
) -> None:
    with TlsEchoThread(*certificate) as server:
        code, result = run_tls(
            tls_loadgen, server.port, "--tls", "-c", "3", "-s", "1000", "-d", "2"
        )
    assert code == 0
    assert result["tls"] == 1
    assert str(result["negotiated"]).startswith("TLSv1.3 ")
    assert result["verify_failures"] == 0
    assert result["errors"] == 0
    messages = cast("int", result["messages"])
    assert messages > 0
    assert result["bytes"] == messages * 1000


@needs("gcc", "gcc libssl-dev")
@PEER_SSLPROTO_LEAK
def test_handshake_mode_counts_full_handshakes(
    tls_loadgen: Path, certificate: tuple[Path, Path]
) -> None:
    with TlsEchoThread(*certificate) as server:
        code, result = run_tls(
            tls_loadgen, server.port, "--mode", "handshake", "-c", "2", "-t", "3"
        )
    assert code == 0
    assert result["mode"] == "handshake"
    assert result["verify_failures"] == 0
    handshakes = cast("int", result["messages"])
    assert handshakes > 0
    # every connection the server saw was a full handshake: nothing resumed
    assert len(server.resumed) >= handshakes
    assert not any(server.resumed)


@needs("gcc", "gcc libssl-dev")
def test_the_c_tls_ceiling_echoes_every_byte(
    tls_loadgen: Path, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    server = tmp_path / "c_tls_echo"
    argv = [program("gcc", "gcc libssl-dev"), "-O2", "-o", str(server), str(C_TLS_ECHO)]
    subprocess.run([*argv, "-lssl", "-lcrypto"], check=True, timeout=120)
    cert, key = certificate
    with subprocess.Popen(
        [str(server), "0", str(cert), str(key)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            ready = proc.stdout.readline().split()
            assert ready[:1] == ["ready"]
            code, result = run_tls(tls_loadgen, int(ready[1]), "--tls", "-c", "3", "-s", "3000")
            hs_code, handshakes = run_tls(
                tls_loadgen, int(ready[1]), "--mode", "handshake", "-t", "3"
            )
        finally:
            proc.kill()
    assert (code, result["verify_failures"], result["errors"]) == (0, 0, 0)
    assert cast("int", result["messages"]) > 0
    assert (hs_code, handshakes["errors"]) == (0, 0)
    assert cast("int", handshakes["messages"]) > 0


@needs("gcc", "gcc libssl-dev")
def test_tls_against_a_plain_server_is_an_error(tls_loadgen: Path) -> None:
    server = EchoThread()  # echoes the ClientHello back: not a ServerHello
    server.start()
    try:
        argv = [str(tls_loadgen), "--port", str(server.port), "--tls", "-c", "1", "-t", "0.5"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    finally:
        server.stop()
    assert done.returncode == 1
    assert "TLS handshake failed: TLS: " in done.stderr


# -- the report ----------------------------------------------------------------


def test_list_shows_the_tls_scenarios_and_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--list"]) == 0
    out = capsys.readouterr().out
    for key in ("tls-echo-1KiB-100c", "https-wrk-100c", "tls-handshake"):
        assert f"scenario {key} " in out
    assert "target   tls-handshake: server CPU/handshake vs asyncio-protocol <= 1.10x" in out


def test_every_server_is_listed_once() -> None:
    names = [server.name for server in peers.SERVERS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_the_tls_targets_are_the_issue_ratios() -> None:
    doc: dict[str, object] = {
        "results": {
            "tls-echo-1KiB-100c": {
                "selreactor": {"cpu_us_per_unit": 18.0},
                "uvloop": {"cpu_us_per_unit": 20.0},
            },
            "https-wrk-100c": {
                "selreactor": {"throughput": 9000.0},
                "uvloop": {"throughput": 10000.0},
            },
            "tls-handshake": {
                "selreactor": {"cpu_us_per_unit": 760.0},
                "asyncio-protocol": {"cpu_us_per_unit": 700.0},
            },
        }
    }
    got = {str(t["target"]): (t["value"], t["status"]) for t in report.targets(doc)}
    assert got["tls-echo-1KiB-100c: server CPU/msg vs uvloop"] == (pytest.approx(0.9), "met")
    assert got["https-wrk-100c: req/s vs uvloop"] == (pytest.approx(0.9), "missed")
    handshake = got["tls-handshake: server CPU/handshake vs asyncio-protocol"]
    assert handshake == (pytest.approx(760 / 700), "met")
    assert report.tls_lines(doc)[1] == (
        "https-wrk-100c: req/s selreactor 9,000, uvloop 10,000 (0.90x)"
    )
