"""``reactor serve --workers N``: the command's supervisor side.

:func:`supervise` binds the listening socket once (or, with
``--reuse-port``, reserves the port for each worker to bind its own), serves
the status page in the supervisor, and hands the workers to
:class:`reactor.workers.Supervisor`.  Each forked worker imports the plugin
afresh, parses the same command line and serves on the inherited socket,
reporting on its channel (:mod:`reactor.worker_report`); SIGTERM drains it.
"""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING

from reactor import plugins
from reactor.arguments import ParserExit, build_parsers, format_address
from reactor.balance import Balancer
from reactor.binding import bind_socket, reserve_port
from reactor.command import announce, describe, error, listen, serve_status, stop_on_signals
from reactor.loop import Reactor
from reactor.transport import normalise_address
from reactor.worker_report import Reporter, inherited_sockets
from reactor.workers import Balance, Supervisor, SupervisorLoop, unblock_signals

if TYPE_CHECKING:
    import argparse
    import socket
    from collections.abc import Callable

__all__ = ["supervise"]

# The command's own voice: its lines say ``reactor.cli`` whichever module speaks.
log = logging.getLogger("reactor.cli")


def supervise(name: str, args: argparse.Namespace, argv: list[str]) -> int:
    """``--workers N``: bind once, fork the workers, supervise (:mod:`reactor.workers`).

    ``argv`` is the command line each worker parses again; returns the exit status.
    """
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
            error(f"cannot listen on {where}: {describe(exc)}")
            return 1
        if args.status:
            try:
                serve_status(loop, args.status)
            except (OSError, ValueError, plugins.PluginNotFound) as exc:
                status_where = format_address(*args.status)
                error(f"cannot serve the status page on {status_where}: {describe(exc)}")
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
            on_ready=lambda: announce("%d workers ready", args.workers),
        )
        host, port = normalise_address(listening.family, bound)
        announce(
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
        error(f"worker {slot}: cannot load plugin {name!r}: {describe(exc)}")
        return 1
    reactor = Reactor()
    try:
        listener = listen(reactor, serve_parser, name, plugin, args, sock=sock)
        if listener is None:
            return 1
        # the supervisor serves the status page and announces
        stop_on_signals(reactor, [listener], args.drain_timeout, (signal.SIGTERM,))
        unblock_signals()  # blocked since the fork: a SIGTERM meanwhile drains now
        if balance is not None:
            Balancer(reactor, listener, *balance)
        Reporter(
            reactor, channel, slot, lambda: reactor.shutdown(args.drain_timeout, reactor.stop)
        )
        log.debug("worker %d serving %s", slot, name)
        reactor.run()
        return 0
    except ParserExit as exc:
        return exc.status
    finally:
        reactor.close()
