"""The arguments of the ``reactor`` command: its parsers and the checks of option values.

Every value is checked here, where argparse can name the option: a port
outside 0-65535 (1-65535 to connect to), a count below its minimum, a
timeout that is negative, infinite or not a number.  ``0`` turns the idle
and write timeouts off.  Errors are one line (``prog: error: message``) and
exits raise :class:`ParserExit`, so :func:`reactor.cli.main` returns the
status instead of leaving through ``sys.exit``.

A plugin's options are added to ``reactor serve``'s parser by the plugin
itself (the :class:`~reactor.protocol.Plugin` interface passes the parser);
:class:`CommandParser` puts them in an argument group titled after the
plugin, so ``reactor serve NAME -h`` lists them apart from the standard ones.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from reactor.framing import DEFAULT_MAX_SIZE, parse_packet
from reactor.listener import Overload
from reactor.protocol import format_peer
from reactor.proxied import parse_networks

if TYPE_CHECKING:
    from reactor.protocol import Plugin
    from reactor.proxied import Network

__all__ = [
    "DEFAULT_PORT",
    "LOG_LEVELS",
    "CommandParser",
    "ParserExit",
    "build_parsers",
    "format_address",
]

DEFAULT_PORT = 5678
"""Where ``reactor serve`` listens without ``--port`` (gen_tcp's example port)."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""What ``--log-level`` accepts, in any case."""


def format_address(host: str, port: int) -> str:
    """``host:port`` as people write it (:func:`reactor.protocol.format_peer`):
    ``[::1]:5678`` for IPv6; a Unix socket is its path, which has no port."""
    return format_peer((host, 0 if host.startswith("unix:") else port))


# -- option values -----------------------------------------------------------------


def _integer(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _port_type(lowest: int) -> Callable[[str], int]:
    def port(text: str) -> int:
        value = _integer(text)
        if not lowest <= value <= 65535:
            raise argparse.ArgumentTypeError(f"port {value} is out of range {lowest}-65535")
        return value

    return port


def _at_least(lowest: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        value = _integer(text)
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest}, got {value}")
        return value

    return count


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text}")
    return value


def _timeout_or_off(text: str) -> float | None:
    """Seconds, where 0 turns the timeout off."""
    value = _seconds(text)
    return value or None


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if not value:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _host(text: str) -> str:
    """A host, where an IPv6 address may come in brackets as people write it."""
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text


def _status_address(text: str) -> tuple[str, int]:
    """``[HOST:]PORT``, with an IPv6 host in brackets: ``[::1]:8080``."""
    host, _, port = text.rpartition(":")
    return _host(host) or "127.0.0.1", _port_type(0)(port)


def _networks(text: str) -> tuple[Network, ...]:
    try:
        return parse_networks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _packet(text: str) -> object:
    try:
        return parse_packet(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- the parsers ---------------------------------------------------------------------


class ParserExit(Exception):
    """Raised by the parsers instead of ``sys.exit``, so ``main()`` returns :attr:`status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
        """The exit status: 0 after ``-h``, 2 for a usage error."""


class CommandParser(argparse.ArgumentParser):
    """One-line usage errors; options a plugin adds go to the plugin's group."""

    plugin_group: argparse._ArgumentGroup | None = None

    def error(self, message: str) -> NoReturn:
        """Exit with status 2 and one line, ``prog: error: message`` (no usage)."""
        self.exit(2, f"{self.prog}: error: {message}\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Raise :class:`ParserExit` rather than leave the process."""
        if message:
            sys.stderr.write(message)
        raise ParserExit(status)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """:meth:`argparse.ArgumentParser.add_argument`, into the plugin's group if one is open."""
        # plugins receive the parser itself (the Plugin interface); this is
        # how their plain add_argument() calls land under their own title
        if self.plugin_group is not None:
            return self.plugin_group.add_argument(*args, **kwargs)
        return super().add_argument(*args, **kwargs)

    def add_mutually_exclusive_group(
        self, *, required: bool = False
    ) -> argparse._MutuallyExclusiveGroup:
        """A mutually exclusive group, inside the plugin's group if one is open."""
        if self.plugin_group is not None:
            return self.plugin_group.add_mutually_exclusive_group(required=required)
        return super().add_mutually_exclusive_group(required=required)


def _add_log_level(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        default=default if default is not None else argparse.SUPPRESS,
        help="DEBUG, INFO, WARNING or ERROR (default INFO)",
    )


def _add_serve_options(parser: argparse.ArgumentParser, finding: bool) -> None:
    _add_log_level(parser, None)
    if finding:  # the first pass only looks for the name; -h waits for the plugin
        parser.add_argument("-h", "--help", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "name",
        nargs="?" if finding else None,
        metavar="NAME",
        help="plugin name (see `reactor list`) or module:attribute; put it before its options",
    )
    parser.add_argument(
        "--host", type=_host, default="127.0.0.1", help="address or Unix socket path"
    )
    parser.add_argument(
        "--port",
        type=_port_type(0),
        default=DEFAULT_PORT,
        help=f"port, 0 for any free one (default {DEFAULT_PORT}); where it listens is "
        "always written to stderr: 'serving NAME on HOST:PORT'",
    )
    parser.add_argument(
        "--backlog", type=_at_least(0), default=511, help="kernel accept queue length"
    )
    parser.add_argument("--max-connections", type=_at_least(1), help="connections served at once")
    parser.add_argument(
        "--max-per-peer", type=_at_least(1), help="connections from one peer address"
    )
    parser.add_argument(
        "--overload",
        choices=[o.value for o in Overload],
        help="at --max-connections: pause accepting (default) or refuse with a message",
    )
    parser.add_argument(
        "--idle-timeout",
        type=_timeout_or_off,
        metavar="SECONDS",
        help="close after N s without I/O (0: off, the default)",
    )
    parser.add_argument(
        "--write-timeout",
        type=_timeout_or_off,
        metavar="SECONDS",
        help="abort a peer that does not drain for N s (0: off, the default)",
    )
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="SO_REUSEPORT (with --workers: one socket per worker, spread by the kernel)",
    )
    parser.add_argument(
        "--workers",
        type=_at_least(1),
        metavar="N",
        help="a supervisor and N worker processes sharing the listening socket "
        "(SIGHUP reloads, SIGTTIN/SIGTTOU add/remove one)",
    )
    parser.add_argument(
        "--proxy-protocol",
        action="store_true",
        help="require a PROXY protocol header (v1 or v2) from a trusted load balancer",
    )
    parser.add_argument(
        "--proxy-trusted",
        type=_networks,
        metavar="NETWORKS",
        help="with --proxy-protocol: the load balancers' networks, e.g. 10.0.0.0/8,127.0.0.1/32",
    )
    parser.add_argument(
        "--proxy-timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="with --proxy-protocol: the header's deadline (default 5)",
    )
    parser.add_argument("--dual-stack", action="store_true", help="IPv6 socket taking IPv4 too")
    parser.add_argument(
        "--drain-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="graceful shutdown deadline (default 10; 0: abort at once)",
    )
    parser.add_argument(
        "--status",
        metavar="[HOST:]PORT",
        type=_status_address,
        help="also serve a live status page of the connection table (the 'status' plugin)",
    )
    _add_tls_serve_options(parser)


def _alpn(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names) or any(len(name.encode()) > 255 for name in names):
        raise argparse.ArgumentTypeError(f"not a comma-separated list of protocols: {text!r}")
    return names


def _add_tls_serve_options(parser: argparse.ArgumentParser) -> None:
    """``reactor serve``'s TLS options (see :func:`reactor.tls.server_context`)."""
    tls = parser.add_argument_group("TLS")
    tls.add_argument(
        "--tls-cert", metavar="FILE", help="serve TLS with this PEM certificate chain"
    )
    tls.add_argument("--tls-key", metavar="FILE", help="its private key (default: in --tls-cert)")
    tls.add_argument(
        "--tls-ca", metavar="FILE", help="CAs that client certificates are checked against"
    )
    tls.add_argument(
        "--tls-client-auth",
        choices=["none", "optional", "required"],
        help="ask for client certificates (default: required with --tls-ca, else none)",
    )
    tls.add_argument(
        "--tls-handshake-timeout",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="abort a peer that has not completed the handshake (default 10)",
    )
    tls.add_argument(
        "--tls-alpn", type=_alpn, metavar="PROTOCOLS", help="ALPN protocols offered: h2,http/1.1"
    )


def _add_tls_connect_options(parser: argparse.ArgumentParser) -> None:
    """``reactor connect``'s TLS options (see :func:`reactor.tls.client_context`)."""
    parser.add_argument("--tls", action="store_true", help="speak TLS, verifying the server")
    parser.add_argument("--tls-ca", metavar="FILE", help="trust these CAs instead of the system's")
    parser.add_argument(
        "--tls-server-name", metavar="NAME", help="the name sent (SNI) and checked (default: host)"
    )
    parser.add_argument(
        "--insecure", action="store_true", help="with --tls: check no certificate (tests only)"
    )


def _add_plugin_options(parser: CommandParser, name: str, plugin: Plugin) -> None:
    """The plugin's options, in a group titled after it (errors propagate)."""
    description = getattr(plugin, "description", "")
    parser.description = f"Serve the {name!r} plugin" + (
        f": {description}" if description else "."
    )
    parser.plugin_group = parser.add_argument_group(f"{name} options")
    try:
        plugin.add_arguments(parser)
    finally:
        parser.plugin_group = None


def build_parsers(
    name: str | None = None, plugin: Plugin | None = None, *, finding: bool = False
) -> tuple[CommandParser, CommandParser]:
    """The ``reactor`` parser and its ``serve`` subparser.

    With ``plugin`` (loaded as ``name``) ``serve`` takes the plugin's options
    too; a clash with a standard option raises :class:`argparse.ArgumentError`
    (and whatever else the plugin's ``add_arguments`` raises propagates).
    ``finding`` builds the first pass of :func:`reactor.cli.main`, which only
    looks for the plugin's name: ``serve -h`` is recorded there, not acted on.
    """
    parser = CommandParser(prog="reactor", description="selreactor: a selectors-based TCP reactor")
    _add_log_level(parser, "INFO")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve a protocol plugin (reactor serve NAME -h: its options)",
        add_help=not finding,
        usage="%(prog)s NAME [options]",
    )
    _add_serve_options(serve, finding)
    if plugin is not None and name is not None:
        _add_plugin_options(serve, name, plugin)
    sub.add_parser("list", help="list the protocol plugins found")
    connect = sub.add_parser(
        "connect",
        help="connect like netcat: stdin to peer, peer to stdout",
        description="Standard input goes to the peer, and its end is a half-close; every "
        "byte the peer sends is printed, in order.  Exits 0 when the peer closes, 1 if the "
        "connection fails or is reset, 130 on Ctrl-C.",
    )
    _add_log_level(connect, None)
    connect.add_argument("host", type=_host, help="address or name (IPv6: ::1 or [::1])")
    connect.add_argument("port", type=_port_type(1), help="1-65535")
    connect.add_argument(
        "--timeout", type=_positive_seconds, default=10.0, help="connect timeout (s)"
    )
    connect.add_argument(
        "--packet",
        type=_packet,
        help="gen_tcp framing (1, 2, 4, line, raw): one frame per input line, one line per reply",
    )
    connect.add_argument(
        "--max-size", type=_at_least(1), default=DEFAULT_MAX_SIZE, help="with --packet"
    )
    _add_tls_connect_options(connect)
    return parser, serve
