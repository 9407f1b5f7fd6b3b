"""Outbound failures reach the connector's caller at once, with nothing leaked or logged twice."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reactor.connector import Connector, ConnectState
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey
from reactor.testing import run_until


class FactoryBug(RuntimeError):
    """Raised by the outbound factory."""


def failing_factory(peer: PeerKey) -> BaseHandler:
    raise FactoryBug(f"no handler for {peer}")


class Served(BaseHandler):
    """The server side; it tells when the client's socket closed."""

    __slots__ = ("eof",)

    def __init__(self) -> None:
        self.transport = None
        self.eof = False

    def eof_received(self) -> bool | None:
        self.eof = True
        return None


@pytest.mark.parametrize("where", ["tcp", "unix"])
def test_an_outbound_factory_that_raises_closes_its_socket_and_reports(
    reactor: Reactor, caplog: pytest.LogCaptureFixture, tmp_path: Path, where: str
) -> None:
    served: list[Served] = []

    def serve(peer: PeerKey) -> Served:
        served.append(Served())
        return served[-1]

    if where == "tcp":
        listener = reactor.listen(serve, "127.0.0.1", 0)
        host, port = "127.0.0.1", listener.port
    else:  # a Unix connect completes inside connect(): the other path to the factory
        host, port = str(tmp_path / "s"), 0
        listener = reactor.listen(serve, host)
    done: list[Connector] = []
    with caplog.at_level(logging.ERROR, logger="reactor.connector"):
        connector = reactor.connect(failing_factory, host, port, timeout=5)
        connector.add_done_callback(done.append)
        run_until(reactor, lambda: done, timeout=5)
    assert done == [connector]
    assert connector.state is ConnectState.FAILED
    assert isinstance(connector.error, FactoryBug)  # not a timeout
    # The socket was closed, not left to the garbage collector: the server
    # sees the client's EOF while the connector (and its error) is still alive.
    run_until(reactor, lambda: served and served[0].eof, timeout=5)
    assert "factory failed for" in caplog.text
    listener.close()


@pytest.mark.parametrize("port", [-1, 0, 65536, 70000])
def test_connect_refuses_a_port_out_of_range_at_the_call(reactor: Reactor, port: int) -> None:
    with pytest.raises(ValueError, match=r"port must be in 1\.\.65535"):
        reactor.connect(BaseHandler, "127.0.0.1", port)  # type: ignore[arg-type]
    assert not reactor._ready  # nothing was scheduled


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_listen_refuses_a_port_out_of_range(reactor: Reactor, port: int) -> None:
    with pytest.raises(ValueError, match=r"port must be in 0\.\.65535"):
        reactor.listen(BaseHandler, "127.0.0.1", port)  # type: ignore[arg-type]
    assert reactor.listeners == []


@pytest.mark.parametrize(
    "host",
    [
        "/" + "x" * 200,  # a Unix path too long: connect() raises, not returns, the error
        "a" * 64,  # a name label too long for IDNA: getaddrinfo raises UnicodeError
    ],
)
def test_an_unusable_address_fails_the_connector_at_once(
    reactor: Reactor, caplog: pytest.LogCaptureFixture, host: str
) -> None:
    done: list[Connector] = []
    with caplog.at_level(logging.DEBUG):
        connector = reactor.connect(BaseHandler, host, 80, timeout=None)  # type: ignore[arg-type]
        connector.add_done_callback(done.append)
        run_until(reactor, lambda: done, timeout=5)
    assert connector.state is ConnectState.FAILED
    assert not isinstance(connector.error, TimeoutError)
    assert isinstance(connector.error, (OSError, ValueError))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
