"""MULTI/EXEC and WATCH on real sockets: redis-py's transactions, pipelined raw commands."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

from protocols.resp.parser import encode_command
from protocols.resp.server import RespService
from reactor.embedding import ReactorThread
from reactor.loop import Reactor
from reactor.testing import run_until
from tests.helpers import client, read_while
from tests.loopback.test_resp_clients import command, connect, protocol

__all__ = ["protocol"]  # the fixture, re-exported for pytest


@pytest.fixture
def server() -> Iterator[tuple[ReactorThread, RespService, int]]:
    with ReactorThread() as rt:
        service = rt.call(RespService, rt.reactor)
        listener = rt.call(rt.reactor.listen, service.factory, "127.0.0.1", 0)
        yield rt, service, listener.port


def test_redis_py_transaction_pipeline(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    r = connect(port, protocol)
    pipe = r.pipeline(transaction=True)
    pipe.set("a", "1")
    pipe.incr("a")
    pipe.get("a")
    pipe.incrbyfloat("a", 1.5)
    assert pipe.execute() == [True, 2, b"2", 3.5]
    # A command that fails at EXEC: redis-py raises it, the others ran.
    pipe = r.pipeline(transaction=True)
    pipe.set("s", "abc")
    pipe.incr("s")
    pipe.set("t", "1")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        pipe.execute()
    assert r.get("t") == b"1"
    # An error while queueing: EXECABORT, nothing ran.
    pipe = r.pipeline(transaction=True)
    pipe.set("u", "1")
    command(pipe, "NOSUCH")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        pipe.execute()
    assert r.exists("u") == 0
    r.close()


def test_redis_py_watch_with_a_concurrent_change(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    r = connect(port, protocol)
    other = connect(port, protocol)
    r.set("balance", 100)
    seen: list[int] = []

    def withdraw(pipe: redis.client.Pipeline) -> None:
        current = int(pipe.get("balance") or 0)
        if not seen:
            other.incrby("balance", 5)  # lands between WATCH and EXEC, once
        seen.append(current)
        pipe.multi()
        pipe.set("balance", current - 10)

    # redis-py's retry loop: the first EXEC fails (WatchError), the second wins.
    assert r.transaction(withdraw, "balance") == [True]
    assert seen == [100, 105]
    assert r.get("balance") == b"95"

    # The same by hand on one connection: EXEC answers null, nothing ran.
    c = connect(port, protocol, single_connection_client=True)
    assert command(c, "WATCH", "balance") in (True, b"OK")
    other.set("balance", 0)
    command(c, "MULTI")
    assert command(c, "INCR", "balance") in ("QUEUED", b"QUEUED")
    assert command(c, "EXEC") is None
    assert r.get("balance") == b"0"
    c.close()
    r.close()
    other.close()


def test_client_list_shows_the_queue(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    r = connect(port, 2, single_connection_client=True)
    command(r, "MULTI")
    command(r, "SET", "k", "v")
    command(r, "PING")
    assert command(r, "CLIENT", "LIST") == b"QUEUED"
    replies = command(r, "EXEC")
    assert isinstance(replies, list)
    assert replies[:2] == [b"OK", b"PONG"]
    assert b" flags=x " in replies[2]
    assert b" multi=3 " in replies[2]  # the CLIENT LIST itself counts, as in Redis
    listed = command(r, "CLIENT", "LIST")
    assert isinstance(listed, bytes)
    assert b" multi=-1 " in listed
    r.close()


def read_until(reactor: Reactor, sock: socket.socket, want: bytes) -> bytes:
    return read_while(reactor, sock, lambda got: not got.endswith(want))


@pytest.mark.parametrize("budget", [1, 2, 64])
def test_pipelined_transactions_switch_dispatch_within_one_read(
    reactor: Reactor, budget: int
) -> None:
    """MULTI, the queued commands, EXEC and what follows arrive in one segment."""
    service = RespService(reactor, budget=budget)
    listener = reactor.listen(service.factory, "127.0.0.1", 0)
    sock = client(listener.port)
    try:
        wire = b"".join(
            [
                encode_command("SET", "n", "0"),
                encode_command("MULTI"),
                encode_command("INCR", "n"),
                encode_command("INCR", "n"),
                encode_command("EXEC"),
                encode_command("INCR", "n"),
                encode_command("MULTI"),
                encode_command("INCR", "n"),
                encode_command("DISCARD"),
                encode_command("GET", "n"),
            ]
        )
        sock.sendall(wire)
        want = (
            b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n:3\r\n"
            b"+OK\r\n+QUEUED\r\n+OK\r\n$1\r\n3\r\n"
        )
        assert read_until(reactor, sock, b"$1\r\n3\r\n") == want
    finally:
        sock.close()


def test_a_closed_connection_stops_watching(reactor: Reactor) -> None:
    service = RespService(reactor)
    listener = reactor.listen(service.factory, "127.0.0.1", 0)
    sock = client(listener.port)
    sock.sendall(encode_command("WATCH", "k") + encode_command("MULTI"))
    read_until(reactor, sock, b"+OK\r\n+OK\r\n")
    assert service.store.watchers.keys() == {b"k"}
    sock.close()
    run_until(reactor, lambda: not service.handlers, timeout=10)
    assert service.store.watchers == {}
