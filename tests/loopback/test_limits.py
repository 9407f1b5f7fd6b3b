"""Limits: max_connections (pause and refuse), max_per_peer, EMFILE back-off, shutdown."""

from __future__ import annotations

import logging
import resource
import socket
import time

import pytest

from protocols.echo import EchoHandler
from reactor.listener import Overload
from reactor.loop import Reactor
from reactor.protocol import PeerKey
from reactor.testing import run_until
from tests.helpers import client, read_exactly, read_until_eof


def echo(peer: PeerKey) -> EchoHandler:
    return EchoHandler()


def test_max_connections_pauses_and_a_freed_slot_serves_the_next(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0, max_connections=2)
    first, second = client(listener.port), client(listener.port)
    run_until(reactor, lambda: len(listener.connections) == 2)
    assert not listener.is_accepting()
    waiting = client(listener.port)  # completes in the kernel backlog
    waiting.send(b"am I served?")
    for _ in range(20):
        reactor.run_once(0.001)
    assert len(listener.connections) == 2
    assert waiting.getsockname() not in listener.connections
    first.close()
    assert read_exactly(reactor, waiting, 12) == b"am I served?"
    assert waiting.getsockname() in listener.connections
    assert listener.rejected == 0
    second.close()
    waiting.close()


def test_refuse_policy_sends_a_message_closes_and_counts(reactor: Reactor) -> None:
    listener = reactor.listen(
        echo,
        "127.0.0.1",
        0,
        max_connections=1,
        overload=Overload.REFUSE,
        refuse_message=b"busy\r\n",
    )
    kept = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    refused = client(listener.port)
    assert read_until_eof(reactor, refused) == b"busy\r\n"
    assert listener.rejected == 1
    assert list(listener.connections) == [kept.getsockname()]
    kept.close()
    refused.close()


def test_max_per_peer_refuses_the_extra_connection(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0, max_per_peer=2)
    socks = [client(listener.port) for _ in range(2)]
    run_until(reactor, lambda: len(listener.connections) == 2)
    third = client(listener.port)
    assert read_until_eof(reactor, third) == b""
    assert listener.rejected == 1
    socks[0].close()
    run_until(reactor, lambda: len(listener.connections) == 1)
    fourth = client(listener.port)
    fourth.send(b"ok")
    assert read_exactly(reactor, fourth, 2) == b"ok"
    for s in (*socks, third, fourth):
        s.close()


def test_factory_returning_none_refuses(reactor: Reactor) -> None:
    listener = reactor.listen(lambda peer: None, "127.0.0.1", 0)
    sock = client(listener.port)
    assert read_until_eof(reactor, sock) == b""
    assert listener.rejected == 1
    sock.close()


def test_suspend_and_resume(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    listener.suspend()
    sock = client(listener.port)
    for _ in range(10):
        reactor.run_once(0.001)
    assert not listener.connections
    listener.resume()
    run_until(reactor, lambda: listener.connections)
    sock.close()


def test_close_leaves_connections_alone(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    listener.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", listener.port), timeout=1).close()
    sock.send(b"still here")
    assert read_exactly(reactor, sock, 10) == b"still here"
    sock.close()


def test_shutdown_flushes_then_aborts_at_the_deadline(reactor: Reactor) -> None:
    listener = reactor.listen(echo, "127.0.0.1", 0)
    polite = client(listener.port)
    stuck = client(listener.port)
    run_until(reactor, lambda: len(listener.connections) == 2)
    conns = {c.peer: c for c in listener.connections.values()}
    conns[polite.getsockname()].write(b"goodbye")
    stuck_conn = conns[stuck.getsockname()]
    while stuck_conn.get_write_buffer_size() == 0:  # stuck never reads
        stuck_conn.write(b"s" * 1_000_000)
    drained: list[bool] = []
    listener.shutdown(timeout=0.2, callback=lambda: drained.append(True))
    assert read_until_eof(reactor, polite) == b"goodbye"
    run_until(reactor, lambda: drained)
    assert not listener.connections
    polite.close()
    stuck.close()


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


def test_emfile_backs_off_keeps_serving_and_recovers(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    """At the descriptor limit the loop does not spin, open connections carry on,
    and accepting resumes by itself once descriptors free up."""
    listener = reactor.listen(echo, "127.0.0.1", 0)
    first = client(listener.port)
    run_until(reactor, lambda: listener.connections)
    waiting = [client(listener.port) for _ in range(5)]  # queued in the backlog
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (_open_fds() + 2, hard))
        with caplog.at_level(logging.WARNING, logger="reactor.listener"):
            run_until(reactor, lambda: listener.accept_errors > 0)
            cpu0, wall0 = time.process_time(), time.monotonic()
            while time.monotonic() - wall0 < 1.0:  # a measurement window, not a sleep
                reactor.run_once(0.05)
            cpu = time.process_time() - cpu0
        assert cpu < 0.3, f"the loop spun at the limit: {cpu:.2f} s CPU in 1 s"
        assert caplog.text.count("pausing") <= 2  # logged at most once per interval
        first.send(b"served at the limit")
        assert read_exactly(reactor, first, 19) == b"served at the limit"
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    run_until(reactor, lambda: len(listener.connections) == 6)
    for sock in (first, *waiting):
        sock.close()
