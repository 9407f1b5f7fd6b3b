"""``reactor serve`` in a subprocess, for tests that need real processes (workers, proxies).

:func:`start` waits (with a deadline) for the ``serving NAME on HOST:PORT``
line and the status page's address, and keeps reading standard error in a
thread so that a chatty server never blocks on a full pipe.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

__all__ = ["ENV", "ROOT", "Server", "poll", "start"]


def poll(condition: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> None:
    """Call ``condition`` until it is true, at most ``timeout`` seconds (a bounded wait)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)  # polling an external process: nothing to step


@dataclass
class Server:
    """A running ``reactor serve``."""

    proc: subprocess.Popen[str]
    port: int
    status_port: int | None
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def status(self) -> dict[str, list[dict[str, object]]]:
        """The whole table, grouped by local address (``/table?format=json``)."""
        assert self.status_port is not None
        url = f"http://127.0.0.1:{self.status_port}/table?format=json"
        with urllib.request.urlopen(url, timeout=10) as reply:
            table: dict[str, list[dict[str, object]]] = json.loads(reply.read())
        return table

    def rows(self) -> list[dict[str, object]]:
        """The rows of the served port's connections."""
        return [
            row
            for local, rows in self.status().items()
            if local.endswith(f":{self.port}")
            for row in rows
        ]

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; SIGKILL if it outlives ``timeout``.  The exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise
        finally:
            if self.reader is not None:
                self.reader.join(10)
            if self.proc.stderr is not None:
                self.proc.stderr.close()

    def log(self) -> str:
        """What it wrote to standard error so far."""
        return "".join(self.lines)


def start(name: str, *args: str, status: bool = True, timeout: float = 30.0) -> Server:
    """Start ``reactor serve NAME --port 0 ARGS`` (and a status page on a free port)."""
    argv = [sys.executable, "-m", "reactor", "serve", name, "--port", "0", *args]
    if status:
        argv += ["--status", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=ENV)
    assert proc.stderr is not None
    lines: list[str] = []
    found: dict[str, int] = {}
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            match = re.search(r"serving \S+ on \S+:(\d+)", line)
            if match:
                found["port"] = int(match.group(1))
                ready.set()
            match = re.search(r"status page on http://\S+:(\d+)/", line)
            if match:
                found["status"] = int(match.group(1))
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(timeout) or "port" not in found:
        proc.kill()
        proc.wait(10)
        reader.join(10)
        proc.stderr.close()
        raise AssertionError("the server never said where it listens:\n" + "".join(lines))
    return Server(proc, found["port"], found.get("status"), lines, reader)
