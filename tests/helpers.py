"""Small loopback helpers for tests: non-blocking clients stepped with the reactor.

``read_until_eof`` and ``read_exactly`` are the test kit's (reactor.testing).
"""

from __future__ import annotations

import socket

from reactor.testing import read_exactly, read_until_eof

__all__ = ["client", "fill", "read_exactly", "read_until_eof", "recv_some"]


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


def fill(sock: socket.socket, chunk: bytes = b"x" * 65536) -> int:
    """Write into ``sock`` until the kernel refuses more; returns bytes written."""
    total = 0
    for _ in range(100_000):
        try:
            total += sock.send(chunk)
        except BlockingIOError:
            return total
    raise AssertionError("socket never filled")
