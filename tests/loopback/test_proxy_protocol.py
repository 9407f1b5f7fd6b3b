"""PROXY protocol on a real listener: trust, re-keying, deadlines, malformed headers."""

from __future__ import annotations

import socket

import pytest

from protocols.echo import EchoHandler
from reactor.connector import Connector
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Transport
from reactor.proxy_encode import encode_v1, encode_v2
from reactor.testing import FakeClock, run_until
from tests.helpers import client, read_exactly, read_until_eof


class Recorder(BaseHandler):
    """Remembers the key it was made for and what it received."""

    __slots__ = ("data", "key")

    def __init__(self, key: PeerKey) -> None:
        self.key = key
        self.data = b""

    def data_received(self, data: bytes) -> None:
        self.data += data


def listen_proxied(
    reactor: Reactor, made: list[Recorder], trusted: str = "127.0.0.1/32", timeout: float = 5.0
) -> int:
    def factory(key: PeerKey) -> Recorder:
        made.append(Recorder(key))
        return made[-1]

    listener = reactor.listen(
        factory,
        "127.0.0.1",
        0,
        proxy_protocol=True,
        proxy_trusted=trusted,
        proxy_timeout=timeout,
    )
    return listener.port


@pytest.mark.parametrize("version", [1, 2])
def test_the_table_keys_the_client_and_keeps_the_proxy(reactor: Reactor, version: int) -> None:
    made: list[Recorder] = []
    port = listen_proxied(reactor, made)
    listener = reactor.listeners[-1]
    sock = client(port)
    header = (encode_v1 if version == 1 else encode_v2)(("203.0.113.9", 40000), ("10.0.0.1", 443))
    sock.send(header + b"first bytes")
    run_until(reactor, lambda: made and made[0].data == b"first bytes")
    assert made[0].key == ("203.0.113.9", 40000)
    conn = listener.connections[("203.0.113.9", 40000)]  # type: ignore[attr-defined]
    assert conn.proxy_peer == normal(sock.getsockname())
    assert conn.peer == ("203.0.113.9", 40000)
    sock.close()
    run_until(reactor, lambda: not listener.connections)  # type: ignore[attr-defined]


def normal(address: tuple[str, int]) -> PeerKey:
    return (address[0], address[1])


def closed_by_server(reactor: Reactor, sock: socket.socket) -> bool:
    """Step until the server closed ``sock``: EOF, or a reset (it had unread bytes)."""
    try:
        return read_until_eof(reactor, sock) == b""
    except ConnectionResetError:
        return True
    finally:
        sock.close()


def test_an_untrusted_peer_is_refused_and_counted(reactor: Reactor) -> None:
    made: list[Recorder] = []
    port = listen_proxied(reactor, made, trusted="10.0.0.0/8")
    listener = reactor.listeners[-1]
    sock = client(port)
    sock.send(encode_v1(("1.2.3.4", 5), ("5.6.7.8", 9)))
    assert closed_by_server(reactor, sock)
    assert listener.rejected == 1  # type: ignore[attr-defined]
    assert not made


def test_a_local_header_keeps_the_proxy_key(reactor: Reactor) -> None:
    made: list[Recorder] = []
    port = listen_proxied(reactor, made)
    sock = client(port)
    sock.send(encode_v2(None, None) + b"ping")
    run_until(reactor, lambda: made and made[0].data == b"ping")
    assert made[0].key == normal(sock.getsockname())
    sock.close()


@pytest.mark.parametrize(
    "wire", [b"GET / HTTP/1.1\r\n\r\n", b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", b"\x16\x03\x01"]
)
def test_a_malformed_header_closes_that_connection_only(reactor: Reactor, wire: bytes) -> None:
    made: list[Recorder] = []
    port = listen_proxied(reactor, made)
    good = client(port)
    good.send(encode_v1(("192.0.2.1", 1), ("192.0.2.2", 2)))
    bad = client(port)
    bad.send(wire)
    assert closed_by_server(reactor, bad)
    run_until(reactor, lambda: len(made) == 1)
    good.close()
    assert made[0].key == ("192.0.2.1", 1)
    assert reactor.listeners[-1].proxy.malformed == 1  # type: ignore[attr-defined]


def test_the_header_deadline() -> None:
    clock = FakeClock(autojump=True)
    reactor = clock.bind(Reactor(clock=clock))
    try:
        made: list[Recorder] = []
        port = listen_proxied(reactor, made, timeout=5.0)
        sock = client(port)
        sock.send(b"PROXY TCP4 1.2.")  # and nothing more
        assert closed_by_server(reactor, sock)
        assert clock() >= 5.0
        assert not made
    finally:
        reactor.close()


def test_a_client_key_already_in_the_table_is_refused(reactor: Reactor) -> None:
    made: list[Recorder] = []
    port = listen_proxied(reactor, made)
    header = encode_v1(("192.0.2.1", 1000), ("192.0.2.2", 2))
    first, second = client(port), client(port)
    first.send(header)
    run_until(reactor, lambda: len(made) == 1)
    second.send(header)
    assert closed_by_server(reactor, second)
    first.close()
    assert reactor.listeners[-1].rejected == 1  # type: ignore[attr-defined]


def test_options_are_checked() -> None:
    with Reactor() as reactor:
        with pytest.raises(ValueError, match="proxy_trusted"):
            reactor.listen(lambda key: None, "127.0.0.1", 0, proxy_protocol=True)
        with pytest.raises(ValueError, match="not a network"):
            reactor.listen(
                lambda key: None, "127.0.0.1", 0, proxy_protocol=True, proxy_trusted="10.0.0/33"
            )


def test_the_connector_sends_a_header_first(reactor: Reactor) -> None:
    made: list[Recorder] = []
    port = listen_proxied(reactor, made)
    header = encode_v2(("198.51.100.1", 5555), ("127.0.0.1", port), checksum=True)

    class Hello(BaseHandler):
        def connection_made(self, transport: Transport) -> None:
            transport.write(b"hello")

    connector: Connector = reactor.connect(
        lambda key: Hello(), "127.0.0.1", port, proxy_header=header
    )
    run_until(reactor, lambda: made and made[0].data == b"hello")
    assert made[0].key == ("198.51.100.1", 5555)
    assert connector.transport is not None


def test_echo_behind_a_header_answers_the_bytes_after_it(reactor: Reactor) -> None:
    listener = reactor.listen(
        lambda key: EchoHandler(),
        "127.0.0.1",
        0,
        proxy_protocol=True,
        proxy_trusted="::1,127.0.0.0/8",
    )
    sock = client(listener.port)
    sock.send(encode_v1(("::1", 9), ("::1", 10)) + b"echo me")
    assert read_exactly(reactor, sock, 7) == b"echo me"
    assert ("::1", 9) in listener.connections
    sock.close()
