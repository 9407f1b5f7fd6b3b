"""Server commands: INFO, COMMAND, CONFIG; and the registration of CLIENT, HELLO, AUTH.

These ask about the server rather than the keyspace and answer in the
shapes redis-cli and redis-py expect: INFO ``# Section`` blocks of
``field:value`` lines, COMMAND the 10-element entries of Redis 7, CONFIG GET
the few settings clients look at.  The client commands live in
:mod:`protocols.resp.clients`; they are registered here, with these, in one
table.
"""

from __future__ import annotations

import os
import platform
import secrets
import sys
from typing import TYPE_CHECKING

from protocols.resp.clients import REDIS_VERSION, ClientCommands
from protocols.resp.commands import Subcommands
from protocols.resp.glob import compile_pattern, match
from protocols.resp.parser import (
    OK,
    encode_array,
    encode_bulk,
    encode_integer,
    encode_simple,
)
from protocols.resp.replies import encode_reply

if TYPE_CHECKING:
    from collections.abc import Callable

    from protocols.resp.commands import Command, CommandFn, Commands, Session
    from protocols.resp.replies import Replies

__all__ = ["REDIS_VERSION", "Admin"]

SECTIONS = ("server", "clients", "stats", "keyspace")


def _nested(items: list[bytes]) -> bytes:
    """An array whose items are already encoded replies."""
    return b"*%d\r\n" % len(items) + b"".join(items)


class Admin:
    """The server commands of one :class:`~protocols.resp.commands.Commands` table."""

    def __init__(self, commands: Commands, clock: Callable[[], float], hz: int = 10) -> None:
        self.commands = commands
        self.store = commands.store
        self.host = commands.host
        self.clock = clock
        self.hz = hz
        self.started = clock()
        self.run_id = secrets.token_hex(20)
        self.config: dict[str, str] = {
            "save": "",
            "appendonly": "no",
            "databases": "1",
            "hz": str(hz),
            "timeout": "0",
        }
        self._command = Subcommands(
            "command",
            {
                b"count": (self._command_count, 2),
                b"list": (self._command_list, -2),
                b"info": (self._command_info, -2),
                b"docs": (self._command_docs, -2),
            },
        )
        self.config_ = Subcommands(
            "config",
            {
                b"get": (self._config_get, -3),
                b"resetstat": (self._config_resetstat, 2),
            },
        )
        clients = self.clients = ClientCommands(commands)
        table: tuple[tuple[str, CommandFn, int, str, str, str], ...] = (
            ("client", clients.client, -2, "admin", "connection", "Manage connections"),
            ("info", self.info, -1, "", "server", "Information about the server"),
            ("command", self.command, -1, "", "server", "Details of the commands"),
            ("hello", clients.hello, -1, "fast", "connection", "Handshake"),
            ("auth", clients.auth, -2, "fast", "connection", "Authenticate"),
            ("config", self.config_, -2, "admin", "server", "Read the settings"),
        )
        for name, fn, arity, flags, group, summary in table:
            commands.add(name, fn, arity, flags, group=group, summary=summary)

    # -- INFO ------------------------------------------------------------------

    def info(self, session: Session, args: list[bytes]) -> bytes:
        """``INFO [section ...]``: ``# Section`` blocks of ``field:value`` lines."""
        wanted = [arg.lower().decode("utf-8", "replace") for arg in args[1:]]
        if not wanted or any(w in ("all", "default", "everything") for w in wanted):
            wanted = list(SECTIONS)
        blocks = [self._section(session, name) for name in SECTIONS if name in wanted]
        return session.resp.verbatim("\r\n".join(blocks).encode())

    def _section(self, session: Session, name: str) -> str:
        figures = self.host.figures(session)
        store = self.store
        fields: list[tuple[str, object]]
        if name == "server":
            uptime = int(self.clock() - self.started)
            fields = [
                ("redis_version", REDIS_VERSION),
                ("redis_mode", "standalone"),
                ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
                ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
                ("multiplexing_api", figures.get("multiplexing_api", "select")),
                ("process_id", os.getpid()),
                ("run_id", self.run_id),
                ("tcp_port", figures.get("tcp_port", 0)),
                ("uptime_in_seconds", uptime),
                ("uptime_in_days", uptime // 86400),
                ("hz", self.hz),
                ("executable", sys.executable),
                ("server_implementation", "selreactor"),
            ]
        elif name == "clients":
            fields = [
                ("connected_clients", figures.get("connected_clients", 0)),
                ("maxclients", figures.get("maxclients", 0)),
                ("blocked_clients", 0),
            ]
        elif name == "stats":
            fields = [
                ("total_connections_received", figures.get("total_connections_received", 0)),
                ("total_commands_processed", self.commands.processed),
                ("total_net_input_bytes", figures.get("total_net_input_bytes", 0)),
                ("total_net_output_bytes", figures.get("total_net_output_bytes", 0)),
                ("rejected_connections", figures.get("rejected_connections", 0)),
                ("expired_keys", store.expired),
                ("evicted_keys", 0),
                ("keyspace_hits", store.hits),
                ("keyspace_misses", store.misses),
                ("total_error_replies", self.commands.errors),
            ]
        else:
            fields = []
            if len(store):
                value = f"keys={len(store)},expires={store.volatile},avg_ttl={store.average_ttl()}"
                fields.append(("db0", value))
        title = name.capitalize()
        return "".join([f"# {title}\r\n", *(f"{k}:{v}\r\n" for k, v in fields)])

    # -- COMMAND ---------------------------------------------------------------

    def command(self, session: Session, args: list[bytes]) -> bytes:
        """``COMMAND [COUNT|LIST|INFO|DOCS ...]``: the command table."""
        if len(args) == 1:
            entries = [self._info_entry(c, session.resp) for c in self.commands.commands.values()]
            return _nested(entries)
        return self._command(session, args)

    def _command_count(self, session: Session, args: list[bytes]) -> bytes:
        return encode_integer(len(self.commands.commands))

    def _command_list(self, session: Session, args: list[bytes]) -> bytes:
        return encode_array(name.encode() for name in self.commands.commands)

    def _names(self, args: list[bytes]) -> list[str]:
        return [a.lower().decode("utf-8", "replace") for a in args[2:]] or list(
            self.commands.commands
        )

    def _command_info(self, session: Session, args: list[bytes]) -> bytes:
        table = self.commands.commands
        resp = session.resp
        return _nested(
            [
                self._info_entry(table[n], resp) if n in table else resp.null_array
                for n in self._names(args)
            ]
        )

    def _command_docs(self, session: Session, args: list[bytes]) -> bytes:
        table = self.commands.commands
        resp = session.resp
        parts = []
        for n in self._names(args):
            if n in table:
                parts += [encode_bulk(n.encode()), self._docs_entry(table[n], resp)]
        return resp.map(parts)

    @staticmethod
    def _info_entry(command: Command, resp: Replies) -> bytes:
        """Redis 7's 10 fields; flags, categories, tips, key specs, subcommands are sets."""
        step = 1 if command.first_key else 0
        empty = resp.set_header(0)
        return _nested(
            [
                encode_bulk(command.name.encode()),
                encode_integer(command.arity),
                resp.set([encode_simple(flag) for flag in command.flags]),
                encode_integer(command.first_key),
                encode_integer(command.last_key),
                encode_integer(step),
                resp.set([encode_simple(f"@{command.group}")]),
                empty,
                empty,
                empty,
            ]
        )

    @staticmethod
    def _docs_entry(command: Command, resp: Replies) -> bytes:
        return encode_reply(
            {
                b"summary": command.summary.encode(),
                b"since": b"1.0.0",
                b"group": command.group.encode(),
                b"complexity": b"O(1)" if "fast" in command.flags else b"O(N)",
            },
            resp,
        )

    # -- CONFIG ----------------------------------------------------------------

    def _config_get(self, session: Session, args: list[bytes]) -> bytes:
        found: dict[str, str] = {}
        for pattern in args[2:]:
            tokens = compile_pattern(pattern.lower())
            for name, value in self.config.items():
                if match(tokens, name.encode()):
                    found[name] = value
        return session.resp.map([encode_bulk(x.encode()) for pair in found.items() for x in pair])

    def _config_resetstat(self, session: Session, args: list[bytes]) -> bytes:
        self.commands.processed = self.commands.errors = 0
        self.store.hits = self.store.misses = self.store.expired = 0
        return OK
