"""Server commands: CLIENT, INFO, COMMAND, HELLO, CONFIG, AUTH.

These ask about the server rather than the keyspace, so they reach the
connection table through the :class:`~protocols.resp.commands.Host` and
answer in the shapes redis-cli and redis-py expect: CLIENT LIST one line per
connection with Redis's field names, INFO ``# Section`` blocks of
``field:value`` lines, COMMAND the 10-element entries of Redis 7.
"""

from __future__ import annotations

import os
import platform
import secrets
import sys
from typing import TYPE_CHECKING, TypeAlias

from protocols.resp.commands import SYNTAX, parse_int, wrong_arity
from protocols.resp.glob import compile_pattern, match
from protocols.resp.parser import (
    NIL,
    OK,
    encode_array,
    encode_bulk,
    encode_error,
    encode_integer,
    encode_simple,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from protocols.resp.commands import Command, Commands, Session

__all__ = ["REDIS_VERSION", "Admin"]

CommandFn: TypeAlias = "Callable[[Session, list[bytes]], bytes]"

REDIS_VERSION = "7.0.0"
"""The Redis release whose behaviour the commands follow, as INFO and HELLO report it."""

NOPROTO = b"-NOPROTO unsupported protocol version\r\n"
BAD_NAME = b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
SECTIONS = ("server", "clients", "stats", "keyspace")


def _valid_name(name: bytes) -> bool:
    return all(33 <= c <= 126 for c in name)


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
        self._subcommands: dict[str, dict[bytes, tuple[CommandFn, int]]] = {
            "client": {
                b"list": (self._client_list, -2),
                b"info": (self._client_info, 2),
                b"kill": (self._client_kill, -3),
                b"setname": (self._client_setname, 3),
                b"getname": (self._client_getname, 2),
                b"id": (self._client_id, 2),
                b"setinfo": (self._client_setinfo, 4),
                b"help": (self._help, 2),
            },
            "command": {
                b"count": (self._command_count, 2),
                b"list": (self._command_list, -2),
                b"info": (self._command_info, -2),
                b"docs": (self._command_docs, -2),
                b"help": (self._help, 2),
            },
            "config": {
                b"get": (self._config_get, -3),
                b"resetstat": (self._config_resetstat, 2),
                b"help": (self._help, 2),
            },
        }
        add = commands.add
        add("client", self.client, -2, "admin", group="connection", summary="Manage connections")
        add("info", self.info, -1, "", group="server", summary="Information about the server")
        add("command", self.command, -1, "", group="server", summary="Details of the commands")
        add("hello", self.hello, -1, "fast", group="connection", summary="Handshake")
        add("auth", self.auth, -2, "fast", group="connection", summary="Authenticate")
        add("config", self.config_, -2, "admin", group="server", summary="Read the settings")

    # -- CLIENT ----------------------------------------------------------------

    def _subcommand(self, group: str, session: Session, args: list[bytes]) -> bytes:
        """Dispatch ``GROUP sub ...`` through the group's table, checking arity."""
        sub = args[1].lower()
        entry = self._subcommands[group].get(sub)
        if entry is None:
            text = args[1].decode("utf-8", "replace")[:128]
            return encode_error(f"ERR unknown subcommand '{text}'. Try {group.upper()} HELP.")
        fn, want = entry
        name = f"{group}|{sub.decode()}"
        n = len(args)
        if n != want and (want > 0 or n < -want):
            return wrong_arity(name)
        session.command = name
        return fn(session, args)

    def _help(self, session: Session, args: list[bytes]) -> bytes:
        group = args[0].upper().decode()
        lines = [f"{group} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
        lines += [sub.decode().upper() for sub in self._subcommands[group.lower()]]
        return encode_array(line.encode() for line in lines)

    # -- CLIENT ----------------------------------------------------------------

    def client(self, session: Session, args: list[bytes]) -> bytes:
        return self._subcommand("client", session, args)

    def _client_info(self, session: Session, args: list[bytes]) -> bytes:
        return encode_bulk("".join(self.host.client_lines(session, only_self=True)).encode())

    @staticmethod
    def _client_setname(session: Session, args: list[bytes]) -> bytes:
        if not _valid_name(args[2]):
            return BAD_NAME
        session.name = args[2]
        return OK

    @staticmethod
    def _client_getname(session: Session, args: list[bytes]) -> bytes:
        return encode_bulk(session.name) if session.name else NIL

    @staticmethod
    def _client_id(session: Session, args: list[bytes]) -> bytes:
        return encode_integer(session.id)

    def _client_list(self, session: Session, args: list[bytes]) -> bytes:
        lines = self.host.client_lines(session)
        if len(args) == 2:
            return encode_bulk("".join(lines).encode())
        if len(args) == 4 and args[2].lower() == b"type":
            kind = args[3].lower()
            if kind not in (b"normal", b"master", b"replica", b"pubsub"):
                return encode_error(
                    f"ERR Unknown client type '{args[3].decode('utf-8', 'replace')}'"
                )
            return encode_bulk("".join(lines if kind == b"normal" else []).encode())
        if len(args) >= 4 and args[2].lower() == b"id":
            ids = set()
            for raw in args[3:]:
                ident = parse_int(raw)
                if ident is None or ident <= 0:
                    return b"-ERR Invalid client ID\r\n"
                ids.add(f"id={ident} ")
            return encode_bulk(
                "".join(ln for ln in lines if ln[: ln.find(" ") + 1] in ids).encode()
            )
        return SYNTAX

    def _client_kill(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) == 3:  # the old form: CLIENT KILL host:port
            killed = self.host.kill(session, [args[2].decode("utf-8", "replace")], [], [], False)
            return OK if killed else b"-ERR No such client\r\n"
        return self._client_kill_filters(session, args)

    def _client_kill_filters(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) % 2:
            return SYNTAX
        addrs: list[str] = []
        laddrs: list[str] = []
        ids: list[int] = []
        skip_self = True
        none = False  # a filter that matches nothing (a type other than normal)
        for i in range(2, len(args), 2):
            name = args[i].lower()
            value = args[i + 1]
            if name == b"addr":
                addrs.append(value.decode("utf-8", "replace"))
            elif name == b"laddr":
                laddrs.append(value.decode("utf-8", "replace"))
            elif name == b"id":
                ident = parse_int(value)
                if ident is None or ident <= 0:
                    return b"-ERR client-id should be greater than 0\r\n"
                ids.append(ident)
            elif name == b"skipme" and value.lower() in (b"yes", b"no"):
                skip_self = value.lower() == b"yes"
            elif name == b"type":
                kind = value.lower()
                if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                    text = value.decode("utf-8", "replace")
                    return encode_error(f"ERR Unknown client type '{text}'")
                none = none or kind != b"normal"
            else:
                return SYNTAX
        if none:
            return b":0\r\n"
        return encode_integer(self.host.kill(session, addrs, laddrs, ids, skip_self))

    @staticmethod
    def _client_setinfo(session: Session, args: list[bytes]) -> bytes:
        attr = args[2].lower()
        if attr not in (b"lib-name", b"lib-ver"):
            text = args[2].decode("utf-8", "replace")
            return encode_error(f"ERR Unrecognized option '{text}'")
        if not _valid_name(args[3]):
            return encode_error(
                f"ERR {attr.decode()} cannot contain spaces, newlines or special characters."
            )
        if attr == b"lib-name":
            session.lib_name = args[3]
        else:
            session.lib_ver = args[3]
        return OK

    # -- HELLO, AUTH -----------------------------------------------------------

    def hello(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) >= 2:
            version = parse_int(args[1])
            if version is None:
                return b"-ERR Protocol version is not an integer or out of range\r\n"
            if version != 2:
                return NOPROTO
        i = 2
        name = None
        while i < len(args):
            opt = args[i].lower()
            if opt == b"auth" and i + 2 < len(args):
                if args[i + 1] != b"default":
                    return b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                i += 3
            elif opt == b"setname" and i + 1 < len(args):
                name = args[i + 1]
                if not _valid_name(name):
                    return BAD_NAME
                i += 2
            else:
                text = args[i].decode("utf-8", "replace")
                return encode_error(f"ERR Syntax error in HELLO option '{text}'")
        if name is not None:
            session.name = name
        return _nested(
            [
                encode_bulk(b"server"), encode_bulk(b"redis"),
                encode_bulk(b"version"), encode_bulk(REDIS_VERSION.encode()),
                encode_bulk(b"proto"), encode_integer(2),
                encode_bulk(b"id"), encode_integer(session.id),
                encode_bulk(b"mode"), encode_bulk(b"standalone"),
                encode_bulk(b"role"), encode_bulk(b"master"),
                encode_bulk(b"modules"), b"*0\r\n",
            ]
        )  # fmt: skip

    def auth(self, session: Session, args: list[bytes]) -> bytes:
        if len(args) > 3:
            return SYNTAX
        if len(args) == 2:
            return (
                b"-ERR AUTH <password> called without any password configured for the "
                b"default user. Are you sure your configuration is correct?\r\n"
            )
        if args[1] != b"default":
            return b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        return OK

    # -- INFO ------------------------------------------------------------------

    def info(self, session: Session, args: list[bytes]) -> bytes:
        wanted = [arg.lower().decode("utf-8", "replace") for arg in args[1:]]
        if not wanted or any(w in ("all", "default", "everything") for w in wanted):
            wanted = list(SECTIONS)
        blocks = [self._section(session, name) for name in SECTIONS if name in wanted]
        return encode_bulk("\r\n".join(blocks).encode())

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
        if len(args) == 1:
            return _nested([self._info_entry(c) for c in self.commands.commands.values()])
        return self._subcommand("command", session, args)

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
        return _nested(
            [self._info_entry(table[n]) if n in table else b"*-1\r\n" for n in self._names(args)]
        )

    def _command_docs(self, session: Session, args: list[bytes]) -> bytes:
        table = self.commands.commands
        parts = []
        for n in self._names(args):
            if n in table:
                parts += [encode_bulk(n.encode()), self._docs_entry(table[n])]
        return _nested(parts)

    @staticmethod
    def _info_entry(command: Command) -> bytes:
        step = 1 if command.first_key else 0
        return _nested(
            [
                encode_bulk(command.name.encode()),
                encode_integer(command.arity),
                _nested([encode_simple(flag) for flag in command.flags]),
                encode_integer(command.first_key),
                encode_integer(command.last_key),
                encode_integer(step),
                _nested([encode_simple(f"@{command.group}")]),
                b"*0\r\n",
                b"*0\r\n",
                b"*0\r\n",
            ]
        )

    @staticmethod
    def _docs_entry(command: Command) -> bytes:
        return encode_array(
            [
                b"summary", command.summary.encode(),
                b"since", b"1.0.0",
                b"group", command.group.encode(),
                b"complexity", b"O(1)" if "fast" in command.flags else b"O(N)",
            ]
        )  # fmt: skip

    # -- CONFIG ----------------------------------------------------------------

    def config_(self, session: Session, args: list[bytes]) -> bytes:
        return self._subcommand("config", session, args)

    def _config_get(self, session: Session, args: list[bytes]) -> bytes:
        found: dict[str, str] = {}
        for pattern in args[2:]:
            tokens = compile_pattern(pattern.lower())
            for name, value in self.config.items():
                if match(tokens, name.encode()):
                    found[name] = value
        return encode_array([x.encode() for pair in found.items() for x in pair])

    def _config_resetstat(self, session: Session, args: list[bytes]) -> bytes:
        self.commands.processed = self.commands.errors = 0
        self.store.hits = self.store.misses = self.store.expired = 0
        return OK
