"""The ``reactor`` command: serve a plugin, list plugins, connect like netcat.

::

    reactor serve echo                      # 127.0.0.1:5678, as gen_tcp's example
    reactor serve echo --port 7 --max-connections 1000 --idle-timeout 60
    reactor list
    reactor connect 127.0.0.1 5678          # stdin to the peer, the peer to stdout

``serve`` logs each connection's peer key as it comes and goes, and stops
gracefully on SIGINT or SIGTERM: it stops accepting, lets every connection
flush and close, and aborts what is left after ``--drain-timeout`` seconds.
A second signal stops at once.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reactor import plugins
from reactor.framing import DEFAULT_MAX_SIZE, LineBridge, parse_packet
from reactor.listener import Overload
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, PeerKey, Plugin

if TYPE_CHECKING:
    from reactor.connector import Connector
    from reactor.listener import Listener
    from reactor.protocol import Transport

__all__ = ["build_parser", "main"]

log = logging.getLogger("reactor.cli")

DEFAULT_PORT = 5678


def _add_log_level(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument(
        "--log-level",
        default=default if default is not None else argparse.SUPPRESS,
        help="DEBUG, INFO, WARNING or ERROR (default INFO)",
    )


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    _add_log_level(parser, None)
    parser.add_argument("name", help="plugin name (see `reactor list`) or module:attribute")
    parser.add_argument("--host", default="127.0.0.1", help="address or Unix socket path")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free)")
    parser.add_argument("--backlog", type=int, default=511, help="kernel accept queue length")
    parser.add_argument("--max-connections", type=int, help="connections served at once")
    parser.add_argument("--max-per-peer", type=int, help="connections from one peer address")
    parser.add_argument(
        "--overload",
        choices=[o.value for o in Overload],
        help="at --max-connections: pause accepting (default) or refuse with a message",
    )
    parser.add_argument("--idle-timeout", type=float, help="close after N s without I/O")
    parser.add_argument("--write-timeout", type=float, help="abort a peer that does not drain")
    parser.add_argument("--reuse-port", action="store_true", help="SO_REUSEPORT")
    parser.add_argument("--dual-stack", action="store_true", help="IPv6 socket taking IPv4 too")
    parser.add_argument(
        "--drain-timeout", type=float, default=10.0, help="graceful shutdown deadline (s)"
    )
    parser.add_argument(
        "--status",
        metavar="[HOST:]PORT",
        help="also serve a live status page of the connection table (the 'status' plugin)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``reactor`` command (without plugin options)."""
    parser = argparse.ArgumentParser(
        prog="reactor", description="selreactor: a selectors-based TCP reactor"
    )
    _add_log_level(parser, "INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a protocol plugin")
    _add_serve_options(serve)
    sub.add_parser("list", help="list the protocol plugins found")
    connect = sub.add_parser("connect", help="connect like netcat: stdin to peer, peer to stdout")
    _add_log_level(connect, None)
    connect.add_argument("host")
    connect.add_argument("port", type=int)
    connect.add_argument("--timeout", type=float, default=10.0, help="connect timeout (s)")
    connect.add_argument(
        "--packet",
        type=parse_packet,
        help="gen_tcp framing (1, 2, 4, line, raw): one frame per input line, one line per reply",
    )
    connect.add_argument("--max-size", type=int, default=DEFAULT_MAX_SIZE, help="with --packet")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``reactor`` command; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, _ = parser.parse_known_args(args_list)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "list":
        return _list()
    if args.command == "connect":
        args = parser.parse_args(args_list)
        return _connect(args)
    try:
        plugin = plugins.load(args.name)
    except plugins.PluginNotFound as exc:
        print(f"reactor: {exc}", file=sys.stderr)
        return 2
    serve = argparse.ArgumentParser(prog=f"reactor serve {args.name}")
    serve.set_defaults(log_level=args.log_level)
    _add_serve_options(serve)
    plugin.add_arguments(serve)
    serve_args = serve.parse_args(args_list[args_list.index("serve") + 1 :])
    return _serve(plugin, serve_args)


def _list() -> int:
    found = plugins.available()
    if not found:
        print("no plugins installed in the 'reactor.protocols' group")
        return 0
    width = max(len(name) for name in found)
    for name in sorted(found):
        try:
            description = getattr(found[name].load(), "description", "")
        except Exception as exc:  # noqa: BLE001  a broken plugin is listed, not fatal
            description = f"(failed to load: {exc})"
        print(f"{name:<{width}}  {description}  [{found[name].value}]")
    return 0


def _serve(plugin: Plugin, args: argparse.Namespace) -> int:
    if logging.getLogger().getEffectiveLevel() <= logging.INFO:
        # connections coming and going are routine (debug) in the library,
        # but they are what a person watching `reactor serve` wants to see
        logging.getLogger("reactor.listener").setLevel(logging.DEBUG)
    reactor = Reactor()
    factory = plugin.make_factory(reactor, args)
    refuse_message: bytes | None = getattr(plugin, "refuse_message", None)
    overload = args.overload or (
        Overload.REFUSE.value if refuse_message is not None else Overload.PAUSE.value
    )
    try:
        listener = reactor.listen(
            factory,
            args.host,
            args.port,
            backlog=args.backlog,
            max_connections=args.max_connections,
            max_per_peer=args.max_per_peer,
            overload=overload,
            refuse_message=refuse_message,
            idle_timeout=args.idle_timeout,
            write_timeout=args.write_timeout,
            reuse_port=args.reuse_port,
            dual_stack=args.dual_stack,
        )
    except OSError as exc:
        print(f"reactor: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        reactor.close()
        return 1
    listeners = [listener]
    if args.status:
        try:
            listeners.append(_serve_status(reactor, args.status))
        except (OSError, ValueError, plugins.PluginNotFound) as exc:
            print(
                f"reactor: cannot serve the status page on {args.status}: {exc}", file=sys.stderr
            )
            reactor.close()
            return 1
    _stop_on_signals(reactor, listeners, args.drain_timeout)
    log.info("serving %s on %s:%s", args.name, listener.host, listener.port)
    try:
        reactor.run()
    finally:
        reactor.close()
    log.info("stopped")
    return 0


def _serve_status(reactor: Reactor, where: str) -> Listener:
    """Serve the ``status`` plugin on ``[HOST:]PORT`` in the same reactor."""
    host, _, port = where.rpartition(":")
    status = plugins.load("status")
    parser = argparse.ArgumentParser(prog="reactor serve --status")
    status.add_arguments(parser)
    listener = reactor.listen(
        status.make_factory(reactor, parser.parse_args([])),
        host.strip("[]") or "127.0.0.1",
        int(port),
    )
    log.info("status page on http://%s:%s/", listener.host, listener.port)
    return listener


def _stop_on_signals(reactor: Reactor, listeners: list[Listener], drain_timeout: float) -> None:
    """SIGINT/SIGTERM drain gracefully (``Reactor.shutdown``); a second one stops at once."""
    state = {"draining": False}

    def on_signal(signum: int) -> None:
        if state["draining"]:
            log.info("%s again: stopping now", signal.Signals(signum).name)
            reactor.stop()
            return
        state["draining"] = True
        open_now = sum(len(listener.connections) for listener in listeners)
        log.info("%s: draining %d connection(s)", signal.Signals(signum).name, open_now)
        reactor.shutdown(drain_timeout, reactor.stop)

    for signum in (signal.SIGINT, signal.SIGTERM):
        reactor.add_signal_handler(signum, on_signal, signum)


class _NetcatHandler(BaseHandler):
    """The peer's bytes to stdout; closing ends the command."""

    __slots__ = ("bridge", "can_write", "exc", "lost")

    def __init__(self) -> None:
        self.can_write = threading.Event()
        self.can_write.set()
        self.lost = False
        self.exc: Exception | None = None
        self.bridge: LineBridge | None = None  # --packet

    def data_received(self, data: bytes) -> None:
        sys.stdout.buffer.write(data if self.bridge is None else self.bridge.output(data))
        sys.stdout.buffer.flush()

    def eof_received(self) -> bool:
        return True  # keep sending stdin until it ends, like nc -N

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.lost = True
        self.exc = exc
        self.can_write.set()


def _pump_stdin(reactor: Reactor, transport: Transport, handler: _NetcatHandler) -> None:
    """Read stdin in a thread (regular files cannot be polled) and hand it to the loop."""
    stdin = sys.stdin.buffer
    while not handler.lost:
        handler.can_write.wait()
        chunk = stdin.read1(65536) if hasattr(stdin, "read1") else stdin.read(65536)
        if not chunk:
            break
        if handler.bridge is not None:
            chunk = handler.bridge.input(chunk)
        reactor.call_soon_threadsafe(transport.write, chunk)
    if handler.bridge is not None:
        reactor.call_soon_threadsafe(transport.write, handler.bridge.end_of_input())
    reactor.call_soon_threadsafe(transport.write_eof)


def _connect(args: argparse.Namespace) -> int:
    reactor = Reactor()
    handler = _NetcatHandler()
    if args.packet is not None:
        handler.bridge = LineBridge(args.packet, args.max_size)

    def factory(peer: PeerKey) -> _NetcatHandler:
        return handler

    connector = reactor.connect(factory, args.host, args.port, timeout=args.timeout)

    def connected(c: Connector) -> None:
        if c.transport is None:
            reactor.stop()
            return
        if handler.bridge is not None:
            c.transport.set_framer(handler.bridge.framer)
        threading.Thread(
            target=_pump_stdin, args=(reactor, c.transport, handler), daemon=True
        ).start()

    connector.add_done_callback(connected)
    reactor.add_signal_handler(signal.SIGINT, reactor.stop)
    try:
        while not handler.lost and not (connector.done() and connector.transport is None):
            reactor.run_once()
    finally:
        reactor.close()
    if connector.error is not None:
        print(
            f"reactor: connect to {args.host}:{args.port} failed: {connector.error}",
            file=sys.stderr,
        )
        return 1
    if handler.exc is not None:
        print(f"reactor: connection lost: {handler.exc}", file=sys.stderr)
        return 1
    return 0
