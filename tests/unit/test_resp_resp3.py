"""RESP3 without sockets: the reply tables byte for byte, HELLO, and every reply decoded.

The decoder below is written from the RESP3 specification for these tests
only; it shares nothing with the encoder, so a round trip checks both.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.resp.replies import RESP2, RESP3, Reply, Verbatim, encode_reply
from tests.unit.test_resp_commands import Server, err


class Decoder:
    """Decode exactly one RESP2/RESP3 value from ``wire``; :attr:`pos` is where it ended."""

    def __init__(self, wire: bytes) -> None:
        self.wire = wire
        self.pos = 0

    def _line(self) -> bytes:
        end = self.wire.index(b"\r\n", self.pos)
        line = self.wire[self.pos : end]
        self.pos = end + 2
        return line

    def _blob(self, size: int) -> bytes:
        data = self.wire[self.pos : self.pos + size]
        assert len(data) == size, "truncated blob"
        assert self.wire[self.pos + size : self.pos + size + 2] == b"\r\n", "blob without CRLF"
        self.pos += size + 2
        return data

    def value(self) -> object:  # noqa: PLR0911 (one return per type byte)
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return ("error", rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"_":
            assert rest == b""
            return None
        if kind == b"$":
            size = int(rest)
            return None if size == -1 else self._blob(size)
        if kind == b"=":
            data = self._blob(int(rest))
            assert data[3:4] == b":", "verbatim without a format"
            assert data[:3] == b"txt"
            return Verbatim(data[4:])
        if kind == b"*":
            size = int(rest)
            return None if size == -1 else [self.value() for _ in range(size)]
        if kind == b"~":
            return frozenset(self.value() for _ in range(int(rest)))
        if kind == b"%":
            pairs = int(rest)
            out: dict[object, object] = {}
            for _ in range(pairs):
                key = self.value()
                out[key] = self.value()
            assert len(out) == pairs, "duplicate map keys"
            return out
        raise AssertionError(f"unknown type byte {kind!r} in {self.wire!r}")


def decode(wire: bytes) -> object:
    """The one value ``wire`` holds; fails on trailing bytes."""
    decoder = Decoder(wire)
    value = decoder.value()
    assert decoder.pos == len(wire), f"trailing bytes after one reply: {wire[decoder.pos :]!r}"
    return value


def as_resp2(value: object) -> object:
    """What RESP2 sends for a RESP3 value: maps flatten, sets become arrays, verbatim is bulk."""
    if isinstance(value, Verbatim):
        return bytes(value)
    if isinstance(value, dict):
        return [as_resp2(x) for pair in value.items() for x in pair]
    if isinstance(value, frozenset):
        return sorted((as_resp2(x) for x in value), key=repr)
    if isinstance(value, list):
        return [as_resp2(x) for x in value]
    return value


def canon(value: object) -> object:
    """Sort the arrays of simple strings (COMMAND INFO's flags, sets in RESP3)."""
    if isinstance(value, list):
        items = [canon(x) for x in value]
        if items and all(isinstance(x, str) for x in items):
            return sorted(items, key=repr)
        return items
    return value


def resp3(r: Server) -> Server:
    assert r("HELLO", "3").startswith(b"%7\r\n")
    return r


@pytest.fixture
def r() -> Server:
    return Server()


# -- the tables ---------------------------------------------------------------------


def test_tables_byte_for_byte() -> None:
    assert (RESP2.null, RESP2.null_array) == (b"$-1\r\n", b"*-1\r\n")
    assert (RESP3.null, RESP3.null_array) == (b"_\r\n", b"_\r\n")
    pair = [b"$1\r\na\r\n", b":1\r\n"]
    assert RESP2.map(pair) == b"*2\r\n$1\r\na\r\n:1\r\n"
    assert RESP3.map(pair) == b"%1\r\n$1\r\na\r\n:1\r\n"
    assert RESP2.map([]) == b"*0\r\n"
    assert RESP3.map([]) == b"%0\r\n"
    assert RESP2.set([b"+x\r\n"]) == b"*1\r\n+x\r\n"
    assert RESP3.set([b"+x\r\n"]) == b"~1\r\n+x\r\n"
    assert RESP2.verbatim(b"a\r\nb") == b"$4\r\na\r\nb\r\n"
    assert RESP3.verbatim(b"a\r\nb") == b"=8\r\ntxt:a\r\nb\r\n"
    assert RESP3.verbatim(b"") == b"=4\r\ntxt:\r\n"


def test_encode_reply_byte_for_byte() -> None:
    value: Reply = {b"k": [1, None, "OK", Verbatim(b"t")], b"s": frozenset([b"x"])}
    assert encode_reply(value, RESP3) == (
        b"%2\r\n$1\r\nk\r\n*4\r\n:1\r\n_\r\n+OK\r\n=5\r\ntxt:t\r\n$1\r\ns\r\n~1\r\n$1\r\nx\r\n"
    )
    assert encode_reply(value, RESP2) == (
        b"*4\r\n$1\r\nk\r\n*4\r\n:1\r\n$-1\r\n+OK\r\n$1\r\nt\r\n$1\r\ns\r\n*1\r\n$1\r\nx\r\n"
    )
    assert encode_reply(-7) == b":-7\r\n"
    assert encode_reply(()) == b"*0\r\n"
    with pytest.raises(ValueError, match="CR or LF"):
        encode_reply("a\r\nb")


# -- round trips --------------------------------------------------------------------

keys = st.one_of(
    st.binary(max_size=16),
    st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=8),
)
scalars = st.one_of(st.none(), keys, st.binary(max_size=32).map(Verbatim))
replies = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(keys, inner, max_size=5),
        st.frozensets(keys, max_size=5),
    ),
    max_leaves=25,
)


def expected_resp3(value: object) -> object:
    """What the decoder returns for ``value``: tuples are arrays, the rest as given."""
    if isinstance(value, tuple | list):
        return [expected_resp3(x) for x in value]
    if isinstance(value, dict):
        return {k: expected_resp3(v) for k, v in value.items()}
    return value


@given(replies)
def test_any_reply_round_trips_in_resp3(value: Reply) -> None:
    decoded = decode(encode_reply(value, RESP3))
    assert decoded == expected_resp3(value)
    assert type(decoded) is type(expected_resp3(value))


@given(replies)
def test_resp2_is_the_resp3_value_flattened(value: Reply) -> None:
    wire = encode_reply(value, RESP2)
    assert not any(wire.startswith(kind) for kind in (b"_", b"%", b"~", b"="))
    got = decode(wire)
    assert flatten_sets(got, value) == as_resp2(expected_resp3(value))


def flatten_sets(got: object, value: object) -> object:
    """Sort the RESP2 arrays that stand for sets, walking ``value`` alongside."""
    if isinstance(value, frozenset):
        assert isinstance(got, list)
        return sorted(got, key=repr)
    if isinstance(value, dict):
        assert isinstance(got, list)
        out: list[object] = []
        for i, item in enumerate(value.values()):
            out += [got[2 * i], flatten_sets(got[2 * i + 1], item)]
        return out
    if isinstance(value, list | tuple):
        assert isinstance(got, list)
        return [flatten_sets(g, v) for g, v in zip(got, value, strict=True)]
    return got


# -- HELLO --------------------------------------------------------------------------


def hello_map(proto: int, ident: int = 1) -> dict[object, object]:
    return {
        b"server": b"redis",
        b"version": b"7.0.15",
        b"proto": proto,
        b"id": ident,
        b"mode": b"standalone",
        b"role": b"master",
        b"modules": [],
    }


WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
BAD_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_hello_3_switches_and_answers_a_map(r: Server) -> None:
    reply = r("HELLO", "3")
    assert reply == (
        b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
        b"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
        b"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    assert r.session.resp is RESP3
    assert r("GET", "nokey") == b"_\r\n"
    assert decode(r("HELLO")) == hello_map(3)  # no version: the current protocol's map
    assert r.session.resp is RESP3
    assert decode(r("HELLO", "2")) == as_resp2(hello_map(2))
    assert r("HELLO", "2").startswith(b"*14\r\n")
    assert r.session.resp is RESP2
    assert r("GET", "nokey") == b"$-1\r\n"


@pytest.mark.parametrize("version", ["0", "1", "4", "-3"])
def test_hello_other_versions_are_refused(r: Server, version: str) -> None:
    assert r("HELLO", version) == err("NOPROTO unsupported protocol version")
    assert r.session.resp is RESP2


def test_hello_options(r: Server) -> None:
    reply = r("HELLO", "3", "AUTH", "default", "any", "SETNAME", "me")
    assert decode(reply) == hello_map(3)
    assert r("CLIENT", "GETNAME") == b"$2\r\nme\r\n"
    assert decode(r("hello", "2", "setname", "you", "auth", "default", "x")) == as_resp2(
        hello_map(2)
    )
    assert r("CLIENT", "GETNAME") == b"$3\r\nyou\r\n"


@pytest.mark.parametrize(
    ("words", "error"),
    [
        (("x",), "ERR Protocol version is not an integer or out of range"),
        (("3", "AUTH", "default"), "ERR Syntax error in HELLO option 'AUTH'"),
        (("3", "SETNAME"), "ERR Syntax error in HELLO option 'SETNAME'"),
        (("3", "FOO"), "ERR Syntax error in HELLO option 'FOO'"),
        (("3", "AUTH", "bob", "pw"), WRONGPASS),
        # options act in order, as in Redis 7.0: the first bad one answers
        (("3", "AUTH", "bob", "pw", "FOO"), WRONGPASS),
        (("3", "FOO", "AUTH", "bob", "pw"), "ERR Syntax error in HELLO option 'FOO'"),
        (("3", "SETNAME", "a b", "FOO"), BAD_NAME),
    ],
)  # fmt: skip
def test_hello_errors_keep_the_protocol(r: Server, words: tuple[str, ...], error: str) -> None:
    assert r("HELLO", *words) == err(error)
    assert r.session.resp is RESP2
    assert r("GET", "nokey") == b"$-1\r\n"
    resp3(r)
    assert r("HELLO", *words) == err(error)  # errors are the same bytes in RESP3
    assert r.session.resp is RESP3


def test_hello_setname_before_a_bad_option_stays(r: Server) -> None:
    assert r("HELLO", "3", "SETNAME", "ok", "FOO") == err("ERR Syntax error in HELLO option 'FOO'")
    assert r.session.resp is RESP2
    assert r("CLIENT", "GETNAME") == b"$2\r\nok\r\n"


# -- command replies in RESP3 ------------------------------------------------------------


def test_nulls(r: Server) -> None:
    resp3(r)
    r("SET", "a", "1")
    assert r("GET", "nokey") == b"_\r\n"
    assert r("GETDEL", "nokey") == b"_\r\n"
    assert r("MGET", "a", "nokey") == b"*2\r\n$1\r\n1\r\n_\r\n"
    assert r("SET", "a", "2", "NX") == b"_\r\n"
    assert r("SET", "new", "2", "XX") == b"_\r\n"
    assert r("SET", "new", "2", "XX", "GET") == b"_\r\n"
    assert r("SET", "fresh", "2", "GET") == b"_\r\n"
    assert r("SET", "a", "3", "NX", "GET") == b"$1\r\n1\r\n"
    assert r("LPOP", "nolist") == b"_\r\n"
    assert r("RPOP", "nolist", "2") == b"_\r\n"
    assert r("CLIENT", "GETNAME") == b"_\r\n"


def test_unchanged_types(r: Server) -> None:
    resp3(r)
    assert r("PING") == b"+PONG\r\n"
    assert r("SET", "a", "1") == b"+OK\r\n"
    assert r("INCR", "a") == b":2\r\n"
    assert r("GET", "a") == b"$1\r\n2\r\n"
    assert r("TYPE", "a") == b"+string\r\n"
    assert r("KEYS", "*") == b"*1\r\n$1\r\na\r\n"  # an array in Redis, not a set
    assert r("RPUSH", "l", "x", "y") == b":2\r\n"
    assert r("LRANGE", "l", "0", "-1") == b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
    assert r("LPOP", "l", "1") == b"*1\r\n$1\r\nx\r\n"
    assert r("GET", "l") == err(WRONGTYPE)
    assert r("TTL", "a") == b":-1\r\n"


def test_maps(r: Server) -> None:
    resp3(r)
    assert r("CONFIG", "GET", "save") == b"%1\r\n$4\r\nsave\r\n$0\r\n\r\n"
    assert r("CONFIG", "GET", "nosuch") == b"%0\r\n"
    assert decode(r("CONFIG", "GET", "save", "appendonly")) == {b"save": b"", b"appendonly": b"no"}
    assert decode(r("COMMAND", "DOCS", "get")) == {
        b"get": {
            b"summary": b"Get the value of a key",
            b"since": b"1.0.0",
            b"group": b"string",
            b"complexity": b"O(1)",
        }
    }
    assert r("COMMAND", "DOCS", "nosuch") == b"%0\r\n"


def test_verbatim_text(r: Server) -> None:
    resp3(r)
    line = b"id=1 addr=127.0.0.1:5000 name=\n"
    assert r("CLIENT", "INFO") == b"=%d\r\ntxt:%b\r\n" % (len(line) + 4, line)
    assert decode(r("CLIENT", "LIST")) == Verbatim(line + b"id=2 addr=127.0.0.1:5001 name=\n")
    assert r("CLIENT", "LIST", "ID", "99") == b"=4\r\ntxt:\r\n"
    assert r("CLIENT", "LIST", "TYPE", "pubsub") == b"=4\r\ntxt:\r\n"
    info = decode(r("INFO", "keyspace"))
    assert info == Verbatim(b"# Keyspace\r\n")
    assert r("INFO", "nosuchsection") == b"=4\r\ntxt:\r\n"


def test_command_info_sets(r: Server) -> None:
    resp3(r)
    reply = r("COMMAND", "INFO", "get", "nosuch")
    assert reply == (
        b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        b"~1\r\n+@string\r\n~0\r\n~0\r\n~0\r\n_\r\n"
    )
    entries = decode(r("COMMAND"))
    assert isinstance(entries, list)
    assert len(entries) == len(r.commands.commands)


# -- every command, both versions ---------------------------------------------------------

WORDS = st.sampled_from([b"a", b"b", b"l", b"1", b"-1", b"0", b"10", b"x y", b"*", b"NX"])
COMMANDS = st.one_of(
    st.tuples(
        st.sampled_from(
            [b"GET", b"GETDEL", b"STRLEN", b"INCR", b"TTL", b"PTTL", b"TYPE", b"LLEN", b"PERSIST",
             b"KEYS", b"LPOP", b"RPOP", b"EXISTS", b"DEL", b"MGET"]
        ),
        WORDS,
    ),
    st.tuples(st.sampled_from([b"SET", b"APPEND", b"RPUSH", b"LPUSH", b"EXPIRE", b"MSET",
                               b"INCRBY", b"LPOP", b"MGET"]), WORDS, WORDS),
    st.tuples(st.sampled_from([b"SET", b"LRANGE", b"MSET", b"PEXPIRE"]), WORDS, WORDS, WORDS),
    st.tuples(st.just(b"SET"), WORDS, WORDS, st.sampled_from([b"NX", b"XX", b"GET", b"KEEPTTL"])),
    st.sampled_from(
        [(b"CONFIG", b"GET", b"*"), (b"CLIENT", b"GETNAME"), (b"CLIENT", b"SETNAME", b"n"),
         (b"CLIENT", b"INFO"), (b"CLIENT", b"LIST"), (b"INFO",), (b"COMMAND", b"INFO", b"get"),
         (b"COMMAND", b"DOCS", b"set"), (b"DBSIZE",), (b"HELLO",), (b"PING",), (b"NOSUCH",)]
    ),
)  # fmt: skip


@given(st.lists(COMMANDS, max_size=30))
def test_resp3_replies_are_the_resp2_replies_reshaped(commands: list[tuple[bytes, ...]]) -> None:
    two, three = Server(), resp3(Server())
    for words in commands:
        got2 = decode(two(*words))
        got3 = decode(three(*words))
        if words == (b"HELLO",):
            assert got3 == hello_map(3)
            assert got2 == as_resp2(hello_map(2))
        elif words[0] == b"INFO":  # uptime and counters may differ; the shape may not
            assert isinstance(got3, Verbatim)
            assert type(got2) is bytes
        elif words[:2] == (b"COMMAND", b"INFO"):
            assert isinstance(got2, list)
            assert isinstance(got3, list)
            assert canon(got2) == canon(as_resp2(got3))
        else:
            assert got2 == as_resp2(got3), words
