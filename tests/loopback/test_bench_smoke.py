"""The benchmark's C load generator: it builds, it counts, it catches corruption.

Needs gcc (tests/externals.py).  Each run is about one second against a tiny
echo server in a thread; nothing here asserts on timing.
"""

from __future__ import annotations

import json
import selectors
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.externals import needs, program

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "bench" / "loadgen.c"
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
