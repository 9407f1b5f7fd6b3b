"""Serving a protocol plugin in a test, as ``reactor serve NAME`` would.

:func:`serve_plugin` loads the plugin by name (an entry point, a built-in, or
``module:attribute``), parses its options as the command line would, builds
its factory and listens on a free loopback port of the given reactor.  The
``serve_plugin`` fixture of :mod:`reactor.pytest_plugin` is this function on
the test's reactor.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NoReturn, Protocol, cast

from reactor import plugins
from reactor.listener import ListenerOptions

if TYPE_CHECKING:
    from reactor.listener import Listener
    from reactor.loop import Reactor
    from reactor.protocol import Plugin

__all__ = ["ServePlugin", "serve_plugin"]

_LISTENER_OPTIONS = ListenerOptions.__required_keys__ | ListenerOptions.__optional_keys__
# What `reactor serve` always puts in the namespace a plugin sees, even unset.
_SERVE_DEFAULTS = ("max_connections", "max_per_peer", "idle_timeout", "write_timeout")


class _Parser(argparse.ArgumentParser):
    """An option parser whose errors are exceptions, not an exit."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(f"{self.prog}: {message}")


class ServePlugin(Protocol):
    """The type of the ``serve_plugin`` fixture: :func:`serve_plugin` on the
    test's reactor (``reactor=`` picks another, such as ``fake_reactor``)."""

    def __call__(
        self,
        plugin: str | Plugin,
        *argv: str,
        reactor: Reactor | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: object,
    ) -> Listener:
        """Serve ``plugin`` and return its listener."""
        ...


def serve_plugin(
    reactor: Reactor,
    plugin: str | Plugin,
    *argv: str,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: object,
) -> Listener:
    """Serve ``plugin`` on ``reactor`` and return the listener (its ``port``).

    ``argv`` are command-line options, parsed by the plugin's own parser
    (``"--reverse"``, ``"--max-line", "64"``).  Keyword ``options`` are
    either listener options (``max_connections=2``, ``idle_timeout=5``...,
    see :class:`~reactor.listener.ListenerOptions`), which also appear in the
    namespace the plugin sees as under ``reactor serve``, or plugin options
    by their parsed name (``max_line=64``), set after parsing.  An unknown
    name or a bad option raises :class:`ValueError`.
    """
    name = plugin if isinstance(plugin, str) else type(plugin).__name__
    found = plugins.load(plugin) if isinstance(plugin, str) else plugin
    parser = _Parser(prog=f"serve_plugin {name}", add_help=False)
    found.add_arguments(parser)
    namespace = parser.parse_args(list(argv))
    known = set(vars(namespace))
    listen: dict[str, object] = {}
    for key, value in options.items():
        if key in _LISTENER_OPTIONS:
            listen[key] = value
        elif key not in known:
            choices = ", ".join(sorted(known | _LISTENER_OPTIONS))
            raise ValueError(f"{parser.prog}: no option {key!r} (known: {choices})")
        setattr(namespace, key, value)
    refuse_message = getattr(found, "refuse_message", None)
    if refuse_message is not None:  # as `reactor serve` does for such a plugin
        listen.setdefault("refuse_message", refuse_message)
        listen.setdefault("overload", "refuse")
    for key in _SERVE_DEFAULTS:
        if not hasattr(namespace, key):
            setattr(namespace, key, listen.get(key))
    namespace.host, namespace.port = host, port
    factory = found.make_factory(reactor, namespace)
    return reactor.listen(factory, host, port, **cast("ListenerOptions", listen))
