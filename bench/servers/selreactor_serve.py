"""Serve any selreactor plugin when ``python -m reactor serve`` is unavailable.

It finds the plugin the way the CLI does (the ``reactor.protocols`` entry
points, or their declaration in pyproject.toml for an uninstalled tree),
lets it add its options, and listens with the reactor's library API.
"""

from __future__ import annotations

import argparse
import importlib

from bench.peers import plugin_target
from reactor.loop import Reactor


def main() -> None:
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("plugin")
    known, rest = first.parse_known_args()
    target = plugin_target(known.plugin)
    if target is None:
        raise SystemExit(f"no plugin named {known.plugin!r}")
    module, _, attr = target.partition(":")
    plugin = getattr(importlib.import_module(module), attr)

    parser = argparse.ArgumentParser(
        prog=f"selreactor_serve {known.plugin}", conflict_handler="resolve"
    )
    plugin.add_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, default=None)
    options = parser.parse_args(rest)

    reactor = Reactor()
    factory = plugin.make_factory(reactor, options)
    kwargs: dict[str, object] = {"backlog": 4096}
    if options.idle_timeout is not None:
        kwargs["idle_timeout"] = options.idle_timeout
    reactor.listen(factory, options.host, options.port, **kwargs)  # type: ignore[arg-type]
    reactor.run()


if __name__ == "__main__":
    main()
