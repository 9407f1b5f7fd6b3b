"""The receive buffer's framing reads the same messages as reactor.framing's framers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor.framing import FrameTooLarge, LengthPrefixFramer, LineFramer
from reactor.streams.frames import length_frame, line_frame, packet_limit


def split_length(buf: bytes, header: int, limit: int) -> tuple[list[bytes], int]:
    """Every whole message of ``buf`` by length_frame, and where the rest starts."""
    off = 0
    out = []
    while (bounds := length_frame(buf, off, header, limit)) is not None:
        start, end = bounds
        out.append(buf[start:end])
        off = end
    return out, off


def split_lines(buf: bytes, limit: int) -> tuple[list[bytes], int]:
    off = 0
    out = []
    while (end := line_frame(buf, off, limit, off)) >= 0:
        out.append(buf[off:end])
        off = end
    return out, off


@given(st.sampled_from([1, 2, 4]), st.lists(st.binary(max_size=300), max_size=8), st.data())
def test_length_frames_match_the_framer(
    header: int, payloads: list[bytes], data: st.DataObject
) -> None:
    limit = packet_limit(header, 1 << 20)
    payloads = [p for p in payloads if len(p) <= limit]
    encoder = LengthPrefixFramer(header)
    wire = b"".join(encoder.encode(p) for p in payloads)
    cut = data.draw(st.integers(0, len(wire)))
    decoder = LengthPrefixFramer(header)
    expected = decoder.feed(wire[:cut])
    got, rest = split_length(wire[:cut], header, limit)
    assert got == expected
    assert cut - rest == decoder.buffered()


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n")), st.data())
def test_line_frames_match_the_framer(lines: list[bytes], data: st.DataObject) -> None:
    wire = b"".join(lines)
    cut = data.draw(st.integers(0, len(wire)))
    decoder = LineFramer(64)
    expected = decoder.feed(wire[:cut])
    got, rest = split_lines(wire[:cut], 64)
    assert got == expected
    assert cut - rest == decoder.buffered()


def test_limits_are_errors_as_soon_as_known() -> None:
    with pytest.raises(FrameTooLarge):
        length_frame(b"\x00\x00\x01\x00", 0, 4, 255)
    with pytest.raises(FrameTooLarge):
        line_frame(b"x" * 8, 0, 8, 0)
    assert line_frame(b"x" * 7, 0, 8, 0) == -1
    assert packet_limit(1, 1 << 20) == 255
    assert packet_limit("line", 100) == 100


def test_a_long_line_is_searched_from_where_the_last_search_stopped() -> None:
    buf = b"abc\ndef"
    assert line_frame(buf, 4, 100, 7) == -1  # nothing past 7: not found again
    assert line_frame(buf + b"\n", 4, 100, 7) == 8
