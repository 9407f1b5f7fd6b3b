"""CRC32C (Castagnoli), as RFC 4960 appendix B computes it: the PROXY v2 checksum.

Pure Python and table-driven (one lookup per byte).  A PROXY header is a few
hundred bytes at most, checked once per connection, so this costs
microseconds where it is used; it is no general-purpose checksum.
"""

from __future__ import annotations

__all__ = ["crc32c"]


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """The CRC32C of ``data`` (continuing from ``crc``), as the PROXY v2 extension holds it."""
    table = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
