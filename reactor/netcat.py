"""``reactor connect``: standard input to a peer, the peer to standard output.

Theory of operation.  Everything runs on the loop's thread; there is no
reader thread.  A thread blocked in ``read()`` on standard input while the
interpreter exits holds the buffered reader's lock and can abort the process
("Fatal Python error: _enter_buffered_busy"), and a daemon thread writing
while the main thread finalises is no better.  So:

* A pipe, a socket or a terminal is polled: the loop watches descriptor 0
  and reads it with ``os.read`` only once it is readable, which returns what
  is there without blocking even though the descriptor stays in blocking mode
  (it is shared with the shell, so its flags are left alone).
* A regular file or a device such as ``/dev/null`` cannot be polled (epoll
  refuses it) but never blocks either: it is read one chunk per loop turn, so
  the socket is served between chunks.

Either way reading stops above the transport's high-water mark
(``pause_writing``) and starts again below the low one, so piping a large file
costs bounded memory.  The peer's bytes are written to standard output as
they arrive, in order.

The command ends when the peer closes: everything it sent has been printed by
then, and what standard input still holds is not sent.  The end of standard
input first is a half-close: the peer reads end-of-file and may still answer.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import TYPE_CHECKING, BinaryIO

from reactor.protocol import BaseHandler

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.framing import LineBridge
    from reactor.loop import Reactor
    from reactor.protocol import Transport

__all__ = ["NetcatHandler", "pollable"]

log = logging.getLogger(__name__)

CHUNK = 65536


def pollable(fd: int) -> bool | None:
    """Whether ``fd`` can be watched by the selector; ``None`` if it is not open."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


class NetcatHandler(BaseHandler):
    """The handler of ``reactor connect``: input read on the loop, output in order.

    ``stdin`` is the descriptor to send from; ``stdout`` the stream the peer's
    bytes go to; ``bridge`` the ``--packet`` line translation, if any;
    ``on_lost`` is called after the connection is gone.  Afterwards
    :attr:`peer_closed`, :attr:`exc` and :attr:`output_error` say how it ended.
    """

    __slots__ = (
        "_bridge",
        "_fd",
        "_input_done",
        "_on_lost",
        "_polled",
        "_reactor",
        "_scheduled",
        "_stdout",
        "_want_input",
        "exc",
        "lost",
        "output_error",
        "peer_closed",
    )

    def __init__(
        self,
        reactor: Reactor,
        stdout: BinaryIO,
        *,
        stdin: int = 0,
        bridge: LineBridge | None = None,
        on_lost: Callable[[], object] | None = None,
    ) -> None:
        self.transport = None
        self._reactor = reactor
        self._stdout = stdout
        self._fd = stdin
        self._bridge = bridge
        self._on_lost = on_lost
        self._polled = False
        self._want_input = False  # reading, or would read but for the water mark
        self._scheduled = False  # a file read is queued for the next turn
        self._input_done = False
        self.peer_closed = False
        """The peer closed its side (end-of-file) before the connection ended."""
        self.lost = False
        """``connection_lost`` has run."""
        self.exc: Exception | None = None
        """The error the connection was lost with, if any."""
        self.output_error: OSError | None = None
        """Writing standard output failed (a closed pipe); the connection was aborted."""

    # -- the connection --------------------------------------------------------

    def connection_made(self, transport: Transport) -> None:
        """Start reading standard input."""
        super().connection_made(transport)
        polled = pollable(self._fd)
        if polled is None:  # no standard input at all: as if it were empty
            self._end_input()
            return
        self._polled = polled
        self._want_input = True
        self._start_input()

    def data_received(self, data: bytes) -> None:
        """Print the peer's bytes (one line per message with ``--packet``)."""
        if self._bridge is not None:
            data = self._bridge.output(data)
        try:
            self._stdout.write(data)
            self._stdout.flush()
        except OSError as exc:  # nobody reads our output any more: stop
            self.output_error = exc
            if self.transport is not None:
                self.transport.abort()

    def eof_received(self) -> bool:
        """The peer is done: flush what is queued, close, and end the command."""
        self.peer_closed = True
        self._stop_input()
        return False

    def pause_writing(self) -> None:
        """Above the high-water mark: stop reading standard input."""
        self._stop_input()

    def resume_writing(self) -> None:
        """Below the low-water mark: read standard input again."""
        self._start_input()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop reading standard input and report the end."""
        self._want_input = False
        self._stop_input()
        self.transport = None
        self.lost = True
        self.exc = exc
        if self._on_lost is not None:
            self._on_lost()

    # -- standard input --------------------------------------------------------

    def _start_input(self) -> None:
        if not self._want_input or self.transport is None or self.peer_closed:
            return
        if self._polled:
            self._reactor.add_reader(self._fd, self._read_polled)
        elif not self._scheduled:
            self._scheduled = True
            self._reactor.call_soon(self._read_file)

    def _stop_input(self) -> None:
        # a queued file read sees the transport paused or gone and does nothing
        if self._polled and not self._reactor.is_closed():
            self._reactor.remove_reader(self._fd)

    def _read(self) -> bytes | None:
        """One chunk of input; ``b""`` at its end, ``None`` if nothing is there yet."""
        try:
            return os.read(self._fd, CHUNK)
        except BlockingIOError:  # someone made the shared descriptor non-blocking
            return None
        except OSError as exc:  # a terminal hung up, a directory...: the end of input
            log.warning("cannot read standard input: %s", exc)
            return b""

    def _read_polled(self) -> None:
        chunk = self._read()
        if chunk is not None:
            self._send(chunk)

    def _read_file(self) -> None:
        self._scheduled = False
        transport = self.transport
        if not self._want_input or transport is None or transport.is_closing():
            return
        if self.peer_closed or getattr(transport, "writing_paused", False):
            return  # resume_writing() schedules the next read
        chunk = self._read()
        if chunk is not None:
            self._send(chunk)
        self._start_input()

    def _send(self, chunk: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        if not chunk:
            self._end_input()
            return
        if self._bridge is not None:
            chunk = self._bridge.input(chunk)
        if chunk:
            transport.write(chunk)

    def _end_input(self) -> None:
        """Standard input ended: send the last line, then half-close."""
        self._want_input = False
        self._stop_input()
        if self._input_done:
            return
        self._input_done = True
        transport = self.transport
        if transport is None:
            return
        if self._bridge is not None:
            last = self._bridge.end_of_input()
            if last:
                transport.write(last)
        if transport.can_write_eof():
            transport.write_eof()
        else:  # TLS before 1.3 cannot half-close: the peer's close ends the command
            log.info("input ended; cannot half-close this connection, waiting for the peer")
