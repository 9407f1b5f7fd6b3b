"""uvicorn serving a bare ASGI hello-world: httptools on uvloop, or h11 on asyncio.

The peers a user would otherwise pick for HTTP in Python; the application
answers every request with ``Hello, World!`` (text/plain), as ``reactor serve
http`` does.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

HELLO = b"Hello, World!"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"13")]
START = {"type": "http.response.start", "status": 200, "headers": HEADERS}
BODY = {"type": "http.response.body", "body": HELLO}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        return
    await send(START)
    await send(BODY)


def main() -> None:
    parser = argparse.ArgumentParser(description="uvicorn hello-world server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=("http",), default="http")
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http=args.http,
        loop=args.loop,
        lifespan="off",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )


if __name__ == "__main__":
    main()
