"""The framers of reactor.framing: gen_tcp's wire formats, limits, chunking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor.framing import (
    DEFAULT_MAX_SIZE,
    Framer,
    FrameTooLarge,
    LengthPrefixFramer,
    LineBridge,
    LineFramer,
    RawFramer,
    make_framer,
    parse_packet,
)
from reactor.protocol import ProtocolError


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the sorted offsets ``cuts`` (empty pieces included)."""
    pieces = []
    start = 0
    for cut in cuts:
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return pieces


def feed_all(framer: Framer, pieces: list[bytes]) -> list[bytes]:
    return [frame for piece in pieces for frame in framer.feed(piece)]


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# -- the wire format, by example ------------------------------------------------


@pytest.mark.parametrize(
    ("size", "message", "wire"),
    [
        (1, b"", b"\x00"),
        (1, b"abc", b"\x03abc"),
        (2, b"abc", b"\x00\x03abc"),
        (4, b"abc", b"\x00\x00\x00\x03abc"),
        (1, b"x" * 255, b"\xff" + b"x" * 255),
        (2, b"y" * 256, b"\x01\x00" + b"y" * 256),
    ],
)
def test_length_prefix_encodes_big_endian(size: int, message: bytes, wire: bytes) -> None:
    framer = LengthPrefixFramer(size)
    assert framer.encode(message) == wire
    assert framer.feed(wire) == [message]
    assert framer.buffered() == 0


def test_length_prefix_whole_then_trailing_partial() -> None:
    framer = LengthPrefixFramer(2)
    wire = b"\x00\x02ab\x00\x00\x00\x03xy"
    assert framer.feed(wire) == [b"ab", b""]
    assert framer.buffered() == 4
    assert framer.feed(b"z\x00") == [b"xyz"]
    assert framer.buffered() == 1
    assert framer.feed(b"\x01") == []
    assert framer.feed(b"!") == [b"!"]
    assert framer.buffered() == 0


def test_length_prefix_refuses_what_the_header_cannot_say() -> None:
    # gen_tcp sends these with a wrapped-around header; selreactor refuses.
    with pytest.raises(ValueError, match="256 bytes"):
        LengthPrefixFramer(1).encode(b"x" * 256)
    with pytest.raises(ValueError, match="65536 bytes"):
        LengthPrefixFramer(2).encode(b"x" * 65536)
    assert len(LengthPrefixFramer(2).encode(b"x" * 65535)) == 65537


def test_length_prefix_max_size_is_the_payload_limit() -> None:
    framer = LengthPrefixFramer(4, max_size=8)
    assert framer.feed(b"\x00\x00\x00\x08" + b"8" * 8) == [b"8" * 8]
    with pytest.raises(FrameTooLarge) as info:
        framer.feed(b"\x00\x00\x00\x09")
    assert info.value.size == 9
    assert info.value.limit == 8
    assert "9 bytes" in str(info.value)
    assert "8 bytes" in str(info.value)
    assert isinstance(info.value, ProtocolError)


def test_length_prefix_refuses_at_the_header_not_after_the_payload() -> None:
    framer = LengthPrefixFramer(4, max_size=100)
    assert framer.feed(b"\x00\x00") == []
    with pytest.raises(FrameTooLarge):
        framer.feed(b"\x10\x00")


def test_frames_before_the_bad_one_travel_with_the_error() -> None:
    framer = LengthPrefixFramer(1, max_size=3)
    with pytest.raises(FrameTooLarge) as info:
        framer.feed(b"\x01a\x02bc\x04")
    assert info.value.frames == [b"a", b"bc"]


def test_length_prefix_limit_is_capped_by_the_header() -> None:
    assert LengthPrefixFramer(1).max_size == 255
    assert LengthPrefixFramer(2, max_size=10).max_size == 10
    assert LengthPrefixFramer(4).max_size == DEFAULT_MAX_SIZE


@pytest.mark.parametrize("size", [0, 3, 8])
def test_length_prefix_rejects_odd_header_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="1, 2 or 4"):
        LengthPrefixFramer(size)


def test_line_includes_the_delimiter_as_gen_tcp_delivers_it() -> None:
    framer = LineFramer()
    assert framer.feed(b"one\ntwo\n\nthr") == [b"one\n", b"two\n", b"\n"]
    assert framer.buffered() == 3
    assert framer.feed(b"ee\r\n") == [b"three\r\n"]
    assert framer.buffered() == 0


def test_line_encode_adds_the_delimiter_once() -> None:
    framer = LineFramer()
    assert framer.encode(b"hi") == b"hi\n"
    assert framer.encode(b"hi\n") == b"hi\n"
    assert framer.encode(b"") == b"\n"
    with pytest.raises(ValueError, match="delimiter"):
        framer.encode(b"two\nlines")


def test_line_limit_counts_the_delimiter() -> None:
    # As gen_tcp's packet_size: with 8, "1234567\n" passes, "12345678\n" fails.
    framer = LineFramer(max_size=8)
    assert framer.feed(b"1234567\n") == [b"1234567\n"]
    with pytest.raises(FrameTooLarge) as info:
        framer.feed(b"12345678\n")
    assert info.value.limit == 8


def test_line_limit_refuses_before_the_line_ends() -> None:
    framer = LineFramer(max_size=8)
    assert framer.feed(b"1234567") == []
    with pytest.raises(FrameTooLarge, match="line"):
        framer.feed(b"8")


def test_line_custom_delimiter() -> None:
    framer = LineFramer(delimiter=b"\x00")
    assert framer.feed(b"a\x00b\nc\x00") == [b"a\x00", b"b\nc\x00"]
    assert framer.encode(b"z") == b"z\x00"
    with pytest.raises(ValueError, match="one byte"):
        LineFramer(delimiter=b"\r\n")


def test_raw_is_each_chunk() -> None:
    framer = RawFramer()
    assert framer.feed(b"") == []
    assert framer.feed(b"abc") == [b"abc"]
    assert framer.encode(b"x\ny") == b"x\ny"
    assert framer.buffered() == 0


@pytest.mark.parametrize(
    ("packet", "kind"),
    [
        (0, RawFramer),
        ("raw", RawFramer),
        ("0", RawFramer),
        (1, LengthPrefixFramer),
        ("2", LengthPrefixFramer),
        (4, LengthPrefixFramer),
        ("line", LineFramer),
        ("LINE", LineFramer),
    ],
)
def test_make_framer(packet: int | str, kind: type) -> None:
    assert isinstance(make_framer(packet, 100), kind)


@pytest.mark.parametrize("packet", [3, 8, -1, "http", "", True])
def test_make_framer_rejects_what_gen_tcp_rejects(packet: int | str) -> None:
    with pytest.raises(ValueError, match="packet must be"):
        make_framer(packet)


def test_parse_packet_normalises() -> None:
    assert parse_packet("raw") == 0
    assert parse_packet(" 4 ") == 4
    assert parse_packet("line") == "line"


def test_make_framer_passes_the_limit() -> None:
    framer = make_framer(2, max_size=5)
    assert isinstance(framer, LengthPrefixFramer)
    assert framer.header_size == 2
    assert framer.max_size == 5
    line = make_framer("line", max_size=5)
    assert isinstance(line, LineFramer)
    assert line.max_size == 5


def test_long_line_byte_by_byte_stays_linear() -> None:
    # 200 kB fed one byte at a time: quadratic rescanning would take minutes.
    framer = LineFramer(max_size=1 << 20)
    data = b"x" * 200_000 + b"\n"
    got: list[bytes] = []
    for piece in byte_by_byte(data):
        got += framer.feed(piece)
    assert got == [data]


# -- properties -------------------------------------------------------------------

messages = st.lists(st.binary(max_size=300), max_size=20)
line_messages = st.lists(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"") + b"\n"), max_size=20
)


@given(messages, st.sampled_from([2, 4]), st.data())
def test_length_prefix_any_chunking(msgs: list[bytes], size: int, data: st.DataObject) -> None:
    framer = LengthPrefixFramer(size)
    wire = b"".join(framer.encode(m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    decoder = LengthPrefixFramer(size)
    assert feed_all(decoder, split_at(wire, cuts)) == msgs
    assert decoder.buffered() == 0


@given(st.lists(st.binary(max_size=255), max_size=20), st.data())
def test_packet_1_any_chunking(msgs: list[bytes], data: st.DataObject) -> None:
    wire = b"".join(LengthPrefixFramer(1).encode(m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    assert feed_all(LengthPrefixFramer(1), split_at(wire, cuts)) == msgs


@given(messages, st.sampled_from([1, 2, 4]))
def test_length_prefix_whole_and_byte_by_byte(msgs: list[bytes], size: int) -> None:
    msgs = [m[:255] for m in msgs]
    wire = b"".join(LengthPrefixFramer(size).encode(m) for m in msgs)
    assert LengthPrefixFramer(size).feed(wire) == msgs
    assert feed_all(LengthPrefixFramer(size), byte_by_byte(wire)) == msgs


@given(messages, st.sampled_from([1, 2, 4]), st.binary(min_size=1, max_size=40), st.data())
def test_length_prefix_trailing_partial_is_held(
    msgs: list[bytes], size: int, extra: bytes, data: st.DataObject
) -> None:
    msgs = [m[:255] for m in msgs]
    framer = LengthPrefixFramer(size)
    tail = framer.encode(extra)[: data.draw(st.integers(1, size + len(extra) - 1))]
    wire = b"".join(framer.encode(m) for m in msgs) + tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    decoder = LengthPrefixFramer(size)
    assert feed_all(decoder, split_at(wire, cuts)) == msgs
    assert decoder.buffered() == len(tail)


@given(
    st.lists(st.binary(max_size=16), max_size=5),
    st.sampled_from([1, 2, 4]),
    st.integers(0, 40),
    st.data(),
)
def test_oversize_header_refused_whatever_the_chunking(
    msgs: list[bytes], size: int, excess: int, data: st.DataObject
) -> None:
    limit = 16
    good = b"".join(LengthPrefixFramer(size).encode(m) for m in msgs)
    bad_length = min(limit + 1 + excess, (1 << (8 * size)) - 1)
    wire = good + bad_length.to_bytes(size, "big") + data.draw(st.binary(max_size=8))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    decoder = LengthPrefixFramer(size, max_size=limit)
    got: list[bytes] = []
    with pytest.raises(FrameTooLarge) as info:
        for piece in split_at(wire, cuts):
            got += decoder.feed(piece)
    assert got + info.value.frames == msgs
    assert info.value.size == bad_length
    assert info.value.limit == limit


@given(line_messages, st.data())
def test_line_any_chunking(msgs: list[bytes], data: st.DataObject) -> None:
    wire = b"".join(msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    decoder = LineFramer(max_size=81)
    assert feed_all(decoder, split_at(wire, cuts)) == msgs
    assert decoder.buffered() == 0
    assert LineFramer(max_size=81).feed(wire) == msgs
    assert feed_all(LineFramer(max_size=81), byte_by_byte(wire)) == msgs


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_line_encode_round_trips(msgs: list[bytes]) -> None:
    bodies = [m.replace(b"\n", b"") for m in msgs]
    framer = LineFramer()
    wire = b"".join(framer.encode(b) for b in bodies)
    assert framer.feed(wire) == [b + b"\n" for b in bodies]


@given(line_messages, st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), st.data())
def test_line_trailing_partial_is_held(
    msgs: list[bytes], tail: bytes, data: st.DataObject
) -> None:
    wire = b"".join(msgs) + tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    decoder = LineFramer(max_size=81)
    assert feed_all(decoder, split_at(wire, cuts)) == msgs
    assert decoder.buffered() == len(tail)


@given(line_messages, st.integers(0, 30), st.data())
def test_overlong_line_refused_whatever_the_chunking(
    msgs: list[bytes], excess: int, data: st.DataObject
) -> None:
    limit = 81
    long_line = b"y" * (limit + excess) + data.draw(st.sampled_from([b"", b"\n", b"\nok\n"]))
    wire = b"".join(msgs) + long_line
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)))))
    decoder = LineFramer(max_size=limit)
    got: list[bytes] = []
    with pytest.raises(FrameTooLarge) as info:
        for piece in split_at(wire, cuts):
            got += decoder.feed(piece)
    assert got + info.value.frames == msgs
    assert info.value.limit == limit


@given(st.lists(st.binary(max_size=64), max_size=10), st.data())
def test_raw_keeps_every_byte(chunks: list[bytes], data: st.DataObject) -> None:
    framer = RawFramer()
    got = feed_all(framer, chunks)
    assert b"".join(got) == b"".join(chunks)
    assert all(got)


# -- LineBridge: reactor connect --packet -------------------------------------------


@pytest.mark.parametrize(
    ("packet", "typed", "wire"),
    [
        (2, b"hi\r\nthere\n", b"\x00\x02hi\x00\x05there"),
        (1, b"\n", b"\x00"),
        ("line", b"a\r\nb\n", b"a\r\nb\n"),
        (0, b"raw bytes, no\nframing", b"raw bytes, no\nframing"),
    ],
)
def test_line_bridge_input(packet: int | str, typed: bytes, wire: bytes) -> None:
    bridge = LineBridge(packet)
    assert b"".join(bridge.input(typed[i : i + 1]) for i in range(len(typed))) == wire


def test_line_bridge_sends_a_last_line_without_newline() -> None:
    bridge = LineBridge(4)
    assert bridge.input(b"one\ntw") == b"\x00\x00\x00\x03one"
    assert bridge.end_of_input() == b"\x00\x00\x00\x02tw"
    assert bridge.end_of_input() == b""


def test_line_bridge_skips_a_line_the_framing_cannot_carry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bridge = LineBridge(1)
    assert bridge.input(b"x" * 300 + b"\nok\n") == b"\x02ok"
    assert "256 bytes" in caplog.text or "300 bytes" in caplog.text


@pytest.mark.parametrize(
    ("packet", "message", "printed"),
    [(2, b"hi", b"hi\n"), (4, b"", b"\n"), ("line", b"l\n", b"l\n"), (0, b"ab", b"ab")],
)
def test_line_bridge_output(packet: int | str, message: bytes, printed: bytes) -> None:
    assert LineBridge(packet).output(message) == printed
    assert isinstance(LineBridge(packet).framer, type(make_framer(packet)))
