"""asyncio and uvloop peers: the Protocol API or streams, echo/HTTP/RESP, plain or TLS.

With ``--tls-cert``/``--tls-key`` the server speaks TLS through the loop's own
SSL transport (asyncio's ``sslproto``, uvloop's), with the context a server
would use by default: ``ssl.create_default_context(Purpose.CLIENT_AUTH)``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
from typing import TYPE_CHECKING, cast

from bench.servers.minimal import responder_factory

if TYPE_CHECKING:
    from collections.abc import Callable

CHUNK = 65536


class EchoProtocol(asyncio.Protocol):
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class ResponderProtocol(asyncio.Protocol):
    transport: asyncio.Transport

    def __init__(self, feed: Callable[[bytes], bytes]) -> None:
        self.feed = feed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        out = self.feed(data)
        if out:
            self.transport.write(out)


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server context for ``cert``/``key``, or ``None`` for plain TCP."""
    if cert is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    tls = tls_context(args.tls_cert, args.tls_key)
    make = responder_factory(args.proto)
    server: asyncio.Server
    if args.api == "streams":

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            feed = make() if make is not None else None
            try:
                while data := await reader.read(CHUNK):
                    writer.write(feed(data) if feed is not None else data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, args.host, args.port, backlog=4096, ssl=tls)
    else:

        def protocol() -> asyncio.Protocol:
            return EchoProtocol() if make is None else ResponderProtocol(make())

        server = await loop.create_server(protocol, args.host, args.port, backlog=4096, ssl=tls)
    for sock in server.sockets:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="asyncio/uvloop peer server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=("echo", "http", "resp"), default="echo")
    parser.add_argument("--api", choices=("protocol", "streams"), default="protocol")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    args = parser.parse_args()
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(serve(args))
    else:
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
