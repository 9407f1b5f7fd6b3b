"""Tests of the ``upper`` plugin, written with selreactor's test kit.

Run them with ``pytest`` in this directory: selreactor's pytest plugin gives
the ``reactor``, ``fake_reactor``, ``clock`` and ``serve_plugin`` fixtures.
"""

from __future__ import annotations

from upper import UpperHandler

from reactor import Reactor
from reactor.framing import FrameTooLarge
from reactor.testing import FakeClock, LoopbackClient, MemoryTransport, ServePlugin


def test_each_line_comes_back_in_upper_case() -> None:
    transport = MemoryTransport(UpperHandler(reverse=False, max_line=64))
    transport.feed(b"hello\nwor")  # the handler sees whole lines only
    transport.feed(b"ld\n")
    assert transport.drain() == b"HELLO\nWORLD\n"


def test_a_line_too_long_closes_that_connection() -> None:
    transport = MemoryTransport(UpperHandler(reverse=False, max_line=8))
    transport.feed(b"far too long\n")
    assert transport.closed
    assert isinstance(transport.exception, FrameTooLarge)


def test_served_with_its_options(reactor: Reactor, serve_plugin: ServePlugin) -> None:
    listener = serve_plugin("upper:plugin", "--reverse")
    with LoopbackClient(reactor, listener.port) as client:
        client.send(b"hello\nplugins\n")
        assert client.recv_until(b"\n") == b"OLLEH\n"
        assert client.recv_until(b"\n") == b"SNIGULP\n"


def test_idle_connections_are_closed(
    fake_reactor: Reactor, clock: FakeClock, serve_plugin: ServePlugin
) -> None:
    listener = serve_plugin("upper:plugin", reactor=fake_reactor, idle_timeout=30)
    with LoopbackClient(fake_reactor, listener.port) as client:
        client.send(b"still here?\n")
        assert client.recv_until(b"\n") == b"STILL HERE?\n"
        clock.advance(30)  # the idle timer fires: no waiting, no extra step
        assert client.read_until_eof() == b""
