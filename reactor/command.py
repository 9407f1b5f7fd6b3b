"""What ``reactor serve`` and its ``--workers`` supervisor share.

:mod:`reactor.cli` serves in one process, :mod:`reactor.supervising` forks
workers that each serve; both open the plugin's listener with
:func:`listen`, serve the status page with :func:`serve_status`, drain on
signals with :func:`stop_on_signals` and speak in one-line messages
(:func:`announce`, :func:`error`, :func:`describe`).  A failure here is a
one-line error and ``None`` (exit status 1), or a usage error raised as
:exc:`~reactor.arguments.ParserExit` (status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import TYPE_CHECKING

from reactor import plugins
from reactor.arguments import format_address
from reactor.listener import Overload

if TYPE_CHECKING:
    import socket
    from ssl import SSLContext

    from reactor.listener import Listener
    from reactor.loop import Reactor
    from reactor.protocol import PeerKey, Plugin

__all__ = [
    "announce",
    "announce_token",
    "describe",
    "error",
    "listen",
    "serve_status",
    "stop_on_signals",
]

# The command's own voice: its lines say ``reactor.cli`` whichever module speaks.
log = logging.getLogger("reactor.cli")


def describe(exc: BaseException) -> str:
    """An exception as one line."""
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def announce(message: str, *args: object) -> None:
    """An INFO line that is printed even when the log level hides INFO."""
    if log.isEnabledFor(logging.INFO):
        log.info(message, *args)
    else:
        print("reactor: " + message % args, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """A run-time failure as one line on standard error."""
    print(f"reactor: {message}", file=sys.stderr, flush=True)


def listen(
    reactor: Reactor,
    parser: argparse.ArgumentParser,
    name: str,
    plugin: Plugin,
    args: argparse.Namespace,
    *,
    sock: socket.socket | None = None,
) -> Listener | None:
    """Start ``plugin`` (loaded as ``name``) and listen as ``args`` say, on
    ``sock`` if given; ``None`` after a one-line error (exit status 1)."""
    try:
        factory = plugin.make_factory(reactor, args)
    except OSError as exc:  # a file or a resource the plugin needs: a run-time failure
        log.debug("plugin %s failed to start", name, exc_info=exc)
        error(f"plugin {name!r} cannot start: {describe(exc)}")
        return None
    except Exception as exc:  # a plugin is foreign code: any failure is one line
        log.debug("plugin %s failed to start", name, exc_info=exc)
        parser.error(f"plugin {name!r} cannot start: {describe(exc)}")
    refuse_message: bytes | None = getattr(plugin, "refuse_message", None)
    overload = args.overload or (
        Overload.REFUSE.value if refuse_message is not None else Overload.PAUSE.value
    )
    where = format_address(args.host, args.port)
    try:
        tls = _tls_context(parser, args)
    except OSError as exc:  # ssl.SSLError is one: a missing file, a key that does not match
        error(f"cannot load the TLS certificate: {describe(exc)}")
        return None
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
        error(f"cannot listen on {where}: {describe(exc)}")
        return None
    except (ValueError, TypeError, OverflowError) as exc:
        parser.error(f"cannot listen on {where}: {describe(exc)}")
    listener.plugin = name
    return listener


def _tls_context(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SSLContext | None:
    """The listener's context from ``--tls-*`` (``None``: plain TCP); a bad file raises OSError."""
    if args.tls_cert is None:
        for option in ("tls_key", "tls_ca", "tls_client_auth", "tls_alpn"):
            if getattr(args, option) is not None:
                parser.error(f"--{option.replace('_', '-')} needs --tls-cert")
        return None
    client_auth = args.tls_client_auth or ("required" if args.tls_ca else "none")
    if client_auth != "none" and args.tls_ca is None:
        parser.error(f"--tls-client-auth {client_auth} needs --tls-ca")
    from reactor.tls import server_context  # noqa: PLC0415  (ssl only when asked for)

    return server_context(
        args.tls_cert,
        args.tls_key,
        cafile=args.tls_ca,
        client_auth=client_auth,
        alpn=args.tls_alpn,
    )


def serve_status(reactor: Reactor, where: PeerKey) -> Listener:
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
    announce(
        "status page on http://%s/ (it closes connections for loopback, or with token %s)",
        format_address(listener.host, listener.port),
        token,
    )
    return listener


def announce_token(listener: Listener) -> None:
    """A plugin's factory with a ``token`` (the status page's): say what it is for."""
    token = getattr(listener.factory, "token", None)
    if isinstance(token, str) and token:
        announce(
            "closing connections from the status page: from loopback, or with token %s", token
        )


def stop_on_signals(
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
