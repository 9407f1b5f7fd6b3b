"""A live status page: the reactor's connection table, grouped by local address.

One listening port tells its many connections apart by the peer's
``(host, port)``; this page shows exactly that, refreshed every few seconds:
for each local address, one row per connection with its peer key, id, age,
idle time, bytes each way, queued output and flow-control state.

``reactor serve status`` serves it alone; ``reactor serve NAME --status PORT``
serves it beside any other protocol in the same reactor, so the page shows
that protocol's connections as they come and go.  ``/status.json`` (or
``?format=json``, or ``Accept: application/json``) gives the same table as
JSON.  :func:`table_page` is the route that serves it; the HTTP plugin's
default application serves the same page at ``/connections``.

:func:`snapshot` and :func:`render_html` are pure functions of the
connections and the time, tested without sockets.
"""

from __future__ import annotations

import argparse
import html
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from protocols.http import App, HTTPConfig, HTTPHandler, Request, Response
from reactor.protocol import format_peer
from reactor.tls import negotiated

if TYPE_CHECKING:
    from reactor.protocol import ConnectionInfo, EventLoop, Factory, PeerKey

__all__ = ["StatusPlugin", "plugin", "render_html", "snapshot", "status_app", "table_page"]

_COLUMNS = ("id", "peer", "age", "idle", "bytes_in", "bytes_out", "queued", "flow")


def snapshot(
    connections: Iterable[ConnectionInfo], now: float
) -> dict[str, list[dict[str, object]]]:
    """The table as data: local address -> rows, each row one connection, by id."""
    groups: dict[str, list[dict[str, object]]] = {}
    for conn in sorted(connections, key=lambda c: c.id):
        flow = []
        if not conn.is_reading():
            flow.append("reading paused")
        if conn.writing_paused:
            flow.append("writing paused")
        groups.setdefault(format_peer(conn.local), []).append(
            {
                "id": conn.id,
                "peer": format_peer(conn.peer),
                "age": round(now - conn.created, 1),
                "idle": round(max(0.0, now - conn.last_activity), 1),
                "bytes_in": conn.bytes_in,
                "bytes_out": conn.bytes_out,
                "queued": conn.get_write_buffer_size(),
                "flow": ", ".join(flow) or "flowing",
                **negotiated(conn),  # TLS version, cipher, SNI name, ALPN protocol
                **_labels(conn),
            }
        )
    return dict(sorted(groups.items()))


def _labels(conn: ConnectionInfo) -> dict[str, object]:
    """The optional columns: the worker process, the PROXY-header proxy, a linked leg."""
    labels: dict[str, object] = {}
    for name in ("worker", "pid", "linked"):
        value = getattr(conn, name, None)
        if value is not None:
            labels[name] = value
    proxy_peer = getattr(conn, "proxy_peer", None)
    if proxy_peer is not None:
        labels["proxy"] = format_peer(proxy_peer)
    return labels


def render_html(table: dict[str, list[dict[str, object]]], refresh: float) -> str:
    """The status page for :func:`snapshot`'s table, reloading every ``refresh`` s."""
    total = sum(len(rows) for rows in table.values())
    extra = {k for rows in table.values() for row in rows for k in row if k not in _COLUMNS}
    columns = _COLUMNS + tuple(c for c in ("worker", "pid", "proxy", "linked") if c in extra)
    head = "".join(f"<th>{name}</th>" for name in columns)
    sections = []
    for local, rows in table.items():
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(row.get(c, '')))}</td>" for c in columns)
            + "</tr>\n"
            for row in rows
        )
        sections.append(
            f"<h2>{html.escape(local)}: {len(rows)} connection{'' if len(rows) == 1 else 's'}"
            f"</h2>\n<table>\n<tr>{head}</tr>\n{body}</table>\n"
        )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{refresh:g}">'
        "<title>selreactor status</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style>"
        "</head>\n<body>\n"
        f"<h1>{total} live connection{'' if total == 1 else 's'}</h1>\n"
        "<p>Each connection is keyed by its peer's (host, port): that is how one "
        "listening port tells its many connections apart.</p>\n"
        + "".join(sections)
        + "</body></html>\n"
    )


def _table(request: Request) -> dict[str, list[dict[str, object]]]:
    transport = request.transport
    if transport is None:
        return {}
    loop = transport.loop
    # a supervisor's loop (--workers) sees its workers' connections too
    every = getattr(loop, "service_connections", None)
    return snapshot(every() if every is not None else loop.connections.values(), loop.time())


def _wants_json(request: Request) -> bool:
    if request.query:
        fmt = request.args.get("format")
        if fmt:
            return fmt[-1] == "json"
    accept = request.headers.get("accept", "") or ""
    return "application/json" in accept and "text/html" not in accept


def table_page(refresh: float = 2.0) -> Callable[[Request], Response]:
    """The route serving the live table of the reactor the request came in on.

    HTML (:func:`render_html`, reloading every ``refresh`` seconds), or the
    :func:`snapshot` as JSON for ``?format=json`` or an ``Accept`` that asks
    for JSON and not HTML.  :func:`status_app` serves it at ``/``, the HTTP
    plugin's default application at ``/connections``.
    """

    def page(request: Request) -> Response:
        table = _table(request)
        if _wants_json(request):
            return Response.json(table)
        return Response.html(render_html(table, refresh))

    return page


def status_app(refresh: float = 2.0) -> App:
    """An HTTP application serving the page at ``/`` and JSON at ``/status.json``."""
    app = App()
    app.add("GET", "/", table_page(refresh))
    app.add("GET", "/status.json", lambda request: Response.json(_table(request)))
    return app


class StatusPlugin:
    """``reactor serve status``, and what ``reactor serve NAME --status PORT`` adds."""

    description = "live status page: the connection table by local address (HTML and JSON)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--refresh`` seconds between page reloads."""
        parser.add_argument(
            "--refresh", type=float, default=2.0, help="seconds between page reloads"
        )

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """HTTP connections serving :func:`status_app`."""
        app = status_app(getattr(options, "refresh", 2.0))
        config = HTTPConfig()

        def factory(peer: PeerKey) -> HTTPHandler:
            return HTTPHandler(app, config, peer)

        return factory


plugin = StatusPlugin()
