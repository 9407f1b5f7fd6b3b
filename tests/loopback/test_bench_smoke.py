"""The benchmark's C load generator: it builds, it counts, it catches corruption.

Needs gcc (tests/externals.py).  Each run is about one second against a tiny
echo server in a thread; nothing here asserts on timing.  The TLS mode
(OpenSSL's headers, libssl-dev) runs half a second against the benchmark's
TLS server context (Python's ``ssl`` module, in threads), with the
benchmark's throwaway certificate.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import cast

import pytest

from bench import peers, report, runner
from bench.servers.asyncio_server import tls_context
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


class TlsEchoThread(threading.Thread):
    """A TLS echo server on Python's ``ssl`` module, with the benchmark's server
    context: this thread accepts, a thread per connection echoes, and every
    socket it made is shut down when the ``with`` block ends."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(daemon=True)
        ctx = tls_context(str(cert), str(key))
        assert ctx is not None
        self.ctx = ctx
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)  # so the accept loop sees ``stopping``
        self.port: int = self.listener.getsockname()[1]
        self.resumed: list[bool] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.sockets: list[ssl.SSLSocket] = []
        self.workers: list[threading.Thread] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            raw.settimeout(10)
            tls = self.ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            with self.lock:
                self.sockets.append(tls)
            worker = threading.Thread(target=self._echo, args=(tls,), daemon=True)
            self.workers.append(worker)
            worker.start()

    def _echo(self, tls: ssl.SSLSocket) -> None:
        with tls:
            try:
                tls.do_handshake()
                self.resumed.append(bool(tls.session_reused))
                while data := tls.recv(65536):
                    tls.sendall(data)
            except OSError:  # the client left mid-handshake or mid-stream (SSLError too)
                return

    def __enter__(self) -> TlsEchoThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.join(10)
        self.listener.close()
        with self.lock:
            for tls in self.sockets:
                with contextlib.suppress(OSError):
                    tls.shutdown(socket.SHUT_RDWR)
        for worker in self.workers:
            worker.join(10)
        assert not any(worker.is_alive() for worker in self.workers), "an echo did not end"


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


def run_tls(loadgen: Path, port: int, *args: str) -> tuple[int, dict[str, object]]:
    # The window only has to hold one round trip or one full handshake; a
    # later ``-t`` in ``args`` overrides it.
    argv = [str(loadgen), "--port", str(port), "-t", "0.5", "-w", "0", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@needs("gcc", "gcc libssl-dev")
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
