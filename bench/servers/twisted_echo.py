"""Twisted peer: the classic Protocol echo on the epoll reactor."""

from __future__ import annotations

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import protocol, reactor  # noqa: E402

from bench.servers.minimal import parse_args  # noqa: E402


class Echo(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        assert self.transport is not None
        self.transport.write(data)


def main() -> None:
    args = parse_args("Twisted echo server")
    factory = protocol.Factory.forProtocol(Echo)
    reactor.listenTCP(args.port, factory, backlog=4096, interface=args.host)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
