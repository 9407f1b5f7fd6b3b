"""The coroutine a handler task runs: it steps the handler itself between wakes.

Theory of operation.  ``serve()`` runs each handler in an asyncio task, but
the task does not step the handler's coroutine: it runs a :class:`Driver`,
which asyncio accepts as a coroutine.  The task's first step starts the
handler; from then on the task waits on the driver (the driver is also
future-shaped: it is what the task waits on, its ``_fut_waiter``), and the
driver resumes the handler itself whenever what the handler waits on is
done, entering the task first so that ``asyncio.current_task()`` is the
task inside the handler, in the task's context.  A handler waiting in
``recv`` and woken by a read then costs one ``coro.send`` from the
reactor's dispatch, not a task step: a third of what a task step costs
(``python -m bench.task_floor``).

The driver of a handler that ``serve()`` runs is also what the recv of
its socket waits on (the socket's waiter, in place of a
:class:`~reactor.streams.wakeup.Wakeup`): a read wakes the driver, and the
driver resumes the handler, with nothing between.  The driver takes
anything else the handler yields as asyncio's task does: another socket's
:class:`~reactor.streams.wakeup.Wakeup` or an asyncio future (it waits
until it is done), ``None`` (``asyncio.sleep(0)``: go on at the next
loop iteration), anything else a ``RuntimeError`` thrown into the handler.
``Task.cancel()`` reaches the driver as the ``cancel`` of what the task
waits on, and the driver cancels what the handler waits on, or throws
``CancelledError`` into it at its next step, as the task would.  When the
handler returns or raises, the driver wakes the task, whose step finishes
with the handler's result or exception: the task ends as if it had run the
handler itself, and its repr and ``get_stack()`` show the handler's frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

from reactor.streams.wakeup import BLOCKING, Wakeup, cancelled_error, current_task

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from contextvars import Context
    from types import CodeType, FrameType, TracebackType

__all__ = ["Driver"]

_enter_task = asyncio.tasks._enter_task
_leave_task = asyncio.tasks._leave_task
_Future = asyncio.Future


class _Finished:
    """How the handler ended, kept for the task's last step."""

    __slots__ = ("error", "value")

    def __init__(self, value: object, error: BaseException | None) -> None:
        self.value = value
        self.error = error


class Driver(Coroutine[object, object, object]):
    """Runs ``coro`` for the task made with it: ``loop.create_task(Driver(loop, coro))``.

    After ``sock.set_owner(task, driver)`` (as ``serve()`` does) a recv of
    ``sock`` waits on the driver.
    """

    __slots__ = ("_callback", "_context", "_loop", "_pending", "_task", "_waiting", "coro")

    _asyncio_future_blocking = BLOCKING  # the task waits on it from its first step to its last

    def __init__(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[object, object, object]
    ) -> None:
        self._loop = loop  # read by the task: what it waits on must be on its loop
        self.coro = coro
        """The handler's coroutine."""
        self._task: asyncio.Task[object] | None = None  # known from the first step on
        self._callback: Callable[[Driver], object] | None = None  # the task's wake-up
        self._context: Context | None = None  # the task's context: every step runs in it
        # What the handler waits on: the driver itself (a recv of its
        # socket), another Wakeup or anything future-shaped (Any: asyncio's
        # task takes any such object), None (resumed soon, or running now),
        # a _Finished once it ended.
        self._waiting: Any = None
        self._pending: BaseException | None = None  # to throw into it at its next step

    outcome = None
    """Always ``None`` (a :class:`.Wakeup`'s is what its recv raises): the
    driver throws what its socket's recv is woken with into the handler."""

    def __repr__(self) -> str:
        return f"<Driver of {self.coro!r}>"

    # -- the coroutine the task runs --------------------------------------------------

    def send(self, value: object) -> object:
        """The task's step: the first starts the handler, the last ends with it."""
        if self._task is None:
            self._start(None)
        return self._handed_back()

    def __next__(self) -> object:
        return self.send(None)

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
        /,
    ) -> object:
        """The task cancelled before its first step: throw into the handler."""
        exc = val if isinstance(val, BaseException) else typ
        if isinstance(exc, type):
            exc = exc()
        self._start(exc)
        return self._handed_back()

    def close(self) -> None:
        """Close the handler's coroutine."""
        self.coro.close()

    def __await__(self) -> Generator[object, None, object]:
        raise TypeError("a Driver is run by its task, not awaited")

    def _start(self, exc: BaseException | None) -> None:
        """The task's first step: learn the task, start the handler (or throw into it)."""
        if self._task is None:
            self._task = cast("asyncio.Task[object]", current_task(self._loop))
        try:
            yielded = self.coro.send(None) if exc is None else self.coro.throw(exc)
        except BaseException as error:  # noqa: BLE001  the task's step raises it
            self._waiting = _ended(error)
            return
        self._waiting = yielded

    def _handed_back(self) -> object:
        """The driver while the handler runs (the task waits on it), else the handler's end."""
        waiting = self._waiting
        if type(waiting) is not _Finished:
            return self
        self._waiting = _ENDED  # the task keeps the end; the driver lets go of it
        if waiting.error is not None:
            raise waiting.error
        raise StopIteration(waiting.value)

    @property
    def task(self) -> asyncio.Task[object] | None:
        """The task running the driver, from its first step on."""
        return self._task

    # -- the future the task waits on ---------------------------------------------------

    def add_done_callback(
        self, fn: Callable[[Driver], object], *, context: Context | None = None
    ) -> None:
        """The task waits on the driver until the handler ends."""
        self._callback = fn
        self._context = context
        self._arm(self._waiting)

    def result(self) -> None:
        """What the task calls on waking: nothing; its next step ends with the handler."""

    def cancel(self, msg: object = None) -> bool:
        """``Task.cancel()``: cancel what the handler waits on, or throw at its next step."""
        waiting = self._waiting
        if type(waiting) is _Finished:
            return False
        if waiting is self:  # a recv of its socket: it raises CancelledError(msg)
            self._waiting = None
            self._pending = cancelled_error(msg)
            self._soon()
            return True
        if waiting is not None and self._pending is None and waiting.cancel(msg):
            return True
        self._pending = cancelled_error(msg)
        return True

    def done(self) -> bool:
        """Whether the handler ended."""
        return type(self._waiting) is _Finished

    # -- the waiter the socket's recv waits on -------------------------------------------

    def wake(self, outcome: BaseException | None = None) -> None:
        """Resume the socket's waiting recv, if any; ``outcome`` is an error it raises."""
        if self._waiting is not self:
            return
        self._waiting = None
        if outcome is not None:
            self._pending = outcome  # thrown in: the recv raises it where it waits
        if current_task(self._loop) is None:  # the reactor's dispatch, or a timer
            context = self._context
            assert context is not None  # the task waits on the driver: it said its context
            context.run(self, None)
        else:  # one task cannot step another: at the loop's next iteration
            self._soon()

    def disarm(self) -> None:
        """The recv stopped waiting (its coroutine was closed or thrown into)."""
        if self._waiting is self:
            self._waiting = None

    def _soon(self) -> None:
        # (a bound method: asyncio's debug mode refuses coroutines as callbacks)
        self._loop.call_soon(self.__call__, None, context=self._context)

    # -- what the task's repr and get_stack() read: the handler's ---------------------------

    @property
    def __name__(self) -> str:
        """The handler's name, for the task's repr."""
        return str(getattr(self.coro, "__qualname__", type(self.coro).__name__))

    @property
    def cr_code(self) -> CodeType | None:
        """The handler's code."""
        return getattr(self.coro, "cr_code", None)

    @property
    def cr_frame(self) -> FrameType | None:
        """The handler's frame while it has not ended."""
        return getattr(self.coro, "cr_frame", None)

    @property
    def cr_running(self) -> bool:
        """Whether the handler is running now."""
        return bool(getattr(self.coro, "cr_running", False))

    @property
    def cr_await(self) -> object:
        """What the handler awaits."""
        return getattr(self.coro, "cr_await", None)

    # -- stepping the handler ------------------------------------------------------------

    def __call__(self, done: object) -> None:
        """What the handler waits on is done: resume it, in its task."""
        loop = self._loop
        task = self._task
        assert task is not None  # set by the task's first step, before any of these
        pending = self._pending
        self._waiting = None  # running: a cancel now is thrown at the next step
        _enter_task(loop, task)
        try:
            if pending is None:
                yielded = self.coro.send(None)
            else:
                self._pending = None
                yielded = self.coro.throw(pending)
        except BaseException as exc:  # noqa: BLE001  the task's last step raises it
            _leave_task(loop, task)
            self._waiting = _ended(exc)
            callback, self._callback = self._callback, None
            if callback is not None:
                callback(self)  # the task's last step, in its context (this one)
            return
        _leave_task(loop, task)
        if self._pending is None:
            if yielded is self:  # its socket's recv waits again
                self._waiting = self
                return
            if type(yielded) is Wakeup:  # another socket's: Wakeup.add_done_callback, inline
                yielded._callback = self
                yielded._context = self._context
                yielded.outcome = None
                self._waiting = yielded
                return
            if (
                type(yielded) is _Future
                and yielded._asyncio_future_blocking
                and yielded.get_loop() is loop
            ):  # a plain future of this loop: nothing to refuse
                # (told through the bound method: a Driver is a coroutine, and
                # asyncio's debug mode refuses coroutines as callbacks)
                yielded._asyncio_future_blocking = False
                yielded.add_done_callback(self.__call__, context=self._context)
                self._waiting = yielded
                return
        self._waiting = yielded
        self._arm(yielded)

    def _arm(self, yielded: Any) -> None:
        """Wait for what the handler yielded, as asyncio's task would."""
        if yielded is self:  # its socket's recv: woken by the socket
            if self._pending is None:
                return
            yielded = self._waiting = None  # throw the pending error in at once
        context = self._context
        if yielded is not None:
            error = self._refusal(yielded)
            if error is None:
                yielded._asyncio_future_blocking = False
                yielded.add_done_callback(self.__call__, context=context)
                pending = self._pending
                if isinstance(pending, asyncio.CancelledError) and yielded.cancel(
                    pending.args[0] if pending.args else None
                ):
                    self._pending = None
                return
            self._pending = error
            self._waiting = None
        self._loop.call_soon(self.__call__, None, context=context)

    def _refusal(self, yielded: object) -> RuntimeError | None:
        """Why asyncio's task would refuse ``yielded``, if it would."""
        blocking = getattr(yielded, "_asyncio_future_blocking", None)
        if blocking is None:
            return RuntimeError(f"Task got bad yield: {yielded!r}")
        if not blocking:
            return RuntimeError(f"yield was used instead of yield from in task {self._task!r}")
        if yielded is self._task:
            return RuntimeError(f"Task cannot await on itself: {self._task!r}")
        get_loop = getattr(yielded, "get_loop", None)
        loop = get_loop() if get_loop is not None else getattr(yielded, "_loop", None)
        if loop is not self._loop:
            return RuntimeError(
                f"Task {self._task!r} got Future {yielded!r} attached to a different loop"
            )
        return None


_ENDED = _Finished(None, None)


def _ended(exc: BaseException) -> _Finished:
    if type(exc) is StopIteration:
        return _Finished(exc.value, None)
    return _Finished(None, exc)
