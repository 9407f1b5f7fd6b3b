"""The reactor's figures counted where they happen: reaps, refusals, timeouts, turns, lag."""

from __future__ import annotations

import contextlib
import socket

from protocols.echo import EchoHandler
from protocols.http import HTTPConfig, HTTPHandler, default_app
from reactor import metrics
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Transport
from reactor.testing import FakeClock, run_until
from tests.helpers import client, read_exactly, read_until_eof


def figure(reactor: Reactor, name: str, **labels: str) -> float | None:
    return metrics.value(metrics.collect(reactor), name, **labels)


def test_closed_connections_keep_counting_their_bytes(reactor: Reactor) -> None:
    listener = reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0)
    where = f"127.0.0.1:{listener.port}"
    socks = [client(listener.port) for _ in range(3)]
    with contextlib.ExitStack() as stack:
        for s in socks:
            stack.enter_context(s)
            s.sendall(b"x" * 100)
            assert read_exactly(reactor, s, 100) == b"x" * 100
        socks[0].close()
        run_until(reactor, lambda: len(listener.connections) == 2)
        assert listener.closed == 1
        assert figure(reactor, "selreactor_connections_closed_total", listener=where) == 1
        assert figure(reactor, "selreactor_connections_active", listener=where) == 2
        assert figure(reactor, "selreactor_received_bytes_total", listener=where) == 300
        assert figure(reactor, "selreactor_sent_bytes_total", listener=where) == 300


def test_refusals_by_reason(reactor: Reactor) -> None:
    listener = reactor.listen(
        lambda p: EchoHandler(), "127.0.0.1", 0, max_per_peer=1, overload="refuse"
    )
    first = client(listener.port)
    second = client(listener.port)
    with first, second:
        run_until(reactor, lambda: listener.rejected == 1)
        assert read_until_eof(reactor, second) == b""
    assert listener.refusals == {"max_per_peer": 1}
    where = f"127.0.0.1:{listener.port}"
    got = figure(reactor, "selreactor_connections_refused_total", listener=where)
    assert got == 1
    refused = figure(
        reactor, "selreactor_connections_refused_total", listener=where, reason="max_per_peer"
    )
    assert refused == 1


def test_idle_and_write_timeouts_count_by_kind(fake_reactor: Reactor, clock: FakeClock) -> None:
    idle = fake_reactor.listen(lambda p: EchoHandler(), "127.0.0.1", 0, idle_timeout=30)

    class Flood(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            transport.write(b"z" * (8 << 20))  # more than the kernel buffers hold

    slow = fake_reactor.listen(lambda p: Flood(), "127.0.0.1", 0, write_timeout=5)
    with client(idle.port) as a, client(slow.port) as b:
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        run_until(fake_reactor, lambda: idle.connections and slow.connections)
        clock.advance(31)
        run_until(fake_reactor, lambda: not idle.connections and not slow.connections)
        assert read_until_eof(fake_reactor, a) == b""
    assert idle.timeouts == {"idle": 1}
    assert slow.timeouts == {"write": 1}
    where = f"127.0.0.1:{slow.port}"
    assert figure(fake_reactor, "selreactor_timeouts_total", listener=where, kind="write") == 1
    assert figure(fake_reactor, "selreactor_timeouts_total", listener=where, kind="idle") == 0


def test_connect_and_http_header_timeouts(fake_reactor: Reactor, clock: FakeClock) -> None:
    config = HTTPConfig(header_timeout=2.0)
    app = default_app()

    def factory(peer: PeerKey) -> HTTPHandler:
        return HTTPHandler(app, config, peer)

    web = fake_reactor.listen(factory, "127.0.0.1", 0)
    with client(web.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
        run_until(fake_reactor, lambda: any(c.bytes_in for c in web.connections.values()))
        clock.advance(3)
        assert b"408" in read_until_eof(fake_reactor, sock)
    assert web.timeouts == {"header": 1}
    # 192.0.2.0/24 is TEST-NET-1: a connect there never completes
    connector = fake_reactor.connect(lambda p: EchoHandler(), "192.0.2.1", 9, timeout=1.0)
    clock.advance(2)
    run_until(fake_reactor, connector.done)
    got = figure(fake_reactor, "selreactor_timeouts_total", listener="outbound", kind="connect")
    # Usually the deadline ends it; on a loaded machine the route's own failure
    # (ENETUNREACH) may come first.  Either way the count says which it was.
    assert got == (1 if isinstance(connector.error, TimeoutError) else 0)
    assert connector.error is not None


def test_turns_and_how_late_timers_fire(fake_reactor: Reactor, clock: FakeClock) -> None:
    before = fake_reactor.turns
    fired: list[float] = []
    fake_reactor.call_later(1.0, lambda: fired.append(clock()))
    clock.now += 0.3 + 1.0  # an unbound jump: the loop wakes 0.3 s late
    fake_reactor.run_once(0)
    assert fired
    assert fake_reactor.turns == before + 1
    lag = fake_reactor.timer_lag
    assert lag.count == 1
    assert abs(lag.sum - 0.3) < 1e-9
    got = metrics.collect(fake_reactor)
    assert metrics.value(got, "selreactor_loop_lag_seconds_bucket", le="0.25") == 0
    assert metrics.value(got, "selreactor_loop_lag_seconds_bucket", le="0.5") == 1
    assert metrics.value(got, "selreactor_loop_turns_total") == fake_reactor.turns


def test_reactor_aio_turns_are_counted_too() -> None:
    import asyncio

    from reactor import aio

    loop = aio.new_event_loop()
    try:
        fired: list[bool] = []
        loop.reactor.call_later(0.01, fired.append, True)  # a reactor timer, not asyncio's
        loop.run_until_complete(asyncio.sleep(0.05))
        assert fired
        assert loop.reactor.turns > 0
        assert loop.reactor.timer_lag.count == 1
    finally:
        loop.close()
