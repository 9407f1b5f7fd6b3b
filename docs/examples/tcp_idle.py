"""Connections that time out but never close: keepalive and idle timeouts.

A peer that vanishes (power cut, cable pulled, a NAT that forgot the
mapping) sends neither FIN nor reset.  An idle connection to it looks
healthy forever: TCP sends nothing when there is nothing to send.

* TCP keepalive (``set_keepalive``) makes the kernel probe a silent peer and
  reset the connection when the probes go unanswered.  It detects a dead
  peer, not a stuck one: a live kernel answers the probes even if the
  application hangs.
* An idle timeout (``idle_timeout``) is the application's rule: no bytes
  either way for N seconds and the handler's ``timeout()`` hook runs.  By
  default it closes; a protocol may send a heartbeat instead.

The idle timers here run on a :class:`reactor.testing.FakeClock`, so
"thirty seconds" pass in no time and the output is the same on every run.
"""

from __future__ import annotations

import socket

from reactor import BaseHandler, Reactor
from reactor.testing import FakeClock, run_until


def keepalive(reactor: Reactor) -> None:
    print("1. TCP keepalive")
    listener = reactor.listen(lambda peer: BaseHandler(), "127.0.0.1", 0)
    connector = reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", listener.port)
    run_until(reactor, lambda: connector.transport is not None)
    conn = connector.transport
    assert conn is not None
    sock = conn.get_extra_info("socket")
    assert isinstance(sock, socket.socket)
    print(
        "  SO_KEEPALIVE by default:", bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
    )
    conn.set_keepalive(idle=60, interval=10, count=5)
    print("  after set_keepalive(idle=60, interval=10, count=5):")
    print("    SO_KEEPALIVE", bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)))
    for name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT"):
        option = getattr(socket, name, None)
        if option is not None:
            print(f"    {name} {sock.getsockopt(socket.IPPROTO_TCP, option)}")
    print("  a dead peer is found after at most 60 + 5 x 10 = 110 s of silence")
    conn.close()
    listener.close()


class Quiet(BaseHandler):
    """Keeps the default timeout(): close."""

    def __init__(self, name: str, clock: FakeClock) -> None:
        self.transport = None
        self.name = name
        self.clock = clock
        self.start = clock.now

    def say(self, what: str) -> None:
        print(f"  t={self.clock.now - self.start:2.0f}s  {self.name}: {what}")

    def timeout(self) -> None:
        self.say("idle: timeout() closes the connection")
        super().timeout()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.clock.now - self.start < 70:  # not the reactor.close() at the end
            self.say("connection_lost()")


class Heartbeat(Quiet):
    """Instead of closing, ping the peer: writing is activity, so it stays open."""

    def timeout(self) -> None:
        self.say("idle, sending a ping")
        assert self.transport is not None
        self.transport.write(b"PING\n")


def serve_one(reactor: Reactor, handler: Quiet) -> None:
    """A listener with a 30 s idle timeout, and one client that never speaks."""
    listener = reactor.listen(lambda peer: handler, "127.0.0.1", 0, idle_timeout=30)
    reactor.connect(lambda peer: BaseHandler(), "127.0.0.1", listener.port)
    run_until(reactor, lambda: handler.transport is not None)


def idle_timeouts() -> None:
    print("2. idle timeouts, idle_timeout=30 (on a fake clock)")
    clock = FakeClock()
    reactor = Reactor(clock=clock)
    quiet = Quiet("quiet    ", clock)
    heartbeat = Heartbeat("heartbeat", clock)
    serve_one(reactor, quiet)
    serve_one(reactor, heartbeat)
    for _ in range(7):  # 70 fake seconds, 10 at a time
        clock.advance(10)
        reactor.run_once(0)  # the due timers fire
        reactor.run_once(0)  # and what they closed is reaped
    for handler in (quiet, heartbeat):
        handler.say("open" if handler.transport is not None else "gone")
    reactor.close()


def main() -> None:
    reactor = Reactor()
    keepalive(reactor)
    reactor.close()
    idle_timeouts()


if __name__ == "__main__":
    main()
