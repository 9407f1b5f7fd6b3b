"""The command table, without sockets: replies byte for byte, Redis's error texts."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from protocols.resp.commands import Commands
from protocols.resp.parser import parse_int
from protocols.resp.session import Session
from protocols.resp.store import Databases
from reactor.testing import FakeClock

EPOCH = 1_700_000_000.0
"""Unix time at the fake clock's zero: deadlines are Unix milliseconds."""


class FakeHost:
    """Two pretend connections on one listener."""

    def __init__(self) -> None:
        self.killed: list[str] = []
        self.configured: list[tuple[str, str]] = []
        self.peers = {1: "127.0.0.1:5000", 2: "127.0.0.1:5001"}

    def client_lines(
        self, session: Session, only_self: bool = False, current: int = 0
    ) -> list[str]:
        ids = [session.id] if only_self else list(self.peers)
        return [f"id={i} addr={self.peers[i]} name=\n" for i in ids]

    def kill(
        self,
        session: Session,
        addrs: list[str],
        laddrs: list[str],
        ids: list[int],
        skip_self: bool,
    ) -> int:
        n = 0
        for ident, addr in list(self.peers.items()):
            if (addrs and addr not in addrs) or (ids and ident not in ids):
                continue
            if ident == session.id:
                if skip_self:
                    continue
                session.quit = True
            self.killed.append(addr)
            n += 1
        return n

    def figures(self, session: Session) -> Mapping[str, int | str]:
        return {"tcp_port": 6379, "connected_clients": len(self.peers)}

    def configure(self, name: str, value: str) -> str | None:
        self.configured.append((name, value))
        return "not here" if value == "refuse" else None


class Server:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.databases = Databases(self.clock, rng=random.Random(1), epoch=EPOCH)
        self.store = self.databases[0]
        self.host = FakeHost()
        self.commands = Commands(self.databases, self.host, self.clock)
        self.admin = self.commands.admin
        self.session = Session(1, self.store)

    def __call__(self, *words: bytes | str | int) -> bytes:
        args = [w if isinstance(w, bytes) else str(w).encode() for w in words]
        return self.commands.execute(self.session, args)


def quitting(r: Server) -> bool:
    return r.session.quit


@pytest.fixture
def r() -> Server:
    return Server()


def err(text: str) -> bytes:
    return b"-" + text.encode() + b"\r\n"


def test_ping_echo(r: Server) -> None:
    assert r("PING") == b"+PONG\r\n"
    assert r("ping", "hi") == b"$2\r\nhi\r\n"
    assert r("PING", "a", "b") == err("ERR wrong number of arguments for 'ping' command")
    assert r("ECHO", "x") == b"$1\r\nx\r\n"
    assert r("echo") == err("ERR wrong number of arguments for 'echo' command")


def test_case_insensitive_names(r: Server) -> None:
    assert r("SeT", "k", "v") == b"+OK\r\n"
    assert r("gEt", "k") == b"$1\r\nv\r\n"


def test_unknown_command(r: Server) -> None:
    assert r("foo", "a", "b") == err(
        "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
    )
    assert r("foo") == err("ERR unknown command 'foo', with args beginning with: ")


@pytest.mark.parametrize(
    "words",
    [("get",), ("get", "a", "b"), ("set", "a"), ("incr",), ("mset", "a"), ("exists",), ("del",)],
)
def test_wrong_arity(r: Server, words: tuple[str, ...]) -> None:
    assert r(*words) == err(f"ERR wrong number of arguments for '{words[0]}' command")


def test_set_get_basics(r: Server) -> None:
    assert r("GET", "nokey") == b"$-1\r\n"
    assert r("SET", "k", b"\x00\r\n") == b"+OK\r\n"
    assert r("GET", "k") == b"$3\r\n\x00\r\n\r\n"
    assert r("STRLEN", "k") == b":3\r\n"
    assert r("APPEND", "k", "ab") == b":5\r\n"
    assert r("APPEND", "new", "ab") == b":2\r\n"
    assert r("GETDEL", "new") == b"$2\r\nab\r\n"
    assert r("GETDEL", "new") == b"$-1\r\n"
    assert r("STRLEN", "new") == b":0\r\n"


def test_set_options(r: Server) -> None:
    assert r("SET", "k", "v", "NX") == b"+OK\r\n"
    assert r("SET", "k", "w", "NX") == b"$-1\r\n"
    assert r("SET", "k", "w", "NX", "GET") == b"$1\r\nv\r\n"
    assert r("SET", "other", "w", "XX") == b"$-1\r\n"
    assert r("SET", "k", "w", "XX", "GET") == b"$1\r\nv\r\n"
    assert r("GET", "k") == b"$1\r\nw\r\n"
    assert r("SET", "fresh", "1", "GET") == b"$-1\r\n"
    assert r("SET", "a", "b", "NX", "XX") == err("ERR syntax error")
    assert r("SET", "a", "b", "foo") == err("ERR syntax error")
    assert r("SET", "a", "b", "EX") == err("ERR syntax error")
    assert r("SET", "a", "b", "EX", "1", "PX", "1") == err("ERR syntax error")
    assert r("SET", "a", "b", "KEEPTTL", "EX", "5") == err("ERR syntax error")
    assert r("SET", "a", "b", "EX", "abc") == err("ERR value is not an integer or out of range")
    for ttl in ("0", "-1"):
        assert r("SET", "a", "b", "EX", ttl) == err("ERR invalid expire time in 'set' command")
    assert r("SET", "a", "b", "PX", str(2**63 - 1)) == err(
        "ERR invalid expire time in 'set' command"
    )


def test_set_ex_px_and_keepttl(r: Server) -> None:
    assert r("SET", "k", "v", "EX", "10") == b"+OK\r\n"
    assert r("TTL", "k") == b":10\r\n"
    assert r("PTTL", "k") == b":10000\r\n"
    r.clock.advance(2.4)
    assert r("TTL", "k") == b":8\r\n"  # 7.6 s, rounded like Redis
    assert r("SET", "k", "w", "KEEPTTL") == b"+OK\r\n"
    assert r("PTTL", "k") == b":7600\r\n"
    assert r("SET", "k", "x") == b"+OK\r\n"
    assert r("TTL", "k") == b":-1\r\n"
    assert r("SET", "p", "v", "PX", "1500") == b"+OK\r\n"
    r.clock.advance(1.5)
    assert r("GET", "p") == b"$-1\r\n"
    assert r("TTL", "p") == b":-2\r\n"


def test_mget_mset(r: Server) -> None:
    assert r("MSET", "a", "1", "b", "2") == b"+OK\r\n"
    r("RPUSH", "l", "x")
    assert r("MGET", "a", "nokey", "b", "l") == b"*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n"
    assert r("MSET", "a", "b", "c") == err("ERR wrong number of arguments for 'mset' command")


def test_incr_family(r: Server) -> None:
    assert r("INCR", "n") == b":1\r\n"
    assert r("INCRBY", "n", "41") == b":42\r\n"
    assert r("DECR", "n") == b":41\r\n"
    assert r("DECRBY", "n", "-9") == b":50\r\n"
    assert r("GET", "n") == b"$2\r\n50\r\n"
    r("SET", "s", "abc")
    assert r("INCR", "s") == err("ERR value is not an integer or out of range")
    assert r("INCRBY", "n", "x") == err("ERR value is not an integer or out of range")
    assert r("INCRBY", "n", "1.5") == err("ERR value is not an integer or out of range")
    r("SET", "big", str(2**63 - 1))
    assert r("INCR", "big") == err("ERR increment or decrement would overflow")
    assert r("DECRBY", "big", str(-(2**63))) == err("ERR decrement would overflow")
    r("SET", "small", str(-(2**63)))
    assert r("DECR", "small") == err("ERR increment or decrement would overflow")
    assert r("DECRBY", "small", str(2**63)) == err("ERR value is not an integer or out of range")
    for bad in (" 1", "+1", "01", "-0", "1 ", ""):
        r("SET", "x", bad)
        assert r("INCR", "x") == err("ERR value is not an integer or out of range"), bad


def test_incr_keeps_ttl(r: Server) -> None:
    r("SET", "n", "1", "EX", "100")
    r("INCR", "n")
    r("APPEND", "n", "0")
    assert r("TTL", "n") == b":100\r\n"


def test_parse_int_like_string2ll() -> None:
    assert parse_int(b"0") == 0
    assert parse_int(b"-12") == -12
    assert parse_int(str(2**63 - 1).encode()) == 2**63 - 1
    assert parse_int(str(-(2**63)).encode()) == -(2**63)
    for bad in (b"", b"-", b"+1", b"01", b"-0", b" 1", b"1e3", str(2**63).encode(), b"\xd9\xa3"):
        assert parse_int(bad) is None, bad


def test_wrongtype(r: Server) -> None:
    wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert r("LPUSH", "l", "a", "b") == b":2\r\n"
    for words in (
        ("GET", "l"),
        ("INCR", "l"),
        ("APPEND", "l", "x"),
        ("STRLEN", "l"),
        ("GETDEL", "l"),
        ("SET", "l", "x", "GET"),
    ):
        assert r(*words) == wrongtype, words
    r("SET", "s", "x")
    assert r("LPUSH", "s", "a") == wrongtype
    assert r("TYPE", "l") == b"+list\r\n"
    assert r("TYPE", "s") == b"+string\r\n"
    assert r("TYPE", "none") == b"+none\r\n"
    assert r("SET", "l", "now a string") == b"+OK\r\n"  # plain SET overwrites any type


def test_lists(r: Server) -> None:
    assert r("RPUSH", "l", "a", "b", "c") == b":3\r\n"
    assert r("LPUSH", "l", "z") == b":4\r\n"
    assert r("LRANGE", "l", "0", "-1") == b"*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    assert r("LRANGE", "l", "-2", "100") == b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    assert r("LRANGE", "l", "3", "1") == b"*0\r\n"
    assert r("LPOP", "l") == b"$1\r\nz\r\n"
    assert r("RPOP", "l", "2") == b"*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
    assert r("LLEN", "l") == b":1\r\n"
    assert r("LPOP", "l") == b"$1\r\na\r\n"
    assert r("EXISTS", "l") == b":0\r\n"  # an emptied list disappears
    assert r("LPOP", "l") == b"$-1\r\n"
    assert r("LPOP", "l", "1") == b"*-1\r\n"


def test_del_exists(r: Server) -> None:
    r("MSET", "a", "1", "b", "2")
    assert r("EXISTS", "a", "a", "b", "c") == b":3\r\n"
    assert r("DEL", "a", "c") == b":1\r\n"
    assert r("DBSIZE") == b":1\r\n"


def test_expire_family(r: Server) -> None:
    assert r("EXPIRE", "nokey", "10") == b":0\r\n"
    r("SET", "k", "v")
    assert r("TTL", "k") == b":-1\r\n"
    assert r("EXPIRE", "k", "10", "XX") == b":0\r\n"
    assert r("EXPIRE", "k", "10", "NX") == b":1\r\n"
    assert r("EXPIRE", "k", "20", "NX") == b":0\r\n"
    assert r("EXPIRE", "k", "5", "GT") == b":0\r\n"
    assert r("EXPIRE", "k", "50", "GT") == b":1\r\n"
    assert r("EXPIRE", "k", "60", "LT") == b":0\r\n"
    assert r("PEXPIRE", "k", "2500", "LT") == b":1\r\n"
    assert r("PTTL", "k") == b":2500\r\n"
    assert r("TTL", "k") == b":3\r\n"
    assert r("PERSIST", "k") == b":1\r\n"
    assert r("PERSIST", "k") == b":0\r\n"
    assert r("TTL", "k") == b":-1\r\n"
    assert r("EXPIRE", "k", "-1") == b":1\r\n"  # a past deadline deletes
    assert r("EXISTS", "k") == b":0\r\n"
    assert r("EXPIRE", "k", "abc") == err("ERR value is not an integer or out of range")
    r("SET", "k", "v")
    assert r("EXPIRE", "k", str(2**63 - 1)) == err("ERR invalid expire time in 'expire' command")
    assert r("PEXPIRE", "k", str(2**63 - 1)) == err("ERR invalid expire time in 'pexpire' command")
    assert r("EXPIRE", "k", "10", "NX", "XX") == err(
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    )
    assert r("EXPIRE", "k", "10", "GT", "LT") == err(
        "ERR GT and LT options at the same time are not compatible"
    )
    assert r("EXPIRE", "k", "10", "FOO") == err("ERR Unsupported option FOO")


def test_keys_and_flush(r: Server) -> None:
    r("MSET", "user:1", "a", "user:2", "b", "other", "c")
    r("SET", "user:3", "d", "PX", "10")
    r.clock.advance(1)
    assert sorted(r("KEYS", "user:*").split(b"\r\n")[2::2]) == [b"user:1", b"user:2"]
    assert r("KEYS", "*").startswith(b"*3\r\n")
    assert r("KEYS", "user:[^1]") == b"*1\r\n$6\r\nuser:2\r\n"
    assert r("KEYS", "nomatch*") == b"*0\r\n"
    assert r("FLUSHDB", "x") == err("ERR syntax error")
    assert r("FLUSHDB", "ASYNC") == b"+OK\r\n"
    assert r("DBSIZE") == b":0\r\n"
    r("SET", "a", "1")
    assert r("FLUSHALL") == b"+OK\r\n"
    assert r("DBSIZE") == b":0\r\n"


def test_select(r: Server) -> None:
    assert r("SELECT", "0") == b"+OK\r\n"
    assert r("SET", "k", "zero")
    assert r("SELECT", "15") == b"+OK\r\n"
    assert r("GET", "k") == b"$-1\r\n"  # another database
    assert r("SET", "k", "fifteen") == b"+OK\r\n"
    assert r("SELECT", "0") == b"+OK\r\n"
    assert r("GET", "k") == b"$4\r\nzero\r\n"
    assert r("SELECT", "16") == err("ERR DB index is out of range")
    assert r("SELECT", "-1") == err("ERR DB index is out of range")
    assert r("SELECT", "x") == err("ERR value is not an integer or out of range")


def test_quit_sets_the_close_flag(r: Server) -> None:
    assert r("QUIT") == b"+OK\r\n"
    assert quitting(r)


def test_hello(r: Server) -> None:
    reply = r("HELLO", "2")
    assert reply.startswith(b"*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert b"$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n" in reply
    assert r("HELLO").startswith(b"*14\r\n")
    assert r("HELLO", "4") == err("NOPROTO unsupported protocol version")
    assert r("HELLO", "x") == err("ERR Protocol version is not an integer or out of range")
    assert r("HELLO", "2", "SETNAME", "me").startswith(b"*14\r\n")
    assert r("CLIENT", "GETNAME") == b"$2\r\nme\r\n"
    assert r("HELLO", "2", "AUTH", "bob", "pw") == err(
        "WRONGPASS invalid username-password pair or user is disabled."
    )
    assert r("HELLO", "2", "FOO") == err("ERR Syntax error in HELLO option 'FOO'")


def test_auth_without_password(r: Server) -> None:
    assert r("AUTH", "pw") == err(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?"
    )
    assert r("AUTH", "default", "any") == b"+OK\r\n"


def test_client_names_and_id(r: Server) -> None:
    assert r("CLIENT", "GETNAME") == b"$-1\r\n"
    assert r("CLIENT", "SETNAME", "worker-1") == b"+OK\r\n"
    assert r("CLIENT", "GETNAME") == b"$8\r\nworker-1\r\n"
    assert r("CLIENT", "SETNAME", "a b") == err(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    assert r("CLIENT", "ID") == b":1\r\n"
    assert r("CLIENT", "SETNAME") == err(
        "ERR wrong number of arguments for 'client|setname' command"
    )
    assert r("CLIENT", "FOO") == err("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
    assert r("CLIENT", "SETINFO", "LIB-NAME", "redis-py") == b"+OK\r\n"
    assert r.session.lib_name == b"redis-py"


def test_client_list_and_info(r: Server) -> None:
    assert r("CLIENT", "LIST") == b"$%d\r\n%b\r\n" % (
        len(b"id=1 addr=127.0.0.1:5000 name=\nid=2 addr=127.0.0.1:5001 name=\n"),
        b"id=1 addr=127.0.0.1:5000 name=\nid=2 addr=127.0.0.1:5001 name=\n",
    )
    assert b"id=2 " in r("CLIENT", "LIST", "ID", "2")
    assert b"id=1 " not in r("CLIENT", "LIST", "ID", "2")
    assert r("CLIENT", "INFO") == b"$31\r\nid=1 addr=127.0.0.1:5000 name=\n\r\n"
    assert r.session.command == "client|info"


def test_client_kill(r: Server) -> None:
    assert r("CLIENT", "KILL", "1.2.3.4:5") == err("ERR No such client")
    assert r("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == b":0\r\n"
    assert r("CLIENT", "KILL", "ADDR", "127.0.0.1:5001") == b":1\r\n"
    assert r.host.killed == ["127.0.0.1:5001"]
    # the new form skips the caller unless SKIPME no
    assert r("CLIENT", "KILL", "ADDR", "127.0.0.1:5000") == b":0\r\n"
    assert not quitting(r)
    assert r("CLIENT", "KILL", "ID", "abc") == err("ERR client-id should be greater than 0")
    assert r("CLIENT", "KILL", "ADDR", "x", "ID") == err("ERR syntax error")
    assert r("CLIENT", "KILL", "FOO", "bar") == err("ERR syntax error")
    assert r("CLIENT", "KILL", "ADDR", "x", "SKIPME", "maybe") == err("ERR syntax error")
    assert r("CLIENT", "KILL", "ID", "1", "SKIPME", "no") == b":1\r\n"
    assert quitting(r)
    r.session.quit = False
    assert r("CLIENT", "KILL", "127.0.0.1:5000") == b"+OK\r\n"  # the old form kills itself too
    assert quitting(r)


def test_info_sections(r: Server) -> None:
    r("SET", "a", "1", "EX", "100")
    r("GET", "a")
    r("GET", "b")
    reply = r("INFO")
    body = reply.split(b"\r\n", 1)[1].decode()
    for title in ("# Server", "# Clients", "# Stats", "# Keyspace"):
        assert title in body
    assert "tcp_port:6379\r\n" in body
    assert "connected_clients:2\r\n" in body
    assert "keyspace_hits:1\r\nkeyspace_misses:1\r\n" in body
    assert "db0:keys=1,expires=1,avg_ttl=100000\r\n" in body
    only = r("INFO", "keyspace").decode()
    assert "# Keyspace" in only
    assert "# Server" not in only
    assert r("INFO", "nosuchsection") == b"$0\r\n\r\n"


def test_command_introspection(r: Server) -> None:
    count = int(r("COMMAND", "COUNT")[1:-2])
    assert count == len(r.commands.commands) > 30
    info = r("COMMAND", "INFO", "get", "nosuch")
    assert info.startswith(
        b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
    )
    assert info.endswith(b"*0\r\n$-1\r\n")  # a null bulk for the unknown command, as Redis
    docs = r("COMMAND", "DOCS", "set")
    assert docs.startswith(b"*2\r\n$3\r\nset\r\n*8\r\n$7\r\nsummary\r\n")
    assert r("COMMAND").startswith(b"*%d\r\n" % count)
    assert r("COMMAND", "FOO") == err("ERR unknown subcommand 'FOO'. Try COMMAND HELP.")


def test_config_get(r: Server) -> None:
    assert r("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    assert r("CONFIG", "GET", "appendonly") == b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
    assert r("CONFIG", "GET", "nosuch") == b"*0\r\n"


def test_error_replies_are_counted(r: Server) -> None:
    r("GET")
    r("nosuch")
    r("INCR", "x")
    r("SELECT", "16")
    assert r.commands.errors == 3  # arity, unknown command, SELECT 16
    assert r.commands.processed == 2
