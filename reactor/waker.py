"""What the loop itself watches: the wake-up pipe and ``add_reader`` callbacks.

Theory of operation (libuv's coalesced ``uv_async_send`` is the model).  A
``pending`` flag says "a byte is in the pipe"; :meth:`Waker.wake` sets it and
writes the byte as one step under a lock, and the loop drains the pipe and
clears the flag as one step under the same lock.  So the flag is never true
with an empty pipe (which would swallow every later wake-up), and at most one
wake-up byte is in the pipe at any time.  A callback appended before the
loop clears the flag still runs in the current turn, because the loop counts
the ready callbacks only after the dispatch.  The lock is re-entrant, so a
Python signal handler may call ``call_soon_threadsafe`` even while it
interrupts the loop's own drain.

The same socketpair is the ``signal.set_wakeup_fd`` target, so a signal's
number arrives as a byte and its handler runs as a normal callback, never
inside the interrupted code.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.timers import Handle

__all__ = ["FdWatcher", "FdWatchers", "Waker"]

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE


class FdWatcher:
    """The callbacks added with ``add_reader``/``add_writer`` for one descriptor.

    A :class:`~reactor.seam.Watcher`; ``report`` is the loop's exception
    handler, which gets whatever a callback raises.
    """

    __slots__ = ("fd", "reader", "report", "writer")

    def __init__(self, fd: int, report: Callable[[dict[str, object]], None]) -> None:
        self.fd = fd
        self.report = report
        self.reader: Handle | None = None
        self.writer: Handle | None = None

    def on_readable(self) -> None:
        """Run the reader callback, if any."""
        if self.reader is not None:
            self.reader.run()

    def on_writable(self) -> None:
        """Run the writer callback, if any."""
        if self.writer is not None:
            self.writer.run()

    def on_error(self, exc: BaseException) -> None:
        """A callback raised: report it to the loop's exception handler."""
        self.report({"message": f"callback for fd {self.fd} failed", "exception": exc})

    def events(self) -> int:
        """The selector events wanted now: reading, writing, both or none (0)."""
        return (EVENT_READ if self.reader else 0) | (EVENT_WRITE if self.writer else 0)


class FdWatchers:
    """Every descriptor watched with ``add_reader``/``add_writer``, and its selector entry."""

    def __init__(
        self, selector: selectors.BaseSelector, report: Callable[[dict[str, object]], None]
    ) -> None:
        self._selector = selector
        self._report = report
        self._by_fd: dict[int, FdWatcher] = {}

    def set_reader(self, fd: int, handle: Handle | None) -> bool:
        """Make ``handle`` the reader of ``fd`` (``None``: none); false if nothing changed."""
        watcher = self._watcher(fd, handle is not None)
        if watcher is None or (handle is None and watcher.reader is None):
            return False
        watcher.reader = handle
        self._update(watcher)
        return True

    def set_writer(self, fd: int, handle: Handle | None) -> bool:
        """Make ``handle`` the writer of ``fd`` (``None``: none); false if nothing changed."""
        watcher = self._watcher(fd, handle is not None)
        if watcher is None or (handle is None and watcher.writer is None):
            return False
        watcher.writer = handle
        self._update(watcher)
        return True

    def clear(self) -> None:
        """Forget every watcher (the selector is being closed)."""
        self._by_fd.clear()

    def _watcher(self, fd: int, create: bool) -> FdWatcher | None:
        watcher = self._by_fd.get(fd)
        if watcher is None and create:
            watcher = self._by_fd[fd] = FdWatcher(fd, self._report)
        return watcher

    def _update(self, watcher: FdWatcher) -> None:
        events = watcher.events()
        fd = watcher.fd
        if not events:
            del self._by_fd[fd]
            self._selector.unregister(fd)
        elif fd in self._selector.get_map():
            self._selector.modify(fd, events, watcher)
        else:
            self._selector.register(fd, events, watcher)


class Waker:
    """The self-pipe: thread-safe wake-ups and signal numbers arrive here.

    A :class:`~reactor.seam.Watcher` registered for reading; each signal
    number read goes to ``on_signal``, failures to ``report``.
    """

    __slots__ = ("_lock", "on_signal", "pending", "report", "rsock", "writes", "wsock")

    def __init__(
        self,
        on_signal: Callable[[int], None],
        report: Callable[[dict[str, object]], None],
    ) -> None:
        self.on_signal = on_signal
        self.report = report
        self.rsock, self.wsock = socket.socketpair()
        self.rsock.setblocking(False)
        self.wsock.setblocking(False)
        self.pending = False  # true exactly while our wake-up byte is in the pipe
        self.writes = 0  # wake-up bytes written, for tests and curiosity
        self._lock = threading.RLock()  # re-entrant: a signal handler may wake us

    def wake(self) -> None:
        """Write one byte unless one is already waiting to be read."""
        with self._lock:
            if self.pending:
                return
            self.pending = True
            self.writes += 1
            # A full pipe holds signal bytes: the loop wakes for those anyway.
            with contextlib.suppress(OSError):
                self.wsock.send(b"\0")

    def on_readable(self) -> None:
        """Drain the pipe, clear the flag, hand on the signal numbers read."""
        # Drain, then clear the flag, with no wake() in between: a wake()
        # before this saw the flag set and wrote nothing, and its callback is
        # already queued for this turn; a wake() after it writes a fresh byte.
        data = b""
        with self._lock:
            while True:
                try:
                    chunk = self.rsock.recv(4096)
                except (BlockingIOError, InterruptedError):
                    break
                if not chunk:
                    break
                data += chunk
            self.pending = False
        for signum in data:
            if signum:
                self.on_signal(signum)

    def on_writable(self) -> None:  # pragma: no cover - never registered for writing
        """Never registered for writing."""

    def on_error(self, exc: BaseException) -> None:
        """Reading the pipe failed: report it."""
        self.report({"message": "wake-up pipe failed", "exception": exc})

    def close(self) -> None:
        """Close both ends of the pipe."""
        self.rsock.close()
        self.wsock.close()
