"""A live status page: the reactor's connection table, and its metrics.

One listening port tells its many connections apart by the peer's
``(host, port)``; this page shows exactly that, live.  ``reactor serve
status`` serves it alone; ``reactor serve NAME --status [HOST:]PORT`` serves
it beside any other protocol in the same reactor.  The routes:

``/``
    The live page (``status.html``, shipped in the package: one static file,
    no external assets).  It polls ``/status.json`` every second and shows one
    page of connections (sortable, filterable by peer address) and every
    listener's limits and counts, with a button to close a connection.
``/status.json?offset=&limit=&sort=&filter=``
    One page of the table as JSON (see :mod:`protocols.status_view`).
``/metrics``
    The reactor's figures and its plugins' metrics in Prometheus's text
    format (:mod:`reactor.metrics`).
``POST /close`` with ``id=N``
    Closes connection ``N``: only from loopback, or with the token the server
    printed at start, in the ``X-Status-Token`` header.
``/table``
    The whole table rendered on the server, grouped by local address and
    reloading itself (:func:`table_page`; ``?format=json`` for
    :func:`snapshot`).  The HTTP plugin's default application serves the same
    at ``/connections``.

:func:`snapshot` and :func:`render_html` are pure functions of the
connections and the time, tested without sockets.
"""

from __future__ import annotations

import argparse
import html
import logging
import secrets
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from protocols.http import App, HTTPConfig, HTTPHandler, Request, Response
from protocols.status_view import CLOSE_HEADER, may_close, page
from reactor import metrics
from reactor.protocol import format_peer
from reactor.tls import negotiated

if TYPE_CHECKING:
    from reactor.protocol import ConnectionInfo, EventLoop, PeerKey, Transport

__all__ = [
    "StatusFactory",
    "StatusPlugin",
    "live_page",
    "plugin",
    "render_html",
    "snapshot",
    "status_app",
    "table_page",
]

log = logging.getLogger(__name__)

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


def live_page() -> bytes:
    """The live page's HTML, as shipped in the package."""
    return resources.files("protocols").joinpath("status.html").read_bytes()


def _loop(request: Request) -> EventLoop | None:
    transport = request.transport
    return None if transport is None else transport.loop


def _status_json(request: Request) -> Response:
    loop = _loop(request)
    if loop is None:
        return Response.json({"error": "no reactor"}, 500)
    query = {name: values[-1] for name, values in request.args.items()} if request.query else {}
    listeners = getattr(loop, "listeners", ())
    # a supervisor's loop (--workers) sees its workers' connections too
    every = getattr(loop, "service_connections", None)
    connections = every() if every is not None else loop.connections.values()
    return Response.json(page(connections, listeners, loop.time(), query))


def _metrics(request: Request) -> Response:
    loop = _loop(request)
    # a supervisor's loop (--workers) shows every worker's, labelled by worker
    every = getattr(loop, "service_families", None)
    if every is not None:
        text = metrics.render(every())
    else:
        text = metrics.render(metrics.collect(loop)) if loop is not None else ""
    return Response(200, [("Content-Type", metrics.CONTENT_TYPE)], text.encode())


_REFUSED = (
    "closing connections works only from loopback, or with the token printed at start "
    f"(in the {CLOSE_HEADER} header)"
)


def _closer(token: str | None) -> Callable[[Request], Response]:
    def close(request: Request) -> Response:
        if not may_close(request.peer, request.headers.get(CLOSE_HEADER), token):
            log.info("refused to close a connection for %s", request.peer)
            return Response.json({"error": _REFUSED}, 403)
        form = {**request.args}
        if request.body:
            form.update(_form(request.body))
        try:
            conn_id = int(form["id"][-1])
        except (KeyError, ValueError, IndexError):
            return Response.json({"error": "say which connection: id=N"}, 400)
        loop = _loop(request)
        conn: Transport | None = None if loop is None else loop.connections.get(conn_id)
        if conn is None:
            return Response.json({"error": f"no connection #{conn_id}"}, 404)
        peer = format_peer(conn.peer)
        log.info("closing %s (#%d) at the request of %s", conn.peer, conn_id, request.peer)
        if conn.get_write_buffer_size():
            conn.abort()  # the operator asked for it gone, not for a flush that may stall
        else:
            conn.close()
        return Response.json({"closed": conn_id, "peer": peer})

    return close


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def status_app(refresh: float = 2.0, token: str | None = None) -> App:
    """The HTTP application of the module docstring's routes.

    ``token`` lets a close request from a peer other than loopback through;
    ``None`` allows closing from loopback only.
    """
    app = App()
    live = Response.html(live_page().decode()).prepare()
    app.add("GET", "/", lambda request: live)
    app.add("GET", "/status.json", _status_json)
    app.add("GET", "/metrics", _metrics)
    app.add("POST", "/close", _closer(token))
    app.add("GET", "/table", table_page(refresh))
    return app


class StatusFactory:
    """The status listener's factory: HTTP connections serving :func:`status_app`."""

    def __init__(self, refresh: float = 2.0, token: str | None = None) -> None:
        self.token = token
        """What a close request from elsewhere than loopback must carry."""
        self.app = status_app(refresh, token)
        """The application every connection serves."""
        self.config = HTTPConfig()
        """The HTTP limits and timeouts."""

    def __call__(self, peer: PeerKey) -> HTTPHandler:
        """A handler for the connection from ``peer``."""
        return HTTPHandler(self.app, self.config, peer)


class StatusPlugin:
    """``reactor serve status``, and what ``reactor serve NAME --status PORT`` adds."""

    description = "live status page of the connection table, and /metrics for Prometheus"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--refresh`` seconds between reloads of ``/table``; ``--token``."""
        parser.add_argument(
            "--refresh", type=float, default=2.0, help="seconds between reloads of /table"
        )
        parser.add_argument(
            "--token",
            help="what closing a connection from elsewhere than loopback needs "
            "(default: a random one, printed at start)",
        )

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> StatusFactory:
        """A :class:`StatusFactory`; its ``token`` is printed by ``reactor serve``."""
        token = getattr(options, "token", None) or secrets.token_urlsafe(16)
        return StatusFactory(getattr(options, "refresh", 2.0), token)


plugin = StatusPlugin()
