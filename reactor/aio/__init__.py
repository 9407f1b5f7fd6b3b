"""selreactor as an asyncio event loop (what uvloop is for libuv).

``reactor.aio.new_event_loop()`` returns an :class:`asyncio.AbstractEventLoop`
driven by a :class:`reactor.Reactor`; the rest of this package lets a program
switch to it in one line (:func:`run`, :func:`install`, :class:`EventLoopPolicy`).
"""

from __future__ import annotations

import asyncio

__all__ = ["EventLoopPolicy", "new_event_loop"]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop over a new reactor."""
    return asyncio.SelectorEventLoop()


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The asyncio policy whose loops are :func:`new_event_loop`'s."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new reactor.aio loop."""
        return new_event_loop()
