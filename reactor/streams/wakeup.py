"""What a waiting ``recv`` hands its task: one reusable, future-shaped object per socket.

Theory of operation.  An asyncio task suspends on whatever its coroutine
yields, provided it quacks like a future: a true ``_asyncio_future_blocking``,
a ``_loop`` (the task checks it is its own), ``add_done_callback(fn,
context=...)`` to be told, ``result()`` once told, and ``cancel(msg)`` for
``Task.cancel()``.  asyncio's own futures are used once and dropped, which
on a streams echo costs a future, a loop handle and five Python calls of
``call_soon`` per message; :class:`Wakeup` is reused by every ``recv`` of
its socket instead, and carries no data: it only says "look again", and
``recv`` reads :attr:`Wakeup.outcome` when it resumes: ``None``, or the
error it raises instead (its deadline's :class:`~reactor.streams.Timeout`,
a cancel's ``CancelledError``).

Waking steps the task at once when no task is running, that is when the
wake comes from the reactor's dispatch of a read, an EOF or a lost
connection, or from a timer: the task resumes where a callback handler's
``data_received`` would run, and a reply it sends is written in the same
dispatch.  Woken from inside a running task (another task closing the
socket, say) it goes through ``call_soon`` as a future's callbacks do, since
one task cannot step another.  ``cancel()`` always goes through
``call_soon``, as asyncio's futures do.  A socket that ``serve()`` runs a
handler for has no Wakeup: its waiter is the handler task's
:class:`~reactor.streams.driver.Driver`, which resumes the handler itself
(and throws such an error into it).
"""

from __future__ import annotations

import asyncio
import operator
import sys
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextvars import Context

__all__ = ["BLOCKING", "Wakeup", "cancelled_error", "current_task"]

# asyncio.current_task(loop), asked twice per message: a builtin from 3.12 on,
# before that a Python function reading this dict, read here directly.
if sys.version_info >= (3, 12):
    current_task = asyncio.current_task
else:
    current_task = asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]


BLOCKING = property(bool, cast("Callable[[object, object], None]", operator.is_))
"""An ``_asyncio_future_blocking`` that is always true: for what is yielded only to wait.

A task reads it once per wait and clears it.  The builtin getter (``bool``
of the object, which is true) and setter (``operator.is_``, which changes
nothing) keep both free of Python frames."""


def _call(callback: Callable[[Wakeup], object], wakeup: Wakeup) -> None:
    # The waiter may be a Driver, which is a coroutine: call_soon refuses
    # those in asyncio's debug mode, so it is handed a plain function.
    callback(wakeup)


def cancelled_error(message: object) -> asyncio.CancelledError:
    """``CancelledError(message)`` as asyncio raises it: with no args when ``message`` is None."""
    return asyncio.CancelledError() if message is None else asyncio.CancelledError(message)


class Wakeup:
    """A future-shaped object one task at a time waits on (see the module)."""

    __slots__ = ("_callback", "_context", "_loop", "outcome")

    _asyncio_future_blocking = BLOCKING  # a recv yields it only to wait

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop  # read by asyncio's task: it must be the task's loop
        self._callback: Callable[[Wakeup], object] | None = None
        self._context: Context | None = None
        self.outcome: BaseException | None = None
        """What the waiter was woken with: ``None`` (look again) or the error to raise."""

    # A type is not a descriptor, so wakeup.result() calls NoneType(): None,
    # with no Python frame per wake.
    result = cast("Callable[[], None]", type(None))
    """What asyncio's task calls on waking: ``None``; ``recv`` reads :attr:`outcome`."""

    def add_done_callback(
        self, fn: Callable[[Wakeup], object], *, context: Context | None = None
    ) -> None:
        """A task suspends here: ``fn`` (its wake-up) runs on :meth:`wake` or :meth:`cancel`."""
        if self._callback is not None:
            raise RuntimeError("another task is already waiting on this socket")
        self._callback = fn
        self._context = context
        self.outcome = None

    def done(self) -> bool:
        """Like a future's: no task is suspended here."""
        return self._callback is None

    def disarm(self) -> None:
        """Forget the waiting task (its ``recv`` is closed or ended)."""
        self._callback = None
        self._context = None

    def wake(self, outcome: BaseException | None = None) -> None:
        """Resume the waiting task, if any, with :attr:`outcome` set to ``outcome``."""
        callback = self._callback
        if callback is None:
            return
        context = self._context
        self._callback = None
        self._context = None
        self.outcome = outcome
        if context is None:
            self._loop.call_soon(_call, callback, self)
        elif current_task(self._loop) is None:
            context.run(callback, self)
        else:
            self._loop.call_soon(_call, callback, self, context=context)

    def cancel(self, msg: object = None) -> bool:
        """``Task.cancel()``: the waiting ``recv`` raises ``CancelledError(msg)`` soon."""
        callback = self._callback
        if callback is None:
            return False
        context = self._context
        self._callback = None
        self._context = None
        self.outcome = cancelled_error(msg)
        self._loop.call_soon(_call, callback, self, context=context)
        return True

    def cancelled(self) -> bool:
        """Like a future's; the cancellation is told through :attr:`outcome`."""
        return isinstance(self.outcome, asyncio.CancelledError)
