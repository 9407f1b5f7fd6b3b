"""gen_tcp's passive mode as coroutines, on :mod:`reactor.aio`.

The Erlang way of writing a server, in Python almost line for line::

    async def main() -> None:
        lsock = reactor.streams.listen(5678, packet=2)
        sock = await lsock.accept()
        data = await sock.recv(0)          # {ok, Packet} = gen_tcp:recv(Sock, 0)
        await sock.send(data)              # gen_tcp:send(Sock, Packet)

    reactor.aio.run(main())

* :func:`listen` returns a :class:`ListenSocket`; many tasks may wait in
  :meth:`ListenSocket.accept` at once (an acceptor pool), served in order.
* :func:`connect` returns a :class:`Socket` owned by the calling task.
* :meth:`Socket.recv` has gen_tcp's meaning (``length``, ``timeout``,
  :class:`Timeout`, :class:`Closed` after the buffered data);
  :meth:`Socket.send` waits only while the write buffer is above its
  high-water mark; :meth:`Socket.setopts` changes ``packet`` (re-framing
  what is buffered) and ``active``.
* In an active mode, messages (:class:`Tcp`, :class:`TcpClosed`,
  :class:`TcpError`, :class:`TcpPassive`) go to the owner's mailbox,
  :attr:`Socket.messages`, also read with ``async for msg in sock``.
* Only the owner may read (:class:`NotOwner` otherwise);
  :meth:`Socket.controlling_process` hands the socket over whole.
* :func:`serve` runs ``handle(sock)`` in a task per connection; it is how
  ``reactor serve`` runs an ``async def`` plugin (:class:`AsyncPlugin`).

Each operation composes with asyncio: ``asyncio.timeout``, ``wait_for`` and
task cancellation interrupt a ``recv`` or an ``accept`` without consuming
anything and without closing the socket.
"""

from __future__ import annotations

from reactor.streams.errors import Closed, NotOwner, NotPassive, StreamError, Timeout
from reactor.streams.messages import Mailbox, Message, Tcp, TcpClosed, TcpError, TcpPassive
from reactor.streams.plugin import AsyncPlugin
from reactor.streams.server import ListenSocket, connect, listen, serve
from reactor.streams.stream import DEFAULT_READ_BUFFER, Socket, SocketOptions

__all__ = [
    "DEFAULT_READ_BUFFER",
    "AsyncPlugin",
    "Closed",
    "ListenSocket",
    "Mailbox",
    "Message",
    "NotOwner",
    "NotPassive",
    "Socket",
    "SocketOptions",
    "StreamError",
    "Tcp",
    "TcpClosed",
    "TcpError",
    "TcpPassive",
    "Timeout",
    "connect",
    "listen",
    "serve",
]
