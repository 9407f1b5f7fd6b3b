"""TLS failures in the reactor's figures: handshake timeouts, and peers refused for TLS."""

from __future__ import annotations

import socket
import ssl

import pytest

from reactor import metrics
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Transport
from reactor.testing import run_until


class Handler(BaseHandler):
    """A handler that says whether it was ever made."""

    made = False

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.made = True


class Made(list[Handler]):
    """A listener factory that keeps every handler it made."""

    def __call__(self, peer: PeerKey) -> Handler:
        self.append(Handler())
        return self[-1]


def _figure(reactor: Reactor, name: str, **labels: str) -> float | None:
    return metrics.value(metrics.collect(reactor), name, **labels)


def test_a_stalled_handshake_counts_a_handshake_timeout(
    reactor: Reactor, server_ctx: ssl.SSLContext
) -> None:
    made = Made()
    listener = reactor.listen(made, "127.0.0.1", 0, ssl=server_ctx, ssl_handshake_timeout=0.2)
    where = f"127.0.0.1:{listener.port}"
    name = "selreactor_timeouts_total"
    assert _figure(reactor, name, listener=where, kind="handshake") == 0
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as stalled:
        stalled.sendall(b"\x16")  # one byte of a ClientHello, then nothing
        run_until(reactor, lambda: len(made) == 1 and not listener.connections, timeout=5)
    assert _figure(reactor, name, listener=where, kind="handshake") == 1
    assert _figure(reactor, name, listener=where, kind="idle") == 0
    refused = "selreactor_connections_refused_total"
    assert _figure(reactor, refused, listener=where, reason="tls") == 0  # a timeout, not both


def test_a_stalled_outbound_handshake_counts_under_outbound(
    reactor: Reactor, client_ctx: ssl.SSLContext
) -> None:
    # the kernel completes the TCP handshake into the backlog; nobody ever answers
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        client = Handler()
        reactor.connect(
            lambda peer: client,
            "127.0.0.1",
            port,
            ssl=client_ctx,
            server_hostname="localhost",
            ssl_handshake_timeout=0.2,
        )
        run_until(
            reactor,
            lambda: (
                _figure(
                    reactor, "selreactor_timeouts_total", listener="outbound", kind="handshake"
                )
                == 1
            ),
            timeout=5,
        )
    assert not client.made


@pytest.mark.parametrize(
    "wire",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # plaintext HTTP instead of a ClientHello
        b"\x16\x03\x01\x00\x05garbage",  # a record header, then nonsense
    ],
    ids=["plaintext-http", "garbage-record"],
)
def test_garbage_instead_of_a_client_hello_is_refused_for_tls(
    reactor: Reactor, server_ctx: ssl.SSLContext, wire: bytes
) -> None:
    made = Made()
    listener = reactor.listen(made, "127.0.0.1", 0, ssl=server_ctx)
    where = f"127.0.0.1:{listener.port}"
    refused = "selreactor_connections_refused_total"
    assert _figure(reactor, refused, listener=where, reason="tls") == 0
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as bad:
        bad.sendall(wire)
        run_until(reactor, lambda: len(made) == 1 and not listener.connections, timeout=5)
    assert _figure(reactor, refused, listener=where, reason="tls") == 1
    assert _figure(reactor, "selreactor_timeouts_total", listener=where, kind="handshake") == 0
    # one refusal, not one more for every other reason
    assert _figure(reactor, refused, listener=where) == 1


def test_a_client_that_rejects_our_certificate_counts_a_tls_refusal(
    reactor: Reactor, server_ctx: ssl.SSLContext
) -> None:
    made = Made()
    listener = reactor.listen(made, "127.0.0.1", 0, ssl=server_ctx)
    where = f"127.0.0.1:{listener.port}"
    distrustful = ssl.create_default_context()  # does not trust the test CA
    client = Handler()
    reactor.connect(
        lambda peer: client,
        "127.0.0.1",
        listener.port,
        ssl=distrustful,
        server_hostname="localhost",
    )
    run_until(
        reactor,
        lambda: _figure(reactor, "selreactor_connections_refused_total", reason="tls") == 1,
        timeout=5,
    )
    assert (
        _figure(reactor, "selreactor_connections_refused_total", listener=where, reason="tls") == 1
    )
    assert not client.made and not made[0].made
