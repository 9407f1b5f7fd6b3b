"""selreactor's coroutine echo: a ``recv(0)``/``send`` loop per connection (reactor.streams)."""

from __future__ import annotations

import argparse
import asyncio

import reactor.aio
from reactor.streams import Closed, Socket, serve


async def echo(sock: Socket) -> None:
    while True:
        try:
            data = await sock.recv(0)
        except Closed:
            return
        await sock.send(data)


async def main(args: argparse.Namespace) -> None:
    kwargs: dict[str, object] = {"backlog": 4096}
    if args.idle_timeout is not None:
        kwargs["idle_timeout"] = args.idle_timeout
    serve(echo, args.port, host=args.host, exit_on_close=False, **kwargs)
    await asyncio.Event().wait()  # until the runner stops the process


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="selreactor streams echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, default=None)
    reactor.aio.run(main(parser.parse_args()))
