"""selreactor's echo through the library API, for trees without the CLI.

``python -m reactor serve echo`` is preferred when it exists; this program
does the same with ``Reactor().listen`` and a :class:`BaseHandler` subclass.
"""

from __future__ import annotations

import argparse

from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey


class Echo(BaseHandler):
    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None:
            transport.write(data)

    def eof_received(self) -> bool:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description="selreactor echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, default=None)
    args = parser.parse_args()

    def factory(peer: PeerKey) -> Echo:
        return Echo()

    reactor = Reactor()
    kwargs: dict[str, object] = {"backlog": 4096}
    if args.idle_timeout is not None:
        kwargs["idle_timeout"] = args.idle_timeout
    reactor.listen(factory, args.host, args.port, **kwargs)  # type: ignore[arg-type]
    reactor.run()


if __name__ == "__main__":
    main()
