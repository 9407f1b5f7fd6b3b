"""Small loopback helpers for tests: non-blocking clients stepped with the reactor.

``read_until_eof`` and ``read_exactly`` are the test kit's (reactor.testing).
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable

from reactor.loop import Reactor
from reactor.testing import read_exactly, read_until_eof, run_until

__all__ = [
    "client",
    "fill",
    "read_exactly",
    "read_until_eof",
    "read_while",
    "reap",
    "recv_some",
]


def client(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A connected, non-blocking client socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(5)  # only makes a failing test fail fast
    sock.connect((host, port))
    sock.setblocking(False)
    return sock


def recv_some(sock: socket.socket) -> bytes | None:
    """What is readable now: bytes, ``b""`` at EOF, ``None`` if nothing yet."""
    try:
        return sock.recv(1 << 20)
    except BlockingIOError:
        return None


def read_while(
    reactor: Reactor,
    sock: socket.socket,
    more: Callable[[bytes], bool],
    timeout: float = 10.0,
) -> bytes:
    """Step ``reactor`` collecting ``sock``'s bytes while ``more(got)`` holds (not at EOF)."""
    got = bytearray()

    def step() -> bool:
        while more(bytes(got)):
            chunk = recv_some(sock)
            if not chunk:
                return False
            got.extend(chunk)
        return True

    run_until(reactor, step, timeout=timeout)
    return bytes(got)


def fill(sock: socket.socket, chunk: bytes = b"x" * 65536) -> int:
    """Write into ``sock`` until the kernel refuses more; returns bytes written."""
    total = 0
    for _ in range(100_000):
        try:
            total += sock.send(chunk)
        except BlockingIOError:
            return total
    raise AssertionError("socket never filled")


def reap(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10) -> None:
    """End a test's child process: kill it if it still runs, wait for it, close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
