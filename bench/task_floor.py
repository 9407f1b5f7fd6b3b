"""``python -m bench.task_floor``: what resuming an asyncio task costs, in instructions.

A coroutine server pays, per message, for waking the task that waits in
``recv`` on top of what a callback server pays.  This command measures that
floor on the running interpreter, with nothing else in the loop, so the
streams echo's figure from ``python -m bench.instructions`` can be read
against it: the part above the floor is ``reactor.streams``' own code.

Each way of resuming runs in a child process under ``valgrind
--tool=callgrind`` at ``N`` and ``2N`` resumptions; the figure is the
difference divided by ``N`` (marginal instructions, free of start-up):

``call``
    a plain method call: what a callback handler's ``data_received`` costs
    to reach.
``coroutine``
    ``coro.send(None)`` into a coroutine suspended in a generator-based
    awaitable: resuming two frames, no task; what the
    :class:`~reactor.streams.driver.Driver` of a served handler does.
``task-wakeup``
    an asyncio task suspended on a reusable future-shaped object and
    stepped at once by calling its wake-up in its context: what
    ``reactor.streams`` does for a task of the program's own.
``task-future``
    an asyncio task awaiting a fresh ``loop.create_future()``, woken with
    ``set_result`` and run from the loop's ready queue: what asyncio's
    streams do per wake-up.
``driven-future``
    the same, with the task running a :class:`~reactor.streams.driver.Driver`
    as a served handler's does: what a handler pays to await anything
    but ``recv``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path

from reactor.streams.driver import Driver

MODES = ("call", "coroutine", "task-wakeup", "task-future", "driven-future")


class _Waiter:
    """The smallest future-shaped object an asyncio task suspends on."""

    __slots__ = ("_asyncio_future_blocking", "_loop", "callback", "context")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._asyncio_future_blocking = False
        self.callback: Callable[[_Waiter], object] | None = None
        self.context: contextvars.Context | None = None

    def result(self) -> None:
        """Nothing to return."""

    def add_done_callback(
        self, fn: Callable[[_Waiter], object], *, context: contextvars.Context | None = None
    ) -> None:
        """Keep the task's wake-up."""
        self.callback = fn
        self.context = context

    def cancel(self, msg: object = None) -> bool:
        """Not cancelled here."""
        return False


class _Handler:
    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def data_received(self, data: bytes) -> None:
        """What a callback handler is called with."""
        self.seen[0] += 1


def _resume(mode: str, count: int) -> int:
    """Resume ``count`` times in ``mode`` (run in the child, under callgrind);
    returns how many resumptions the resumed code saw."""
    loop = asyncio.new_event_loop()
    waiter = _Waiter(loop)
    seen = [0]

    @types.coroutine
    def wait() -> Generator[object, None, None]:
        waiter._asyncio_future_blocking = True
        yield waiter
        seen[0] += 1

    async def suspended() -> None:
        while True:
            await wait()

    if mode == "call":
        handler = _Handler(seen)
        for _ in range(count):
            handler.data_received(b"")
    elif mode == "coroutine":
        coro = suspended()
        coro.send(None)
        for _ in range(count):
            coro.send(None)
        coro.close()
    elif mode == "task-wakeup":
        task = loop.create_task(suspended())
        loop.run_until_complete(asyncio.sleep(0))
        for _ in range(count):
            callback, context = waiter.callback, waiter.context
            assert callback is not None and context is not None
            waiter.callback = None
            context.run(callback, waiter)
        task.cancel()  # the waiter refuses to cancel: step the task into its CancelledError
        callback, context = waiter.callback, waiter.context
        assert callback is not None and context is not None
        context.run(callback, waiter)
    else:
        holder: list[asyncio.Future[None]] = []

        async def awaiting() -> None:
            while True:
                holder.append(loop.create_future())
                await holder[-1]
                holder.pop()
                seen[0] += 1

        run: Coroutine[object, object, object] = (
            awaiting() if mode == "task-future" else Driver(loop, awaiting())
        )
        awaiter = loop.create_task(run)
        loop.run_until_complete(asyncio.sleep(0))
        ready = loop._ready  # type: ignore[attr-defined]  # the ready queue asyncio runs
        for _ in range(count):
            holder[-1].set_result(None)
            ready.popleft()._run()
        awaiter.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    return seen[0]


def _count(mode: str, resumptions: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        env.pop("PYTHONDEVMODE", None)
        child = [sys.executable, "-m", "bench.task_floor", "--child", mode, str(resumptions)]
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *child],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        match = re.search(r"^(?:summary|totals):\s*(\d+)", out.read_text(), re.M)
        if match is None:
            raise RuntimeError(f"no callgrind total for {mode}")
        return int(match[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.task_floor", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--resumptions", type=int, default=20000, help="N (default 20000)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        mode, count = args.child
        _resume(mode, int(count))
        return 0
    if args.resumptions < 1:
        parser.error("--resumptions must be at least 1")
    if shutil.which("valgrind") is None:
        print("bench.task_floor: valgrind is not installed (Debian package valgrind)")
        return 1
    n = args.resumptions
    print(f"Python {sys.version.split()[0]}: instructions per resumption (marginal, N={n})")
    for mode in MODES:
        per = (_count(mode, 2 * n) - _count(mode, n)) / n
        print(f"  {mode:<12} {per:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
