"""The smallest HTTP and RESP responders the peers share.

Every Python peer (asyncio, uvloop, the bare epoll floor) runs the same
parsing code, so the scenarios compare event loops, not parsers.  They are
deliberately minimal: enough for wrk (keep-alive GET, pipelining) and for
``redis-benchmark -t ping,set,get`` (PING, SET, GET, inline commands and the
CONFIG GET it sends first), nothing more.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

HELLO = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"


class HttpResponder:
    """Answers every complete request head with ``HELLO``; bodies are not read."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> bytes:
        buf = self.buf
        buf += data
        count = 0
        start = 0
        while True:
            end = buf.find(b"\r\n\r\n", start)
            if end < 0:
                break
            count += 1
            start = end + 4
        if start:
            del buf[:start]
        return HELLO * count


class RespResponder:
    """PING, SET and GET over a dict; multibulk and inline commands."""

    __slots__ = ("buf", "store")

    def __init__(self, store: dict[bytes, bytes]) -> None:
        self.buf = bytearray()
        self.store = store

    def feed(self, data: bytes) -> bytes:
        buf = self.buf
        buf += data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while pos < size:
            args: list[bytes] = []
            if buf[pos] == 0x2A:  # '*'
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                count = int(buf[pos + 1 : eol])
                cur = eol + 2
                for _ in range(count):
                    eol = buf.find(b"\r\n", cur)
                    if eol < 0:
                        break
                    length = int(buf[cur + 1 : eol])
                    cur = eol + 2 + length + 2
                    if cur > size:
                        break
                    args.append(bytes(buf[eol + 2 : cur - 2]))
                if len(args) < count:
                    break
                pos = cur
            else:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                args = bytes(buf[pos:eol]).split()
                pos = eol + 2
                if not args:
                    continue
            out.append(self.command(args))
        if pos:
            del buf[:pos]
        return b"".join(out)

    def command(self, args: list[bytes]) -> bytes:
        name = args[0].upper()
        if name == b"GET" and len(args) == 2:
            value = self.store.get(args[1])
            if value is None:
                return b"$-1\r\n"
            return b"$%d\r\n%s\r\n" % (len(value), value)
        if name == b"SET" and len(args) >= 3:
            self.store[args[1]] = args[2]
            return b"+OK\r\n"
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"CONFIG" and len(args) == 3:
            return b"*2\r\n$%d\r\n%s\r\n$0\r\n\r\n" % (len(args[2]), args[2])
        return b"-ERR unknown command\r\n"


def responder_factory(proto: str) -> Callable[[], Callable[[bytes], bytes]] | None:
    """``None`` for echo (the data is its own answer), else a per-connection feed."""
    if proto == "echo":
        return None
    if proto == "http":
        return lambda: HttpResponder().feed
    if proto == "resp":
        store: dict[bytes, bytes] = {}
        return lambda: RespResponder(store).feed
    raise ValueError(f"unknown protocol {proto!r}")


def parse_args(description: str, protos: tuple[str, ...] = ("echo",)) -> argparse.Namespace:
    """The options every peer server takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=protos, default="echo")
    return parser.parse_args()
