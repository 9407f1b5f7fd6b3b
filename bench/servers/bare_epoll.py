"""The floor: an echo loop on ``select.epoll`` with no framework at all.

A dict maps fd to socket; every readable socket is read once and answered
at once.  Output the kernel does not take is kept per fd and the fd waits
for EPOLLOUT.  No pure-Python reactor can do less work per message, so a
reactor's cost is quoted as a ratio against this loop.
"""

from __future__ import annotations

import select
import socket

from bench.servers.minimal import parse_args, responder_factory

CHUNK = 65536


def main() -> None:
    args = parse_args("bare epoll server", ("echo", "http", "resp"))
    make = responder_factory(args.proto)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(4096)
    listener.setblocking(False)
    lfd = listener.fileno()
    ep = select.epoll()
    ep.register(lfd, select.EPOLLIN)
    socks: dict[int, socket.socket] = {}
    feeds: dict[int, object] = {}
    pending: dict[int, bytes] = {}
    epollin, epollout = select.EPOLLIN, select.EPOLLOUT
    nodelay = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def drop(fd: int) -> None:
        ep.unregister(fd)
        socks.pop(fd).close()
        feeds.pop(fd, None)
        pending.pop(fd, None)

    while True:
        for fd, events in ep.poll():
            if fd == lfd:
                while True:
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    conn.setsockopt(*nodelay)
                    cfd = conn.fileno()
                    socks[cfd] = conn
                    if make is not None:
                        feeds[cfd] = make()
                    ep.register(cfd, epollin)
                continue
            sock = socks[fd]
            if events & epollout:
                data = pending.pop(fd)
                try:
                    sent = sock.send(data)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    drop(fd)
                    continue
                if sent < len(data):
                    pending[fd] = data[sent:]
                else:
                    ep.modify(fd, epollin)
                continue
            try:
                data = sock.recv(CHUNK)
            except BlockingIOError:
                continue
            except OSError:
                drop(fd)
                continue
            if not data:
                drop(fd)
                continue
            if make is not None:
                data = feeds[fd](data)  # type: ignore[operator]
                if not data:
                    continue
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                drop(fd)
                continue
            if sent < len(data):
                pending[fd] = data[sent:]
                ep.modify(fd, epollout)


if __name__ == "__main__":
    main()
