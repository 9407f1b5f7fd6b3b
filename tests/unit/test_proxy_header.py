"""The PROXY protocol parser and encoder, without sockets."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor.crc32c import crc32c
from reactor.proxy_encode import encode, encode_v1, encode_v2
from reactor.proxy_header import (
    SIGNATURE_V2,
    V1_MAX_LENGTH,
    Family,
    ProxyCommand,
    ProxyHeader,
    ProxyHeaderError,
    ProxyHeaderParser,
    TLVType,
)


def parse(wire: bytes, versions: tuple[int, ...] = (1, 2)) -> tuple[ProxyHeader | None, bytes]:
    parser = ProxyHeaderParser(versions)
    header = parser.feed(wire)
    return header, parser.rest


def tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!BH", kind, len(value)) + value


def v2(ver_cmd: int, fam: int, body: bytes) -> bytes:
    return SIGNATURE_V2 + struct.pack("!BBH", ver_cmd, fam, len(body)) + body


# -- CRC32C -------------------------------------------------------------------------


def test_crc32c_check_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the catalogue's check value
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283  # continues


# -- version 1 ------------------------------------------------------------------------


def test_v1_tcp4_with_trailing_bytes() -> None:
    header, rest = parse(b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.1\r\n")
    assert header is not None
    assert (header.version, header.command, header.family) == (1, ProxyCommand.PROXY, Family.INET)
    assert header.source == ("192.0.2.1", 56324)
    assert header.destination == ("198.51.100.7", 443)
    assert header.relayed
    assert rest == b"GET / HTTP/1.1\r\n"


def test_v1_tcp6_is_normalised() -> None:
    header, _ = parse(b"PROXY TCP6 2001:DB8:0:0::1 ::1 1 65535\r\n")
    assert header is not None
    assert header.source == ("2001:db8::1", 1)
    assert header.destination == ("::1", 65535)


def test_v1_byte_by_byte() -> None:
    wire = b"PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\nx"
    parser = ProxyHeaderParser()
    results = [parser.feed(wire[i : i + 1]) for i in range(len(wire) - 1)]
    assert results[:-1] == [None] * (len(wire) - 2)
    assert results[-1] is not None and results[-1].source == ("10.0.0.1", 1)
    assert parser.rest == b""


@pytest.mark.parametrize("line", [b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN anything at all 1 2\r\n"])
def test_v1_unknown_keeps_the_connection_address(line: bytes) -> None:
    header, rest = parse(line + b"data")
    assert header is not None
    assert header.family is Family.UNSPEC and not header.relayed
    assert rest == b"data"


def test_v1_longest_line_is_accepted_and_one_more_byte_is_not() -> None:
    six = "ffff:" * 7 + "ffff"
    longest = f"PROXY UNKNOWN {six} {six} 65535 65535\r\n".encode()
    assert len(longest) == V1_MAX_LENGTH
    assert parse(longest)[0] is not None
    with pytest.raises(ProxyHeaderError, match="107"):
        parse(longest[:-2] + b"0\r\n")


def test_v1_gives_up_at_107_bytes_without_crlf() -> None:
    parser = ProxyHeaderParser()
    assert parser.feed(b"PROXY UNKNOWN " + b"a" * 90) is None
    with pytest.raises(ProxyHeaderError):
        parser.feed(b"a" * 3)


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",  # a lone LF
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
        b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",  # octal-looking octet
        b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",  # heading zero in a port
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
        b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",  # two spaces
        b"PROXY TCP4 ::1 ::1 1 2\r\n",  # family mismatch
        b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
        b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
        b"PROXY\r\n",
    ],
)
def test_v1_malformed(line: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        parse(line)


@pytest.mark.parametrize("start", [b"G", b"GET / HTTP/1.1\r\n", b"\x16\x03\x01", b"PROXX"])
def test_anything_else_is_refused_at_its_first_wrong_byte(start: bytes) -> None:
    with pytest.raises(ProxyHeaderError, match="no PROXY header"):
        parse(start)


def test_versions_can_be_restricted() -> None:
    with pytest.raises(ProxyHeaderError):
        parse(b"PROXY UNKNOWN\r\n", versions=(2,))
    with pytest.raises(ProxyHeaderError):
        parse(encode_v2(None, None), versions=(1,))
    with pytest.raises(ValueError, match="versions"):
        ProxyHeaderParser(versions=(3,))
    with pytest.raises(ValueError, match="216"):
        ProxyHeaderParser(max_v2_length=100)


# -- version 2 ------------------------------------------------------------------------


def test_v2_ipv4() -> None:
    body = bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack("!HH", 1234, 80)
    header, rest = parse(v2(0x21, 0x11, body) + b"hello")
    assert header is not None
    assert (header.version, header.family) == (2, Family.INET)
    assert header.source == ("10.0.0.1", 1234)
    assert header.destination == ("10.0.0.2", 80)
    assert header.length == 28 and rest == b"hello"


def test_v2_ipv6_and_unix() -> None:
    body = ipaddress.IPv6Address("2001:db8::5").packed + bytes(15) + b"\x01"
    header, _ = parse(v2(0x21, 0x21, body + struct.pack("!HH", 5, 6)))
    assert header is not None and header.source == ("2001:db8::5", 5)
    assert header.destination == ("::1", 6)
    paths = b"/run/client.sock".ljust(108, b"\x00") + b"/run/us".ljust(108, b"\x00")
    header, _ = parse(v2(0x21, 0x31, paths))
    assert header is not None and header.family is Family.UNIX
    assert header.source == ("/run/client.sock", 0)
    assert header.destination == ("/run/us", 0)


def test_v2_local_ignores_addresses_but_skips_them() -> None:
    body = bytes(12) + tlv(TLVType.NOOP, b"pad")
    header, rest = parse(v2(0x20, 0x11, body) + b"after")
    assert header is not None
    assert header.command is ProxyCommand.LOCAL and not header.relayed
    assert rest == b"after"
    header, rest = parse(v2(0x20, 0x00, b"") + b"x")
    assert header is not None and header.family is Family.UNSPEC and rest == b"x"


def test_v2_unspec_and_datagram_keep_the_connection_address() -> None:
    assert parse(v2(0x21, 0x00, b""))[0] == ProxyHeader(
        2, ProxyCommand.PROXY, Family.UNSPEC, None, None, 16
    )
    header, _ = parse(v2(0x21, 0x12, bytes(12)))  # UDP over IPv4
    assert header is not None and not header.relayed


def test_v2_extensions() -> None:
    ssl = (
        struct.pack("!BI", 0x07, 0)
        + tlv(TLVType.SSL_VERSION, b"TLSv1.3")
        + tlv(TLVType.SSL_CN, b"client.example")
        + tlv(TLVType.SSL_CIPHER, b"TLS_AES_128_GCM_SHA256")
        + tlv(0x26, b"x25519")  # a subtype this parser does not name
    )
    tlvs = (
        (TLVType.ALPN, b"h2"),
        (TLVType.AUTHORITY, b"example.com"),
        (TLVType.UNIQUE_ID, b"u" * 128),
        (TLVType.SSL, ssl),
        (0xE0, b"custom"),
    )
    wire = encode_v2(("192.0.2.1", 1), ("192.0.2.2", 2), tlvs=tlvs, checksum=True)
    header, _ = parse(wire)
    assert header is not None
    assert header.alpn == b"h2" and header.authority == "example.com"
    assert header.unique_id == b"u" * 128
    assert header.ssl is not None and header.ssl.verified
    assert (header.ssl.version, header.ssl.cn) == ("TLSv1.3", "client.example")
    assert header.ssl.cipher == "TLS_AES_128_GCM_SHA256"
    assert header.crc_checked
    assert (0xE0, b"custom") in header.tlvs


def test_v2_crc_mismatch_is_an_error() -> None:
    wire = bytearray(encode_v2(("192.0.2.1", 1), ("192.0.2.2", 2), checksum=True))
    wire[17] ^= 1  # one bit of the source address
    with pytest.raises(ProxyHeaderError, match="CRC32C"):
        parse(bytes(wire))


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (v2(0x11, 0x11, bytes(12)), "version 1"),
        (v2(0x22, 0x11, bytes(12)), "command"),
        (v2(0x21, 0x41, bytes(12)), "family"),
        (v2(0x21, 0x13, bytes(12)), "transport"),
        (v2(0x21, 0x11, bytes(11)), "12"),  # an address block too short
        (v2(0x21, 0x11, bytes(12) + b"\x01\x00"), "truncated"),
        (v2(0x21, 0x11, bytes(12) + b"\x01\x00\x05ab"), "overruns"),
        (v2(0x21, 0x11, bytes(12) + tlv(TLVType.UNIQUE_ID, bytes(129))), "unique id"),
        (v2(0x21, 0x11, bytes(12) + tlv(TLVType.CRC32C, b"abc")), "CRC32C"),
        (v2(0x21, 0x11, bytes(12) + tlv(TLVType.SSL, b"\x01")), "SSL"),
        (v2(0x21, 0x11, bytes(12) + tlv(TLVType.AUTHORITY, b"\xff")), "UTF-8"),
    ],
)
def test_v2_malformed(wire: bytes, why: str) -> None:
    with pytest.raises(ProxyHeaderError, match=why):
        parse(wire)


def test_v2_announced_length_is_bounded_before_the_body_arrives() -> None:
    parser = ProxyHeaderParser(max_v2_length=512)
    with pytest.raises(ProxyHeaderError, match="at most 512"):
        parser.feed(SIGNATURE_V2 + struct.pack("!BBH", 0x21, 0x11, 513))


def test_v2_waits_for_the_whole_header() -> None:
    wire = encode_v2(("::1", 1), ("::1", 2), checksum=True)
    parser = ProxyHeaderParser()
    assert parser.feed(wire[:-1]) is None
    header = parser.feed(wire[-1:] + b"z")
    assert header is not None and header.source == ("::1", 1) and parser.rest == b"z"


# -- the encoders ----------------------------------------------------------------------


def test_encoders() -> None:
    assert encode_v1(("1.2.3.4", 5), ("6.7.8.9", 10)) == b"PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n"
    assert encode_v1(None, None) == b"PROXY UNKNOWN\r\n"
    assert encode_v1(("1.2.3.4", 5), ("::1", 10)) == b"PROXY UNKNOWN\r\n"
    assert encode_v1(("unix:/a", 0), ("unix:/b", 0)) == b"PROXY UNKNOWN\r\n"
    mixed, _ = parse(encode_v2(("1.2.3.4", 5), ("::1", 10)))
    assert mixed is not None and mixed.source == ("1.2.3.4", 5)  # keyed as the table keys it
    local, _ = parse(encode_v2(("1.2.3.4", 5), ("6.7.8.9", 10), command=ProxyCommand.LOCAL))
    assert local is not None and local.command is ProxyCommand.LOCAL and not local.relayed
    unspec, _ = parse(encode_v2(("unix:/a", 0), ("1.2.3.4", 1)))
    assert unspec is not None and unspec.family is Family.UNSPEC and not unspec.relayed
    with pytest.raises(ValueError, match="1 or 2"):
        encode(3, None, None)
    assert encode(1, None, None) == b"PROXY UNKNOWN\r\n"


# -- hypothesis -------------------------------------------------------------------------

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
ports = st.integers(0, 65535)
unix_paths = st.text(st.characters(min_codepoint=1, max_codepoint=0xD7FF), max_size=30).map(
    lambda p: "unix:/" + p
)


@st.composite
def address_pairs(draw: st.DrawFn) -> tuple[tuple[str, int], tuple[str, int]]:
    hosts = draw(st.sampled_from([ipv4, ipv6, unix_paths]))
    first, second = draw(hosts), draw(hosts)
    if first.startswith("unix:"):
        return (first, 0), (second, 0)
    return (first, draw(ports)), (second, draw(ports))


def chunks(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(c % (len(wire) + 1) for c in cuts), len(wire)]
    return [wire[a:b] for a, b in itertools.pairwise(points)]


@given(
    address_pairs(),
    st.sampled_from([1, 2]),
    st.booleans(),
    st.lists(st.integers(0, 300), max_size=6),
    st.binary(max_size=40),
)
def test_round_trip_in_any_chunks(
    pair: tuple[tuple[str, int], tuple[str, int]],
    version: int,
    checksum: bool,
    cuts: list[int],
    trailing: bytes,
) -> None:
    source, destination = pair
    if version == 1:
        wire = encode_v1(source, destination)
    else:
        wire = encode_v2(source, destination, checksum=checksum)
    parser = ProxyHeaderParser()
    parts = chunks(wire + trailing, cuts)
    header = None
    while header is None:
        header = parser.feed(parts.pop(0))
    assert header.length == len(wire)
    # what came after the header: the rest of its chunk, then the chunks not fed
    assert parser.rest + b"".join(parts) == trailing
    if version == 1 and source[0].startswith("unix:"):
        assert not header.relayed
        return
    assert header.source == (keyed(source[0]), source[1])
    assert header.destination == (keyed(destination[0]), destination[1])


def test_v1_ipv6_with_a_dotted_tail_is_keyed_as_its_ipv4_client() -> None:
    # inet_ntop, which proxies use to write the line, spells IPv4-mapped
    # addresses with a dotted tail (RFC 4291 section 2.2)
    header, _ = parse(b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n")
    assert header is not None and header.source == ("1.2.3.4", 1)


def keyed(host: str) -> str:
    """``host`` as the connection table keys it: IPv4-mapped IPv6 as a dotted quad."""
    host = host.removeprefix("unix:")
    with contextlib.suppress(ValueError):
        mapped = ipaddress.IPv6Address(host).ipv4_mapped
        if mapped is not None:
            return str(mapped)
    return host


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4))
def test_any_bytes_parse_or_fail_cleanly(wire: bytes, cuts: list[int]) -> None:
    parser = ProxyHeaderParser()
    try:
        for part in chunks(wire, cuts):
            if parser.feed(part) is not None:
                break
    except ProxyHeaderError:
        pass


@given(st.binary(min_size=1, max_size=8), st.integers(0, 200))
def test_any_corruption_of_a_checked_header_is_caught(noise: bytes, at: int) -> None:
    wire = bytearray(
        encode_v2(("192.0.2.1", 443), ("198.51.100.2", 8443), tlvs=((1, b"h2"),), checksum=True)
    )
    # the addresses and the ALPN extension (a corrupted type byte of the CRC's
    # own extension would make it another extension, and unchecked)
    at = 16 + at % (len(wire) - 16 - 7)
    before = bytes(wire)
    for i, byte in enumerate(noise):
        if at + i < len(wire) - 7:
            wire[at + i] ^= byte or 1
    try:
        header, _ = parse(bytes(wire))
    except ProxyHeaderError:
        return
    assert bytes(wire) == before or header is None
