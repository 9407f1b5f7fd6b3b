"""The PROXY protocol, versions 1 and 2: a sans-I/O parser and encoder.

Theory of operation.  A load balancer (HAProxy, nginx's stream module) that
accepted a client's connection opens its own to us and sends, before any of
the client's bytes, one header saying who the client was.  Version 1 is one
line of ASCII, at most 107 bytes with its CRLF; version 2 is a 16-byte binary
prefix (a 12-byte signature, version and command, family and transport, the
length of what follows) and then that many bytes: the addresses and
type-length-value extensions (ALPN, authority, a CRC32C of the whole header,
a unique id, TLS details).

:class:`ProxyHeaderParser` takes bytes as they arrive and returns a
:class:`ProxyHeader` once the header is complete, keeping what followed it in
:attr:`ProxyHeaderParser.rest` (the client's first bytes, which belong to the
real handler).  It decides as early as it can: the first byte that cannot
start either version is an error at once, a version 1 line longer than 107
bytes or a version 2 header announcing more than ``max_v2_length`` bytes is an
error before the rest arrives.  Nothing is guessed: a connection that does not
start with a header is refused (the specification forbids auto-detection).

This module is pure: no sockets, no clock.  :mod:`reactor.proxied` runs it on
an accepted connection; :mod:`reactor.proxy_encode` builds the headers a
connector sends upstream.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass, field

from reactor.crc32c import crc32c
from reactor.protocol import ProtocolError

__all__ = [
    "SIGNATURE_V2",
    "V1_MAX_LENGTH",
    "Family",
    "ProxyCommand",
    "ProxyHeader",
    "ProxyHeaderError",
    "ProxyHeaderParser",
    "SSLInfo",
    "TLVType",
]

SIGNATURE_V2 = b"\r\n\r\n\x00\r\nQUIT\n"
"""The 12 bytes every version 2 header starts with."""

V1_MAX_LENGTH = 107
"""The longest version 1 line, CRLF included (``PROXY UNKNOWN`` with two IPv6 addresses)."""

DEFAULT_MAX_V2_LENGTH = 4096
"""The default bound on a version 2 header's announced length (addresses and TLVs)."""

_V1_PREFIX = b"PROXY "


class ProxyHeaderError(ProtocolError):
    """A malformed PROXY header: the connection that sent it is closed."""


class ProxyCommand(enum.Enum):
    """Version 2's command; version 1 headers are always ``PROXY``."""

    LOCAL = 0  # the proxy speaks for itself (a health check): keep its address
    PROXY = 1  # relayed for the client named in the header


class Family(enum.Enum):
    """The address family a header names."""

    UNSPEC = 0  # version 1's UNKNOWN, version 2's AF_UNSPEC: keep the proxy's address
    INET = 1
    INET6 = 2
    UNIX = 3


class TLVType(enum.IntEnum):
    """The version 2 extension types this parser reads (others are kept raw)."""

    ALPN = 0x01
    AUTHORITY = 0x02
    CRC32C = 0x03
    NOOP = 0x04
    UNIQUE_ID = 0x05
    SSL = 0x20
    SSL_VERSION = 0x21
    SSL_CN = 0x22
    SSL_CIPHER = 0x23
    SSL_SIG_ALG = 0x24
    SSL_KEY_ALG = 0x25
    NETNS = 0x30


_ADDRESS_SIZES = {Family.UNSPEC: 0, Family.INET: 12, Family.INET6: 36, Family.UNIX: 216}
_STREAM = 1  # version 2's transport nibble for SOCK_STREAM (0 unspec, 2 dgram)
_MAX_UNIQUE_ID = 128


@dataclass(frozen=True)
class SSLInfo:
    """The ``PP2_TYPE_SSL`` extension: how the client spoke TLS to the proxy."""

    client: int
    """Bits: 0x01 the client used TLS, 0x02 sent a certificate on this connection,
    0x04 on this TLS session."""
    verify: int
    """0 if the client's certificate was verified, else non-zero."""
    version: str | None = None
    cn: str | None = None
    cipher: str | None = None
    sig_alg: str | None = None
    key_alg: str | None = None

    @property
    def verified(self) -> bool:
        """Whether the client presented a certificate that the proxy verified."""
        return self.verify == 0 and bool(self.client & 0x06)


@dataclass(frozen=True)
class ProxyHeader:
    """One parsed header.

    ``source`` and ``destination`` are ``(host, port)`` (a Unix path with port
    0) when the header names the client, else ``None``: for the ``LOCAL``
    command, version 1's ``UNKNOWN``, ``AF_UNSPEC`` or a datagram transport the
    connection's own addresses stand (:attr:`relayed` is false).
    """

    version: int
    command: ProxyCommand
    family: Family
    source: tuple[str, int] | None
    destination: tuple[str, int] | None
    length: int
    """Bytes the header took on the wire."""
    tlvs: tuple[tuple[int, bytes], ...] = ()
    """Every top-level extension, in order, as ``(type, value)``."""
    alpn: bytes | None = None
    authority: str | None = None
    unique_id: bytes | None = None
    ssl: SSLInfo | None = None
    crc_checked: bool = field(default=False)
    """Whether a CRC32C extension was present (and matched: a mismatch is an error)."""

    @property
    def relayed(self) -> bool:
        """Whether the header names the client (else keep the proxy's own address)."""
        return self.source is not None


# -- the parser --------------------------------------------------------------------------


class ProxyHeaderParser:
    """Feed the first bytes of a connection; get its :class:`ProxyHeader`.

    :meth:`feed` returns ``None`` while the header is incomplete, the header
    once it is (then :attr:`rest` holds the bytes that followed it), and
    raises :class:`ProxyHeaderError` for anything that is not a valid header.
    ``versions`` restricts what is accepted; ``max_v2_length`` bounds the
    length a version 2 header may announce (at least 216, a Unix address).
    """

    __slots__ = ("_buf", "max_v2_length", "rest", "versions")

    def __init__(
        self, versions: tuple[int, ...] = (1, 2), max_v2_length: int = DEFAULT_MAX_V2_LENGTH
    ) -> None:
        if not versions or not set(versions) <= {1, 2}:
            raise ValueError(f"versions must be 1 and/or 2, got {versions!r}")
        if max_v2_length < _ADDRESS_SIZES[Family.UNIX]:
            raise ValueError(f"max_v2_length must be at least 216, got {max_v2_length}")
        self.versions = versions
        self.max_v2_length = max_v2_length
        self.rest = b""
        """What followed the header, once it is complete."""
        self._buf = bytearray()

    def feed(self, data: bytes) -> ProxyHeader | None:
        """Take the next bytes; the header once complete, else ``None``."""
        buf = self._buf
        buf += data
        size = len(buf)
        head = bytes(buf[:12])
        if 2 in self.versions and SIGNATURE_V2.startswith(head[: min(size, 12)]):
            if size < 16:
                return None
            return self._finish(_parse_v2(buf, self.max_v2_length))
        if 1 in self.versions and _V1_PREFIX.startswith(bytes(buf[:6])[: min(size, 6)]):
            return self._finish(_parse_v1(buf))
        raise ProxyHeaderError("no PROXY header where one is required")

    def _finish(self, header: ProxyHeader | None) -> ProxyHeader | None:
        if header is not None:
            self.rest = bytes(self._buf[header.length :])
            self._buf.clear()
        return header


def _parse_v1(buf: bytearray) -> ProxyHeader | None:
    end = buf.find(b"\r\n", 0, V1_MAX_LENGTH)
    if end < 0:
        stray = buf.find(b"\n", 0, V1_MAX_LENGTH)
        if stray >= 0 or len(buf) >= V1_MAX_LENGTH:
            raise ProxyHeaderError("PROXY v1 line without CRLF in its first 107 bytes")
        return None
    line = bytes(buf[:end])
    if b"\r" in line or b"\n" in line:
        raise ProxyHeaderError("PROXY v1 line with a stray CR or LF")
    parts = line.split(b" ")
    length = end + 2
    if len(parts) >= 2 and parts[1] == b"UNKNOWN":  # the rest of the line is ignored
        return ProxyHeader(1, ProxyCommand.PROXY, Family.UNSPEC, None, None, length)
    if len(parts) != 6 or parts[1] not in (b"TCP4", b"TCP6"):
        raise ProxyHeaderError(f"bad PROXY v1 line {line[:60]!r}")
    family = Family.INET if parts[1] == b"TCP4" else Family.INET6
    source = (_v1_address(parts[2], family), _v1_port(parts[4]))
    destination = (_v1_address(parts[3], family), _v1_port(parts[5]))
    return ProxyHeader(1, ProxyCommand.PROXY, family, source, destination, length)


def _v1_address(text: bytes, family: Family) -> str:
    try:
        value = text.decode("ascii")
        if family is Family.INET:
            octets = value.split(".")
            if len(octets) != 4 or any(
                not o.isdigit() or (len(o) > 1 and o[0] == "0") for o in octets
            ):
                raise ValueError(value)
            return str(ipaddress.IPv4Address(value))
        if "%" in value:  # no scope; a dotted tail is RFC 4291's (inet_ntop writes one)
            raise ValueError(value)
        return _ipv6_host(value)
    except (UnicodeDecodeError, ValueError):
        raise ProxyHeaderError(f"bad {family.name} address {text[:45]!r}") from None


def _ipv6_host(value: str | bytes) -> str:
    """An IPv6 host as the connection table keys it: an IPv4-mapped address
    becomes its dotted quad (as :func:`reactor.addresses.normalise_address`
    does), whatever spelling this Python's :mod:`ipaddress` prefers."""
    address = ipaddress.IPv6Address(value)
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else str(address)


def _v1_port(text: bytes) -> int:
    if not text.isdigit() or len(text) > 5 or (len(text) > 1 and text[:1] == b"0"):
        raise ProxyHeaderError(f"bad port {text[:8]!r}")
    port = int(text)
    if port > 65535:
        raise ProxyHeaderError(f"port {port} out of range")
    return port


def _parse_v2(buf: bytearray, max_length: int) -> ProxyHeader | None:
    if bytes(buf[:12]) != SIGNATURE_V2:
        raise ProxyHeaderError("bad PROXY v2 signature")
    ver_cmd, fam, announced = struct.unpack_from("!BBH", buf, 12)
    if ver_cmd >> 4 != 2:
        raise ProxyHeaderError(f"PROXY v2 header with version {ver_cmd >> 4}")
    try:
        command = ProxyCommand(ver_cmd & 0x0F)
        family = Family(fam >> 4)
    except ValueError:
        raise ProxyHeaderError(f"PROXY v2 command/family {ver_cmd:#04x}/{fam:#04x}") from None
    transport = fam & 0x0F
    if transport > 2:
        raise ProxyHeaderError(f"PROXY v2 transport {transport}")
    if announced > max_length:
        raise ProxyHeaderError(f"PROXY v2 header of {announced} bytes (at most {max_length})")
    length = 16 + announced
    if len(buf) < length:
        return None
    block = bytes(buf[:length])
    size = _ADDRESS_SIZES[family]
    if announced < size:
        if command is ProxyCommand.LOCAL:  # its addresses are ignored anyway
            return ProxyHeader(2, command, family, None, None, length)
        raise ProxyHeaderError(
            f"PROXY v2 {family.name} header of {announced} bytes (its addresses take {size})"
        )
    source = destination = None
    if command is ProxyCommand.PROXY and transport == _STREAM and family is not Family.UNSPEC:
        source, destination = _v2_addresses(block, family)
    tlvs = _tlvs(block, 16 + size, length)
    return _with_extensions(
        ProxyHeader(2, command, family, source, destination, length, tlvs), block
    )


def _v2_addresses(block: bytes, family: Family) -> tuple[tuple[str, int], tuple[str, int]]:
    if family is Family.INET:
        src, dst, sport, dport = struct.unpack_from("!4s4sHH", block, 16)
        return (
            (str(ipaddress.IPv4Address(src)), sport),
            (str(ipaddress.IPv4Address(dst)), dport),
        )
    if family is Family.INET6:
        src, dst, sport, dport = struct.unpack_from("!16s16sHH", block, 16)
        return (
            (_ipv6_host(src), sport),
            (_ipv6_host(dst), dport),
        )
    return (_unix_path(block[16:124]), 0), (_unix_path(block[124:232]), 0)


def _unix_path(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _tlvs(block: bytes, start: int, end: int) -> tuple[tuple[int, bytes], ...]:
    found = []
    at = start
    while at < end:
        if end - at < 3:
            raise ProxyHeaderError("truncated PROXY v2 extension")
        kind, size = struct.unpack_from("!BH", block, at)
        if at + 3 + size > end:
            raise ProxyHeaderError(f"PROXY v2 extension {kind:#04x} overruns the header")
        found.append((kind, block[at + 3 : at + 3 + size]))
        at += 3 + size
    return tuple(found)


def _with_extensions(header: ProxyHeader, block: bytes) -> ProxyHeader:
    alpn = authority = unique_id = None
    ssl = None
    crc_checked = False
    at = 16 + _ADDRESS_SIZES[header.family]
    for kind, value in header.tlvs:
        if kind == TLVType.CRC32C:
            if len(value) != 4 or crc_checked:
                raise ProxyHeaderError("bad PROXY v2 CRC32C extension")
            zeroed = block[: at + 3] + b"\x00\x00\x00\x00" + block[at + 7 :]
            if crc32c(zeroed) != int.from_bytes(value, "big"):
                raise ProxyHeaderError("PROXY v2 CRC32C mismatch")
            crc_checked = True
        elif kind == TLVType.ALPN:
            alpn = value
        elif kind == TLVType.AUTHORITY:
            authority = _text(value, "authority")
        elif kind == TLVType.UNIQUE_ID:
            if len(value) > _MAX_UNIQUE_ID:
                raise ProxyHeaderError(f"PROXY v2 unique id of {len(value)} bytes")
            unique_id = value
        elif kind == TLVType.SSL:
            ssl = _ssl(value)
        at += 3 + len(value)
    return ProxyHeader(
        header.version,
        header.command,
        header.family,
        header.source,
        header.destination,
        header.length,
        header.tlvs,
        alpn,
        authority,
        unique_id,
        ssl,
        crc_checked,
    )


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProxyHeaderError(f"PROXY v2 {what} is not UTF-8") from None


_SSL_FIELDS: dict[int, str] = {
    TLVType.SSL_VERSION: "version",
    TLVType.SSL_CN: "cn",
    TLVType.SSL_CIPHER: "cipher",
    TLVType.SSL_SIG_ALG: "sig_alg",
    TLVType.SSL_KEY_ALG: "key_alg",
}


def _ssl(value: bytes) -> SSLInfo:
    if len(value) < 5:
        raise ProxyHeaderError("truncated PROXY v2 SSL extension")
    client, verify = struct.unpack_from("!BI", value, 0)
    fields: dict[str, str] = {}
    for kind, sub in _tlvs(value, 5, len(value)):
        name = _SSL_FIELDS.get(kind)
        if name is not None:
            fields[name] = _text(sub, "SSL " + name)
    return SSLInfo(client, verify, **fields)
