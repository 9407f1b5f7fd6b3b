"""A handler hook that raises aborts the connection it belongs to, whoever's callback it ran in."""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import cast

import pytest

from reactor.listener import Listener
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, Handler, PeerKey, Transport
from reactor.testing import FakeClock, run_until
from tests.helpers import client, read_exactly, recv_some

BIG = 4 << 20


class Boom(RuntimeError):
    """The bug planted in one hook."""


class Member(BaseHandler):
    """Records its end; its hook named ``fail_in`` raises :class:`Boom`."""

    __slots__ = ("fail_in", "lost", "others")

    def __init__(self, fail_in: str = "") -> None:
        self.transport = None
        self.fail_in = fail_in
        self.lost: list[Exception | None] = []
        self.others: list[Member] = []

    def _maybe_fail(self, hook: str) -> None:
        if hook == self.fail_in:
            raise Boom(f"{hook} failed")

    def pause_writing(self) -> None:
        self._maybe_fail("pause_writing")

    def resume_writing(self) -> None:
        self._maybe_fail("resume_writing")

    def passive(self) -> None:
        self._maybe_fail("passive")

    def eof_received(self) -> bool | None:
        self._maybe_fail("eof_received")
        return None

    def timeout(self) -> None:
        self._maybe_fail("timeout")
        super().timeout()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        super().connection_lost(exc)


class Room(Member):
    """Handler A: on ``write``, writes BIG bytes to the other member; on
    ``passive``, makes the other member passive; then answers ``done``."""

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        other = self.others[0].transport
        assert other is not None
        if data == b"write":
            other.write(b"x" * BIG)
        elif data == b"passive":
            other.set_active(0)
        self.transport.write(b"done")


def room(reactor: Reactor, fail_in: str) -> tuple[Listener, Room, Member]:
    """A listener whose first connection is A (a Room), the second B (failing
    in ``fail_in``)."""
    a, b = Room(), Member(fail_in)
    a.others.append(b)
    given = iter([a, b])

    def factory(peer: PeerKey) -> Member:
        return next(given)

    return reactor.listen(factory, "127.0.0.1", 0), a, b


def slow_client(port: int) -> socket.socket:
    """A client with a small receive buffer, so that output to it queues."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


@pytest.mark.parametrize("hook", ["pause_writing", "passive"])
def test_a_hook_failing_inside_another_connections_callback_aborts_its_own(
    reactor: Reactor, caplog: pytest.LogCaptureFixture, hook: str
) -> None:
    listener, a, b = room(reactor, hook)
    a_sock = client(listener.port)
    run_until(reactor, lambda: a.transport is not None)
    b_sock = slow_client(listener.port)
    run_until(reactor, lambda: b.transport is not None)
    b_key = b_sock.getsockname()
    with caplog.at_level(logging.ERROR, logger="reactor.transport"):
        a_sock.send(b"write" if hook == "pause_writing" else b"passive")
        assert read_exactly(reactor, a_sock, 4) == b"done"  # A carried on
        run_until(reactor, lambda: b.lost)
    assert len(b.lost) == 1 and isinstance(b.lost[0], Boom)  # B is the one aborted
    assert a.lost == []
    assert list(listener.connections) == [a_sock.getsockname()]
    assert f"handler failed for {b_key!r} in {hook}()" in caplog.text
    a_sock.close()
    b_sock.close()


def test_a_failing_resume_writing_aborts_its_connection_and_names_the_hook(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    class Writer(Member):
        __slots__ = ()

        def connection_made(self, transport: Transport) -> None:
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            assert isinstance(sock, socket.socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # a short way to drain
            transport.write(b"y" * (256 << 10))

    writer = Writer("resume_writing")
    other = Member()
    given = iter([writer, other])
    listener = reactor.listen(lambda peer: next(given), "127.0.0.1", 0)
    sock = slow_client(listener.port)
    run_until(reactor, lambda: writer.transport is not None)
    bystander = client(listener.port)
    run_until(reactor, lambda: other.transport is not None)
    assert writer.transport is not None and writer.transport.writing_paused
    key = sock.getsockname()
    with caplog.at_level(logging.ERROR, logger="reactor.transport"):

        def drained() -> bool:
            # the abort resets a connection with output still unread
            with contextlib.suppress(ConnectionResetError):
                recv_some(sock)
            return bool(writer.lost)

        run_until(reactor, drained)
    assert len(writer.lost) == 1 and isinstance(writer.lost[0], Boom)
    assert other.lost == []
    assert f"handler failed for {key!r} in resume_writing()" in caplog.text
    sock.close()
    bystander.close()


def test_a_failing_eof_received_aborts_only_its_connection(
    reactor: Reactor, caplog: pytest.LogCaptureFixture
) -> None:
    failing, other = Member("eof_received"), Member()
    given = iter([failing, other])
    listener = reactor.listen(lambda peer: next(given), "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(reactor, lambda: failing.transport is not None)
    bystander = client(listener.port)
    run_until(reactor, lambda: other.transport is not None)
    key = sock.getsockname()
    with caplog.at_level(logging.ERROR, logger="reactor.transport"):
        sock.shutdown(socket.SHUT_WR)
        run_until(reactor, lambda: failing.lost)
    assert len(failing.lost) == 1 and isinstance(failing.lost[0], Boom)
    assert other.lost == [] and len(listener.connections) == 1
    assert f"handler failed for {key!r} in eof_received()" in caplog.text
    sock.close()
    bystander.close()


def test_a_failing_timeout_hook_aborts_only_its_connection(
    fake_reactor: Reactor, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    failing, other = Member("timeout"), Member()
    given = iter([failing, other])
    listener = fake_reactor.listen(lambda peer: next(given), "127.0.0.1", 0)
    sock = client(listener.port)
    run_until(fake_reactor, lambda: failing.transport is not None)
    listener.connections[sock.getsockname()].set_idle_timeout(5)
    bystander = client(listener.port)
    run_until(fake_reactor, lambda: other.transport is not None)
    key = sock.getsockname()
    with caplog.at_level(logging.ERROR, logger="reactor.transport"):
        clock.advance(6)
        run_until(fake_reactor, lambda: failing.lost)
    assert len(failing.lost) == 1 and isinstance(failing.lost[0], Boom)
    assert other.lost == []
    assert f"handler failed for {key!r} in timeout()" in caplog.text
    sock.close()
    bystander.close()


class Bare:
    """A handler written without BaseHandler and without the optional hooks."""

    def __init__(self) -> None:
        self.transport: Transport | None = None
        self.lost: list[Exception | None] = []

    def connection_made(self, transport: Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"y" * BIG)  # crosses the high-water mark: pause_writing

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def test_a_handler_without_the_optional_hooks_gets_their_defaults(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    bare = Bare()
    # The hooks are declared on Handler, so to mypy this is not one: the cast
    # is the point, since such handlers exist and must keep working.
    listener = fake_reactor.listen(lambda peer: cast("Handler", bare), "127.0.0.1", 0)
    sock = slow_client(listener.port)
    run_until(fake_reactor, lambda: bare.transport is not None)
    conn = bare.transport
    assert conn is not None
    conn.set_idle_timeout(5)
    sock.send(b"go")
    run_until(fake_reactor, lambda: conn.writing_paused)  # no pause_writing: no failure
    assert not conn.is_closing()
    with contextlib.suppress(OSError):
        while sock.recv(1 << 16):  # resume_writing is absent too
            fake_reactor.run_once(0.01)
            if not conn.get_write_buffer_size():
                break
    clock.advance(6)
    run_until(fake_reactor, lambda: bare.lost)  # no timeout(): the default closes
    assert bare.lost == [None]
    sock.close()


class Buggy(BaseHandler):
    """Its ``timeout`` hook has a bug that raises AttributeError."""

    __slots__ = ("lost",)

    def __init__(self) -> None:
        self.transport = None
        self.lost: list[Exception | None] = []

    def timeout(self) -> None:
        self.no_such_attribute.close()  # type: ignore[attr-defined]  # the planted bug

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def test_an_attribute_error_inside_a_hook_is_a_bug_not_a_missing_hook(
    fake_reactor: Reactor, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    buggy = Buggy()
    listener = fake_reactor.listen(lambda peer: buggy, "127.0.0.1", 0, idle_timeout=5)
    sock = client(listener.port)
    run_until(fake_reactor, lambda: buggy.transport is not None)
    with caplog.at_level(logging.ERROR, logger="reactor.transport"):
        clock.advance(6)
        run_until(fake_reactor, lambda: buggy.lost)
    assert len(buggy.lost) == 1 and isinstance(buggy.lost[0], AttributeError)
    assert "in timeout()" in caplog.text
    sock.close()
