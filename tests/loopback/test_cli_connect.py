"""``reactor connect``: every byte the peer sent is printed, the end is clean, Ctrl-C works.

Every run is a real subprocess with a timeout, against a real server: a
plain-socket one that writes a line and closes at once (a daytime server),
or ``reactor serve`` itself (resp's refusal, discard, echo, chargen).
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from tests.helpers import reap

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
LINE = b"Mon Jan  1 00:00:00 2024\r\n"
REFUSAL = b"-ERR max number of clients reached\r\n"


def connect_cmd(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "reactor", "connect", "127.0.0.1", str(port), *options]


def assert_clean(stderr: bytes) -> None:
    for bad in (b"Traceback", b"Fatal Python error", b"Exception ignored"):
        assert bad not in stderr, stderr.decode(errors="replace")


@contextmanager
def serving(name: str, *options: str) -> Iterator[int]:
    """``reactor serve NAME --port 0`` at WARNING: the port is on the line it always prints."""
    argv = ["--log-level", "WARNING", "serve", name, "--port", "0", *options]
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()  # the first line; a server that hangs fails the timeout
        match = re.search(r"serving \S+ on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield int(match.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()


class LineThenClose(threading.Thread):
    """A daytime-style server: for each of ``count`` peers, write a line and close at once."""

    def __init__(self, count: int) -> None:
        super().__init__(daemon=True)
        self.count = count
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(20)  # only makes a broken test fail fast
        self.port: int = self.sock.getsockname()[1]
        self.served = 0

    def run(self) -> None:
        with self.sock:
            for _ in range(self.count):
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                with conn:
                    conn.sendall(LINE)
                self.served += 1


def test_a_line_then_close_is_printed_every_time_and_exits_0() -> None:
    runs = 24
    server = LineThenClose(runs)
    server.start()
    for i in range(runs):
        # three kinds of standard input: empty, held open by us, ended
        held = i % 3 == 1
        proc = subprocess.Popen(
            connect_cmd(server.port),
            stdin=subprocess.DEVNULL if i % 3 == 0 else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        try:
            if proc.stdin is not None and not held:
                proc.stdin.close()
            # the peer closes while our stdin may still be open: we must end anyway
            assert proc.wait(20) == 0, f"run {i}"
            assert proc.stdout is not None and proc.stderr is not None
            assert proc.stdout.read() == LINE, f"run {i}"
            assert_clean(proc.stderr.read())
        finally:
            reap(proc)
    server.join(20)
    assert server.served == runs


def test_the_resp_refusal_is_printed() -> None:
    with (
        serving("resp", "--max-connections", "1") as port,
        socket.create_connection(("127.0.0.1", port), timeout=10) as first,
    ):
        first.sendall(b"PING\r\n")
        assert first.recv(64) == b"+PONG\r\n"  # the only slot is taken now
        for i in range(6):
            proc = subprocess.Popen(
                connect_cmd(port),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=ENV,
            )
            try:
                assert proc.stdin is not None
                if i % 2:
                    proc.stdin.close()
                assert proc.wait(20) == 0, f"run {i}"
                assert proc.stdout is not None and proc.stderr is not None
                assert proc.stdout.read() == REFUSAL
                assert_clean(proc.stderr.read())
            finally:
                reap(proc)


def test_20_mb_of_zeros_into_discard_completes() -> None:
    # a reader thread racing the loop hung here now and then: run it a few times
    with serving("discard") as port:
        for i in range(5):
            head = subprocess.Popen(
                ["head", "-c", "20000000", "/dev/zero"], stdout=subprocess.PIPE
            )
            try:
                out = subprocess.run(
                    connect_cmd(port),
                    stdin=head.stdout,
                    capture_output=True,
                    timeout=30,
                    env=ENV,
                    check=False,
                )
            finally:
                assert head.stdout is not None
                head.stdout.close()
                head.wait(10)
            assert out.returncode == 0, (i, out.stderr)
            assert out.stdout == b""
            assert_clean(out.stderr)


@pytest.mark.parametrize("source", ["pipe", "file"])
def test_every_byte_comes_back_in_order(tmp_path: Path, source: str) -> None:
    data = os.urandom(3_000_000)
    path = tmp_path / "input"
    path.write_bytes(data)
    with serving("echo") as port:
        if source == "pipe":
            out = subprocess.run(
                connect_cmd(port),
                input=data,
                capture_output=True,
                timeout=60,
                env=ENV,
                check=False,
            )
        else:  # a regular file cannot be polled: it is read a chunk per loop turn
            with path.open("rb") as stdin:
                out = subprocess.run(
                    connect_cmd(port),
                    stdin=stdin,
                    capture_output=True,
                    timeout=60,
                    env=ENV,
                    check=False,
                )
    assert out.returncode == 0, out.stderr
    assert out.stdout == data
    assert_clean(out.stderr)


def test_ctrl_c_ends_an_interactive_connect_promptly() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(20)
        proc = subprocess.Popen(
            connect_cmd(listener.getsockname()[1]),
            stdin=subprocess.PIPE,  # held open, as a terminal would be
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        try:
            conn, _ = listener.accept()  # connected: the SIGINT handler is in place
            with conn:
                started = time.monotonic()
                proc.send_signal(signal.SIGINT)
                assert proc.wait(10) == 130
                assert time.monotonic() - started < 10
                conn.settimeout(10)
                assert conn.recv(1) == b""  # it closed its end
        finally:
            if proc.poll() is None:
                proc.kill()
            assert proc.stderr is not None
            assert_clean(proc.stderr.read())
            reap(proc)


def test_a_closed_standard_output_ends_connect_quietly() -> None:
    with serving("chargen") as port:
        proc = subprocess.Popen(
            connect_cmd(port),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        try:
            assert proc.stdout is not None
            assert len(proc.stdout.read(1000)) == 1000  # chargen's lines arrive
            proc.stdout.close()  # like `| head -c 1000`
            assert proc.wait(20) == 1
            assert proc.stderr is not None
            assert_clean(proc.stderr.read())
        finally:
            reap(proc)


def read_some(stream: IO[bytes], want: int) -> bytes:
    """Read until ``want`` bytes came (a dead peer fails the select's timeout)."""
    got = b""
    while len(got) < want:
        ready, _, _ = select.select([stream], [], [], 20)
        assert ready, f"only {got!r} after 20 s"
        chunk = os.read(stream.fileno(), want - len(got))
        assert chunk, f"end of output after {got!r}"
        got += chunk
    return got


def test_a_terminal_is_read_line_by_line_and_ctrl_d_ends_it() -> None:
    master, slave = pty.openpty()
    with serving("echo") as port:
        proc = subprocess.Popen(
            connect_cmd(port), stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
        )
        os.close(slave)
        try:
            assert proc.stdout is not None and proc.stderr is not None
            os.write(master, b"hello\n")
            assert read_some(proc.stdout, 6) == b"hello\n"  # before the input ends
            os.write(master, b"again\n")
            assert read_some(proc.stdout, 6) == b"again\n"
            os.write(master, b"\x04")  # Ctrl-D: the end of input, a half-close
            assert proc.wait(20) == 0
            assert proc.stdout.read() == b""
            assert_clean(proc.stderr.read())
        finally:
            reap(proc)
            os.close(master)
