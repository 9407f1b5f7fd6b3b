"""Listening sockets: binding an address, a name or a Unix socket path.

:func:`bind_socket` makes the non-blocking listening socket a
:class:`~reactor.listener.Listener` accepts on; it is public so that a
program can bind first and hand the socket over (``sock=``).  Names are
resolved once, here; a Unix socket path replaces a stale socket file left by an
earlier run, and never any other kind of file.  :func:`reserve_port` holds a
port for ``--reuse-port`` workers, each binding its own listening socket to it.
"""

from __future__ import annotations

import os
import socket
import stat

from reactor.options import check_count, check_port

__all__ = [
    "bind_socket",
    "remove_stale_unix_socket",
    "reserve_port",
]


def bind_socket(
    host: str | None,
    port: int,
    *,
    backlog: int = 511,
    reuse_port: bool = False,
    dual_stack: bool = False,
) -> socket.socket:
    """Make a non-blocking listening socket.

    ``host`` may be an IPv4 or IPv6 address, a name (resolved once, here), an
    empty string or ``None`` for every interface, or a Unix socket path
    (starting with ``/``, ``./`` or ``unix:``, which ignores ``port``).
    ``port`` is 0 (any free port) to 65535 and ``backlog`` at least 0, else
    :exc:`ValueError`.  ``dual_stack`` makes an IPv6 socket accept IPv4 peers
    too (their keys are dotted quads).
    """
    check_count("backlog", backlog, 0)
    if host is not None and (host.startswith(("/", "./", "unix:"))):
        path = host[5:] if host.startswith("unix:") else host
        remove_stale_unix_socket(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            sock.listen(backlog)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock
    check_port(port)  # getaddrinfo would take 70000 as 70000 % 65536
    if not host:
        host = "::" if dual_stack and socket.has_ipv6 else "0.0.0.0"  # noqa: S104  asked for
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, type_, proto, _, address = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual_stack else 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def remove_stale_unix_socket(path: str) -> None:
    """Remove a Unix socket file left at ``path`` (only a socket, never another file)."""
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def reserve_port(host: str | None, port: int) -> socket.socket:
    """Bind ``host:port`` with ``SO_REUSEPORT`` without listening: the port stays
    ours (port 0 picks one) while each worker binds its own listening socket
    to it; a socket that does not listen gets no connection from the kernel."""
    if not host:
        host = "0.0.0.0"  # noqa: S104  every interface, as asked
    family, type_, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
