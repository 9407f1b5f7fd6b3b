"""bench/servers/asyncio_server.py, unchanged, on reactor.aio.

The same asyncio code the ``asyncio-*`` and ``uvloop*`` peers run (the
Protocol API or streams; echo, HTTP or RESP); only the loop differs:
:func:`reactor.aio.install` makes reactor.aio the loop of its
``asyncio.run()``.  It takes asyncio_server.py's options (run it with
``--loop asyncio``, the default, which then means reactor.aio).
"""

from __future__ import annotations

import reactor.aio
from bench.servers import asyncio_server


def main() -> None:
    reactor.aio.install()
    asyncio_server.main()


if __name__ == "__main__":
    main()
