"""The command line: `reactor serve echo`, `reactor connect`, `reactor list`, signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import reap

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def reactor_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "reactor", *args]


@pytest.fixture
def echo_server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen(
        reactor_cmd("serve", "echo", "--port", "0", "--log-level", "DEBUG"),
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    port = 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        match = re.search(r"serving echo on 127\.0\.0\.1:(\d+)", line)
        if match:
            port = int(match.group(1))
            break
    assert port, "the server never said where it listens"
    yield proc, port
    reap(proc)


def test_serve_echo_and_connect_send_some_data(
    echo_server: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = echo_server
    out = subprocess.run(
        reactor_cmd("connect", "127.0.0.1", str(port)),
        input=b"Some Data",
        capture_output=True,
        timeout=20,
        env=ENV,
        check=True,
    )
    assert out.stdout == b"Some Data"
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 10
    while "closed" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    assert re.search(r"accepted \('127\.0\.0\.1', \d+\)", seen)
    assert re.search(r"closed \('127\.0\.0\.1', \d+\)", seen)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_gracefully_on_signals(
    echo_server: tuple[subprocess.Popen[str], int], signum: int
) -> None:
    proc, _ = echo_server
    proc.send_signal(signum)
    assert proc.wait(15) == 0


def test_list_shows_the_builtin_plugins() -> None:
    out = subprocess.run(
        reactor_cmd("list"), capture_output=True, text=True, timeout=20, env=ENV, check=True
    )
    for name in ("echo", "discard", "chargen"):
        assert re.search(rf"^{name}\s", out.stdout, re.MULTILINE)


def test_unknown_plugin_is_a_clear_error() -> None:
    out = subprocess.run(
        reactor_cmd("serve", "no-such-plugin"),
        capture_output=True,
        text=True,
        timeout=20,
        env=ENV,
        check=False,
    )
    assert out.returncode == 2
    assert "no-such-plugin" in out.stderr


def test_connect_failure_is_reported() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        out = subprocess.run(
            reactor_cmd("connect", "127.0.0.1", str(port)),
            input=b"",
            capture_output=True,
            timeout=20,
            env=ENV,
            check=False,
        )
    assert out.returncode == 1
    assert b"refused" in out.stderr.lower()
