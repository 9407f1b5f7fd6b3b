"""Socket options and the kernel-side checks a connection makes on its socket.

Plain functions over a :class:`socket.socket`: the options a connection sets
when made (non-blocking, TCP_NODELAY, SO_KEEPALIVE), the ones a handler may
change later, and the two looks into the receive queue that a graceful close
needs (is anything unread? read it, so the close sends a FIN, not a RST).
"""

from __future__ import annotations

import socket

__all__ = ["drain_unread", "input_waiting", "prepare_socket", "set_keepalive", "set_nodelay"]

_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def prepare_socket(sock: socket.socket, family: int, nodelay: bool, keepalive: bool) -> None:
    """Non-blocking, and for TCP the options asked for (TCP_NODELAY by default)."""
    sock.setblocking(False)
    if family in _TCP_FAMILIES:
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def set_nodelay(sock: socket.socket, enabled: bool = True) -> None:
    """TCP_NODELAY on a TCP socket (a Unix socket has no Nagle to turn off)."""
    if sock.family in _TCP_FAMILIES:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(enabled))


def set_keepalive(
    sock: socket.socket,
    enabled: bool = True,
    idle: int | None = None,
    interval: int | None = None,
    count: int | None = None,
) -> None:
    """SO_KEEPALIVE, and the probe timing where the platform has the options."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(enabled))
    for name, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPINTVL", interval),
        ("TCP_KEEPCNT", count),
    ):
        option = getattr(socket, name, None)
        if value is not None and option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def input_waiting(sock: socket.socket) -> bool:
    """Whether the kernel holds input not read yet: bytes, or the peer's EOF.

    One non-blocking ``MSG_PEEK`` read; a reset counts as input (the next
    real read reports it).
    """
    try:
        sock.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    return True


def drain_unread(sock: socket.socket) -> None:
    """Read what the peer sent and we never read, so close() sends FIN, not RST.

    Closing a socket with unread input makes the kernel reset the connection,
    which can destroy our own last bytes still in flight to the peer.
    """
    for _ in range(4):
        try:
            if not sock.recv(65536):
                return
        except OSError:
            return
