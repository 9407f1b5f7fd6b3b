"""Bad numeric options are refused at the call that gives them; 0 timeouts are off."""

from __future__ import annotations

import math

import pytest

from reactor.listener import Listener
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey
from reactor.testing import FakeClock, run_until
from tests.helpers import client, recv_some


def handler_factory(peer: PeerKey) -> BaseHandler:
    return BaseHandler()


@pytest.mark.parametrize("option", ["idle_timeout", "write_timeout"])
def test_a_zero_timeout_is_off_not_a_close_on_accept(
    fake_reactor: Reactor, clock: FakeClock, option: str
) -> None:
    listener = fake_reactor.listen(handler_factory, "127.0.0.1", 0, **{option: 0})  # type: ignore[arg-type]
    assert getattr(listener, option) is None
    sock = client(listener.port)
    run_until(fake_reactor, lambda: listener.connections)
    (conn,) = listener.connections.values()
    conn.write(b"x")
    for _ in range(5):
        clock.advance(3600)
        fake_reactor.run_once(0.01)
    assert listener.connections == {sock.getsockname(): conn}
    assert recv_some(sock) == b"x"
    sock.close()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("idle_timeout", math.nan),  # used to spin a core once a connection was open
        ("idle_timeout", -1),
        ("write_timeout", -5),
        ("write_timeout", math.nan),
        ("backlog", -1),
        ("accept_batch", 0),
        ("read_size", 0),
        ("max_connections", 0),
        ("max_per_peer", 0),
        ("high_water", -1),
    ],
)
def test_listen_refuses_a_bad_number_naming_the_option(
    reactor: Reactor, option: str, value: float
) -> None:
    with pytest.raises(ValueError, match=f"{option} must"):
        reactor.listen(handler_factory, "127.0.0.1", 0, **{option: value})  # type: ignore[arg-type]
    assert reactor.listeners == []


def test_listen_refuses_low_water_above_high_water_at_the_call(reactor: Reactor) -> None:
    with pytest.raises(
        ValueError, match=r"low_water \(200\) must not be above high_water \(100\)"
    ):
        reactor.listen(handler_factory, "127.0.0.1", 0, high_water=100, low_water=200)
    with pytest.raises(ValueError, match="low_water"):  # above the default high mark
        reactor.listen(handler_factory, "127.0.0.1", 0, low_water=1 << 20)
    assert reactor.listeners == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", -1),
        ("timeout", math.nan),
        ("idle_timeout", math.nan),
        ("write_timeout", -1),
        ("read_size", 0),
        ("low_water", 1 << 20),
    ],
)
def test_connect_refuses_a_bad_number_naming_the_option(
    reactor: Reactor, option: str, value: float
) -> None:
    with pytest.raises(ValueError, match=f"{option}"):
        reactor.connect(handler_factory, "127.0.0.1", 9, **{option: value})  # type: ignore[arg-type]
    assert not reactor._ready


def test_connect_with_a_zero_timeout_waits_without_a_deadline(reactor: Reactor) -> None:
    listener = reactor.listen(handler_factory, "127.0.0.1", 0)
    connector = reactor.connect(handler_factory, "127.0.0.1", listener.port, timeout=0)
    run_until(reactor, connector.done)
    assert connector.error is None and connector.transport is not None
    connector.transport.close()


def test_connection_setters_refuse_bad_numbers(reactor: Reactor) -> None:
    listener = reactor.listen(handler_factory, "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    (conn,) = listener.connections.values()
    for bad in (-1, math.nan):
        with pytest.raises(ValueError, match="idle_timeout must"):
            conn.set_idle_timeout(bad)
        with pytest.raises(ValueError, match="write_timeout must"):
            conn.set_write_timeout(bad)
    with pytest.raises(ValueError, match=r"low \(20\) must not be above high \(10\)"):
        conn.set_write_buffer_limits(high=10, low=20)
    with pytest.raises(ValueError, match="high must be at least 0"):
        conn.set_write_buffer_limits(high=-1)
    assert conn.get_write_buffer_limits() == (16 * 1024, 64 * 1024)  # unchanged
    conn.set_idle_timeout(0)  # off, as None
    conn.set_write_timeout(0)
    for _ in range(3):
        reactor.run_once(0.01)
    assert not conn.is_closing()
    sock.close()


@pytest.mark.parametrize("timeout", [-1, math.nan, math.inf])
def test_shutdown_refuses_a_bad_drain_timeout(reactor: Reactor, timeout: float) -> None:
    listener: Listener = reactor.listen(handler_factory, "127.0.0.1", 0)
    with pytest.raises(ValueError, match="timeout must be a"):
        listener.shutdown(timeout)
    assert not listener.is_closed()
    listener.close()
