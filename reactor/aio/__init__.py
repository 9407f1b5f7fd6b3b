"""selreactor as an asyncio event loop (what uvloop is for libuv).

``reactor.aio.new_event_loop()`` returns an :class:`asyncio.AbstractEventLoop`
driven by a :class:`reactor.Reactor`: asyncio's own futures, tasks and
scheduling, selreactor's connections as the stream transports.  A program
switches to it in one line: :func:`run` instead of ``asyncio.run``,
:func:`install` (like ``uvloop.install()``), :class:`EventLoopPolicy`, or
``loop_factory=reactor.aio.new_event_loop`` on Python 3.12+.
"""

from __future__ import annotations

from reactor.aio.loop import Loop, ServeOptions
from reactor.aio.runner import EventLoopPolicy, install, new_event_loop, run

__all__ = ["EventLoopPolicy", "Loop", "ServeOptions", "install", "new_event_loop", "run"]
