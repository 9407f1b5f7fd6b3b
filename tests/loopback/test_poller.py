"""The epoll selector and the loop's two dispatch paths (raw epoll, any selector)."""

from __future__ import annotations

import selectors
import socket

import pytest

from protocols.echo import EchoHandler
from reactor.loop import Reactor
from reactor.poller import EpollSelector, available
from reactor.testing import run_until
from tests.helpers import client, read_exactly, read_until_eof

pytestmark = pytest.mark.skipif(not available(), reason="no epoll on this platform")


def test_it_is_a_complete_selector() -> None:
    sel = EpollSelector()
    a, b = socket.socketpair()
    try:
        key = sel.register(a, selectors.EVENT_READ, "data-a")
        assert key.fd == a.fileno() and key.data == "data-a"
        assert sel.get_key(a) == key  # built on demand: equal, not identical
        assert a in sel.get_map() and len(sel.get_map()) == 1
        assert list(sel.get_map()) == [a.fileno()]
        with pytest.raises(KeyError):
            sel.register(a, selectors.EVENT_READ)
        with pytest.raises(ValueError, match="invalid events"):
            sel.register(b, 0)
        assert sel.select(0) == []
        b.send(b"x")
        [(ready_key, mask)] = sel.select(1)
        assert ready_key == key and mask == selectors.EVENT_READ
        assert sel.poll(0) != []
        sel.modify(a, selectors.EVENT_READ | selectors.EVENT_WRITE, "data-b")
        assert sel.watchers[a.fileno()] == "data-b"
        [(_, mask)] = sel.select(0)
        assert mask == selectors.EVENT_READ | selectors.EVENT_WRITE
        sel.unregister(a)
        assert a not in sel.get_map()
        with pytest.raises(KeyError):
            sel.unregister(a)
        assert sel.get_map().get(object()) is None  # type: ignore[call-overload]
        assert sel.fileno() >= 0
    finally:
        sel.close()
        a.close()
        b.close()


def test_a_closed_descriptor_can_be_unregistered() -> None:
    sel = EpollSelector()
    a, b = socket.socketpair()
    fd = a.fileno()
    sel.register(fd, selectors.EVENT_READ)
    a.close()
    sel.unregister(fd)
    assert not sel.get_map()
    sel.close()
    b.close()


def test_the_default_reactor_polls_epoll_directly() -> None:
    reactor = Reactor()
    try:
        assert isinstance(reactor.selector, EpollSelector)
        assert reactor._epoll is reactor.selector
    finally:
        reactor.close()


@pytest.mark.parametrize(
    "make", [selectors.SelectSelector, selectors.PollSelector, selectors.EpollSelector]
)
def test_any_selector_serves_echo(make: type[selectors.BaseSelector]) -> None:
    reactor = Reactor(selector=make())
    assert reactor._epoll is None  # the generic (key, mask) path
    try:
        listener = reactor.listen(lambda peer: EchoHandler(), "127.0.0.1", 0)
        sock = client(listener.port)
        sock.send(b"Some Data")
        assert read_exactly(reactor, sock, 9) == b"Some Data"
        sock.shutdown(socket.SHUT_WR)
        assert read_until_eof(reactor, sock) == b""
        run_until(reactor, lambda: not listener.connections)
        sock.close()
    finally:
        reactor.close()
