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
import inspect
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from reactor import plugins
from reactor.arguments import DEFAULT_PORT, ParserExit, build_parsers, format_address
from reactor.balance import Balancer
from reactor.framing import LineBridge
from reactor.listener import Overload, bind_socket
from reactor.loop import Reactor
from reactor.netcat import NetcatHandler
from reactor.protocol import PeerKey, Plugin
from reactor.transport import normalise_address
from reactor.worker_report import Reporter, inherited_sockets
from reactor.workers import (
    Balance,
    Supervisor,
    SupervisorLoop,
    reserve_port,
    unblock_signals,
)

if TYPE_CHECKING:
    from ssl import SSLContext

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
    if args.proxy_protocol and not args.proxy_trusted:
        _fail(serve_parser, "--proxy-protocol needs --proxy-trusted NETWORKS")
    if args.workers:
        return _supervise(name, args, args_list)
    return _serve(serve_parser, name, plugin, args)


def _load_plugin(parser: argparse.ArgumentParser, name: str) -> Plugin:
    try:
        found = plugins.load(name)
    except plugins.PluginNotFound as exc:
        _fail(parser, str(exc))
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to load", name, exc_info=exc)
        _fail(parser, f"cannot load plugin {name!r}: {_describe(exc)}")
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
    worker: tuple[socket.socket, int, Balance | None] | None = None,
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
        tls = _tls_context(parser, args)
    except OSError as exc:  # ssl.SSLError is one: a missing file, a key that does not match
        _error(f"cannot load the TLS certificate: {_describe(exc)}")
        return 1
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
            ssl=tls,
            ssl_handshake_timeout=args.tls_handshake_timeout,
            sock=sock,
            proxy_protocol=args.proxy_protocol,
            proxy_trusted=args.proxy_trusted,
            proxy_timeout=args.proxy_timeout,
        )
    except OSError as exc:
        _error(f"cannot listen on {where}: {_describe(exc)}")
        return 1
    except (ValueError, TypeError, OverflowError) as exc:
        _fail(parser, f"cannot listen on {where}: {_describe(exc)}")
    listener.plugin = name
    listeners = [listener]
    if worker is not None:  # the supervisor serves the status page and announces
        channel, slot, balance = worker
        _stop_on_signals(reactor, listeners, args.drain_timeout, (signal.SIGTERM,))
        unblock_signals()  # blocked since the fork: a SIGTERM meanwhile drains now
        if balance is not None:
            Balancer(reactor, listener, *balance)
        Reporter(
            reactor, channel, slot, lambda: reactor.shutdown(args.drain_timeout, reactor.stop)
        )
        log.debug("worker %d serving %s", slot, name)
        reactor.run()
        return 0
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


def _tls_context(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SSLContext | None:
    """The listener's context from ``--tls-*`` (``None``: plain TCP); a bad file raises OSError."""
    if args.tls_cert is None:
        for option in ("tls_key", "tls_ca", "tls_client_auth", "tls_alpn"):
            if getattr(args, option) is not None:
                _fail(parser, f"--{option.replace('_', '-')} needs --tls-cert")
        return None
    client_auth = args.tls_client_auth or ("required" if args.tls_ca else "none")
    if client_auth != "none" and args.tls_ca is None:
        _fail(parser, f"--tls-client-auth {client_auth} needs --tls-ca")
    from reactor.tls import server_context  # noqa: PLC0415  (ssl only when asked for)

    return server_context(
        args.tls_cert,
        args.tls_key,
        cafile=args.tls_ca,
        client_auth=client_auth,
        alpn=args.tls_alpn,
    )


def _serve_status(reactor: Reactor, where: PeerKey) -> Listener:
    """Serve the ``status`` plugin on ``(host, port)`` in the same reactor."""
    host, port = where
    status = plugins.load("status")
    parser = argparse.ArgumentParser(prog="reactor serve --status")
    status.add_arguments(parser)
    factory = status.make_factory(reactor, parser.parse_args([]))
    listener = reactor.listen(factory, host, port)
    listener.plugin = "status"
    # one line: what follows it (``serving NAME on ...``) is read by the line
    token = getattr(factory, "token", None)
    _announce(
        "status page on http://%s/ (it closes connections for loopback, or with token %s)",
        format_address(listener.host, listener.port),
        token,
    )
    return listener


def _announce_token(factory: object) -> None:
    """A plugin's factory with a ``token`` (the status page's): say what it is for."""
    token = getattr(factory, "token", None)
    if isinstance(token, str) and token:
        _announce(
            "closing connections from the status page: from loopback, or with token %s", token
        )


def _stop_on_signals(
    reactor: Reactor,
    listeners: list[Listener],
    drain_timeout: float,
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
) -> None:
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

    for signum in signals:
        reactor.add_signal_handler(signum, on_signal, signum)


def _client_tls(args: argparse.Namespace) -> SSLContext | None:
    """``reactor connect``'s context from ``--tls*`` (``None``: plain TCP)."""
    if not args.tls:
        if args.tls_ca or args.tls_server_name or args.insecure:
            raise ValueError("--tls-ca, --tls-server-name and --insecure need --tls")
        return None
    from reactor.tls import client_context  # noqa: PLC0415  (ssl only when asked for)

    return client_context(args.tls_ca, insecure=args.insecure)


def _supervise(name: str, args: argparse.Namespace, argv: list[str]) -> int:
    """``--workers N``: bind once, fork the workers, supervise (:mod:`reactor.workers`)."""
    where = format_address(args.host, args.port)
    inherited = inherited_sockets()
    loop = SupervisorLoop()
    try:
        shared: socket.socket | None = None
        reserved: socket.socket | None = None
        bind: Callable[[], socket.socket] | None = None
        try:
            if inherited:
                shared = inherited[0]
            elif args.reuse_port:
                reserved = reserve_port(args.host, args.port)
                port: int = reserved.getsockname()[1]

                def bind() -> socket.socket:
                    return bind_socket(
                        args.host,
                        port,
                        backlog=args.backlog,
                        reuse_port=True,
                        dual_stack=args.dual_stack,
                    )
            else:
                shared = bind_socket(
                    args.host, args.port, backlog=args.backlog, dual_stack=args.dual_stack
                )
            listening = shared if shared is not None else reserved
            assert listening is not None
            bound = listening.getsockname()
        except OSError as exc:
            _error(f"cannot listen on {where}: {_describe(exc)}")
            return 1
        if args.status:
            try:
                _serve_status(loop, args.status)
            except (OSError, ValueError, plugins.PluginNotFound) as exc:
                status_where = format_address(*args.status)
                _error(f"cannot serve the status page on {status_where}: {_describe(exc)}")
                return 1

        def spawn(
            sock: socket.socket, channel: socket.socket, slot: int, balance: Balance | None
        ) -> int:
            return _serve_worker(name, argv, sock, channel, slot, balance=balance)

        supervisor = Supervisor(
            loop,
            spawn,
            args.workers,
            shared=shared,
            bind=bind,
            drain_timeout=args.drain_timeout,
            on_ready=lambda: _announce("%d workers ready", args.workers),
        )
        host, port = normalise_address(listening.family, bound)
        _announce(
            "serving %s on %s with %d workers", name, format_address(host, port), args.workers
        )
        return supervisor.run()
    finally:
        loop.close()


def _serve_worker(
    name: str,
    argv: list[str],
    sock: socket.socket,
    channel: socket.socket,
    slot: int,
    *,
    balance: Balance | None,
) -> int:
    """A worker's life: import the plugin afresh, serve on ``sock``, report on ``channel``."""
    plugins.forget(name)
    try:
        plugin = plugins.load(name)
        parser, serve_parser = build_parsers(name, plugin)
        args = parser.parse_args(argv)
    except ParserExit as exc:
        return exc.status
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to load", name, exc_info=exc)
        _error(f"worker {slot}: cannot load plugin {name!r}: {_describe(exc)}")
        return 1
    reactor = Reactor()
    try:
        return _serve_on(
            reactor, serve_parser, name, plugin, args, sock=sock, worker=(channel, slot, balance)
        )
    except ParserExit as exc:
        return exc.status
    finally:
        reactor.close()


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
