"""``reactor serve`` for ``async def handle(sock)`` plugins.

A plugin may be a coroutine function: ``reactor serve module:handle`` (or an
entry point naming it) wraps it in :class:`AsyncPlugin`, and a package may
export ``plugin = AsyncPlugin(handle, packet=2)`` to choose the sockets'
options.  The plugin's :meth:`AsyncPlugin.make_reactor` gives the command a
:class:`ServeReactor`, whose ``run()`` runs a :mod:`reactor.aio` loop over
it; the listener is the command's own, so limits, timeouts, the graceful
drain and the connection table are those of every callback plugin.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, cast

from reactor.aio import Loop
from reactor.aio.selector import AioReactor
from reactor.streams.spawner import Spawner

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Coroutine

    from reactor.framing import PacketType
    from reactor.protocol import ActiveMode, EventLoop, Factory
    from reactor.streams.stream import Socket, SocketOptions

__all__ = ["AsyncPlugin", "ServeReactor", "is_async_plugin"]


def is_async_plugin(obj: object) -> bool:
    """Whether ``obj`` is an ``async def handle(sock)`` to wrap in :class:`AsyncPlugin`."""
    return inspect.iscoroutinefunction(obj)


class ServeReactor(AioReactor):
    """A reactor whose :meth:`run` runs the :mod:`reactor.aio` loop :attr:`aio` over it."""

    def __init__(self) -> None:
        super().__init__()
        self.aio = Loop(self)
        """The asyncio loop the handlers' tasks run on."""
        self._closing_loop = False

    def run(self) -> None:
        """Run the loop until :meth:`stop`."""
        asyncio.set_event_loop(self.aio)
        try:
            self.aio.run_forever()
        finally:
            asyncio.set_event_loop(None)

    def stop(self) -> None:
        """Make :meth:`run` return after the current turn."""
        super().stop()
        self.aio.stop()

    def close(self) -> None:
        """Cancel the handlers still running, then close the loop and the reactor."""
        loop = self.aio
        if not self._closing_loop and not loop.is_closed():
            self._closing_loop = True
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()  # closes this reactor through the loop's selector
        if not self.is_closed():
            super().close()


class AsyncPlugin:
    """A :class:`~reactor.protocol.Plugin` that serves each connection with ``handle(sock)``.

    ``description`` defaults to the first line of the handler's docstring;
    the other keywords are the sockets' first ``setopts``.
    """

    def __init__(
        self,
        handle: Callable[[Socket], Coroutine[object, object, object]],
        *,
        description: str | None = None,
        packet: PacketType = 0,
        max_size: int = 1 << 20,
        active: ActiveMode = False,
        exit_on_close: bool = True,
    ) -> None:
        if not is_async_plugin(handle):
            raise TypeError(f"AsyncPlugin needs an async def handler, not {handle!r}")
        self.handle = handle
        """The coroutine function run once per connection."""
        doc = (inspect.getdoc(handle) or "").strip()
        self.description = description if description is not None else doc.split("\n")[0]
        """One line for ``reactor list``."""
        self.options: SocketOptions = {
            "packet": packet,
            "max_size": max_size,
            "active": active,
            "exit_on_close": exit_on_close,
        }
        """Each socket's first options."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """No options of its own."""

    def make_reactor(self) -> ServeReactor:
        """The reactor ``reactor serve`` runs: one with an asyncio loop over it."""
        return ServeReactor()

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """A :class:`~reactor.streams.spawner.Spawner` on ``loop``'s asyncio loop."""
        if not isinstance(loop, ServeReactor):
            raise TypeError("an async plugin runs on the reactor of its make_reactor()")
        return cast("Factory", Spawner(loop.aio, self.handle, self.options))
