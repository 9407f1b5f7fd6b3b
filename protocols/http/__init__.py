"""HTTP/1.1 server plugin: ``reactor serve http``.

The parser (:mod:`protocols.http.parser`) and writer
(:mod:`protocols.http.writer`) are sans-I/O; :mod:`protocols.http.app` is
the application interface; :mod:`protocols.http.server` drives them from a
transport; :mod:`protocols.http.plugin` holds the object the entry point names.
"""

from __future__ import annotations

from protocols.http.app import App, Request, Response, default_app
from protocols.http.plugin import HTTPPlugin, load_app, plugin
from protocols.http.server import HTTPConfig, HTTPHandler

__all__ = [
    "App",
    "HTTPConfig",
    "HTTPHandler",
    "HTTPPlugin",
    "Request",
    "Response",
    "default_app",
    "load_app",
    "plugin",
]
