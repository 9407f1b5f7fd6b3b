"""String, bit and key commands added for Redis's own tests, without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.resp.commands import TABLE
from protocols.resp.strings import format_float, parse_float
from tests.unit.test_resp_commands import EPOCH, Server, err

INVALID = "ERR invalid expire time in '%s' command"


@pytest.fixture
def r() -> Server:
    return Server()


def now_ms(r: Server) -> int:
    """The server's now in Unix milliseconds: the fake clock plus the epoch."""
    return int((r.clock() + EPOCH) * 1000)


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(value), value)


def test_one_table_one_layout(r: Server) -> None:
    names = [spec.name for spec in TABLE]
    assert len(names) == len(set(names))
    assert list(r.commands.commands) == names  # every row registered, in order
    for spec in TABLE:
        assert len(spec) == 8
        assert r.commands.commands[spec.name].group == spec.group


def test_setnx_setex_psetex(r: Server) -> None:
    assert r("SETNX", "k", "1") == b":1\r\n"
    assert r("SETNX", "k", "2") == b":0\r\n"
    assert r("GET", "k") == bulk(b"1")
    assert r("SETEX", "k", "10", "v") == b"+OK\r\n"
    assert r("PTTL", "k") == b":10000\r\n"
    assert r("PSETEX", "k", "1500", "v") == b"+OK\r\n"
    assert r("PTTL", "k") == b":1500\r\n"
    assert r("SETEX", "k", "0", "v") == err(INVALID % "setex")
    assert r("PSETEX", "k", "-1", "v") == err(INVALID % "psetex")
    assert r("SETEX", "k", "x", "v") == err("ERR value is not an integer or out of range")
    assert r("SETEX", "k", str(2**62), "v") == err(INVALID % "setex")
    r.clock.advance(2)
    assert r("SETNX", "k", "again") == b":1\r\n"  # the expired key counts as missing


def test_set_exat_pxat_and_repeated_options(r: Server) -> None:
    assert r("SET", "k", "v", "EXAT", str(now_ms(r) // 1000 + 100)) == b"+OK\r\n"
    assert r("TTL", "k") == b":100\r\n"
    assert r("SET", "k", "v", "PXAT", str(now_ms(r) + 2500)) == b"+OK\r\n"
    assert r("PTTL", "k") == b":2500\r\n"
    assert r("SET", "k", "v", "EX", "10", "EX", "20") == b"+OK\r\n"  # the last one wins
    assert r("TTL", "k") == b":20\r\n"
    assert r("SET", "k", "v", "NX", "NX") == b"$-1\r\n"
    assert r("SET", "k", "v", "EX", "10", "PX", "20") == err("ERR syntax error")
    assert r("SET", "k", "v", "KEEPTTL", "EXAT", "1") == err("ERR syntax error")
    assert r("SET", "k", "v", "PXAT", "0") == err(INVALID % "set")
    assert r("SET", "k", "v", "GET", "EX", "5") == bulk(b"v")
    assert r("SET", "k", "v", "PXAT", str(now_ms(r) - 1)) == b"+OK\r\n"  # already past
    assert r("GET", "k") == b"$-1\r\n"


def test_getex(r: Server) -> None:
    assert r("GETEX", "nosuch") == b"$-1\r\n"
    r("SET", "k", "v")
    assert r("GETEX", "k", "EX", "10") == bulk(b"v")
    assert r("TTL", "k") == b":10\r\n"
    assert r("GETEX", "k", "PXAT", str(now_ms(r) + 500)) == bulk(b"v")
    assert r("PTTL", "k") == b":500\r\n"
    assert r("GETEX", "k", "PERSIST") == bulk(b"v")
    assert r("TTL", "k") == b":-1\r\n"
    assert r("GETEX", "k") == bulk(b"v")
    assert r("GETEX", "k", "EX", "10", "PERSIST") == err("ERR syntax error")
    assert r("GETEX", "k", "NX") == err("ERR syntax error")
    assert r("GETEX", "k", "EX", str(2**63 // 1000 + 1)) == err(INVALID % "getex")
    assert r("GETEX", "k", "EXAT", str(now_ms(r) // 1000 - 1)) == bulk(b"v")  # past: deleted
    assert r("EXISTS", "k") == b":0\r\n"
    r("RPUSH", "l", "x")
    assert r("GETEX", "l") == err(
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    )


def test_getset_msetnx(r: Server) -> None:
    assert r("GETSET", "k", "1") == b"$-1\r\n"
    r("EXPIRE", "k", "100")
    assert r("GETSET", "k", "2") == bulk(b"1")
    assert r("TTL", "k") == b":-1\r\n"  # GETSET clears the TTL
    assert r("MSETNX", "a", "1", "k", "3") == b":0\r\n"
    assert r("EXISTS", "a") == b":0\r\n"
    assert r("MSETNX", "a", "1", "b", "2") == b":1\r\n"
    assert r("MSETNX", "a", "1", "b") == err("ERR wrong number of arguments for 'msetnx' command")


@pytest.mark.parametrize(
    ("start", "incr", "want"),
    [
        (None, "1", b"1"),
        ("1", "0.25", b"1.25"),
        ("1.5", "1.5", b"3"),
        ("17179869184", "1.5", b"17179869185.5"),
        ("17179869184", "17179869184", b"34359738368"),
        ("0", "5.0e3", b"5000"),
    ],
)
def test_incrbyfloat(r: Server, start: str | None, incr: str, want: bytes) -> None:
    if start is not None:
        r("SET", "k", start)
    assert r("INCRBYFLOAT", "k", incr) == bulk(want)
    assert r("GET", "k") == bulk(want)


def test_incrbyfloat_errors(r: Server) -> None:
    for bad in (" 11", "11 ", " 11 ", "1_0", "nan", "abc", ""):
        r("SET", "k", bad)
        assert r("INCRBYFLOAT", "k", "1") == err("ERR value is not a valid float"), bad
    r("SET", "k", "1")
    assert r("INCRBYFLOAT", "k", "+inf") == err("ERR increment would produce NaN or Infinity")
    assert r("INCRBYFLOAT", "k", "x") == err("ERR value is not a valid float")
    r("SET", "k", "1\x002")
    assert r("INCRBYFLOAT", "k", "1") == err("ERR value is not a valid float")
    r("DEL", "k")
    r("INCRBYFLOAT", "k", repr(1 / 41))
    assert r("INCRBYFLOAT", "k", repr(-1 / 41)) == bulk(b"0")  # never -0


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_float_round_trips(value: float) -> None:
    text = format_float(value)
    assert b"e" not in text and text != b"-0"  # fixed notation, no negative zero
    assert parse_float(text) == (value if value != 0 else 0.0)


def test_getrange_setrange(r: Server) -> None:
    assert r("GETRANGE", "k", "0", "-1") == b"$0\r\n\r\n"
    r("SET", "k", "Hello World")
    assert r("GETRANGE", "k", "0", "3") == bulk(b"Hell")
    assert r("GETRANGE", "k", "-3", "-1") == bulk(b"rld")
    assert r("GETRANGE", "k", "5", "3") == b"$0\r\n\r\n"
    assert r("GETRANGE", "k", "-1", "-5") == b"$0\r\n\r\n"
    assert r("GETRANGE", "k", "0", str(2**63 - 1)) == bulk(b"Hello World")
    assert r("SETRANGE", "k", "6", "Redis") == b":11\r\n"
    assert r("GET", "k") == bulk(b"Hello Redis")
    assert r("SETRANGE", "new", "3", "ab") == b":5\r\n"
    assert r("GET", "new") == bulk(b"\x00\x00\x00ab")
    assert r("SETRANGE", "none", "3", "") == b":0\r\n"
    assert r("EXISTS", "none") == b":0\r\n"
    assert r("SETRANGE", "k", "-1", "x") == err("ERR offset is out of range")
    big = str(512 * 1024 * 1024)
    assert r("SETRANGE", "k", big, "x") == err(
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    )


def test_setbit_getbit_bitcount(r: Server) -> None:
    r("SET", "k", "1")  # 0b00110001
    assert r("SETBIT", "k", "6", "1") == b":0\r\n"
    assert r("GET", "k") == bulk(b"3")
    assert r("SETBIT", "k", "2", "0") == b":1\r\n"
    assert r("GETBIT", "k", "3") == b":1\r\n"
    assert r("GETBIT", "k", "100") == b":0\r\n"
    assert r("SETBIT", "n", "15", "1") == b":0\r\n"
    assert r("GET", "n") == bulk(b"\x00\x01")
    assert r("SETBIT", "k", "0", "2") == err("ERR bit is not an integer or out of range")
    assert r("SETBIT", "k", "-1", "1") == err("ERR bit offset is not an integer or out of range")
    assert r("SETBIT", "k", str(4 * 1024 * 1024 * 1024), "1") == err(
        "ERR bit offset is not an integer or out of range"
    )
    r("SET", "b", "foobar")
    assert r("BITCOUNT", "b") == b":26\r\n"
    assert r("BITCOUNT", "b", "1", "1") == b":6\r\n"
    assert r("BITCOUNT", "b", "5", "30", "BIT") == b":17\r\n"
    assert r("BITCOUNT", "b", "1") == err("ERR syntax error")
    assert r("BITCOUNT", "nosuch") == b":0\r\n"


def test_lcs(r: Server) -> None:
    r("MSET", "a", "ohmytext", "b", "mynewtext")
    assert r("LCS", "a", "b") == bulk(b"mytext")
    assert r("LCS", "a", "b", "LEN") == b":6\r\n"
    assert r("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == (
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"$3\r\nlen\r\n:6\r\n"
    )
    assert r("LCS", "a", "b", "IDX") == (
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    )
    assert r("LCS", "a", "b", "LEN", "IDX") == err(
        "ERR If you want both the length and indexes, please just use IDX."
    )
    r("RPUSH", "l", "x")
    assert r("LCS", "a", "l") == err("ERR The specified keys must contain string values")


def test_expire_range_checks_round_as_redis(r: Server) -> None:
    r("SET", "k", "v")
    # LLONG_MIN / 1000 truncates towards zero in C: -9223372036854775 is the lowest.
    assert r("EXPIRE", "k", "-9223372036854776") == err(INVALID % "expire")
    assert r("EXISTS", "k") == b":1\r\n"
    # The base time is Unix milliseconds, so this overflows (it would not on
    # a monotonic clock near zero).
    assert r("EXPIRE", "k", "9223370399119966") == err(INVALID % "expire")
    assert r("EXPIRE", "k", "9223372036854770") == err(INVALID % "expire")
    assert r("PEXPIRE", "k", str(2**63 - 1)) == err(INVALID % "pexpire")
    assert r("EXISTS", "k") == b":1\r\n"
    assert r("EXPIRE", "k", "-9223372036854775") == b":1\r\n"  # in range: past, deleted
    assert r("EXISTS", "k") == b":0\r\n"


def test_expireat_and_expiretime(r: Server) -> None:
    r("SET", "k", "v")
    assert r("EXPIRETIME", "k") == b":-1\r\n"
    assert r("PEXPIRETIME", "nosuch") == b":-2\r\n"
    assert r("EXPIREAT", "k", str(now_ms(r) // 1000 + 100)) == b":1\r\n"
    assert r("EXPIRETIME", "k") == b":%d\r\n" % (now_ms(r) // 1000 + 100)
    assert r("PEXPIREAT", "k", str(now_ms(r) + 1234)) == b":1\r\n"
    assert r("PEXPIRETIME", "k") == b":%d\r\n" % (now_ms(r) + 1234)
    assert r("PEXPIREAT", "k", str(now_ms(r) + 5000), "LT") == b":0\r\n"
    assert r("PEXPIREAT", "k", str(2**63 - 1)) == b":1\r\n"  # absolute: no base added
    assert r("PEXPIREAT", "k", str(-(2**63))) == b":1\r\n"  # in the past: deleted
    assert r("EXISTS", "k") == b":0\r\n"


def test_rename_copy_move_randomkey(r: Server) -> None:
    assert r("RANDOMKEY") == b"$-1\r\n"
    assert r("RENAME", "nosuch", "x") == err("ERR no such key")
    r("SET", "a", "1")
    r("EXPIRE", "a", "100")
    assert r("RANDOMKEY") == bulk(b"a")
    assert r("RENAME", "a", "b") == b"+OK\r\n"
    assert r("TTL", "b") == b":100\r\n"  # the TTL moves with the value
    assert r("RENAME", "b", "b") == b"+OK\r\n"
    r("SET", "c", "3")
    assert r("RENAMENX", "b", "c") == b":0\r\n"
    assert r("RENAMENX", "b", "d") == b":1\r\n"
    assert r("COPY", "d", "c") == b":0\r\n"
    assert r("COPY", "d", "c", "REPLACE") == b":1\r\n"
    assert r("GET", "c") == bulk(b"1")
    assert r("COPY", "d", "d") == err("ERR source and destination objects are the same")
    assert r("COPY", "d", "d", "DB", "3") == b":1\r\n"
    assert r("COPY", "d", "x", "DB", "16") == err("ERR DB index is out of range")
    r("RPUSH", "l", "x")
    assert r("COPY", "l", "l2") == b":1\r\n"
    r("RPUSH", "l", "y")
    assert r("LLEN", "l2") == b":1\r\n"  # a copy, not the same list
    assert r("MOVE", "c", "1") == b":1\r\n"
    assert r("EXISTS", "c") == b":0\r\n"
    r("SELECT", "1")
    assert r("GET", "c") == bulk(b"1")
    assert r("MOVE", "c", "1") == err("ERR source and destination objects are the same")


def test_flushall_swapdb_and_keyspace_info(r: Server) -> None:
    r("SET", "a", "1")
    r("SELECT", "9")
    r("SET", "b", "2")
    info = r("INFO", "keyspace")
    assert b"db0:keys=1,expires=0" in info and b"db9:keys=1,expires=0" in info
    assert r("SWAPDB", "0", "9") == b"+OK\r\n"
    assert r("GET", "a") == bulk(b"1")  # this session's database is now the old db0
    assert r("SWAPDB", "0", "x") == err("ERR invalid second DB index")
    assert r("FLUSHALL") == b"+OK\r\n"
    assert r("DBSIZE") == b":0\r\n"
    r("SELECT", "0")
    assert r("DBSIZE") == b":0\r\n"


def test_info_sections_and_hits_for_every_read(r: Server) -> None:
    r("SET", "a", "1")
    for words in (("STRLEN", "a"), ("EXISTS", "a"), ("TTL", "nosuch"), ("GETRANGE", "a", 0, 1)):
        r(*words)
    info = r("INFO").decode()
    assert "keyspace_hits:3" in info and "keyspace_misses:1" in info
    for section in ("# Memory", "# CPU", "used_memory:", "used_cpu_user:"):
        assert section in info
    assert "# Commandstats" not in info  # not a default section, as in Redis
    stats = r("INFO", "commandstats").decode()
    assert "cmdstat_set:calls=1," in stats and "cmdstat_strlen:calls=1," in stats


def test_time_function_config_set(r: Server) -> None:
    seconds = now_ms(r) // 1000
    assert r("TIME").startswith(b"*2\r\n$10\r\n%d\r\n$" % seconds)
    assert r("FUNCTION", "FLUSH") == b"+OK\r\n"
    assert r("FUNCTION", "LIST") == b"*0\r\n"
    assert r("CONFIG", "SET", "appendonly", "no", "save", "") == b"+OK\r\n"
    assert r("CONFIG", "SET", "appendonly", "yes").startswith(
        b"-ERR CONFIG SET failed (possibly related to argument 'appendonly')"
    )
    assert r("CONFIG", "SET", "nosuch", "1") == err(
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    )
    assert r("CONFIG", "SET", "hz", "50") == b"+OK\r\n"
    assert r.host.configured[-1] == ("hz", "50")
    assert r("CONFIG", "GET", "hz") == b"*2\r\n$2\r\nhz\r\n$2\r\n50\r\n"
    assert r("CONFIG", "SET", "timeout", "refuse").startswith(b"-ERR CONFIG SET failed")
    assert r("CONFIG", "SET", "hz") == err(
        "ERR wrong number of arguments for 'config|set' command"
    )


def test_client_kill_user(r: Server) -> None:
    assert r("CLIENT", "KILL", "USER", "nobody") == err("ERR No such user 'nobody'")
    assert r("CLIENT", "KILL", "USER", "default", "SKIPME", "yes") == b":1\r\n"


def test_command_info_unknown_is_a_null_bulk(r: Server) -> None:
    assert r("COMMAND", "INFO", "nosuch") == b"*1\r\n$-1\r\n"
