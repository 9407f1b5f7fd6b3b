"""The RESP handler on real sockets: errors, pipelining, backpressure, expiry, limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from protocols.resp import plugin
from protocols.resp.parser import encode_command
from protocols.resp.server import RespHandler, RespService
from reactor.loop import Reactor
from reactor.testing import FakeClock, run_until
from tests.helpers import client, recv_some

_open: list[Peer] = []


@pytest.fixture(autouse=True)
def _close_peers() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


class Peer:
    """A non-blocking client that collects what the server sends."""

    def __init__(self, port: int) -> None:
        self.sock = client(port)
        _open.append(self)
        self.got = bytearray()
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)

    def poll(self) -> bytes:
        while not self.eof:
            chunk = recv_some(self.sock)
            if chunk is None:
                break
            if not chunk:
                self.eof = True
                break
            self.got += chunk
        return bytes(self.got)

    def close(self) -> None:
        self.sock.close()


def serve(reactor: Reactor, **options: int) -> tuple[RespService, int]:
    service = RespService(reactor, **options)
    listener = reactor.listen(service.factory, "127.0.0.1", 0)
    return service, listener.port


def test_protocol_error_closes_only_that_connection(reactor: Reactor) -> None:
    _, port = serve(reactor)
    bad, good = Peer(port), Peer(port)
    good.send(encode_command("SET", "k", "v"))
    run_until(reactor, lambda: good.poll() == b"+OK\r\n")
    bad.send(b"*1\r\nx\r\n")
    run_until(reactor, lambda: bad.poll() and bad.eof)
    assert bytes(bad.got) == b"-ERR Protocol error: expected '$', got 'x'\r\n"
    good.send(encode_command("GET", "k"))
    run_until(reactor, lambda: good.poll() == b"+OK\r\n$1\r\nv\r\n")
    assert not good.eof


def test_bulk_limit_from_options(reactor: Reactor) -> None:
    _, port = serve(reactor, max_bulk=100)
    peer = Peer(port)
    peer.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$101\r\n")  # refused before the data comes
    run_until(reactor, lambda: peer.poll() and peer.eof)
    assert bytes(peer.got) == b"-ERR Protocol error: invalid bulk length\r\n"


def test_inline_commands_and_quit(reactor: Reactor) -> None:
    _, port = serve(reactor)
    peer = Peer(port)
    peer.send(b'SET greeting "hello world"\r\nGET greeting\r\nQUIT\r\nPING\r\n')
    run_until(reactor, lambda: peer.poll() and peer.eof)
    assert bytes(peer.got) == b"+OK\r\n$11\r\nhello world\r\n+OK\r\n"  # nothing after QUIT


def test_half_close_finishes_the_pipeline(reactor: Reactor) -> None:
    _, port = serve(reactor, budget=3)
    peer = Peer(port)
    peer.send(b"".join(encode_command("INCR", "n") for _ in range(20)))
    peer.sock.shutdown(socket.SHUT_WR)
    run_until(reactor, lambda: peer.poll() and peer.eof)
    assert bytes(peer.got) == b"".join(b":%d\r\n" % i for i in range(1, 21))


def test_pipeline_is_answered_in_order_across_budgets(reactor: Reactor) -> None:
    _, port = serve(reactor, budget=4)
    peer = Peer(port)
    wire = b"".join(encode_command("ECHO", str(i)) for i in range(500))
    expected = b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(500))
    peer.send(wire)
    run_until(reactor, lambda: peer.poll() == expected)


def test_a_pipelining_peer_does_not_starve_others(reactor: Reactor) -> None:
    _, port = serve(reactor, budget=4)
    busy, quiet = Peer(port), Peer(port)
    n = 2000
    busy.send(b"PING\r\n" * n)
    quiet.send(b"PING\r\n")
    run_until(reactor, lambda: quiet.poll() == b"+PONG\r\n")
    # the quiet peer was answered while the busy one still had most of its work pending
    assert len(busy.poll()) < n * 7 // 2
    run_until(reactor, lambda: len(busy.poll()) == n * 7)


def handler_of(service: RespService) -> RespHandler:
    (handler,) = service.handlers.values()
    return handler


def test_a_peer_that_does_not_read_is_bounded(reactor: Reactor) -> None:
    service, port = serve(reactor, budget=16)
    value = b"x" * 8192
    peer = Peer(port)
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    peer.send(encode_command("SET", "v", value))
    run_until(reactor, lambda: peer.poll() == b"+OK\r\n")
    n = 600  # about 5 MiB of replies, far beyond the socket buffers
    peer.send(encode_command("GET", "v") * n)
    handler = handler_of(service)
    transport = handler.transport
    run_until(reactor, lambda: handler._paused)
    for _ in range(50):  # the server stays paused, whatever the number of turns
        reactor.run_once(0.01)
        assert transport.get_write_buffer_size() < 16 * (len(value) + 20) + 64 * 1024
        assert not transport.is_reading()
    reply = b"$%d\r\n%b\r\n" % (len(value), value)
    run_until(reactor, lambda: len(peer.poll()) >= len(b"+OK\r\n") + n * len(reply), timeout=30)
    assert bytes(peer.got) == b"+OK\r\n" + reply * n
    assert transport.is_reading()


def test_active_expiry_reclaims_untouched_keys() -> None:
    clock = FakeClock()
    reactor = Reactor(clock=clock)
    try:
        service, port = serve(reactor)
        peer = Peer(port)
        wire = [encode_command("SET", f"t{i}", "v", "PX", "100") for i in range(1000)]
        wire += [encode_command("SET", f"p{i}", "v") for i in range(10)]
        peer.send(b"".join(wire))
        run_until(reactor, lambda: peer.poll() == b"+OK\r\n" * 1010)
        assert len(service.store) == 1010
        clock.advance(0.2)
        for _ in range(200):  # ten sweeps a second of fake time
            if len(service.store) == 10:
                break
            clock.advance(0.1)
            reactor.run_once(0)
        assert len(service.store) == 10
        assert service.store.expired == 1000
        assert service._sweep_timer is None  # no keys with a TTL: the timer is not re-armed
        peer.close()
        _open.remove(peer)
    finally:
        reactor.close()


def test_client_list_only_shows_this_listener(reactor: Reactor) -> None:
    _service, port = serve(reactor)
    _other_service, other_port = serve(reactor)
    a1, a2, b1 = Peer(port), Peer(port), Peer(other_port)
    for peer in (a1, a2, b1):
        peer.send(b"PING\r\n")
    run_until(reactor, lambda: all(p.poll() == b"+PONG\r\n" for p in (a1, a2, b1)))
    a1.send(encode_command("CLIENT", "LIST"))
    run_until(reactor, lambda: a1.poll().count(b"\n") >= 4)
    lines = [
        line for line in bytes(a1.got).split(b"\r\n", 2)[2].decode().split("\n") if "id=" in line
    ]
    assert len(lines) == 2
    ports = {a1.sock.getsockname()[1], a2.sock.getsockname()[1]}
    assert {int(line.split()[1].rsplit(":", 1)[1]) for line in lines} == ports
    assert all(f"laddr=127.0.0.1:{port} " in line for line in lines)


def test_client_kill_closes_the_other_connection(reactor: Reactor) -> None:
    _, port = serve(reactor)
    killer, victim = Peer(port), Peer(port)
    victim.send(b"PING\r\n")
    run_until(reactor, lambda: victim.poll() == b"+PONG\r\n")
    addr = f"127.0.0.1:{victim.sock.getsockname()[1]}"
    killer.send(encode_command("CLIENT", "KILL", "ADDR", addr))
    run_until(reactor, lambda: killer.poll() == b":1\r\n" and victim.poll() is not None)
    run_until(reactor, lambda: victim.poll() is not None and victim.eof)
    killer.send(encode_command("CLIENT", "KILL", addr))
    run_until(reactor, lambda: killer.poll().endswith(b"-ERR No such client\r\n"))


def test_max_connections_refusal_message(reactor: Reactor) -> None:
    service = RespService(reactor)
    listener = reactor.listen(
        service.factory,
        "127.0.0.1",
        0,
        max_connections=1,
        overload="refuse",
        refuse_message=plugin.refuse_message,
    )
    first = Peer(listener.port)
    first.send(b"PING\r\n")
    run_until(reactor, lambda: first.poll() == b"+PONG\r\n")
    second = Peer(listener.port)
    run_until(reactor, lambda: second.poll() is not None and second.eof)
    assert bytes(second.got) == b"-ERR max number of clients reached\r\n"
    first.send(b"PING\r\n")
    run_until(reactor, lambda: first.poll() == b"+PONG\r\n+PONG\r\n")


def test_plugin_builds_a_factory_from_options(reactor: Reactor) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    plugin.add_arguments(parser)
    options = parser.parse_args(["--proto-max-bulk-len", "10", "--pipeline-budget", "2"])
    factory = plugin.make_factory(reactor, options)
    listener = reactor.listen(factory, "127.0.0.1", 0)
    peer = Peer(listener.port)
    peer.send(encode_command("SET", "k", "0123456789") + encode_command("SET", "k", "x" * 11))
    run_until(reactor, lambda: peer.poll() and peer.eof)
    assert bytes(peer.got) == b"+OK\r\n-ERR Protocol error: invalid bulk length\r\n"


def test_hello_switches_the_protocol_mid_pipeline(reactor: Reactor) -> None:
    _, port = serve(reactor)
    peer, other = Peer(port), Peer(port)
    peer.send(
        encode_command("HELLO", "3")
        + encode_command("GET", "nokey")
        + encode_command("HELLO", "2")
        + encode_command("GET", "nokey")
    )
    run_until(reactor, lambda: peer.poll().endswith(b"*0\r\n$-1\r\n"))
    got = bytes(peer.got)
    assert got.startswith(b"%7\r\n$6\r\nserver\r\n")
    assert b"$5\r\nproto\r\n:3\r\n" in got
    assert b"*0\r\n_\r\n*14\r\n" in got  # modules, the RESP3 null, the RESP2 map
    other.send(encode_command("GET", "nokey"))  # the other connection never said HELLO
    run_until(reactor, lambda: other.poll() == b"$-1\r\n")
