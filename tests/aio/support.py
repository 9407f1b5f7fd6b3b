"""What the reactor.aio tests share."""

from __future__ import annotations

import asyncio

import reactor.aio


def running_loop() -> reactor.aio.Loop:
    """The running loop, which the test expects to be reactor.aio's."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, reactor.aio.Loop), loop
    return loop
