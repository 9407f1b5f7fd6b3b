"""A TCP proxy: every accepted connection is relayed to one upstream address.

``reactor serve proxy --to HOST:PORT [--send-proxy v1|v2] [--connect-timeout S]``

Theory of operation.  Each client gets its own upstream connection; the two
are *legs* of one pair, and each leg's handler writes what it reads to the
other.  Reading from the client pauses until the upstream is connected; if
the connect fails (refused, timed out), the client is closed, which is how a
TCP proxy reports it.  Backpressure runs both ways: when one leg's write
buffer rises above its high-water mark (its peer reads slowly), reading from
the other leg pauses until it drains, so the kernel's windows push back on
the fast side and a pair holds at most about a high-water mark and a read
chunk per direction.  A half-close is relayed: a peer's EOF becomes a
``write_eof()`` on the other leg once what it sent is flushed, and the pair
ends when both directions have.  A reset on one leg aborts the other.

``--send-proxy`` starts the upstream connection with a PROXY protocol header
naming the client (its peer key, which behind ``--proxy-protocol`` is the real
client's) and the address it connected to, so a chain of proxies keeps the
client's address.  Both legs are in the connection table, each naming the
other's id as ``linked`` on the status page.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Protocol, cast

from reactor.protocol import BaseHandler, EventLoop, Factory, PeerKey, Transport
from reactor.proxied import link
from reactor.proxy_encode import encode

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ClientLeg", "ProxyPlugin", "UpstreamLeg", "parse_target", "plugin"]

log = logging.getLogger(__name__)


class _Attempt(Protocol):
    """The part of :class:`reactor.connector.Connector` the proxy uses."""

    @property
    def transport(self) -> Transport | None: ...

    @property
    def error(self) -> Exception | None: ...

    def add_done_callback(self, callback: Callable[[_Attempt], object]) -> None: ...

    def cancel(self) -> None: ...


class _Dialer(Protocol):
    """A loop that can open outbound connections (``Reactor.connect``)."""

    def connect(
        self,
        factory: Factory,
        host: str,
        port: int,
        *,
        timeout: float | None = ...,
        proxy_header: bytes | None = ...,
    ) -> _Attempt: ...


def parse_target(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:80`` for IPv6) as a pair; :exc:`argparse.ArgumentTypeError`."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port 1-65535, got {text!r}")
    return host, int(port)


class _Leg(BaseHandler):
    """One side of a pair: what it reads goes to :attr:`other`."""

    __slots__ = ("other",)

    transport: Transport | None
    other: _Leg | None

    def data_received(self, data: bytes) -> None:
        """Relay to the other leg."""
        other = self.other
        if other is not None and other.transport is not None:
            other.transport.write(data)

    def eof_received(self) -> bool:
        """Relay the half-close; stay open for what the other side still sends."""
        other = self.other
        if other is not None and other.transport is not None:
            other.transport.write_eof()
        return True

    def pause_writing(self) -> None:
        """Our peer reads slowly: stop reading from the other side."""
        other = self.other
        if other is not None and other.transport is not None:
            other.transport.pause_reading()

    def resume_writing(self) -> None:
        """Drained: read from the other side again."""
        other = self.other
        if other is not None and other.transport is not None:
            other.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """End the other leg too: abort after a reset, else flush and close."""
        self.transport = None
        other, self.other = self.other, None
        if other is not None:
            other.other = None
            if other.transport is not None:
                if exc is None:
                    other.transport.close()
                else:
                    other.transport.abort()


class UpstreamLeg(_Leg):
    """The connection to the upstream server."""

    __slots__ = ()

    def connection_made(self, transport: Transport) -> None:
        """Keep the transport (the client leg links the pair once connected)."""
        self.transport = transport


class ClientLeg(_Leg):
    """An accepted client: connects upstream, then relays."""

    __slots__ = ("_attempt", "_plugin")

    def __init__(self, proxy: ProxyPlugin) -> None:
        self.transport = None
        self.other = None
        self._plugin = proxy
        self._attempt: _Attempt | None = None

    def connection_made(self, transport: Transport) -> None:
        """Hold the client's bytes until the upstream is connected."""
        self.transport = transport
        transport.pause_reading()
        settings = self._plugin
        header = None
        if settings.send_proxy is not None:
            header = encode(settings.send_proxy, transport.peer, transport.local)
        upstream = UpstreamLeg()
        upstream.transport = None
        upstream.other = self
        self.other = upstream
        host, port = settings.target
        dialer = settings.dialer
        assert dialer is not None, "make_factory sets it"
        self._attempt = dialer.connect(
            lambda key: upstream, host, port, timeout=settings.connect_timeout, proxy_header=header
        )
        self._attempt.add_done_callback(self._connected)

    def _connected(self, attempt: _Attempt) -> None:
        self._attempt = None
        transport = self.transport
        upstream = attempt.transport
        if upstream is None:
            if transport is not None:
                log.info(
                    "closing %s: upstream %s:%d unreachable: %s",
                    transport.peer,
                    *self._plugin.target,
                    attempt.error,
                )
                transport.close()
            return
        if transport is None:  # the client left while we were connecting
            upstream.close()
            return
        link(transport, upstream)
        transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """Give up a connect in progress; end the upstream leg."""
        if self._attempt is not None:
            self._attempt.cancel()
            self._attempt = None
        super().connection_lost(exc)


class ProxyPlugin:
    """``reactor serve proxy --to HOST:PORT``."""

    description = "TCP proxy to one upstream (backpressure, half-close, PROXY headers)"

    def __init__(self) -> None:
        self.target: tuple[str, int] = ("127.0.0.1", 0)
        self.send_proxy: int | None = None
        self.connect_timeout: float | None = 10.0
        self.dialer: _Dialer | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--to``, ``--send-proxy`` and ``--connect-timeout``."""
        parser.add_argument(
            "--to",
            type=parse_target,
            required=True,
            metavar="HOST:PORT",
            help="the upstream address",
        )
        parser.add_argument(
            "--send-proxy",
            choices=["v1", "v2"],
            help="start each upstream connection with a PROXY header naming the client",
        )
        parser.add_argument(
            "--connect-timeout",
            type=float,
            default=10.0,
            metavar="SECONDS",
            help="give up connecting upstream after this long (default 10)",
        )

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """One :class:`ClientLeg` per accepted client."""
        if not hasattr(loop, "connect"):
            raise TypeError("the proxy needs a loop that can connect (a Reactor)")
        settings = ProxyPlugin()
        settings.target = options.to
        settings.send_proxy = {"v1": 1, "v2": 2}.get(options.send_proxy or "")
        timeout = options.connect_timeout
        if not timeout >= 0:
            raise ValueError(f"--connect-timeout must be >= 0, got {timeout}")
        settings.connect_timeout = timeout or None
        settings.dialer = cast("_Dialer", loop)  # checked above: a Reactor

        def factory(peer: PeerKey) -> ClientLeg:
            return ClientLeg(settings)

        return factory


plugin = ProxyPlugin()
