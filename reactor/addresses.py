"""Socket addresses as connection-table keys.

The table of a listener (and the reactor-wide view) keys a connection by its
peer's ``(host, port)``.  The kernel's own spellings vary: an IPv6 socket
reports an IPv4 peer as ``::ffff:a.b.c.d`` with flow info and a scope, a Unix
socket has a path and no port.  :func:`normalise_address` turns each into one
key, so the same peer always looks the same.
"""

from __future__ import annotations

import socket

from reactor.protocol import PeerKey

__all__ = ["normalise_address"]


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
