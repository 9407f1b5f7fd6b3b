"""The RESP handler and the ``resp`` plugin: the thin layer over the reactor.

Theory of operation.  Each connection has a :class:`RespHandler` with its
own parser and session; all connections of one listener share a
:class:`RespService`: the keyspace, the command table, the counters and the
active-expiry timer.

Pipelining.  ``data_received`` feeds the parser and runs the complete
commands in order, their replies joined into one write.  At most
``budget`` commands run per turn; if more are buffered the handler pauses
reading and finishes them from ``call_soon`` callbacks, so one pipelining
peer cannot hold the loop and its unparsed input stays bounded.  The writes
those callbacks make count as the connection's activity.

Backpressure.  When the transport calls ``pause_writing`` (the peer does not
read its replies) the handler stops running commands and pauses reading; the
kernel's window then pushes back on the peer.  ``resume_writing`` resumes
both.  A single huge reply (KEYS on a large keyspace) can still overshoot the
high-water mark once: replies are produced whole.

Protocol versions.  Requests are the same in RESP2 and RESP3; only replies
differ, and HELLO switches them per connection through the session (see
:mod:`protocols.resp.replies`), so this layer never looks at the version.

Errors.  A protocol error is answered with ``-ERR Protocol error: ...`` and
closes that connection only, as Redis does.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import TYPE_CHECKING

from protocols.resp.commands import Commands
from protocols.resp.metrics import command_families
from protocols.resp.parser import (
    MAX_ARRAY,
    MAX_BULK,
    MAX_INLINE,
    MAX_QUERY,
    RequestParser,
    RespProtocolError,
    encode_error,
)
from protocols.resp.session import CommandFn, Session
from protocols.resp.settings import configure, max_clients_figure
from protocols.resp.store import Databases
from reactor.metrics import registry_for
from reactor.protocol import BaseHandler, format_peer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from reactor.protocol import EventLoop, Factory, PeerKey, TimerHandle, Transport

__all__ = ["RespHandler", "RespPlugin", "RespService", "format_addr", "plugin"]

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 64
SWEEP_PER_ROUND = 20
SWEEP_MAX_ROUNDS = 16


def format_addr(key: PeerKey) -> str:
    """``addr=``/``laddr=`` as Redis writes them: an IP key as
    :func:`~reactor.protocol.format_peer` writes it, a Unix path with port 0."""
    host = key[0]
    if host.startswith("unix:"):
        return f"{host[5:]}:0"
    return format_peer(key)


class RespService:
    """What the connections of one listener share; the commands' :class:`Host`."""

    def __init__(
        self,
        loop: EventLoop,
        *,
        max_bulk: int = MAX_BULK,
        max_array: int = MAX_ARRAY,
        max_inline: int = MAX_INLINE,
        max_query: int = MAX_QUERY,
        budget: int = DEFAULT_BUDGET,
        hz: int = 10,
        max_clients: int = 0,
    ) -> None:
        self.loop = loop
        # Deadlines are Unix milliseconds of the monotonic clock (see store.py).
        epoch = time.time() - loop.time()
        self.databases = Databases(loop.time, on_volatile=self._arm_sweep, epoch=epoch)
        self.store = self.databases[0]
        self.commands = Commands(self.databases, self, loop.time, hz)
        self.admin = self.commands.admin
        self.commands.transactions.max_queued = max_query
        self.max_bulk = max_bulk
        self.max_array = max_array
        self.max_inline = max_inline
        self.max_query = max_query
        self.budget = budget
        self.period = 1.0 / hz
        self.max_clients = max_clients
        self.handlers: dict[int, RespHandler] = {}  # by connection id
        self.connections_received = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self._sweep_timer: TimerHandle | None = None

    def factory(self, peer: PeerKey) -> RespHandler:
        """The listener's factory: one handler per connection."""
        return RespHandler(self)

    # -- active expiry ---------------------------------------------------------

    def _arm_sweep(self) -> None:
        if self._sweep_timer is None:
            self._sweep_timer = self.loop.call_later(self.period, self._sweep)

    def _sweep(self) -> None:
        self._sweep_timer = None
        self.databases.sweep(SWEEP_PER_ROUND, SWEEP_MAX_ROUNDS)
        if self.databases.volatile:
            self._arm_sweep()

    def close(self) -> None:
        """Stop the active-expiry timer."""
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None

    # -- Host ------------------------------------------------------------------

    def _peers(self, session: Session) -> list[Transport]:
        """The connections of the listener ``session`` came in on."""
        connections = self.loop.connections
        own = connections.get(session.id)
        if own is None:
            return []
        local = own.local
        return [conn for conn in connections.values() if conn.local == local]

    def client_lines(
        self, session: Session, only_self: bool = False, current: int = 0
    ) -> list[str]:
        """One CLIENT LIST line per connection, Redis's fields in Redis's order."""
        if only_self:
            own = self.loop.connections.get(session.id)
            peers = [] if own is None else [own]
        else:
            peers = self._peers(session)
        now = self.loop.time()
        return [self._line(conn, now, current if conn.id == session.id else 0) for conn in peers]

    def _line(self, conn: Transport, now: float, current: int) -> str:
        handler = self.handlers.get(conn.id)
        peer_session = handler.session if handler is not None else None
        # Real sizes: input not yet parsed (plus, for the connection asking,
        # the command being run, which Redis still counts), the arguments of
        # a half-received command, and the queued output.
        qbuf = current + (handler.parser.buffered if handler is not None else 0)
        argv = current + (handler.parser.held if handler is not None else 0)
        omem = conn.get_write_buffer_size()
        db = peer_session.db_index if peer_session else 0
        sock = conn.get_extra_info("socket")
        fileno = getattr(sock, "fileno", None)
        fd = fileno() if callable(fileno) else -1
        name = peer_session.name.decode("utf-8", "replace") if peer_session else ""
        cmd = peer_session.command if peer_session else "NULL"
        events = ("r" if conn.is_reading() else "") + ("w" if omem else "")
        lib_name = peer_session.lib_name.decode("utf-8", "replace") if peer_session else ""
        lib_ver = peer_session.lib_ver.decode("utf-8", "replace") if peer_session else ""
        resp = peer_session.resp.version if peer_session else 2
        tx = peer_session.tx if peer_session else None
        queue = tx.queue if tx is not None else None
        multi = -1 if queue is None else len(queue)
        multi_mem = tx.queued_bytes if tx is not None else 0
        flags = ("x" if queue is not None else "") + ("d" if tx is not None and tx.dirty else "")
        flags = flags or "N"
        total = qbuf + argv + multi_mem + omem
        return (
            f"id={conn.id} addr={format_addr(conn.peer)} laddr={format_addr(conn.local)} "
            f"fd={fd} name={name} age={int(now - conn.created)} "
            f"idle={int(now - conn.last_activity)} flags={flags} db={db} sub=0 psub=0 ssub=0 "
            f"multi={multi} qbuf={qbuf} qbuf-free=0 argv-mem={argv} multi-mem={multi_mem} "
            f"rbs=0 rbp=0 obl=0 oll=0 omem={omem} tot-mem={total} events={events} cmd={cmd} "
            f"user=default redir=-1 resp={resp} lib-name={lib_name} lib-ver={lib_ver}\n"
        )

    def kill(
        self,
        session: Session,
        addrs: list[str],
        laddrs: list[str],
        ids: list[int],
        skip_self: bool,
    ) -> int:
        """Close the connections matching every filter given; return how many."""
        killed = 0
        for conn in self._peers(session):
            if (
                (addrs and format_addr(conn.peer) not in addrs)
                or (laddrs and format_addr(conn.local) not in laddrs)
                or (ids and conn.id not in ids)
            ):
                continue
            if conn.id == session.id:
                if skip_self:
                    continue
                session.close_after_reply()
            else:
                log.info("CLIENT KILL closes %s", conn.peer)
                conn.abort()
            killed += 1
        return killed

    def figures(self, session: Session) -> Mapping[str, int | str]:
        """Figures for INFO."""
        own = self.loop.connections.get(session.id)
        selector = getattr(self.loop, "selector", None)
        return {
            "tcp_port": own.local[1] if own is not None else 0,
            "multiplexing_api": type(selector).__name__ if selector is not None else "select",
            "connected_clients": len(self.handlers),
            "maxclients": max_clients_figure(self.max_clients),
            "total_connections_received": self.connections_received,
            "total_net_input_bytes": self.bytes_in,
            "total_net_output_bytes": self.bytes_out,
        }

    def configure(self, name: str, value: str) -> str | None:
        """CONFIG SET of the parameters the service acts on (see :mod:`.settings`)."""
        return configure(self, name, value)


class RespHandler(BaseHandler):
    """One connection: parse, execute in order, write the replies (RESP2 or RESP3)."""

    transport: Transport

    def __init__(self, service: RespService) -> None:
        self.service = service
        self.parser = RequestParser(
            service.max_bulk, service.max_array, service.max_inline, service.max_query
        )
        self.session = Session(0, service.store)
        self._dispatcher = service.commands.dispatcher
        self._execute: CommandFn = service.commands.execute  # the dispatcher, until MULTI
        self._budget = service.budget
        self._paused = False  # pause_writing() was called
        self._scheduled = False  # a call_soon continuation is pending
        self._eof = False

    def connection_made(self, transport: Transport) -> None:
        """Register the connection with the service."""
        self.transport = transport
        self.session.id = transport.id
        self.service.handlers[transport.id] = self
        self.service.connections_received += 1

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self.service.handlers.pop(self.session.id, None)
        self.session.release()

    def data_received(self, data: bytes) -> None:
        """Buffer ``data`` and run what is complete, unless paused or yielding."""
        self.service.bytes_in += len(data)
        self.parser.feed(data)
        if not self._paused and not self._scheduled:
            self._process()

    def eof_received(self) -> bool | None:
        """Finish the commands already received, then close."""
        self._eof = True
        return self._scheduled or self._paused or None

    def pause_writing(self) -> None:
        """The peer is not reading its replies: stop executing and reading."""
        self._paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        """The replies drained: read and execute again."""
        self._paused = False
        if self.transport.is_closing():
            return
        if not self._eof:
            self.transport.resume_reading()
        if not self._scheduled:
            self._scheduled = True
            self.transport.loop.call_soon(self._process)

    def drain_requested(self) -> None:
        """A graceful drain: answer every command already sent, then close.

        The transport reads until the kernel holds nothing more from the
        client, then delivers that as the client's EOF, and
        :meth:`eof_received` finishes the commands received and closes.
        """
        self.transport.end_input()

    def _process(self) -> None:
        self._scheduled = False
        transport = self.transport
        if self._paused or transport.is_closing():
            return
        next_command = self.parser.next_command
        session = self.session
        execute = self._execute
        out: list[bytes] = []
        budget = self._budget
        try:
            while budget:
                args = next_command()
                if args is None:
                    break
                out.append(execute(session, args))
                budget -= 1
                if session.attention:
                    if session.quit:
                        break
                    session.attention = False
                    # MULTI, EXEC or DISCARD: queue commands, or run them again.
                    execute = self._execute = self._dispatcher(session)
        except RespProtocolError as exc:
            log.info("closing %s: %s", transport.peer, exc)
            out.append(encode_error(f"ERR {exc}"))
            self._write(out)
            transport.close()
            return
        if out:
            self._write(out)
        if session.quit:
            transport.close()
        elif not budget and self.parser.buffered:
            # Yield to the other connections; read no more until this is done.
            transport.pause_reading()
            if not self._paused:
                self._scheduled = True
                transport.loop.call_soon(self._process)
        elif self._eof:
            transport.close()
        elif not self._paused and not transport.is_reading():
            transport.resume_reading()

    def _write(self, out: list[bytes]) -> None:
        data = out[0] if len(out) == 1 else b"".join(out)
        self.service.bytes_out += len(data)
        self.transport.write(data)


class RespPlugin:
    """``reactor serve resp``: a Redis-protocol (RESP2 and RESP3) in-memory key-value store."""

    description = "Redis-protocol (RESP2/RESP3) in-memory key-value server"
    refuse_message = b"-ERR max number of clients reached\r\n"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The limits and the expiry rate."""
        group = parser.add_argument_group("resp")
        group.add_argument(
            "--proto-max-bulk-len", type=int, default=MAX_BULK, help="longest bulk string"
        )
        group.add_argument(
            "--max-multibulk-len", type=int, default=MAX_ARRAY, help="most words in a command"
        )
        group.add_argument(
            "--max-inline-len", type=int, default=MAX_INLINE, help="longest inline command"
        )
        group.add_argument(
            "--client-query-buffer-limit",
            type=int,
            default=MAX_QUERY,
            help="most bytes one command may hold",
        )
        group.add_argument(
            "--pipeline-budget",
            type=int,
            default=DEFAULT_BUDGET,
            help="commands run per connection per loop turn",
        )
        group.add_argument("--hz", type=int, default=10, help="active expiry cycles per second")

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """A :class:`RespService` for the listener; its factory."""
        service = RespService(
            loop,
            max_bulk=getattr(options, "proto_max_bulk_len", MAX_BULK),
            max_array=getattr(options, "max_multibulk_len", MAX_ARRAY),
            max_inline=getattr(options, "max_inline_len", MAX_INLINE),
            max_query=getattr(options, "client_query_buffer_limit", MAX_QUERY),
            budget=getattr(options, "pipeline_budget", DEFAULT_BUDGET),
            hz=getattr(options, "hz", 10),
            max_clients=getattr(options, "max_connections", None) or 0,
        )
        commands = service.commands
        registry_for(loop).add_collector(lambda: command_families(commands))
        return service.factory


plugin = RespPlugin()
