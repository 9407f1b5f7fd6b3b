"""Signal handlers that run as ordinary callbacks on the loop.

Theory of operation.  ``signal.set_wakeup_fd`` makes the C-level handler
write the signal's number to the reactor's wake-up socketpair; the Python-level
handler does nothing.  The waker reads the number and :meth:`Signals.arrived`
queues the handler's callback, so it runs on the loop between two turns,
never inside the code the signal interrupted.  The previous wake-up
descriptor is restored when the last handler is removed.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import collections
    import types

    from reactor.timers import Handle

__all__ = ["Signals"]


class Signals:
    """The signal handlers of one reactor; ``ready`` is its ready queue."""

    def __init__(self, ready: collections.deque[Handle]) -> None:
        self._ready = ready
        self._handlers: dict[int, Handle] = {}
        self._old_wakeup_fd: int | None = None

    def add(self, signum: int, handle: Handle, wakeup_fd: int) -> None:
        """Run ``handle`` on the loop when ``signum`` arrives (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handlers can only be added from the main thread")
        if self._old_wakeup_fd is None:
            self._old_wakeup_fd = signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
        signal.signal(signum, _ignore_signal)
        self._handlers[signum] = handle

    def remove(self, signum: int) -> bool:
        """Restore the default disposition of ``signum``; false if none was set."""
        if self._handlers.pop(signum, None) is None:
            return False
        default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, default)
        if not self._handlers and self._old_wakeup_fd is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
            self._old_wakeup_fd = None
        return True

    def remove_all(self) -> None:
        """Remove every handler (the reactor is closing)."""
        for signum in list(self._handlers):
            self.remove(signum)

    def arrived(self, signum: int) -> None:
        """The waker read ``signum``: queue its handler's callback."""
        handle = self._handlers.get(signum)
        if handle is not None:
            self._ready.append(handle)


def _ignore_signal(signum: int, frame: types.FrameType | None) -> None:
    """The Python-level handler: the wake-up fd already carries the signal."""
