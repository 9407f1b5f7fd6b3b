"""The ``reactor`` command: serve a plugin, list plugins, connect like netcat.

::

    reactor serve echo                      # 127.0.0.1:5678, as gen_tcp's example
    reactor serve echo --port 7 --max-connections 1000 --idle-timeout 60
    reactor serve packet -h                 # the standard options and the plugin's own
    reactor list
    reactor connect 127.0.0.1 5678          # stdin to the peer, the peer to stdout

``serve`` logs each connection's peer key as it comes and goes, and stops
gracefully on SIGINT or SIGTERM: it stops accepting, lets every connection
flush and close, and aborts what is left after ``--drain-timeout`` seconds.
A second signal stops at once.  Where it listens (the port chosen for
``--port 0`` included) is always written to standard error, as
``serving NAME on HOST:PORT``, whatever ``--log-level`` says.

``serve --workers N`` is :mod:`reactor.supervising`'s; what it shares with
the single-process ``serve`` is :mod:`reactor.command`'s.

``connect`` prints every byte the peer sends, in order, and exits 0 when the
peer closes (see :mod:`reactor.netcat`); Ctrl-C ends it at once (status 130).

A bad option is a one-line usage error naming it, with exit status 2; a
failure at run time (the port is taken, the peer refused) is a one-line
error with status 1.  ``--log-level DEBUG`` adds the traceback of a plugin
that failed.  Put the plugin's name before its options: the name decides
which options exist.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from reactor import plugins
from reactor.arguments import DEFAULT_PORT, ParserExit, build_parsers, format_address
from reactor.command import (
    announce,
    announce_token,
    describe,
    error,
    listen,
    serve_status,
    stop_on_signals,
)
from reactor.framing import LineBridge
from reactor.loop import Reactor
from reactor.netcat import NetcatHandler
from reactor.protocol import PeerKey, Plugin
from reactor.supervising import supervise
from reactor.worker_report import inherited_sockets

if TYPE_CHECKING:
    from ssl import SSLContext

    from reactor.connector import Connector

__all__ = ["DEFAULT_PORT", "build_parser", "format_address", "main"]

log = logging.getLogger("reactor.cli")


def build_parser(name: str | None = None, plugin: Plugin | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``reactor`` command.

    With ``plugin`` (loaded as ``name``), ``reactor serve`` also takes the
    plugin's options, listed under their own title in its help.  A plugin
    option that clashes with a standard one raises :class:`argparse.ArgumentError`.
    """
    return build_parsers(name, plugin)[0]


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``reactor`` command; returns the exit status (2 for a usage error)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(args_list)
    except ParserExit as exc:
        return exc.status


def _main(args_list: list[str]) -> int:
    # First pass: which plugin, if any (its options are not known yet, and
    # -h has to wait for them).  Second pass: everything, strictly.
    finder, finder_serve = build_parsers(finding=True)
    first, _ = finder.parse_known_args(args_list)
    logging.basicConfig(
        level=first.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    name: str | None = getattr(first, "name", None)
    plugin = None
    if first.command == "serve":
        if name is None and not first.help:
            known = ", ".join(sorted(plugins.available())) or "none installed"
            _fail(finder_serve, f"the following arguments are required: NAME (plugins: {known})")
        if name is not None:
            plugin = _load_plugin(finder_serve, name)
    try:
        parser, serve_parser = build_parsers(name, plugin)
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to add its options", name, exc_info=exc)
        _fail(finder_serve, f"plugin {name!r} cannot add its options: {describe(exc)}")
    args = parser.parse_args(args_list)
    if args.command == "list":
        return _list()
    if args.command == "connect":
        return _connect(args)
    assert plugin is not None and name is not None
    if args.proxy_protocol and not args.proxy_trusted:
        _fail(serve_parser, "--proxy-protocol needs --proxy-trusted NETWORKS")
    if args.workers:
        return supervise(name, args, args_list)
    return _serve(serve_parser, name, plugin, args)


def _load_plugin(parser: argparse.ArgumentParser, name: str) -> Plugin:
    try:
        found = plugins.load(name)
    except plugins.PluginNotFound as exc:
        _fail(parser, str(exc))
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to load", name, exc_info=exc)
        _fail(parser, f"cannot load plugin {name!r}: {describe(exc)}")
    if inspect.iscoroutinefunction(found):  # `async def handle(sock)`: reactor.streams serves it
        from reactor.streams.plugin import AsyncPlugin  # noqa: PLC0415  asyncio only when used

        return AsyncPlugin(found)
    return found


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
            description = f"(failed to load: {describe(exc)})"
        print(f"{name:<{width}}  {description}  [{found[name].value}]")
    return 0


def _serve(
    parser: argparse.ArgumentParser, name: str, plugin: Plugin, args: argparse.Namespace
) -> int:
    if logging.getLogger().getEffectiveLevel() <= logging.INFO:
        # connections coming and going are routine (debug) in the library,
        # but they are what a person watching `reactor serve` wants to see
        logging.getLogger("reactor.listener").setLevel(logging.DEBUG)
    inherited = inherited_sockets()  # systemd's socket activation
    # an async plugin brings the reactor its asyncio loop runs over
    make_reactor = getattr(plugin, "make_reactor", Reactor)
    reactor = make_reactor()
    try:
        return _serve_on(
            reactor, parser, name, plugin, args, sock=inherited[0] if inherited else None
        )
    finally:
        reactor.close()


def _serve_on(
    reactor: Reactor,
    parser: argparse.ArgumentParser,
    name: str,
    plugin: Plugin,
    args: argparse.Namespace,
    *,
    sock: socket.socket | None = None,
) -> int:
    listener = listen(reactor, parser, name, plugin, args, sock=sock)
    if listener is None:
        return 1
    listeners = [listener]
    if args.status:
        try:
            listeners.append(serve_status(reactor, args.status))
        except (OSError, ValueError, plugins.PluginNotFound) as exc:
            status_where = format_address(*args.status)
            error(f"cannot serve the status page on {status_where}: {describe(exc)}")
            return 1
    stop_on_signals(reactor, listeners, args.drain_timeout)
    announce("serving %s on %s", name, format_address(listener.host, listener.port))
    announce_token(listener)
    reactor.run()
    log.info("stopped")
    return 0


def _client_tls(args: argparse.Namespace) -> SSLContext | None:
    """``reactor connect``'s context from ``--tls*`` (``None``: plain TCP)."""
    if not args.tls:
        if args.tls_ca or args.tls_server_name or args.insecure:
            raise ValueError("--tls-ca, --tls-server-name and --insecure need --tls")
        return None
    from reactor.tls import client_context  # noqa: PLC0415  (ssl only when asked for)

    return client_context(args.tls_ca, insecure=args.insecure)


def _connect(args: argparse.Namespace) -> int:
    reactor = Reactor()
    try:
        return _connect_on(reactor, args)
    finally:
        reactor.close()


def _connect_on(reactor: Reactor, args: argparse.Namespace) -> int:
    where = format_address(args.host, args.port)
    bridge = LineBridge(args.packet, args.max_size) if args.packet is not None else None
    interrupted = False
    handler = NetcatHandler(reactor, sys.stdout.buffer, bridge=bridge, on_lost=reactor.stop)

    def factory(peer: PeerKey) -> NetcatHandler:
        return handler

    def connected(c: Connector) -> None:
        if c.transport is None:
            reactor.stop()
        elif bridge is not None:
            c.transport.set_framer(bridge.framer)

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        reactor.stop()

    reactor.add_signal_handler(signal.SIGINT, on_sigint)  # before the peer can see us
    try:
        context = _client_tls(args)
        connector = reactor.connect(
            factory,
            args.host,
            args.port,
            timeout=args.timeout,
            ssl=context,
            server_hostname=args.tls_server_name,
        )
    except (OSError, ValueError, OverflowError) as exc:
        error(f"cannot connect to {where}: {describe(exc)}")
        return 1
    connector.add_done_callback(connected)
    # run() until stop(): the connection's end, a failed connect or Ctrl-C;
    # stop() is all it takes, whatever run_once() would do after it
    reactor.run()
    connector.cancel()
    if interrupted:
        return 130  # the shell's status for a command ended by SIGINT
    if connector.error is not None:
        error(f"connect to {where} failed: {describe(connector.error)}")
        return 1
    if handler.output_error is not None:
        # nobody reads standard output (`| head`): leave quietly, and keep the
        # interpreter's final flush of sys.stdout from failing again at exit
        log.debug("standard output closed: %s", handler.output_error)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
    if handler.exc is not None and not handler.peer_closed:
        error(f"connection to {where} lost: {describe(handler.exc)}")
        return 1
    return 0
