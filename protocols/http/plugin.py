"""The plugin object of ``reactor serve http``: options, the app, the factory."""

from __future__ import annotations

import argparse
import importlib
import math
from typing import TYPE_CHECKING

from protocols.http.app import App, default_app
from protocols.http.events import Limits
from protocols.http.metrics import RequestMetrics
from protocols.http.server import HTTPConfig, HTTPHandler
from reactor.metrics import registry_for

if TYPE_CHECKING:
    from reactor.protocol import EventLoop, Factory, PeerKey

__all__ = ["HTTPPlugin", "load_app", "plugin"]


class HTTPPlugin:
    """``reactor serve http``: the HTTP/1.1 server plugin."""

    description = "HTTP/1.1 server: keep-alive, pipelining, streaming; hello and connection table"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--app``, the request limits, the timeouts and the pipelining budget.

        ``--body-timeout`` and ``--body-min-rate`` are the slow-body defence,
        as Apache's mod_reqtimeout ``body=20,MinRate=500``.
        """
        parser.add_argument(
            "--app",
            default=None,
            help="application to serve, as module:attribute (an App or a handler function)",
        )
        parser.add_argument(
            "--max-body",
            type=int,
            default=1 << 20,
            help="largest request body in bytes (413 beyond)",
        )
        parser.add_argument(
            "--max-header-size",
            type=int,
            default=16384,
            help="largest request head in bytes (431 beyond)",
        )
        parser.add_argument(
            "--max-headers",
            type=int,
            default=100,
            help="most header fields per request (431 beyond)",
        )
        parser.add_argument(
            "--header-timeout",
            type=float,
            default=10.0,
            help="seconds a request head may take to arrive (408 after)",
        )
        parser.add_argument(
            "--body-timeout",
            type=_non_negative,
            default=20.0,
            metavar="S",
            help="seconds a request body may take to arrive, extended by --body-min-rate"
            " (408 after; 0: no body deadline)",
        )
        parser.add_argument(
            "--body-min-rate",
            type=_non_negative,
            default=500.0,
            metavar="BYTES_PER_S",
            help="each this many body bytes received extend --body-timeout by a second"
            " (0: a fixed deadline)",
        )
        parser.add_argument(
            "--keepalive-timeout",
            type=float,
            default=15.0,
            help="seconds an idle keep-alive connection is kept",
        )
        parser.add_argument(
            "--pipeline-budget",
            type=int,
            default=32,
            help="pipelined requests answered per loop turn",
        )

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """One :class:`HTTPHandler` per connection, sharing the app and the limits."""
        app = load_app(getattr(options, "app", None))
        head_size = getattr(options, "max_header_size", 16384)
        config = HTTPConfig(
            limits=Limits(
                max_body=getattr(options, "max_body", 1 << 20),
                max_head=head_size,
                max_request_line=min(8192, head_size),
                max_headers=getattr(options, "max_headers", 100),
            ),
            header_timeout=getattr(options, "header_timeout", 10.0),
            keepalive_timeout=getattr(options, "keepalive_timeout", 15.0),
            body_timeout=getattr(options, "body_timeout", 20.0),
            body_min_rate=getattr(options, "body_min_rate", 500.0),
            pipeline_budget=max(1, getattr(options, "pipeline_budget", 32)),
            metrics=RequestMetrics(registry_for(loop)),
        )

        def factory(peer: PeerKey) -> HTTPHandler:
            return HTTPHandler(app, config, peer)

        return factory


def _non_negative(text: str) -> float:
    """An option's number: finite and >= 0 (0 turns the feature off)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 (0: off), not {text!r}")
    return value


def load_app(spec: str | None) -> App:
    """The default app, or the ``module:attribute`` named by ``spec``."""
    if not spec:
        return default_app()
    module_name, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(module_name), attr or "app")
    if isinstance(obj, App):
        return obj
    if callable(obj):
        return App(fallback=obj)
    raise TypeError(f"{spec} is neither an App nor a handler function")


plugin = HTTPPlugin()
