"""What the live status page asks for: one page of the connection table, and who may close.

Theory of operation.  A server with 10,000 connections must not send 10,000
rows every second, so ``/status.json`` is paged: the browser asks for
``offset``, ``limit``, ``sort`` and ``filter`` and gets that page, the count
of connections that matched, and every listener's figures.  Filtering and
sorting work on the connection objects with cheap keys; rows (dicts) are
built only for the page sent.  The whole table's summary is counts only.

Closing a connection from the page is a ``POST /close``.  It is allowed from
a loopback peer, or from anywhere with the token the server printed when it
started; either way the request must carry the ``X-Status-Token`` header
(empty from loopback), which a cross-site form cannot send, so a page on
another site cannot close connections through a browser on this machine.

Everything here is a pure function of the connections, the listeners and
the time, tested without sockets.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypedDict

from reactor.metrics import ListenerFigures, listener_figures
from reactor.protocol import format_peer
from reactor.tls import negotiated

if TYPE_CHECKING:
    from reactor.protocol import ConnectionInfo, PeerKey

__all__ = [
    "CLOSE_HEADER",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "SORT_KEYS",
    "StatusPage",
    "connection_row",
    "is_loopback",
    "may_close",
    "page",
]

DEFAULT_LIMIT = 100
"""Rows per page unless the page asks for another number."""

MAX_LIMIT = 1000
"""The most rows one request gets."""

CLOSE_HEADER = "X-Status-Token"
"""The header a close request carries: the token, or empty from loopback."""

_Key = Callable[["ConnectionInfo", float], object]


def _state(conn: ConnectionInfo) -> str:
    state = getattr(conn, "state", None)
    return str(getattr(state, "value", state if state is not None else "open"))


SORT_KEYS: dict[str, _Key] = {
    "id": lambda c, now: c.id,
    "peer": lambda c, now: c.peer,
    "local": lambda c, now: c.local,
    "age": lambda c, now: now - c.created,
    "idle": lambda c, now: now - c.last_activity,
    "bytes_in": lambda c, now: c.bytes_in,
    "bytes_out": lambda c, now: c.bytes_out,
    "queued": lambda c, now: c.get_write_buffer_size(),
    "state": lambda c, now: _state(c),
}
"""What ``sort`` may name (``-name`` sorts descending); ties go by id."""


class StatusPage(TypedDict):
    """What ``/status.json`` answers (:func:`page`)."""

    now: float
    total: int
    matched: int
    offset: int
    limit: int
    sort: str
    filter: str
    connections: list[dict[str, object]]
    listeners: list[ListenerFigures]


def connection_row(conn: ConnectionInfo, now: float, plugin: str = "") -> dict[str, object]:
    """One connection as the page shows it.

    ``tls``, ``cipher``, ``sni`` and ``alpn`` are what TLS negotiated
    (:func:`reactor.tls.negotiated`; ``-`` for plain TCP); ``proxy`` is the
    proxy that sent a PROXY header naming this peer, or ``None``;
    ``worker``, ``pid`` and ``linked`` are there when the connection has them
    (a worker's, reported to its supervisor; the proxy plugin's legs).
    """
    proxy_peer = getattr(conn, "proxy_peer", None)
    row: dict[str, object] = {
        "id": conn.id,
        "peer": format_peer(conn.peer),
        "local": format_peer(conn.local),
        "plugin": plugin,
        "age": round(now - conn.created, 1),
        "idle": round(max(0.0, now - conn.last_activity), 1),
        "bytes_in": conn.bytes_in,
        "bytes_out": conn.bytes_out,
        "queued": conn.get_write_buffer_size(),
        "reading": conn.is_reading(),
        "writing_paused": conn.writing_paused,
        "state": _state(conn),
        **negotiated(conn),
        "proxy": None if proxy_peer is None else format_peer(proxy_peer),
    }
    for name in ("worker", "pid", "linked"):
        value = getattr(conn, name, None)
        if value is not None:
            row[name] = value
    return row


def _int(text: str | None, default: int, lowest: int, highest: int) -> int:
    try:
        number = int(text) if text else default
    except ValueError:
        number = default
    return min(max(number, lowest), highest)


def page(
    connections: Iterable[ConnectionInfo],
    listeners: Iterable[object],
    now: float,
    query: Mapping[str, str] | None = None,
) -> StatusPage:
    """The ``/status.json`` answer for ``query`` (``offset``, ``limit``,
    ``sort``, ``filter``; bad values fall back to the defaults).

    ``filter`` keeps the connections whose peer address (as
    :func:`~reactor.protocol.format_peer` writes it) contains the text.
    """
    query = query or {}
    listeners = list(listeners)
    plugins: dict[int, str] = {}
    for listener in listeners:
        name = str(getattr(listener, "plugin", "") or "")
        for conn in getattr(listener, "connections", {}).values():
            plugins[conn.id] = name
    everything = list(connections)
    wanted = (query.get("filter") or "").strip()
    matched = [c for c in everything if wanted in format_peer(c.peer)] if wanted else everything
    sort = query.get("sort") or "id"
    descending = sort.startswith("-")
    key = SORT_KEYS.get(sort.lstrip("-"))
    if key is None:
        sort, descending, key = "id", False, SORT_KEYS["id"]
    matched.sort(key=lambda c: (key(c, now), c.id), reverse=descending)
    offset = _int(query.get("offset"), 0, 0, max(0, len(matched)))
    limit = _int(query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    rows = [
        connection_row(c, now, plugins.get(c.id, "")) for c in matched[offset : offset + limit]
    ]
    return {
        "now": now,
        "total": len(everything),
        "matched": len(matched),
        "offset": offset,
        "limit": limit,
        "sort": sort,
        "filter": wanted,
        "connections": rows,
        "listeners": [listener_figures(x) for x in listeners],
    }


def is_loopback(peer: PeerKey | None) -> bool:
    """Whether ``peer`` is on this machine: 127.0.0.0/8, ::1 (mapped too), a Unix socket."""
    if peer is None:
        return False
    host = peer[0]
    if host.startswith("unix:"):
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def may_close(peer: PeerKey | None, sent: str | None, token: str | None) -> bool:
    """Whether a close request from ``peer`` carrying header value ``sent``
    (``None``: no header) is allowed, given the server's ``token``."""
    if sent is None:
        return False  # a form on another site cannot send the header
    if is_loopback(peer):
        return True
    return bool(token) and hmac.compare_digest(sent.encode(), (token or "").encode())
