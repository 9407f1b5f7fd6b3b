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
import resource
import secrets
import sys
from typing import TYPE_CHECKING

from protocols.resp.clients import REDIS_VERSION
from protocols.resp.glob import compile_pattern, match
from protocols.resp.parser import (
    OK,
    encode_array,
    encode_bulk,
    encode_error,
    encode_integer,
    encode_simple,
)
from protocols.resp.replies import SYNTAX, encode_reply, wrong_arity
from protocols.resp.session import Subcommands

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.replies import Replies
    from protocols.resp.session import Command, Session

__all__ = ["REDIS_VERSION", "Admin"]

SECTIONS = ("server", "clients", "memory", "stats", "cpu", "commandstats", "keyspace")
# CONFIG SET: the parameters accepted, each with the values accepted (None: any
# value the server's configure() takes).  The server honours hz, timeout and
# the query limits; the others describe behaviour this server has anyway.
SETTABLE: dict[str, frozenset[str] | None] = {
    "hz": None,
    "timeout": None,
    "proto-max-bulk-len": None,
    "client-query-buffer-limit": None,
    "maxclients": None,
    "save": frozenset({""}),
    "appendonly": frozenset({"no"}),
    "appendfsync": frozenset({"always", "everysec", "no"}),
    "maxmemory": frozenset({"0"}),
    "maxmemory-policy": frozenset({"noeviction"}),
    "lazyfree-lazy-user-del": frozenset({"yes", "no"}),
    "lazyfree-lazy-user-flush": frozenset({"yes", "no"}),
    "lazyfree-lazy-expire": frozenset({"yes", "no"}),
    "latency-tracking": frozenset({"yes", "no"}),
}
DEFAULT_SECTIONS = ("server", "clients", "memory", "stats", "cpu", "keyspace")


def _rss_bytes() -> int:
    """The process's resident size: /proc on Linux, else the peak."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _peak_rss_bytes()


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes there, KiB here


def _human(size: int) -> str:
    """Redis's human sizes: ``512B``, ``1.50K``, ``2.00M``."""
    if size < 1024:
        return f"{size}B"
    value = float(size)
    for unit in ("K", "M", "G"):
        value /= 1024
        if value < 1024 or unit == "G":
            break
    return f"{value:.2f}{unit}"


def _nested(items: list[bytes]) -> bytes:
    """An array whose items are already encoded replies."""
    return b"*%d\r\n" % len(items) + b"".join(items)


class Admin:
    """The server commands of one :class:`~protocols.resp.commands.Commands` table."""

    def __init__(self, commands: Commands) -> None:
        self.commands = commands
        self.databases = commands.databases
        self.host = commands.host
        self.clock = commands.clock
        self.wall = commands.wall
        self.hz = commands.hz
        self.started = self.clock()
        self.run_id = secrets.token_hex(20)
        self.settings: dict[str, str] = {
            "save": "",
            "appendonly": "no",
            "databases": str(len(self.databases)),
            "hz": str(self.hz),
            "timeout": "0",
        }
        self.command_ = Subcommands(
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
                b"set": (self._config_set, -4),
                b"resetstat": (self._config_resetstat, 2),
            },
        )
        self.function = Subcommands(
            "function",
            {
                b"flush": (self._function_flush, -2),
                b"list": (self._function_list, -2),
            },
        )

    # -- INFO ------------------------------------------------------------------

    def info(self, session: Session, args: list[bytes]) -> bytes:
        """``INFO [section ...]``: ``# Section`` blocks of ``field:value`` lines."""
        wanted = {arg.lower().decode("utf-8", "replace") for arg in args[1:]} or {"default"}
        if wanted & {"all", "everything"}:
            wanted |= set(SECTIONS)
        if "default" in wanted:
            wanted |= set(DEFAULT_SECTIONS)
        blocks = [self._section(session, name) for name in SECTIONS if name in wanted]
        return session.resp.verbatim("\r\n".join(blocks).encode())

    def _section(self, session: Session, name: str) -> str:
        figures = self.host.figures(session)
        dbs = self.databases
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
                ("client_recent_max_input_buffer", figures.get("max_input_buffer", 0)),
                ("client_recent_max_output_buffer", figures.get("max_output_buffer", 0)),
                ("blocked_clients", 0),
            ]
        elif name == "memory":
            rss = _rss_bytes()
            peak = _peak_rss_bytes()
            fields = [
                ("used_memory", rss),
                ("used_memory_human", _human(rss)),
                ("used_memory_rss", rss),
                ("used_memory_peak", max(peak, rss)),
                ("used_memory_peak_human", _human(max(peak, rss))),
                ("maxmemory", 0),
                ("maxmemory_policy", "noeviction"),
                ("mem_allocator", "pymalloc"),
            ]
        elif name == "stats":
            fields = [
                ("total_connections_received", figures.get("total_connections_received", 0)),
                ("total_commands_processed", self.commands.processed),
                ("total_net_input_bytes", figures.get("total_net_input_bytes", 0)),
                ("total_net_output_bytes", figures.get("total_net_output_bytes", 0)),
                ("rejected_connections", figures.get("rejected_connections", 0)),
                ("expired_keys", dbs.counter("expired")),
                ("evicted_keys", 0),
                ("keyspace_hits", dbs.counter("hits")),
                ("keyspace_misses", dbs.counter("misses")),
                ("total_error_replies", self.commands.errors),
            ]
        elif name == "cpu":
            times = os.times()
            fields = [
                ("used_cpu_sys", f"{times.system:.6f}"),
                ("used_cpu_user", f"{times.user:.6f}"),
                ("used_cpu_sys_children", f"{times.children_system:.6f}"),
                ("used_cpu_user_children", f"{times.children_user:.6f}"),
            ]
        elif name == "commandstats":
            fields = [
                (f"cmdstat_{c.name}", f"calls={c.calls},usec=0,usec_per_call=0.00")
                for c in self.commands.commands.values()
                if c.calls
            ]
        else:
            fields = [
                (f"db{i}", f"keys={len(db)},expires={db.volatile},avg_ttl={db.average_ttl()}")
                for i, db in enumerate(dbs)
                if len(db)
            ]
        title = {"cpu": "CPU", "commandstats": "Commandstats"}.get(name, name.capitalize())
        return "".join([f"# {title}\r\n", *(f"{k}:{v}\r\n" for k, v in fields)])

    # -- TIME, FUNCTION ----------------------------------------------------------

    def time(self, session: Session, args: list[bytes]) -> bytes:
        """``TIME``: Unix seconds and microseconds, as two bulk strings."""
        micros = int(self.wall() * 1_000_000)
        return encode_array([b"%d" % (micros // 1_000_000), b"%d" % (micros % 1_000_000)])

    @staticmethod
    def _function_flush(session: Session, args: list[bytes]) -> bytes:
        """There are no functions, so there is nothing to flush."""
        if len(args) > 3 or (len(args) == 3 and args[2].upper() not in (b"ASYNC", b"SYNC")):
            return SYNTAX
        return OK

    @staticmethod
    def _function_list(session: Session, args: list[bytes]) -> bytes:
        return b"*0\r\n"

    # -- COMMAND ---------------------------------------------------------------

    def command(self, session: Session, args: list[bytes]) -> bytes:
        """``COMMAND [COUNT|LIST|INFO|DOCS ...]``: the command table."""
        if len(args) == 1:
            entries = [self._info_entry(c, session.resp) for c in self.commands.commands.values()]
            return _nested(entries)
        return self.command_(session, args)

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
                self._info_entry(table[n], resp) if n in table else resp.null
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
            for name, value in self.settings.items():
                if match(tokens, name.encode()):
                    found[name] = value
        return session.resp.map([encode_bulk(x.encode()) for pair in found.items() for x in pair])

    def _config_set(self, session: Session, args: list[bytes]) -> bytes:
        """``CONFIG SET name value [name value ...]``: all or nothing, as Redis 7 does."""
        if len(args) % 2:
            return wrong_arity("config|set")
        pairs = []
        for i in range(2, len(args), 2):
            name = args[i].lower().decode("utf-8", "replace")
            value = args[i + 1].decode("utf-8", "replace")
            if name not in SETTABLE:
                return encode_error(
                    f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )
            allowed = SETTABLE[name]
            if allowed is not None and value.lower() not in allowed:
                return encode_error(
                    f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
                    f"selreactor supports only {'|'.join(sorted(allowed)) or 'the default'}"
                )
            pairs.append((name, value))
        for name, value in pairs:
            if allowed_by_host := self.host.configure(name, value):
                return encode_error(
                    f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
                    f"{allowed_by_host}"
                )
        for name, value in pairs:
            self.settings[name] = value
            if name == "hz":
                self.hz = int(value)
        return OK

    def _config_resetstat(self, session: Session, args: list[bytes]) -> bytes:
        self.commands.reset_stats()
        return OK
