"""Running a reactor beside other code: in a thread of its own.

A host that has its own loop instead steps the reactor with
:meth:`~reactor.loop.Reactor.run_once`, polling
:meth:`~reactor.loop.Reactor.fileno` and sleeping at most
:meth:`~reactor.loop.Reactor.timeout` seconds (see the embedding guide).
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import TYPE_CHECKING, TypeVar

from reactor.loop import Reactor

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ReactorThread"]

T = TypeVar("T")


class ReactorThread:
    """Run a reactor in a background thread; stop and join it cleanly.

    ::

        with ReactorThread() as rt:
            listener = rt.call(rt.reactor.listen, factory, "127.0.0.1", 0)
            ...
        # the reactor stopped, its thread joined, the reactor closed

    The reactor belongs to its thread: other threads reach it through
    :meth:`call` or ``reactor.call_soon_threadsafe``.  In debug mode (see
    :meth:`~reactor.loop.Reactor.set_debug`) calling ``call_soon``,
    ``call_later``, ``listen`` and the other non-thread-safe methods of the
    running reactor from another thread raises :exc:`RuntimeError`.
    """

    def __init__(self, reactor: Reactor | None = None, name: str = "selreactor") -> None:
        self.reactor = reactor if reactor is not None else Reactor()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._error: BaseException | None = None

    def _main(self) -> None:
        try:
            self.reactor.run()
        except BaseException as exc:  # reported by stop(), never lost
            self._error = exc
            raise

    def start(self) -> ReactorThread:
        """Start the thread; returns ``self``."""
        self._thread.start()
        return self

    def call(self, fn: Callable[..., T], *args: object, timeout: float | None = 10.0) -> T:
        """Run ``fn(*args)`` on the reactor thread and return its result.

        Raises what ``fn`` raised, :exc:`TimeoutError` after ``timeout``
        seconds, or :exc:`RuntimeError` at once if the reactor is closed.
        """
        if self.reactor.is_closed():
            raise RuntimeError("the reactor is closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except Exception as exc:  # noqa: BLE001  handed to the calling thread
                future.set_exception(exc)

        self.reactor.call_soon_threadsafe(run)
        return future.result(timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the reactor, join the thread, close the reactor."""
        if self._thread.is_alive():
            self.reactor.call_soon_threadsafe(self.reactor.stop)
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("the reactor thread did not stop in time")
        if not self.reactor.is_closed():
            self.reactor.close()
        if self._error is not None:
            raise RuntimeError("the reactor thread failed") from self._error

    def __enter__(self) -> ReactorThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
