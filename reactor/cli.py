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
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from reactor import plugins
from reactor.arguments import DEFAULT_PORT, ParserExit, build_parsers, format_address
from reactor.framing import LineBridge
from reactor.listener import Overload
from reactor.loop import Reactor
from reactor.netcat import NetcatHandler
from reactor.protocol import PeerKey, Plugin

if TYPE_CHECKING:
    from reactor.connector import Connector
    from reactor.listener import Listener

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


def _describe(exc: BaseException) -> str:
    """An exception as one line."""
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
        _fail(finder_serve, f"plugin {name!r} cannot add its options: {_describe(exc)}")
    args = parser.parse_args(args_list)
    if args.command == "list":
        return _list()
    if args.command == "connect":
        return _connect(args)
    assert plugin is not None and name is not None
    return _serve(serve_parser, name, plugin, args)


def _load_plugin(parser: argparse.ArgumentParser, name: str) -> Plugin:
    try:
        return plugins.load(name)
    except plugins.PluginNotFound as exc:
        _fail(parser, str(exc))
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to load", name, exc_info=exc)
        _fail(parser, f"cannot load plugin {name!r}: {_describe(exc)}")


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
            description = f"(failed to load: {_describe(exc)})"
        print(f"{name:<{width}}  {description}  [{found[name].value}]")
    return 0


def _announce(message: str, *args: object) -> None:
    """An INFO line that is printed even when the log level hides INFO."""
    if log.isEnabledFor(logging.INFO):
        log.info(message, *args)
    else:
        print("reactor: " + message % args, file=sys.stderr, flush=True)


def _error(message: str) -> None:
    print(f"reactor: {message}", file=sys.stderr, flush=True)


def _serve(
    parser: argparse.ArgumentParser, name: str, plugin: Plugin, args: argparse.Namespace
) -> int:
    if logging.getLogger().getEffectiveLevel() <= logging.INFO:
        # connections coming and going are routine (debug) in the library,
        # but they are what a person watching `reactor serve` wants to see
        logging.getLogger("reactor.listener").setLevel(logging.DEBUG)
    reactor = Reactor()
    try:
        return _serve_on(reactor, parser, name, plugin, args)
    finally:
        reactor.close()


def _serve_on(
    reactor: Reactor,
    parser: argparse.ArgumentParser,
    name: str,
    plugin: Plugin,
    args: argparse.Namespace,
) -> int:
    try:
        factory = plugin.make_factory(reactor, args)
    except OSError as exc:  # a file or a resource the plugin needs: a run-time failure
        log.debug("plugin %s failed to start", name, exc_info=exc)
        _error(f"plugin {name!r} cannot start: {_describe(exc)}")
        return 1
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to start", name, exc_info=exc)
        _fail(parser, f"plugin {name!r} cannot start: {_describe(exc)}")
    refuse_message: bytes | None = getattr(plugin, "refuse_message", None)
    overload = args.overload or (
        Overload.REFUSE.value if refuse_message is not None else Overload.PAUSE.value
    )
    where = format_address(args.host, args.port)
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
        _error(f"cannot listen on {where}: {_describe(exc)}")
        return 1
    except (ValueError, TypeError, OverflowError) as exc:
        _fail(parser, f"cannot listen on {where}: {_describe(exc)}")
    listener.plugin = name
    listeners = [listener]
    if args.status:
        try:
            listeners.append(_serve_status(reactor, args.status))
        except (OSError, ValueError, plugins.PluginNotFound) as exc:
            status_where = format_address(*args.status)
            _error(f"cannot serve the status page on {status_where}: {_describe(exc)}")
            return 1
    _stop_on_signals(reactor, listeners, args.drain_timeout)
    _announce("serving %s on %s", name, format_address(listener.host, listener.port))
    _announce_token(factory)
    reactor.run()
    log.info("stopped")
    return 0


def _serve_status(reactor: Reactor, where: PeerKey) -> Listener:
    """Serve the ``status`` plugin on ``(host, port)`` in the same reactor."""
    host, port = where
    status = plugins.load("status")
    parser = argparse.ArgumentParser(prog="reactor serve --status")
    status.add_arguments(parser)
    factory = status.make_factory(reactor, parser.parse_args([]))
    listener = reactor.listen(factory, host, port)
    listener.plugin = "status"
    _announce("status page on http://%s/", format_address(listener.host, listener.port))
    _announce_token(factory)
    return listener


def _announce_token(factory: object) -> None:
    """A plugin's factory with a ``token`` (the status page's): say what it is for."""
    token = getattr(factory, "token", None)
    if isinstance(token, str) and token:
        _announce(
            "closing connections from the status page: from loopback, or with token %s", token
        )


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
        connector = reactor.connect(factory, args.host, args.port, timeout=args.timeout)
    except (OSError, ValueError, OverflowError) as exc:
        _error(f"cannot connect to {where}: {_describe(exc)}")
        return 1
    connector.add_done_callback(connected)
    # run() until stop(): the connection's end, a failed connect or Ctrl-C;
    # stop() is all it takes, whatever run_once() would do after it
    reactor.run()
    connector.cancel()
    if interrupted:
        return 130  # the shell's status for a command ended by SIGINT
    if connector.error is not None:
        _error(f"connect to {where} failed: {_describe(connector.error)}")
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
        _error(f"connection to {where} lost: {_describe(handler.exc)}")
        return 1
    return 0
