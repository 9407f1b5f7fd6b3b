"""Blocking TLS clients run in a thread while the test steps the reactor."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import TypeVar

from reactor.loop import Reactor
from reactor.testing import run_until

T = TypeVar("T")


def in_thread(reactor: Reactor, work: Callable[[], T], timeout: float = 15.0) -> T:
    """Run ``work`` in a thread, stepping ``reactor`` until it returns; its result."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001  re-raised in the test's thread
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    run_until(reactor, lambda: not thread.is_alive(), timeout=timeout)
    thread.join()
    if error:
        raise error[0]
    return result[0]


class BioClient:
    """A TLS client over a blocking socket and memory BIOs: every record under the test's control.

    Unlike ``SSLSocket`` it can send close_notify and go on reading (TLS 1.3's
    half-close), or close the TCP connection without close_notify (a truncation).
    """

    def __init__(self, port: int, ctx: ssl.SSLContext, server_hostname: str = "localhost") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.ssl = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=server_hostname)

    def _flush(self) -> None:
        if self.outgoing.pending:
            self.sock.sendall(self.outgoing.read())

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    def handshake(self) -> None:
        while True:
            try:
                self.ssl.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
                continue
            self._flush()
            return

    def send(self, data: bytes) -> None:
        self.ssl.write(data)
        self._flush()

    def close_notify(self) -> None:
        with contextlib.suppress(ssl.SSLWantReadError):  # the server's answer comes later
            self.ssl.unwrap()
        self._flush()

    def read_until_close(self) -> tuple[bytes, bool]:
        """Everything until the server's close_notify; ``True`` if that came (else a TCP EOF)."""
        got = bytearray()
        while True:
            try:
                chunk = self.ssl.read(65536)
            except ssl.SSLWantReadError:
                if not self._fill():
                    continue
                continue
            except ssl.SSLZeroReturnError:
                return bytes(got), True
            except ssl.SSLEOFError:
                return bytes(got), False
            if not chunk:
                return bytes(got), True
            got += chunk

    def read_exactly(self, size: int) -> bytes:
        got = bytearray()
        while len(got) < size:
            try:
                got += self.ssl.read(size - len(got))
            except ssl.SSLWantReadError:
                if not self._fill():
                    raise ConnectionError("EOF") from None
        return bytes(got)

    def close(self) -> None:
        self.sock.close()
