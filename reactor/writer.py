"""The write path of a connection: send at once, queue the rest, flow control.

Theory of operation.  ``write()`` sends at once when nothing is queued, and
queues only what the kernel did not take; the selector watches for
writability only while the queue is not empty, and then one ``sendmsg``
flushes many chunks.  Crossing the high-water mark calls
``pause_writing()``; draining below the low-water mark calls
``resume_writing()``.  The write timeout, armed only while output is stuck,
is an ordinary timer: each write's progress is one attribute store, and the
timer, when it fires, re-arms itself from that stamp if the queue moved.
``write_eof()`` half-closes once the queue has drained.

:class:`Writer` is the middle class of a connection: it calls only into
:class:`reactor.channel.Channel` below it.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import socket
from typing import TYPE_CHECKING

from reactor.channel import Channel, State
from reactor.metrics import count_timeout
from reactor.options import DEFAULT_HIGH_WATER, check_timeout, check_water_marks

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["WriteTimeout", "Writer"]

log = logging.getLogger("reactor.transport")  # the logger programs know these records by

# sendmsg() takes at most IOV_MAX buffers; Linux says 1024.
_IOV_MAX = 1024
_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # SIGPIPE never kills the process
_TRY_AGAIN = (BlockingIOError, InterruptedError)
_OPEN = State.OPEN  # read on every write: a module constant, not a class attribute


class WriteTimeout(TimeoutError):
    """The peer did not drain the write buffer within the write timeout."""


class Writer(Channel):
    """The write path of :class:`reactor.transport.Connection`, its middle class."""

    __slots__ = ()  # every slot is the channel's

    @property
    def writing_paused(self) -> bool:
        """True between ``pause_writing()`` and ``resume_writing()``."""
        return self._writing_paused

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet handed to the kernel."""
        return self._wsize

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """``(low, high)`` water marks."""
        return (self._options.low, self._options.high_water)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks; ``low`` defaults to a quarter of ``high``.

        Both are byte counts >= 0 with ``low <= high``; anything else raises
        :exc:`ValueError` naming the bad one.
        """
        high, low = check_water_marks(
            high, low, default_high=DEFAULT_HIGH_WATER, names=("high", "low")
        )
        self._options = dataclasses.replace(self._options, high_water=high, low_water=low)
        self._check_high_water()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``: at once if nothing is queued, else after what is."""
        if self._state is not _OPEN or self._eof_pending:
            self._write_refused()
            return
        if not self._wbuf:
            try:
                sent = self._sock.send(data, _NOSIGNAL)
            except _TRY_AGAIN:
                sent = 0
            except OSError as exc:
                self._fatal(exc)
                return
            if sent:
                self.bytes_out += sent
                self.last_activity = self._loop.now
                if sent == len(data):
                    return
            elif not data:
                return
            rest = memoryview(data)[sent:] if sent else data
        elif not data:
            return
        else:
            rest = data
        if not isinstance(rest, bytes) and not (
            isinstance(rest, memoryview) and isinstance(rest.obj, bytes)
        ):
            rest = bytes(rest)  # a mutable buffer may change after write() returns
        self._queue(rest)

    def _write_refused(self) -> None:
        if self._state is _OPEN:  # open, but write_eof() was called
            raise RuntimeError("write() after write_eof()")
        if self._state is State.CLOSING and self._exc is None and not self._eof_pending:
            log.debug("write to %s after close() dropped", self.peer)

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Write each chunk in order, joined into one send where possible."""
        self.write(b"".join(chunks))

    def _queue(self, data: bytes | memoryview) -> None:
        buf = self._wbuf
        if buf is None:
            buf = self._wbuf = collections.deque()
        was_empty = not buf
        buf.append(data)
        self._wsize += len(data)
        if was_empty:
            self._write_progress = self._loop.now
            self._update_events()
            timeout = self._options.write_timeout
            if timeout is not None and self._write_timer is None:
                self._write_timer = self._loop.call_at(
                    self._write_progress + timeout, self._write_check
                )
        self._check_high_water()

    def _check_high_water(self) -> None:
        if self._wsize > self._options.high_water and not self._writing_paused:
            self._writing_paused = True
            protocol = self._protocol
            try:
                protocol.pause_writing()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                self._hook_failed(protocol, exc, "pause_writing")

    def on_writable(self) -> None:
        """The loop saw the socket writable: flush what the queue holds."""
        buf = self._wbuf
        if not buf:
            self._update_events()
            return
        try:
            if len(buf) == 1:
                sent = self._sock.send(buf[0], _NOSIGNAL)
            else:
                sent = self._sock.sendmsg(itertools.islice(buf, _IOV_MAX), (), _NOSIGNAL)
        except _TRY_AGAIN:
            return
        self._wsize -= sent
        self.bytes_out += sent
        self.last_activity = self._write_progress = self._loop.now
        while sent:
            chunk = buf[0]
            size = len(chunk)
            if sent >= size:
                buf.popleft()
                sent -= size
            else:
                buf[0] = memoryview(chunk)[sent:]
                break
        if self._writing_paused and self._wsize <= self._options.low:
            self._writing_paused = False
            protocol = self._protocol
            try:
                protocol.resume_writing()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                self._hook_failed(protocol, exc, "resume_writing")
            if self._wbuf is not buf:  # the hook failed or aborted: queue dropped
                return
        if not buf:
            self._drained()

    def _drained(self) -> None:
        self._wbuf = None
        self._update_events()
        if self._eof_pending and not self._eof_sent:
            self._shutdown_write()
        if self._state is State.CLOSING:
            self._schedule_finish()

    def _write_check(self) -> None:
        self._write_timer = None
        timeout = self._options.write_timeout
        if timeout is None or not self._wbuf or self._state is State.CLOSED:
            return
        due = self._write_progress + timeout
        if self._loop.now < due:
            self._write_timer = self._loop.call_at(due, self._write_check)
            return
        log.info("aborting %s: %d bytes not drained in %.3g s", self.peer, self._wsize, timeout)
        count_timeout(self, "write")
        self._abort(WriteTimeout(f"{self._wsize} bytes not drained in {timeout:g} s"))

    def can_write_eof(self) -> bool:
        """True: TCP and Unix stream sockets can half-close."""
        return True

    def write_eof(self) -> None:
        """Half-close: shut the write side once the queue has drained."""
        if self._state is not State.OPEN or self._eof_pending:
            return
        self._eof_pending = True
        if not self._wbuf:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        self._eof_sent = True
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._fatal(exc)
            return
        if self._eof_received:  # both directions are done
            self.close()

    def set_write_timeout(self, seconds: float | None) -> None:
        """Abort when queued output makes no progress for ``seconds``.

        ``None`` or ``0`` turns it off; a negative number or ``nan`` raises
        :exc:`ValueError`.
        """
        seconds = check_timeout("write_timeout", seconds)
        self._options = dataclasses.replace(self._options, write_timeout=seconds)
        if seconds is not None and self._wbuf and self._write_timer is None:
            self._write_timer = self._loop.call_at(
                self._write_progress + seconds, self._write_check
            )
