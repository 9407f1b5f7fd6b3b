"""The RESP server against real clients: redis-py (sync and asyncio) and redis-cli."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio

from protocols.resp.server import RespService
from reactor.embedding import ReactorThread

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture
def server() -> Iterator[tuple[ReactorThread, RespService, int]]:
    with ReactorThread() as rt:
        service = rt.call(RespService, rt.reactor)
        listener = rt.call(rt.reactor.listen, service.factory, "127.0.0.1", 0)
        yield rt, service, listener.port


def connect(port: int, **options: object) -> redis.Redis:
    # The server speaks RESP2 only (HELLO 3 is refused with NOPROTO); redis-py 8
    # defaults to RESP3, so the protocol is pinned as any RESP2-only server needs.
    return redis.Redis(port=port, socket_timeout=10, protocol=2, **options)  # type: ignore[arg-type]


def command(client: redis.Redis, *words: str | int) -> object:
    """A raw command through redis-py (its execute_command is untyped)."""
    return client.execute_command(*words)  # type: ignore[no-untyped-call]


def test_redis_py_strings_and_expiry(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    r = connect(port)
    assert r.ping() is True
    assert r.echo(b"hi\r\n") == b"hi\r\n"
    assert r.set("a", "1") is True
    assert r.get("a") == b"1"
    assert r.incr("a") == 2
    assert r.incrby("a", 40) == 42
    assert r.decr("a") == 41
    assert r.decrby("a", 1) == 40
    assert r.append("a", "x") == 3
    assert r.strlen("a") == 3
    assert r.set("n", "v", nx=True) is True
    assert r.set("n", "w", nx=True) is None
    assert r.set("n", "w", xx=True, get=True) == b"v"
    assert r.getdel("n") == b"w"
    assert r.mset({"k1": "v1", "k2": "v2"}) is True
    assert r.mget("k1", "nokey", "k2") == [b"v1", None, b"v2"]
    assert r.exists("k1", "k2", "nokey") == 2
    assert r.delete("k1", "nokey") == 1
    assert r.set("t", "v", ex=100) is True
    assert r.ttl("t") == 100
    assert 99_000 < r.pttl("t") <= 100_000
    assert r.persist("t") is True
    assert r.ttl("t") == -1
    assert r.pexpire("t", 50_000) is True
    assert r.expire("nokey", 10) is False
    assert sorted(r.keys("k*")) == [b"k2"]
    assert r.dbsize() == 3  # a, k2, t
    assert r.type("a") == b"string"
    r.close()


def test_redis_py_errors_carry_redis_texts(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    r = connect(port)
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("s")
    r.rpush("l", "x")
    with pytest.raises(redis.ResponseError, match=r"^WRONGTYPE Operation against a key"):
        r.get("l")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        command(r, "GET")
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        command(r, "SELECT", 1)
    assert command(r, "SELECT", 0) is True
    assert r.get("s") == b"abc"  # the connection survives command errors
    r.close()


def test_redis_py_pipeline(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    r = connect(port)
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"key:{i}", i)
    for i in range(1000):
        pipe.get(f"key:{i}")
    results = pipe.execute()
    assert results[:1000] == [True] * 1000
    assert results[1000:] == [str(i).encode() for i in range(1000)]
    assert r.dbsize() == 1000
    r.close()


def test_redis_py_info_and_client_list(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    a = connect(port, client_name="alpha")
    b = connect(port, client_name="beta")
    a.set("x", "1", ex=100)
    assert b.get("x") == b"1"
    info = a.info()
    assert info["tcp_port"] == port
    assert info["connected_clients"] == 2
    assert info["db0"] == {"keys": 1, "expires": 1, "avg_ttl": info["db0"]["avg_ttl"]}
    assert info["keyspace_hits"] == 1
    assert set(a.info("server")) >= {"redis_version", "process_id", "tcp_port"}
    clients = a.client_list()
    assert sorted(c["name"] for c in clients) == ["alpha", "beta"]
    for c in clients:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", c["addr"])
        assert c["laddr"] == f"127.0.0.1:{port}"
        assert int(c["age"]) >= 0
        assert "omem" in c
        assert "qbuf" in c
    assert a.client_getname() == "alpha"
    assert isinstance(a.client_id(), int)
    a.close()
    b.close()


def test_client_kill_by_addr(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    killer = connect(port)
    victim = connect(port, client_name="victim")
    victim.ping()
    addr = next(c["addr"] for c in killer.client_list() if c["name"] == "victim")
    assert killer.client_kill_filter(addr=addr) == 1
    with pytest.raises(redis.ResponseError, match="No such client"):
        command(killer, "CLIENT", "KILL", addr)  # already gone: the old form says so
    names = [c["name"] for c in killer.client_list()]
    assert "victim" not in names
    killer.close()
    victim.close()


def test_redis_py_asyncio(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server

    async def main() -> list[object]:
        r = redis.asyncio.Redis(port=port, socket_timeout=10, protocol=2)
        try:
            await r.set("a", "1")
            pipe = r.pipeline(transaction=False)
            pipe.incr("a")
            pipe.get("a")
            pipe.expire("a", 30)
            pipe.ttl("a")
            results: list[object] = await pipe.execute()
            results.append(await asyncio.gather(*(r.echo(str(i)) for i in range(20))))
            return results
        finally:
            await r.aclose()

    results = asyncio.run(main())
    assert results[:4] == [2, b"2", True, 30]
    assert results[4] == [str(i).encode() for i in range(20)]


# -- redis-cli ------------------------------------------------------------------

REDIS_CLI = shutil.which("redis-cli")
needs_cli = pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli (Debian redis-tools) absent")


def cli(port: int, *words: str) -> str:
    assert REDIS_CLI is not None
    done = subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *words],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_cli
def test_redis_cli(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    assert cli(port, "PING") == "PONG\n"
    assert cli(port, "SET", "a", "1") == "OK\n"
    assert cli(port, "GET", "a") == "1\n"
    assert cli(port, "INCR", "a") == "2\n"
    assert cli(port, "GET", "nokey") == "\n"
    assert (
        cli(port, "SET", "a", "1", "EX", "abc")
        == "ERR value is not an integer or out of range\n\n"
    )
    assert cli(port, "GET") == "ERR wrong number of arguments for 'get' command\n\n"
    line = cli(port, "CLIENT", "LIST")
    assert re.fullmatch(
        rf"id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:{port} fd=\d+ name= age=\d+ "
        r"idle=\d+ flags=N db=0 .* qbuf=\d+ .* omem=\d+ .* cmd=client\|list .*\n",
        line,
    )
    info = cli(port, "INFO")
    assert "# Server" in info
    assert f"tcp_port:{port}" in info
    assert "# Keyspace" in info
    assert "db0:keys=1,expires=0" in info
    assert cli(port, "COMMAND", "COUNT").strip().isdigit()
    assert "summary" in cli(port, "COMMAND", "DOCS", "get")
    assert cli(port, "HELLO", "3") == "NOPROTO unsupported protocol version\n\n"
    assert cli(port, "DBSIZE") == "1\n"
    assert cli(port, "KEYS", "*") == "a\n"


@needs_cli
def test_redis_cli_from_stdin_pipe(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    assert REDIS_CLI is not None
    done = subprocess.run(
        [REDIS_CLI, "-p", str(port)],
        input="SET k v\nGET k\nDEL k\nEXISTS k\n",
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.stdout.split() == ["OK", "v", "1", "0"]


# -- the CLI with redis-benchmark ---------------------------------------------------

REDIS_BENCHMARK = shutil.which("redis-benchmark")


@pytest.mark.slow
@pytest.mark.skipif(REDIS_BENCHMARK is None, reason="redis-benchmark (redis-tools) absent")
def test_cli_serve_resp_under_redis_benchmark() -> None:
    assert REDIS_BENCHMARK is not None
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", "serve", "protocols.resp:plugin", "--port", "0",
         "--log-level", "DEBUG"],
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        port = 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not port:
            match = re.search(r"serving \S+ on 127\.0\.0\.1:(\d+)", proc.stderr.readline())
            if match:
                port = int(match.group(1))
        assert port, "the server never said where it listens"
        done = subprocess.run(
            [REDIS_BENCHMARK, "-p", str(port), "-t", "ping,set,get", "-P", "16", "-n", "5000",
             "-c", "10", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for test in ("PING_INLINE", "PING_MBULK", "SET", "GET"):
            assert re.search(rf"{test}: [\d.]+ requests per second", done.stdout), done.stdout
        assert "WARNING" not in done.stdout + done.stderr
    finally:
        proc.terminate()
        proc.wait(15)
        if proc.stderr is not None:
            proc.stderr.close()
