"""Connection commands about clients: CLIENT and its subcommands, HELLO, AUTH.

They reach the reactor's connection table through the
:class:`~protocols.resp.commands.Host`: CLIENT LIST prints one line per
connection with Redis's field names, CLIENT KILL closes by address or id.
HELLO is where a connection chooses RESP2 or RESP3: it points the session
at that version's :class:`~protocols.resp.replies.Replies` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.resp.parser import OK, encode_bulk, encode_error, encode_integer, parse_int
from protocols.resp.replies import PROTOCOLS, SYNTAX, encode_reply
from protocols.resp.session import Subcommands

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.session import Session

__all__ = ["BAD_NAME", "NOPROTO", "REDIS_VERSION", "ClientCommands", "valid_name"]

REDIS_VERSION = "7.0.15"
"""The Redis release whose behaviour the commands follow, as INFO and HELLO report it."""

NOPROTO = b"-NOPROTO unsupported protocol version\r\n"
"""HELLO with a version other than 2 or 3."""
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
"""AUTH or HELLO AUTH with a user other than ``default``."""
BAD_NAME = b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
"""A client name with spaces or other non-printable characters."""


def _filter_error(name: bytes, value: bytes) -> bytes | None:
    """The error for a CLIENT KILL filter value Redis refuses, or None."""
    text = value.decode("utf-8", "replace")
    if name == b"user" and value != b"default":  # the only user there is
        return encode_error(f"ERR No such user '{text}'")
    if name == b"id":
        ident = parse_int(value)
        if ident is None or ident <= 0:
            return b"-ERR client-id should be greater than 0\r\n"
    if name == b"type" and value.lower() not in (
        b"normal",
        b"master",
        b"replica",
        b"slave",
        b"pubsub",
    ):
        return encode_error(f"ERR Unknown client type '{text}'")
    return None


def _size(args: list[bytes]) -> int:
    """The bytes of a command as a client sends it (an array of bulk strings)."""
    return sum(len(arg) + len(str(len(arg))) + 5 for arg in args) + len(str(len(args))) + 3


def valid_name(name: bytes) -> bool:
    """A client or library name: printable ASCII without spaces, as Redis allows."""
    return all(33 <= c <= 126 for c in name)


class ClientCommands:
    """CLIENT, HELLO and AUTH for one command table (:class:`~protocols.resp.admin.Admin`
    registers them)."""

    def __init__(self, commands: Commands) -> None:
        self.host = commands.host
        self.client = Subcommands(
            "client",
            {
                b"list": (self._client_list, -2),
                b"info": (self._client_info, 2),
                b"kill": (self._client_kill, -3),
                b"setname": (self._client_setname, 3),
                b"getname": (self._client_getname, 2),
                b"id": (self._client_id, 2),
                b"setinfo": (self._client_setinfo, 4),
            },
        )

    def _client_info(self, session: Session, args: list[bytes]) -> bytes:
        lines = self.host.client_lines(session, only_self=True, current=_size(args))
        return session.resp.verbatim("".join(lines).encode())

    @staticmethod
    def _client_setname(session: Session, args: list[bytes]) -> bytes:
        if not valid_name(args[2]):
            return BAD_NAME
        session.name = args[2]
        return OK

    @staticmethod
    def _client_getname(session: Session, args: list[bytes]) -> bytes:
        return encode_bulk(session.name) if session.name else session.resp.null

    @staticmethod
    def _client_id(session: Session, args: list[bytes]) -> bytes:
        return encode_integer(session.id)

    def _client_list(self, session: Session, args: list[bytes]) -> bytes:
        lines = self.host.client_lines(session, current=_size(args))
        if len(args) == 2:
            return session.resp.verbatim("".join(lines).encode())
        if len(args) == 4 and args[2].lower() == b"type":
            kind = args[3].lower()
            if kind not in (b"normal", b"master", b"replica", b"pubsub"):
                return encode_error(
                    f"ERR Unknown client type '{args[3].decode('utf-8', 'replace')}'"
                )
            return session.resp.verbatim("".join(lines if kind == b"normal" else []).encode())
        if len(args) >= 4 and args[2].lower() == b"id":
            ids = set()
            for raw in args[3:]:
                ident = parse_int(raw)
                if ident is None or ident <= 0:
                    return b"-ERR Invalid client ID\r\n"
                ids.add(f"id={ident} ")
            chosen = "".join(ln for ln in lines if ln[: ln.find(" ") + 1] in ids)
            return session.resp.verbatim(chosen.encode())
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
            error = _filter_error(name, value)
            if error is not None:
                return error
            if name == b"user":
                continue  # only the default user exists, and every connection is it
            if name == b"addr":
                addrs.append(value.decode("utf-8", "replace"))
            elif name == b"laddr":
                laddrs.append(value.decode("utf-8", "replace"))
            elif name == b"id":
                ids.append(int(value))
            elif name == b"skipme" and value.lower() in (b"yes", b"no"):
                skip_self = value.lower() == b"yes"
            elif name == b"type":
                none = none or value.lower() != b"normal"
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
        if not valid_name(args[3]):
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
        """``HELLO [protover [AUTH user pass] [SETNAME name]]``, as Redis 7.0 runs it.

        The options act in order, each at once: a bad AUTH or name stops
        there, and a SETNAME already done stays done when a later option is
        refused.  The version switches only when every option passed, so the
        reply map is already in the new version and an error leaves the old.
        """
        resp = session.resp
        if len(args) >= 2:
            version = parse_int(args[1])
            if version is None:
                return b"-ERR Protocol version is not an integer or out of range\r\n"
            if version not in PROTOCOLS:
                return NOPROTO
            resp = PROTOCOLS[version]
        i = 2
        n = len(args)
        while i < n:
            opt = args[i].lower()
            if opt == b"auth" and i + 2 < n:
                if args[i + 1] != b"default":  # the only user, and it has no password
                    return WRONGPASS
                i += 3
            elif opt == b"setname" and i + 1 < n:
                if not valid_name(args[i + 1]):
                    return BAD_NAME
                session.name = args[i + 1]
                i += 2
            else:
                text = args[i].decode("utf-8", "replace")
                return encode_error(f"ERR Syntax error in HELLO option '{text}'")
        session.resp = resp
        return encode_reply(
            {
                b"server": b"redis",
                b"version": REDIS_VERSION.encode(),
                b"proto": resp.version,
                b"id": session.id,
                b"mode": b"standalone",
                b"role": b"master",
                b"modules": [],
            },
            resp,
        )

    def auth(self, session: Session, args: list[bytes]) -> bytes:
        """``AUTH [user] password``: the default user has no password."""
        if len(args) > 3:
            return SYNTAX
        if len(args) == 2:
            return (
                b"-ERR AUTH <password> called without any password configured for the "
                b"default user. Are you sure your configuration is correct?\r\n"
            )
        if args[1] != b"default":
            return WRONGPASS
        return OK
