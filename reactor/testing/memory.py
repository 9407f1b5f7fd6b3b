"""An in-memory transport: a handler tested without sockets.

Theory of operation.  A :class:`MemoryTransport` is one end of a connection
whose network is a ``bytearray``.  What the handler writes waits in the
transport's write buffer until something reads it: the test, with
:meth:`~MemoryTransport.drain`, or the other end of a
:func:`~reactor.testing.connection_pair`.  The buffer is what a real
transport's write queue would hold if the kernel took nothing: above the
high-water mark the handler gets ``pause_writing()``, and once reading brings
it to the low-water mark, ``resume_writing()``.  The test plays the peer with
:meth:`~MemoryTransport.feed`, :meth:`~MemoryTransport.feed_eof` and
:meth:`~MemoryTransport.feed_error`; fed bytes are delivered at once while
the transport is reading and held (as the kernel would hold them) while
reading is paused.

Towards the handler everything follows :class:`reactor.transport.Connection`:
``data_received`` in order (whole messages with a framer, counted by the
active mode), ``eof_received`` at most once, ``close()`` flushes before it
closes, ``connection_lost`` exactly once and last.  That last call never
happens while one of the handler's own callbacks is on the stack: it waits
for the loop's next turn, or, without a loop, until the outermost call into
a handler returns.  A handler that raises is contained as the reactor
contains it: logged with the peer key, recorded in
``failures``, the connection aborted with the exception.

Deliberate limits: there are no kernel buffers (a paused reader pushes back
on the writer at once); idle and write timeouts are recorded
(:attr:`~MemoryTransport.idle_timeout`), not run; memory transports are not
in the reactor's ``connections`` table.
"""

from __future__ import annotations

import collections
import itertools
import logging
from typing import TYPE_CHECKING

from reactor.drain import DrainStage
from reactor.errors import hook_failed
from reactor.options import check_timeout, check_water_marks
from reactor.testing.driver import HandlerDriver
from reactor.transport import DEFAULT_HIGH_WATER, DEFAULT_READ_SIZE, State

if TYPE_CHECKING:
    from collections.abc import Iterable

    from reactor.protocol import EventLoop, Handler, PeerKey

__all__ = ["DEFAULT_LOCAL", "MemoryTransport", "new_port"]

log = logging.getLogger(__name__)

DEFAULT_LOCAL: PeerKey = ("127.0.0.1", 5678)
"""The local address of a memory transport (the server's, in a pair) unless given."""

_ids = itertools.count(1 << 40)  # far from the ids of real connections
_ports = itertools.count(40000)


def new_port() -> int:
    """A fresh made-up ephemeral port, for a peer key nobody else has."""
    return next(_ports)


class MemoryTransport(HandlerDriver):
    """A :class:`~reactor.protocol.Transport` over memory; see the module docs.

    ``connection_made`` is called at once.  ``loop`` is what
    :attr:`loop` returns to the handler (a :class:`~reactor.loop.Reactor` on
    a :class:`~reactor.testing.FakeClock`, typically); without one, deferred
    work runs when the test's call returns and :attr:`loop` raises.
    """

    __slots__ = (
        "_drain",
        "_eof_pending",
        "_eof_received",
        "_eof_sent",
        "_exc",
        "_high",
        "_idle_timeout",
        "_inbox",
        "_inbox_eof",
        "_low",
        "_out",
        "_pull_scheduled",
        "_read_size",
        "_write_timeout",
        "_writing_paused",
        "bytes_in",
        "bytes_out",
        "created",
        "id",
        "last_activity",
        "local",
    )

    def __init__(
        self,
        handler: Handler,
        loop: EventLoop | None = None,
        *,
        peer: PeerKey | None = None,
        local: PeerKey = DEFAULT_LOCAL,
        high_water: int = DEFAULT_HIGH_WATER,
        low_water: int | None = None,
        read_size: int = DEFAULT_READ_SIZE,
    ) -> None:
        self._setup(handler, loop, peer, local, high_water, low_water, read_size)
        self._start()

    def _setup(  # noqa: PLR0917  the constructor's arguments, for subclasses
        self,
        handler: Handler,
        loop: EventLoop | None,
        peer: PeerKey | None,
        local: PeerKey,
        high_water: int,
        low_water: int | None,
        read_size: int,
    ) -> None:
        if read_size < 1:
            raise ValueError("read_size must be at least 1")
        self._init_driver(handler, loop, peer if peer is not None else ("127.0.0.1", new_port()))
        self.id = next(_ids)
        self.local = local
        self.created = self.last_activity = loop.time() if loop is not None else 0.0
        self.bytes_in = 0
        self.bytes_out = 0
        self._exc: Exception | None = None
        self._out = bytearray()
        self._writing_paused = False
        self._high = self._low = 0
        self.set_write_buffer_limits(high_water, low_water)
        self._read_size = read_size
        self._idle_timeout: float | None = None
        self._write_timeout: float | None = None
        self._eof_received = False
        self._eof_pending = False
        self._eof_sent = False
        self._inbox: collections.deque[bytes] = collections.deque()
        self._inbox_eof = False
        self._pull_scheduled = False
        self._drain = DrainStage.NONE  # as Connection's, though any stage closes at EOF

    def _start(self) -> None:
        self._guarded(self._handler.connection_made, self)

    # -- what the test sees --------------------------------------------------------

    @property
    def exception(self) -> Exception | None:
        """Why the connection was lost (what ``connection_lost`` gets), if not cleanly."""
        return self._exc

    @property
    def written(self) -> bytes:
        """What the handler wrote and nobody has read yet (without taking it)."""
        return bytes(self._out)

    @property
    def eof_sent(self) -> bool:
        """Whether the write side is shut: ``write_eof()`` took effect, or closed."""
        return self._eof_sent or self._state is State.CLOSED

    @property
    def eof_received(self) -> bool:
        """Whether the handler was told of the peer's end of file."""
        return self._eof_received

    def __repr__(self) -> str:
        host, port = self.peer
        return f"<MemoryTransport #{self.id} {host}:{port} {self._state.value}>"

    # -- the test as the peer ------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """The peer sent ``data``: one read for the handler, now if it is reading."""
        if self._inbox_eof:
            raise RuntimeError("feed() after feed_eof()")
        if self._state is not State.OPEN or not data:
            return  # reading stopped for good: the bytes are dropped, as on close
        self._inbox.append(bytes(data))
        self._guarded(self._pull)

    def feed_eof(self) -> None:
        """The peer half-closed: ``eof_received`` once the fed bytes are read."""
        if not self._inbox_eof:
            self._inbox_eof = True
            self._guarded(self._pull)

    def feed_error(self, exc: Exception | None = None) -> None:
        """The connection failed (``ConnectionResetError`` by default): it is
        lost with ``exc``; the other end of a pair reads end of file."""
        self._fatal(exc if exc is not None else ConnectionResetError("connection reset by peer"))

    def drain(self, size: int | None = None) -> bytes:
        """Take up to ``size`` written bytes (all by default), as a reading peer.

        The write buffer shrinks: a paused handler gets ``resume_writing()``
        at the low-water mark, and a pending ``write_eof()`` or ``close()``
        completes once it is empty.
        """
        count = len(self._out) if size is None else max(0, min(size, len(self._out)))
        data = bytes(self._out[:count])
        del self._out[:count]
        self._guarded(self._sent, count)
        return data

    # -- Transport: figures --------------------------------------------------------

    @property
    def writing_paused(self) -> bool:
        """True between ``pause_writing()`` and ``resume_writing()``."""
        return self._writing_paused

    def get_write_buffer_size(self) -> int:
        """Bytes written and not yet read by the peer."""
        return len(self._out)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """``(low, high)`` water marks."""
        return (self._low, self._high)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks, checked as :class:`~reactor.transport.Connection` checks them."""
        self._high, self._low = check_water_marks(
            high, low, default_high=DEFAULT_HIGH_WATER, names=("high", "low")
        )
        self._check_high_water()

    @property
    def idle_timeout(self) -> float | None:
        """What :meth:`set_idle_timeout` set (``None``: off); nothing fires here."""
        return self._idle_timeout

    @property
    def write_timeout(self) -> float | None:
        """What :meth:`set_write_timeout` set (``None``: off); nothing fires here."""
        return self._write_timeout

    def set_idle_timeout(self, seconds: float | None) -> None:
        """Record the idle timeout, checked as the real transport checks it."""
        self._idle_timeout = check_timeout("idle_timeout", seconds)

    def set_write_timeout(self, seconds: float | None) -> None:
        """Record the write timeout, checked as the real transport checks it."""
        self._write_timeout = check_timeout("write_timeout", seconds)

    def is_reading(self) -> bool:
        """False while reading is paused (by the handler, an active mode or a close)."""
        return self._reading and not self._eof_received and self._state is State.OPEN

    def can_write_eof(self) -> bool:
        """True, as for TCP."""
        return True

    def get_extra_info(self, name: str, default: object = None) -> object:
        """``peername``/``peer`` (the peer key) and ``sockname``; there is no ``socket``."""
        if name in ("peername", "peer"):
            return self.peer
        if name == "sockname":
            return self.local
        return default

    # -- Transport: reading ---------------------------------------------------------

    def _reading_resumed(self) -> None:
        self._schedule_pull()

    def _schedule_pull(self) -> None:
        if not self._pull_scheduled and self._state is not State.CLOSED:
            self._pull_scheduled = True
            self._soon(self._pull)

    def _pull(self) -> None:
        """Read what the peer sent, while reading (a pair reads the other end)."""
        self._pull_scheduled = False
        while self._inbox and self.is_reading():
            self._receive(self._inbox.popleft())
        if (self._inbox_eof and not self._inbox and self.is_reading()) or self._input_ended():
            self._read_eof()

    def _input_waiting(self) -> bool:
        """Whether the peer's bytes or EOF wait to be read (a pair asks the other end)."""
        return bool(self._inbox) or self._inbox_eof

    def _input_ended(self) -> bool:
        """Under :meth:`end_input`: nothing more waits, so that counts as the EOF."""
        return (
            self._drain is DrainStage.END_INPUT
            and not self._eof_received
            and self.is_reading()
            and not self._input_waiting()
        )

    def _receive(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.last_activity = self._now()
        delivery = self._delivery
        if delivery is None:
            self._handler.data_received(data)
        else:
            delivery.feed(data)

    def _read_eof(self) -> None:
        self._eof_received = True
        handler = self._handler
        try:
            keep_open = handler.eof_received()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            keep_open = None
            hook_failed(exc, handler, "eof_received", self.on_error)
        if self._state is State.OPEN and (
            not keep_open or self._eof_sent or self._drain is not DrainStage.NONE
        ):
            self.close()

    # -- Transport: writing ---------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for the peer; never blocks, never raises for a vanished peer."""
        if self._state is not State.OPEN or self._eof_pending:
            if self._state is State.OPEN:
                raise RuntimeError("write() after write_eof()")
            return  # after close() or abort(): dropped, as the real transport drops it
        if not data:
            return
        self._out += data
        self._check_high_water()
        self._wrote()

    def _wrote(self) -> None:
        """Bytes were queued (a pair tells the other end)."""

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Write each chunk in order, as one write."""
        self.write(b"".join(chunks))

    def _check_high_water(self) -> None:
        if len(self._out) > self._high and not self._writing_paused:
            self._writing_paused = True
            handler = self._handler
            try:
                handler.pause_writing()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                hook_failed(exc, handler, "pause_writing", self.on_error)

    def _sent(self, count: int) -> None:
        """The peer read ``count`` bytes of the buffer."""
        if count:
            self.bytes_out += count
            self.last_activity = self._now()
        if self._writing_paused and len(self._out) <= self._low:
            self._writing_paused = False
            handler = self._handler
            try:
                handler.resume_writing()
            except Exception as exc:  # noqa: BLE001  contained: this connection only
                hook_failed(exc, handler, "resume_writing", self.on_error)
        if not self._out:
            if self._eof_pending and not self._eof_sent:
                self._shutdown_write()
            if self._state is State.CLOSING:
                self._schedule_finish()

    def write_eof(self) -> None:
        """Half-close once the buffer has been read."""
        if self._state is not State.OPEN or self._eof_pending:
            return
        self._eof_pending = True
        if not self._out:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        self._eof_sent = True
        self._write_shut()
        if self._eof_received:  # both directions are done
            self.close()

    def _write_shut(self) -> None:
        """The write side is shut (a pair tells the other end)."""

    # -- Transport: closing -----------------------------------------------------------

    def close_when_done(self) -> None:
        """The default drain: close now if idle, else at the peer's EOF.

        Idle, in memory: nothing written and unread, nothing fed and unread
        (bytes or EOF), no message held by an active mode or a framer.
        """
        if self._state is not State.OPEN or self._drain is not DrainStage.NONE:
            return
        self._drain = DrainStage.CLOSE_AT_EOF
        held = self._delivery is not None and self._delivery.holds_input()
        if not (self._out or self._input_waiting() or held):
            self.close()

    def end_input(self) -> None:
        """The end of what the peer has sent so far counts as its EOF."""
        if self._state is not State.OPEN:
            return
        self._drain = DrainStage.END_INPUT
        self._schedule_pull()

    def close(self) -> None:
        """Stop reading; close once what was written has been read."""
        if self._state is not State.OPEN:
            return
        self._state = State.CLOSING
        if self._delivery is not None:
            self._delivery.live = False
        if not self._out:
            self._schedule_finish()

    def abort(self) -> None:
        """Close now, dropping what is still buffered."""
        self._abort(None)

    def _abort(self, exc: Exception | None) -> None:
        if self._state is State.CLOSED:
            return
        if self._exc is None:
            self._exc = exc
        self._out.clear()
        delivery = self._delivery
        if delivery is not None:  # messages read but not delivered: never will be
            delivery.live = False
            delivery.pending.clear()
        self._state = State.CLOSING
        self._schedule_finish()

    def _finish(self) -> None:
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        self._inbox.clear()
        self._write_shut()
        try:
            self._handler.connection_lost(self._exc)
        except Exception as exc:  # logged like the reactor does; the test sees failures
            log.error("connection_lost failed for %s", self.peer, exc_info=exc)
            self.failures.append(exc)
