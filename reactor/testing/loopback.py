"""A real TCP client for tests, stepped with the reactor it talks to.

The test and the server share one thread, so the client never blocks: every
wait turns the reactor (with :func:`~reactor.testing.run_until`, under a
deadline in real time) until the bytes it waits for have come.  Connecting
is the one blocking call; the listening socket's kernel backlog completes
the handshake before the reactor accepts.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

from reactor.testing.clock import StepTimeout, run_until
from reactor.transport import normalise_address

if TYPE_CHECKING:
    from reactor.loop import Reactor
    from reactor.protocol import PeerKey

__all__ = ["LoopbackClient", "read_exactly", "read_until_eof"]


def _recv_into(sock: socket.socket, buffer: bytearray, size: int = 1 << 20) -> bool | None:
    """Append what is readable now to ``buffer``: True at EOF, None if nothing yet."""
    try:
        chunk = sock.recv(size)
    except BlockingIOError:
        return None
    if not chunk:
        return True
    buffer += chunk
    return False


class LoopbackClient:
    """A connected non-blocking client socket; a context manager that closes it.

    Every ``recv_*`` method steps ``reactor`` until its answer is complete and
    raises :class:`~reactor.testing.StepTimeout` after ``timeout`` seconds of
    real time, or :class:`EOFError` if the server closes first.  Bytes that
    arrive beyond what a call asked for are kept for the next call.
    """

    __slots__ = ("_buffer", "_eof", "reactor", "sock", "timeout")

    def __init__(
        self, reactor: Reactor, port: int, host: str = "127.0.0.1", *, timeout: float = 10.0
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)  # only makes a failing test fail fast
            sock.connect((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.reactor = reactor
        """The reactor every wait turns."""
        self.sock = sock
        """The socket, for what the methods do not cover."""
        self.timeout = timeout
        """The default deadline of each wait, in seconds of real time."""
        self._buffer = bytearray()
        self._eof = False

    def __enter__(self) -> LoopbackClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<LoopbackClient {self.sock.getsockname() if self.sock.fileno() >= 0 else 'closed'}>"
        )

    @property
    def key(self) -> PeerKey:
        """This client's key in the server's connection table."""
        return normalise_address(self.sock.family, self.sock.getsockname())

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``, turning the reactor while the kernel is full."""
        view = memoryview(data).cast("B")
        deadline = time.monotonic() + self.timeout
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StepTimeout(f"could not send within {self.timeout} s") from None
                self.reactor.run_once(0.01)

    def write_eof(self) -> None:
        """Half-close: the server reads end of file, and may still answer."""
        self.sock.shutdown(socket.SHUT_WR)

    def _read(self) -> bool:
        """Move what is readable into the buffer; True at EOF."""
        while not self._eof:
            got = _recv_into(self.sock, self._buffer)
            if got is None:
                break
            self._eof = got
        return self._eof

    def _take(self, count: int) -> bytes:
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def recv_available(self) -> bytes:
        """Turn the reactor once and return whatever has arrived (maybe ``b""``)."""
        self.reactor.run_once(0)
        self._read()
        return self._take(len(self._buffer))

    def recv_exactly(self, size: int, timeout: float | None = None) -> bytes:
        """The next ``size`` bytes from the server."""
        run_until(
            self.reactor,
            lambda: self._read() or len(self._buffer) >= size,
            timeout=self.timeout if timeout is None else timeout,
        )
        if len(self._buffer) < size:
            raise EOFError(f"the server closed after {len(self._buffer)} of {size} bytes")
        return self._take(size)

    def recv_until(self, marker: bytes, timeout: float | None = None) -> bytes:
        """Everything up to and including the next ``marker`` (``b"\\r\\n"``...)."""
        run_until(
            self.reactor,
            lambda: self._read() or marker in self._buffer,
            timeout=self.timeout if timeout is None else timeout,
        )
        end = self._buffer.find(marker)
        if end < 0:
            raise EOFError(f"the server closed before sending {marker!r}")
        return self._take(end + len(marker))

    def read_until_eof(self, timeout: float | None = None) -> bytes:
        """Everything until the server closes (or half-closes) the connection."""
        run_until(self.reactor, self._read, timeout=self.timeout if timeout is None else timeout)
        return self._take(len(self._buffer))

    def close(self) -> None:
        """Close the socket (harmless twice)."""
        self.sock.close()


def read_until_eof(reactor: Reactor, sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Step ``reactor`` while collecting non-blocking ``sock``'s bytes until EOF."""
    got = bytearray()
    done = False

    def finished() -> bool:
        nonlocal done
        while not done:
            result = _recv_into(sock, got)
            if result is None:
                break
            done = result
        return done

    run_until(reactor, finished, timeout=timeout)
    return bytes(got)


def read_exactly(reactor: Reactor, sock: socket.socket, size: int, timeout: float = 10.0) -> bytes:
    """Step ``reactor`` until ``size`` bytes came from non-blocking ``sock``.

    Reads no more than ``size``; :class:`EOFError` if the peer closes first.
    """
    got = bytearray()
    eof = False

    def complete() -> bool:
        nonlocal eof
        while not eof and len(got) < size:
            result = _recv_into(sock, got, size - len(got))
            if result is None:
                break
            eof = result
        return eof or len(got) >= size

    run_until(reactor, complete, timeout=timeout)
    if len(got) < size:
        raise EOFError(f"the peer closed after {len(got)} of {size} bytes")
    return bytes(got)
