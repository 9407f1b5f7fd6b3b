"""PROXY protocol headers to send: what a connector writes before a client's bytes.

The counterpart of :mod:`reactor.proxy_header`'s parser, and tested against
it: every header these build parses back to the same addresses.
"""

from __future__ import annotations

import ipaddress
import struct

from reactor.crc32c import crc32c
from reactor.proxy_header import SIGNATURE_V2, Family, ProxyCommand, TLVType

__all__ = ["encode", "encode_v1", "encode_v2"]

_STREAM = 1


def _family_of(address: tuple[str, int]) -> Family:
    host = address[0]
    if host.startswith("unix:"):
        return Family.UNIX
    return Family.INET6 if ipaddress.ip_address(host).version == 6 else Family.INET


def encode_v1(source: tuple[str, int] | None, destination: tuple[str, int] | None) -> bytes:
    """A version 1 line for a TCP connection from ``source`` to ``destination``.

    Without both addresses, or for addresses of different families or Unix
    paths, the line is ``PROXY UNKNOWN`` (the receiver keeps our own address).
    """
    if source is None or destination is None:
        return b"PROXY UNKNOWN\r\n"
    family = _family_of(source)
    if family is not _family_of(destination) or family is Family.UNIX:
        return b"PROXY UNKNOWN\r\n"
    name = "TCP4" if family is Family.INET else "TCP6"
    src = ipaddress.ip_address(source[0])
    dst = ipaddress.ip_address(destination[0])
    return f"PROXY {name} {src} {dst} {source[1]} {destination[1]}\r\n".encode("ascii")


def encode_v2(
    source: tuple[str, int] | None,
    destination: tuple[str, int] | None,
    *,
    command: ProxyCommand = ProxyCommand.PROXY,
    tlvs: tuple[tuple[int, bytes], ...] = (),
    checksum: bool = False,
) -> bytes:
    """A version 2 header; ``checksum`` appends a CRC32C extension over it.

    Without both addresses (or with ``command=LOCAL``, or for a Unix path
    beside an IP address) the family is ``AF_UNSPEC`` and no address is sent.
    An IPv4 address beside an IPv6 one is sent as IPv4-mapped IPv6, as HAProxy
    does.
    """
    if source is None or destination is None or command is ProxyCommand.LOCAL:
        family, addresses = Family.UNSPEC, b""
    else:
        family = _family_of(source)
        other = _family_of(destination)
        if Family.UNIX in (family, other) and family is not other:
            family, addresses = Family.UNSPEC, b""  # nothing the header can say
        elif family is Family.UNIX:
            addresses = b"".join(
                a[0][5:].encode("utf-8", "surrogateescape").ljust(108, b"\x00")[:108]
                for a in (source, destination)
            )
        elif family is Family.INET and other is Family.INET:
            addresses = struct.pack(
                "!4s4sHH",
                ipaddress.IPv4Address(source[0]).packed,
                ipaddress.IPv4Address(destination[0]).packed,
                source[1],
                destination[1],
            )
        else:
            family = Family.INET6
            addresses = struct.pack(
                "!16s16sHH",
                _v6(source[0]),
                _v6(destination[0]),
                source[1],
                destination[1],
            )
    body = addresses + b"".join(struct.pack("!BH", k, len(v)) + v for k, v in tlvs)
    crc_at = -1
    if checksum:
        crc_at = 16 + len(body) + 3
        body += struct.pack("!BH", TLVType.CRC32C, 4) + b"\x00\x00\x00\x00"
    transport = 0 if family is Family.UNSPEC else _STREAM
    header = (
        SIGNATURE_V2
        + struct.pack("!BBH", 0x20 | command.value, family.value << 4 | transport, len(body))
        + body
    )
    if crc_at >= 0:
        header = header[:crc_at] + crc32c(header).to_bytes(4, "big") + header[crc_at + 4 :]
    return header


def _v6(host: str) -> bytes:
    address = ipaddress.ip_address(host)
    if address.version == 4:
        return ipaddress.IPv6Address("::ffff:" + host).packed
    return address.packed


def encode(
    version: int, source: tuple[str, int] | None, destination: tuple[str, int] | None
) -> bytes:
    """:func:`encode_v1` or :func:`encode_v2` (with a CRC32C), by ``version`` 1 or 2."""
    if version == 1:
        return encode_v1(source, destination)
    if version == 2:
        return encode_v2(source, destination, checksum=True)
    raise ValueError(f"PROXY protocol version must be 1 or 2, got {version!r}")
