"""Socket addresses as connection-table keys.

The table of a listener (and the reactor-wide view) keys a connection by its
peer's ``(host, port)``.  The kernel's own spellings vary: an IPv6 socket
reports an IPv4 peer as ``::ffff:a.b.c.d`` with flow info and a scope, a Unix
socket has a path and no port.  :func:`normalise_address` turns each into one
key, so the same peer always looks the same, and :func:`format_peer` writes a
key as people read addresses.  :mod:`reactor.protocol` re-exports both names.
"""

from __future__ import annotations

import socket
from typing import TypeAlias

__all__ = ["PeerKey", "format_peer", "normalise_address"]

PeerKey: TypeAlias = tuple[str, int]
"""The key of the connection table: the peer's (host, port).

IPv4-mapped IPv6 addresses become dotted quads, IPv6 scope ids are kept as
``%scope`` in the host, and Unix-socket peers (which have no port) are keyed
``("unix:" + peer path, connection id)`` so two of them never collide.
"""


def format_peer(key: PeerKey) -> str:
    """A peer key as an address is written: ``127.0.0.1:5678``, ``[::1]:5678``.

    IPv6 hosts are bracketed (a ``%scope`` stays inside the brackets), so for
    every IP key the string reads back as the key: the host is what precedes
    the last ``:``, without its brackets, and the port what follows it.  A
    Unix key ``("unix:/path", id)`` is shown as ``unix:/path#id``: the ``#``
    says the number is the connection id that keeps two peers of one socket
    apart, not a port; an id of 0 (a listener's or an outbound connection's
    own address, where there is nothing to tell apart) is left out.
    Every view of the connection table (the status page, the chat room, the
    HTTP application's ``/connections``, the RESP server's ``CLIENT LIST``)
    writes peer keys with it (``CLIENT LIST`` keeps Redis's ``path:0`` for
    Unix peers).
    """
    host, port = key
    if host.startswith("unix:"):
        return f"{host}#{port}" if port else host
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def normalise_address(family: int, address: object, conn_id: int = 0) -> PeerKey:
    """Turn a socket address into a table key ``(host, port)``.

    IPv4-mapped IPv6 addresses become dotted quads; IPv6 flow info and scope
    numbers are dropped (a link-local scope stays in the host as ``%name``);
    a Unix socket, which has no port, is keyed by its path and ``conn_id``.
    """
    if family == socket.AF_UNIX:
        path = address.decode(errors="replace") if isinstance(address, bytes) else str(address)
        return ("unix:" + path, conn_id)
    if not isinstance(address, tuple):
        raise TypeError(f"unexpected address {address!r}")
    host: str = address[0]
    port: int = address[1]
    if family == socket.AF_INET6 and host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return (host, port)
