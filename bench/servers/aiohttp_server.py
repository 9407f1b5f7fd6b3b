"""aiohttp's hello-world server on one of three loops: asyncio, uvloop, reactor.aio.

The same application on each loop, so the loop is the only difference; it
answers every path with ``Hello, World!`` (text/plain), like ``reactor serve
http``'s default application and the other HTTP peers.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

HELLO = b"Hello, World!"


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=HELLO, content_type="text/plain")


async def serve(args: argparse.Namespace) -> None:
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", hello)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, backlog=4096, reuse_address=True)
    await site.start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="aiohttp hello-world server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=("http",), default="http")
    parser.add_argument("--loop", choices=("asyncio", "uvloop", "selreactor"), default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(serve(args))
    elif args.loop == "selreactor":
        import reactor.aio

        reactor.aio.run(serve(args))
    else:
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
