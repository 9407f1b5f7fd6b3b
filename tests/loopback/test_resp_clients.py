"""The RESP server against real clients: redis-py (sync and asyncio) and redis-cli.

The redis-py tests run twice: with the client's defaults (redis-py 8 says
``HELLO 3`` and speaks RESP3) and pinned to RESP2 (``protocol=2``).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio
import redis.connection

from protocols.resp.server import RespService
from reactor.embedding import ReactorThread
from tests.externals import needs, program, unavailable

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture
def server() -> Iterator[tuple[ReactorThread, RespService, int]]:
    with ReactorThread() as rt:
        service = rt.call(RespService, rt.reactor)
        listener = rt.call(rt.reactor.listen, service.factory, "127.0.0.1", 0)
        yield rt, service, listener.port


DEFAULT_RESP = int(getattr(redis.connection, "DEFAULT_RESP_VERSION", 2))
"""What redis-py speaks when not told: 3 since redis-py 8."""
PROTOCOLS: list[int | None] = [None, 2] + ([3] if DEFAULT_RESP != 3 else [])


@pytest.fixture(params=PROTOCOLS, ids=lambda p: "default" if p is None else f"resp{p}")
def protocol(request: pytest.FixtureRequest) -> int | None:
    """The ``protocol`` argument for redis-py; ``None`` leaves the client's default."""
    value: int | None = request.param
    return value


def options_for(protocol: int | None) -> dict[str, object]:
    return {} if protocol is None else {"protocol": protocol}


def connect(port: int, protocol: int | None, **options: object) -> redis.Redis:
    options.update(options_for(protocol))
    return redis.Redis(port=port, socket_timeout=10, **options)  # type: ignore[arg-type]


def speaks(client: redis.Redis, protocol: int | None) -> None:
    """The server agrees on the protocol the client asked for."""
    expected = DEFAULT_RESP if protocol is None else protocol
    assert client.client_info()["resp"] == str(expected)


def command(client: redis.Redis, *words: str | int) -> object:
    """A raw command through redis-py (its execute_command is untyped)."""
    return client.execute_command(*words)  # type: ignore[no-untyped-call]


def test_redis_py_strings_and_expiry(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    r = connect(port, protocol)
    assert r.ping() is True
    speaks(r, protocol)
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


def test_redis_py_errors_carry_redis_texts(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    r = connect(port, protocol)
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("s")
    r.rpush("l", "x")
    with pytest.raises(redis.ResponseError, match=r"^WRONGTYPE Operation against a key"):
        r.get("l")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        command(r, "GET")
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        command(r, "SELECT", 16)
    assert command(r, "SELECT", 0) is True
    assert r.get("s") == b"abc"  # the connection survives command errors
    r.close()


def test_redis_py_pipeline(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    r = connect(port, protocol)
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


def test_redis_py_info_and_client_list(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    a = connect(port, protocol, client_name="alpha")
    b = connect(port, protocol, client_name="beta")
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


def test_resp2_and_resp3_clients_side_by_side(
    server: tuple[ReactorThread, RespService, int],
) -> None:
    _, _, port = server
    two = connect(port, 2, client_name="two")
    three = connect(port, 3, client_name="three")
    three.set("k", "v")
    assert two.get("k") == b"v"
    assert two.get("nokey") is None
    assert three.get("nokey") is None
    assert three.config_get("save") == {"save": ""}
    assert two.config_get("save") == {"save": ""}
    assert {c["name"]: c["resp"] for c in two.client_list()} == {"two": "2", "three": "3"}
    assert three.client_info()["resp"] == "3"
    two.close()
    three.close()


def test_client_kill_by_addr(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server
    killer = connect(port, protocol)
    victim = connect(port, protocol, client_name="victim")
    victim.ping()
    addr = next(c["addr"] for c in killer.client_list() if c["name"] == "victim")
    assert killer.client_kill_filter(addr=addr) == 1
    with pytest.raises(redis.ResponseError, match="No such client"):
        command(killer, "CLIENT", "KILL", addr)  # already gone: the old form says so
    names = [c["name"] for c in killer.client_list()]
    assert "victim" not in names
    killer.close()
    victim.close()


def test_redis_py_asyncio(
    server: tuple[ReactorThread, RespService, int], protocol: int | None
) -> None:
    _, _, port = server

    async def main() -> list[object]:
        r = redis.asyncio.Redis(port=port, socket_timeout=10, **options_for(protocol))  # type: ignore[arg-type]
        try:
            info = await r.client_info()
            assert info["resp"] == str(DEFAULT_RESP if protocol is None else protocol)
            assert await r.get("nokey") is None
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

needs_cli = needs("redis-cli", "redis-tools")


def cli(port: int, *words: str, options: tuple[str, ...] = ()) -> str:
    done = subprocess.run(
        [
            program("redis-cli", "redis-tools"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            *options,
            *words,
        ],
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
    assert cli(port, "HELLO", "4") == "NOPROTO unsupported protocol version\n\n"
    assert cli(port, "DBSIZE") == "1\n"
    assert cli(port, "KEYS", "*") == "a\n"


def cli_speaks_resp3() -> bool:
    """Whether the installed redis-cli has ``-3`` (redis-cli 6 and later)."""
    done = subprocess.run(
        [program("redis-cli", "redis-tools"), "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return any(line.split()[:1] == ["-3"] for line in (done.stdout + done.stderr).splitlines())


@needs_cli
def test_redis_cli_resp3(server: tuple[ReactorThread, RespService, int]) -> None:
    if not cli_speaks_resp3():
        unavailable("redis-cli 6 or later (for its -3, RESP3)", "redis-tools")
    _, _, port = server

    def cli3(*words: str) -> str:
        return cli(port, *words, options=("-3",))

    assert cli3("PING") == "PONG\n"
    assert cli3("SET", "a", "1") == "OK\n"
    assert cli3("GET", "a") == "1\n"
    assert cli3("GET", "nokey") == "\n"  # the RESP3 null, printed as redis-cli prints it
    assert cli3("MGET", "a", "nokey") == "1\n\n"
    assert cli3("SET", "a", "2", "NX") == "\n"
    assert cli3("LPOP", "nolist", "2") == "\n"
    assert cli3("INCR", "a") == "2\n"
    assert re.fullmatch(
        r"server redis\nversion 7\.0\.15\nproto 3\nid \d+\nmode standalone\n"
        r"role master\nmodules \n",
        cli3("HELLO"),
    )
    assert cli3("CONFIG", "GET", "save") == "save \n"
    assert cli3("COMMAND", "DOCS", "get").startswith("get summary Get the value of a key\n")
    info = cli3("CLIENT", "INFO")  # verbatim text: redis-cli drops the txt: prefix
    assert re.fullmatch(
        rf"id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:{port} .* resp=3 .*\n", info
    )
    assert cli3("INFO", "keyspace") == "# Keyspace\ndb0:keys=1,expires=0,avg_ttl=0\n"
    assert cli3("HELLO", "4") == "NOPROTO unsupported protocol version\n\n"
    assert cli3("GET") == "ERR wrong number of arguments for 'get' command\n\n"


@needs_cli
def test_redis_cli_from_stdin_pipe(server: tuple[ReactorThread, RespService, int]) -> None:
    _, _, port = server
    done = subprocess.run(
        [program("redis-cli", "redis-tools"), "-p", str(port)],
        input="SET k v\nGET k\nDEL k\nEXISTS k\n",
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.stdout.split() == ["OK", "v", "1", "0"]


# -- the CLI with redis-benchmark ---------------------------------------------------


@pytest.mark.slow
@needs("redis-benchmark", "redis-tools")
def test_cli_serve_resp_under_redis_benchmark() -> None:
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
            [program("redis-benchmark", "redis-tools"), "-p", str(port), "-t", "ping,set,get",
             "-P", "16", "-n", "5000", "-c", "10", "-q"],
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
