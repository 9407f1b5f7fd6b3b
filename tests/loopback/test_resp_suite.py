"""The commands and fixes Redis's own tests asked for, through redis-py on real sockets.

Each test here covers a command added for unit/type/string, unit/type/incr,
unit/expire or unit/protocol, or a reply that differed from redis-server
7.0.15's; ``bench/redis_suite.sh`` runs Redis's Tcl suite itself.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import redis

from protocols.resp.parser import encode_command
from protocols.resp.server import RespService
from reactor.embedding import ReactorThread
from tests.loopback.test_resp_clients import PROTOCOLS, command, connect

Server = tuple[ReactorThread, RespService, int]


@pytest.fixture
def server() -> Iterator[Server]:
    with ReactorThread() as rt:
        service = rt.call(RespService, rt.reactor)
        listener = rt.call(rt.reactor.listen, service.factory, "127.0.0.1", 0)
        yield rt, service, listener.port


@pytest.fixture(params=PROTOCOLS, ids=lambda p: "default" if p is None else f"resp{p}")
def protocol(request: pytest.FixtureRequest) -> int | None:
    """The ``protocol`` argument for redis-py; ``None`` leaves the client's default."""
    value: int | None = request.param
    return value


def test_string_commands(server: Server, protocol: int | None) -> None:
    _, _, port = server
    r = connect(port, protocol)
    assert r.setnx("a", "1") is True
    assert r.setnx("a", "2") is False
    assert command(r, "SETEX", "b", 100, "v") in (True, b"OK")  # redis-py deprecates setex()
    assert 99 <= r.ttl("b") <= 100
    assert command(r, "PSETEX", "c", 1500, "v") in (True, b"OK")
    assert 1000 < r.pttl("c") <= 1500
    assert r.getset("a", "3") == b"1"
    assert r.getex("b", persist=True) == b"v"
    assert r.ttl("b") == -1
    assert r.getex("b", exat=int(time.time()) + 50) == b"v"
    assert 48 <= r.ttl("b") <= 50
    assert r.set("d", "v", pxat=int(time.time() * 1000) + 5000) is True
    assert 4000 < r.pttl("d") <= 5000
    assert r.msetnx({"e": "1", "f": "2"}) is True
    assert r.msetnx({"f": "1", "g": "2"}) is False
    assert r.incrbyfloat("h", 10.5) == 10.5
    assert r.incrbyfloat("h", -0.5) == 10.0
    assert r.get("h") == b"10"
    assert r.setrange("i", 2, "xy") == 4
    assert r.getrange("i", 2, -1) == b"xy"
    assert r.setbit("j", 7, 1) == 0
    assert r.getbit("j", 7) == 1
    assert r.bitcount("j") == 1
    r.mset({"k1": "ohmytext", "k2": "mynewtext"})
    assert r.lcs("k1", "k2") == b"mytext"
    assert command(r, "SUBSTR", "k1", 0, 1) == b"oh"


def test_key_and_expiry_commands(server: Server, protocol: int | None) -> None:
    _, _, port = server
    r = connect(port, protocol)
    r.set("a", "1")
    deadline = int(time.time()) + 100
    assert r.expireat("a", deadline) is True
    assert r.expiretime("a") == deadline
    assert r.pexpireat("a", deadline * 1000 + 5) is True
    assert command(r, "PEXPIRETIME", "a") == deadline * 1000 + 5
    assert r.rename("a", "b") is True
    assert r.expiretime("b") == deadline
    assert r.renamenx("b", "c") is True
    assert r.copy("c", "d") is True
    assert r.copy("c", "d") is False
    assert r.randomkey() in (b"c", b"d")
    seconds, micros = r.time()
    assert abs(seconds - time.time()) < 5 and 0 <= micros < 1_000_000
    # The two range bugs of EXPIRE:
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'expire' command"):
        r.expire("c", -9223372036854776)
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'expire' command"):
        r.expire("c", 9223370399119966)
    assert r.exists("c") == 1


def test_sixteen_databases_and_harness_commands(server: Server, protocol: int | None) -> None:
    _, service, port = server
    r = connect(port, protocol)
    nine = connect(port, protocol, db=9)
    r.set("k", "zero")
    nine.set("k", "nine")
    assert r.get("k") == b"zero" and nine.get("k") == b"nine"
    assert str(nine.client_info()["db"]) == "9"
    assert nine.move("k", 3) is True
    assert command(r, "FUNCTION", "FLUSH") in (b"OK", True, "OK")
    assert r.config_set("appendonly", "no") is True
    with pytest.raises(redis.ResponseError, match="CONFIG SET failed"):
        r.config_set("appendonly", "yes")
    assert r.config_set("hz", 100) is True
    assert service.period == pytest.approx(0.01)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        command(r, "SELECT", 16)
    assert r.flushall() is True
    assert r.dbsize() == 0 and nine.dbsize() == 0
    assert r.ping() is True  # no error above ended the session


def test_a_million_arguments_are_accepted(server: Server) -> None:
    """Bounded by bytes (client-query-buffer-limit), not by a count of words."""
    _, _, port = server
    r = connect(port, 2)
    pairs = 600_000  # 1.2 million arguments: the old count limit refused them
    args: list[str | int] = ["MSET"]
    for i in range(pairs):
        args += [f"k{i}", "v"]
    assert command(r, *args) is True
    assert r.dbsize() == pairs


def test_query_buffer_limit_closes_an_oversized_command(server: Server) -> None:
    rt, service, port = server
    rt.call(setattr, service, "max_query", 1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (4 * 1024 * 1024))
        sock.sendall(b"x" * (2 * 1024 * 1024))
        reply = sock.recv(1024)
        assert reply.startswith(b"-ERR Protocol error: client query buffer limit reached")


def test_info_client_list_and_errors_match_redis(server: Server, protocol: int | None) -> None:
    _, _, port = server
    r = connect(port, protocol)
    r.get("missing")
    r.strlen("missing")
    r.exists("missing")
    info = r.info("all")
    assert info["keyspace_misses"] == 3  # every read counts, not only GET/MGET
    assert int(info["maxclients"]) > 0
    assert info["used_memory"] > 0 and "used_cpu_user" in info
    assert info["cmdstat_strlen"]["calls"] == 1
    line = command(r, "CLIENT", "INFO")
    text = line.decode() if isinstance(line, bytes) else str(line)
    fields = dict(part.split("=", 1) for part in text.split())
    assert int(fields["qbuf"]) > 0 and int(fields["argv-mem"]) > 0
    assert int(fields["tot-mem"]) >= int(fields["qbuf"])
    with pytest.raises(redis.ResponseError, match="No such user 'nobody'"):
        command(r, "CLIENT", "KILL", "USER", "nobody")


def test_command_info_of_an_unknown_command_is_a_null_bulk(server: Server) -> None:
    _, _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(encode_command("COMMAND", "INFO", "nosuch"))
        assert sock.recv(64) == b"*1\r\n$-1\r\n"
