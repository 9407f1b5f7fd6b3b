"""The RESP2 request parser and reply encoder, without sockets."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.resp.parser import (
    RequestParser,
    RespProtocolError,
    encode_array,
    encode_bulk,
    encode_command,
    encode_error,
    encode_integer,
    encode_simple,
    split_inline,
)
from reactor.protocol import ProtocolError


def parse_whole(wire: bytes, **limits: int) -> list[list[bytes]]:
    return RequestParser(**limits).commands(wire)


def parse_bytewise(wire: bytes, **limits: int) -> list[list[bytes]]:
    parser = RequestParser(**limits)
    out: list[list[bytes]] = []
    for i in range(len(wire)):
        out += parser.commands(wire[i : i + 1])
    return out


def split_at(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(cuts), len(wire)]
    return [wire[a:b] for a, b in itertools.pairwise(points)]


# -- arrays of bulk strings ------------------------------------------------------


def test_array_whole_and_bytewise() -> None:
    wire = b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
    expected = [[b"GET", b"a"], [b"SET", b"k", b""]]
    assert parse_whole(wire) == expected
    assert parse_bytewise(wire) == expected


def test_arguments_are_bytes_not_views() -> None:
    (command,) = parse_whole(b"*1\r\n$4\r\nPING\r\n")
    assert all(type(arg) is bytes for arg in command)


def test_binary_bulk_with_crlf_inside() -> None:
    payload = b"\r\n\x00*$\r\n"
    assert parse_whole(encode_command(b"SET", b"k", payload)) == [[b"SET", b"k", payload]]


def test_trailing_partial_command_waits() -> None:
    parser = RequestParser()
    assert parser.commands(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r") == [[b"PING"]]
    assert parser.buffered == len(b"$1\r")  # GET is already parsed and held
    assert parser.commands(b"\na\r\n") == [[b"GET", b"a"]]
    assert parser.buffered == 0


def test_empty_and_null_arrays_are_skipped() -> None:
    assert parse_whole(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"]]


def test_next_command_one_at_a_time() -> None:
    parser = RequestParser()
    parser.feed(encode_command("A") + encode_command("B") + encode_command("C"))
    assert parser.next_command() == [b"A"]
    assert parser.next_command() == [b"B"]
    assert parser.next_command() == [b"C"]
    assert parser.next_command() is None


def test_large_bulk_in_many_chunks() -> None:
    value = bytes(range(256)) * 4096  # 1 MiB
    wire = encode_command(b"SET", b"big", value)
    parser = RequestParser()
    got: list[list[bytes]] = []
    for i in range(0, len(wire), 1000):
        got += parser.commands(wire[i : i + 1000])
    assert got == [[b"SET", b"big", value]]
    assert parser.buffered == 0


# -- inline commands ------------------------------------------------------------


def test_inline_commands() -> None:
    wire = b"PING\r\nSET a  1\r\n\r\n  GET a\nECHO\t x \r\n"
    expected = [[b"PING"], [b"SET", b"a", b"1"], [b"GET", b"a"], [b"ECHO", b"x"]]
    assert parse_whole(wire) == expected
    assert parse_bytewise(wire) == expected


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'SET "a b" c', [b"SET", b"a b", b"c"]),
        (b'ECHO "a\\x41\\n\\t\\"q"', [b"ECHO", b'aA\n\t"q']),
        (b"ECHO 'it\\'s' x", [b"ECHO", b"it's", b"x"]),
        (b"ECHO 'a\\nb'", [b"ECHO", b"a\\nb"]),
        (b'ECHO "\\xZZ"', [b"ECHO", b"xZZ"]),
        (b'ECHO ""', [b"ECHO", b""]),
        (b'ECHO a"b c"', [b"ECHO", b"ab c"]),
    ],
)
def test_inline_quoting(line: bytes, words: list[bytes]) -> None:
    assert split_inline(line) == words
    assert parse_whole(line + b"\r\n") == [words]


@pytest.mark.parametrize("line", [b'GET "a', b"GET 'a", b'GET "a"b', b"GET 'a'b"])
def test_inline_unbalanced_quotes(line: bytes) -> None:
    with pytest.raises(RespProtocolError, match=r"^Protocol error: unbalanced quotes in request$"):
        parse_whole(line + b"\r\n")


# -- errors, with Redis's texts ---------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"*1\r\nx\r\n", "expected '$', got 'x'"),
        (b"*2\r\n$3\r\nget\r\n:1\r\n", "expected '$', got ':'"),
        (b"*abc\r\n", "invalid multibulk length"),
        (b"*01\r\n", "invalid multibulk length"),
        (b"*+1\r\n", "invalid multibulk length"),
        (b"*1 \r\n", "invalid multibulk length"),
        (b"*3000000000\r\n", "invalid multibulk length"),
        (b"*1\r\n$abc\r\n", "invalid bulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$01\r\nP\r\n", "invalid bulk length"),
        (b"*1\r\n$600000000\r\n", "invalid bulk length"),
        (b"*1\r\n$4\nPING\r\n", "invalid bulk length"),
        (b"*1\r\n$4\r\nPINGxx\r\n", "expected CRLF after bulk string"),
    ],
)
def test_protocol_errors(wire: bytes, message: str) -> None:
    for parse in (parse_whole, parse_bytewise):
        with pytest.raises(RespProtocolError) as info:
            parse(wire)
        assert str(info.value) == f"Protocol error: {message}"
        assert isinstance(info.value, ProtocolError)


def test_configurable_limits() -> None:
    assert parse_whole(encode_command("SET", "k", "x" * 10), max_bulk=10)
    with pytest.raises(RespProtocolError, match="invalid bulk length"):
        parse_whole(encode_command("SET", "k", "x" * 11), max_bulk=10)
    with pytest.raises(RespProtocolError, match="invalid multibulk length"):
        parse_whole(encode_command("A", "B", "C"), max_array=2)


def test_bulk_limit_checked_before_the_data_arrives() -> None:
    parser = RequestParser(max_bulk=1000)
    with pytest.raises(RespProtocolError, match="invalid bulk length"):
        parser.commands(b"*1\r\n$1001\r\n")


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        (b"GET ", "too big inline request"),
        (b"*", "too big mbulk count string"),
        (b"*1\r\n$", "too big bulk count string"),
    ],
)
def test_line_without_end_is_bounded(prefix: bytes, reason: str) -> None:
    parser = RequestParser(max_inline=100)
    parser.feed(prefix)
    with pytest.raises(RespProtocolError, match=reason):
        for _ in range(200):
            parser.feed(b"1")
            parser.commands()


def test_inline_limit_default_is_64k() -> None:
    assert parse_whole(b"ECHO " + b"x" * (64 * 1024 - 5) + b"\n")
    with pytest.raises(RespProtocolError, match="too big inline request"):
        parse_whole(b"ECHO " + b"x" * (64 * 1024) + b"\n")


# -- hypothesis -------------------------------------------------------------------

commands_st = st.lists(
    st.lists(st.binary(max_size=40), min_size=1, max_size=6), min_size=1, max_size=12
)


@given(commands_st, st.data())
def test_any_commands_any_chunking(commands: list[list[bytes]], data: st.DataObject) -> None:
    wire = b"".join(encode_command(*c) for c in commands)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=20))
    parser = RequestParser()
    got = [c for part in split_at(wire, cuts) for c in parser.commands(part)]
    assert got == commands
    assert parser.buffered == 0


@given(commands_st)
def test_any_commands_byte_by_byte(commands: list[list[bytes]]) -> None:
    wire = b"".join(encode_command(*c) for c in commands)
    assert parse_bytewise(wire) == commands


@given(commands_st, st.binary(min_size=1, max_size=30))
def test_trailing_data_stays_buffered(commands: list[list[bytes]], tail: bytes) -> None:
    wire = b"".join(encode_command(*c) for c in commands)
    last = encode_command(b"SET", b"k", tail)
    parser = RequestParser()
    assert parser.commands(wire + last[:-1]) == commands  # one byte short
    assert parser.buffered > 0
    assert parser.commands(last[-1:]) == [[b"SET", b"k", tail]]
    assert parser.buffered == 0


words_st = st.lists(
    st.binary(min_size=1, max_size=12).filter(
        lambda w: not any(c in b" \t\r\n\v\f\"'*" for c in w)
    ),
    min_size=1,
    max_size=6,
)


@given(st.lists(words_st, min_size=1, max_size=8), st.data())
def test_inline_any_chunking(lines: list[list[bytes]], data: st.DataObject) -> None:
    wire = b"".join(b" ".join(words) + b"\r\n" for words in lines)
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=10))
    parser = RequestParser()
    assert [c for part in split_at(wire, cuts) for c in parser.commands(part)] == lines


@given(st.binary(max_size=200), st.data())
def test_garbage_only_raises_the_parser_error(garbage: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(garbage)), max_size=8))
    parser = RequestParser(max_bulk=64, max_array=8, max_inline=64)
    try:
        for part in split_at(garbage, cuts):
            for command in parser.commands(part):
                assert command and all(type(arg) is bytes for arg in command)
    except RespProtocolError:
        pass


@given(st.binary(max_size=100).map(lambda b: b"*" + b))
def test_array_garbage_only_raises_the_parser_error(garbage: bytes) -> None:
    with contextlib.suppress(RespProtocolError):
        parse_bytewise(garbage, max_bulk=64, max_array=8)


@given(st.lists(st.one_of(st.none(), st.binary(max_size=20)), max_size=5))
def test_encoded_arrays_decode(items: list[bytes | None]) -> None:
    encoded = encode_array(items)
    assert encoded.startswith(b"*%d\r\n" % len(items))
    if all(item is not None for item in items) and items:
        # an array of bulk strings is exactly what a client sends
        assert parse_whole(encoded) == [items]


# -- encoder ----------------------------------------------------------------------


def test_encoders_byte_exact() -> None:
    assert encode_simple("OK") == b"+OK\r\n"
    assert encode_error("ERR bad\r\nthing") == b"-ERR bad  thing\r\n"
    assert encode_integer(-42) == b":-42\r\n"
    assert encode_bulk(b"") == b"$0\r\n\r\n"
    assert encode_bulk(None) == b"$-1\r\n"
    assert encode_array([b"a", None]) == b"*2\r\n$1\r\na\r\n$-1\r\n"
    assert encode_command("GET", b"k", 1) == b"*3\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\n1\r\n"


def test_word_count_is_not_the_limit_bytes_are() -> None:
    """Redis accepts any count up to INT_MAX; a command is bounded by its bytes."""
    words = [b"MSET"] + [b"k"] * 1_200_000
    parser = RequestParser()
    assert parser.commands(encode_command(*words)) == [words]
    with pytest.raises(RespProtocolError, match="invalid multibulk length"):
        RequestParser().commands(b"*3000000000\r\n")


def test_a_half_received_command_is_bounded_by_max_query() -> None:
    parser = RequestParser(max_query=1000)
    wire = encode_command(b"SET", b"k", b"x" * 600, b"y" * 600)
    parser.feed(wire[:700])
    assert parser.next_command() is None
    assert parser.held > 600  # the arguments parsed so far
    parser.feed(wire[700:1100])
    with pytest.raises(RespProtocolError, match="client query buffer limit reached"):
        parser.next_command()
    small = RequestParser(max_query=1000)
    for i in range(0, len(wire) - 400, 50):  # under the limit, fed in pieces: fine
        small.feed(encode_command(b"SET", b"k", b"x" * 300)[i : i + 50])
    assert small.next_command() == [b"SET", b"k", b"x" * 300]
    assert small.held == 0
