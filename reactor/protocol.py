"""Interfaces between the reactor and the code it drives.

Three parties meet here, and each knows the others only through these types:

* a :class:`Handler` gives a connection meaning (the protocol of asyncio and
  Twisted, the controlling process of gen_tcp);
* a :class:`Transport` is one connection as a handler sees it: write, close,
  pause, and the peer key that identifies it in the connection table;
* a :class:`Plugin` is what the ``reactor.protocols`` entry-point group names,
  so ``reactor serve NAME`` can build handlers for a listener.

Plugins depend on this module alone; ``reactor.loop`` and the transports
implement it.  Callback names and their order copy asyncio's, so code written
for ``asyncio.Protocol`` reads naturally here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from reactor.addresses import PeerKey, format_peer
from reactor.errors import ProtocolError, missing_hook

if TYPE_CHECKING:
    import argparse

__all__ = [
    "ActiveMode",
    "BaseHandler",
    "Clock",
    "ConnectionInfo",
    "Decoder",
    "EventLoop",
    "Factory",
    "Handler",
    "PeerKey",
    "Plugin",
    "ProtocolError",
    "TimerHandle",
    "Transport",
    "format_peer",
    "missing_hook",
]

ActiveMode: TypeAlias = bool | int | Literal["once"]
"""gen_tcp's ``{active, true | false | once | N}``; see :meth:`Transport.set_active`."""


class Clock(Protocol):
    """A monotonic time source in seconds; the reactor's is injectable."""

    def __call__(self) -> float: ...


class TimerHandle(Protocol):
    """A scheduled callback; :meth:`cancel` is O(1)."""

    def cancel(self) -> None:
        """Stop the callback from running; harmless if it already ran."""
        ...

    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        ...


class EventLoop(Protocol):
    """The part of the reactor a handler may use: time, callbacks, the table."""

    @property
    def connections(self) -> Mapping[int, Transport]:
        """Every live connection of the reactor (listeners' and outbound), by id."""
        ...

    def time(self) -> float:
        """The reactor's monotonic clock, in seconds."""
        ...

    def call_soon(self, callback: Callable[..., object], *args: object) -> TimerHandle:
        """Run ``callback(*args)`` on the next loop turn, FIFO."""
        ...

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> TimerHandle:
        """Run ``callback(*args)`` after ``delay`` seconds."""
        ...

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> TimerHandle:
        """Run ``callback(*args)`` once :meth:`time` reaches ``when``."""
        ...


class ConnectionInfo(Protocol):
    """Read-only figures of one live connection, as the status views show it."""

    @property
    def id(self) -> int:
        """Monotonic connection id, unique within the process."""
        ...

    @property
    def peer(self) -> PeerKey:
        """The peer key: this connection's key in the connection table."""
        ...

    @property
    def local(self) -> PeerKey:
        """The local (host, port) the connection is bound to."""
        ...

    @property
    def created(self) -> float:
        """Reactor time at which the connection was made."""
        ...

    @property
    def last_activity(self) -> float:
        """Reactor time of the last byte read or written."""
        ...

    @property
    def bytes_in(self) -> int:
        """Bytes received so far."""
        ...

    @property
    def bytes_out(self) -> int:
        """Bytes handed to the kernel so far."""
        ...

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet handed to the kernel."""
        ...

    def is_reading(self) -> bool:
        """False while reading is paused."""
        ...

    @property
    def writing_paused(self) -> bool:
        """True between ``pause_writing()`` and ``resume_writing()``."""
        ...


class Decoder(Protocol):
    """What :meth:`Transport.set_framer` takes: bytes in, whole messages out.

    :mod:`reactor.framing` has gen_tcp's framers.  ``feed`` raises a
    :class:`ProtocolError` for input it cannot frame; an optional ``frames``
    attribute on that error holds the messages completed before the bad one,
    which the transport still delivers.
    """

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return the messages they complete, in order."""
        ...


class Transport(ConnectionInfo, Protocol):
    """One TCP (or Unix stream) connection, as its handler sees it."""

    @property
    def loop(self) -> EventLoop:
        """The reactor this connection runs on."""
        ...

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``; never blocks, never raises for a vanished peer."""
        ...

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Send each chunk in order, as one write where possible."""
        ...

    def write_eof(self) -> None:
        """Half-close: shut the write side once the buffer has drained."""
        ...

    def can_write_eof(self) -> bool:
        """Whether :meth:`write_eof` is supported (true for TCP and Unix)."""
        ...

    def close(self) -> None:
        """Flush what was written, then close; reading stops at once."""
        ...

    def abort(self) -> None:
        """Close now, dropping anything still buffered."""
        ...

    def close_when_done(self) -> None:
        """The default graceful drain: close once the peer is done with us.

        An *idle* connection closes at once (flushing nothing, with a FIN).
        Otherwise the connection keeps reading and answering until the peer's
        EOF, then flushes and closes, whatever ``eof_received()`` returns.  Idle
        means: nothing queued for writing, nothing read but not yet delivered
        (queued messages, a partial frame held by the framer), nothing from
        the peer waiting in the kernel, neither bytes nor its EOF, and no
        recent I/O if the peer ever sent anything (a peer in the middle of a
        stream may have nothing in the kernel between two round trips).
        """
        ...

    def end_input(self) -> None:
        """Treat the end of what the peer has already sent as its EOF.

        Reading goes on while the kernel holds input from the peer; the first
        time a read leaves nothing behind, ``eof_received()`` is called as for
        a half-close, and the connection closes after flushing unless it
        returns true.  Request/response handlers drain with it: every request
        sent before the drain is answered, then the connection closes.
        """
        ...

    def is_closing(self) -> bool:
        """True once :meth:`close` or :meth:`abort` was called or the peer left."""
        ...

    def pause_reading(self) -> None:
        """Stop reading: the kernel's window pushes back on the peer."""
        ...

    def resume_reading(self) -> None:
        """Undo :meth:`pause_reading`."""
        ...

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes over pause/resume reading.

        ``True`` delivers every message, ``False`` none, ``"once"`` one and
        then pauses, an integer ``N`` delivers N more and then calls the
        handler's ``passive()`` hook (gen_tcp's ``{tcp_passive, Socket}``).
        """
        ...

    def set_framer(self, framer: Decoder | None) -> None:
        """Deliver whole messages (gen_tcp's ``{packet, N}``) instead of raw chunks.

        Each decoded message is one ``data_received`` call and counts as one
        message for :meth:`set_active`.  ``None`` goes back to raw bytes.
        """
        ...

    def set_idle_timeout(self, seconds: float | None) -> None:
        """Call the handler's ``timeout()`` hook after ``seconds`` without I/O.

        The deadline follows the connection's last activity and costs nothing
        per read; once it passes, the hook runs (``close()`` without one) and,
        if the connection is still open, the deadline is armed ``seconds``
        later again.  ``None`` or ``0`` turns it off; a negative number or
        ``nan`` raises :exc:`ValueError`.  This replaces the listener's
        ``idle_timeout`` for the connection.
        """
        ...

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks for ``pause_writing``/``resume_writing``."""
        ...

    def set_write_timeout(self, seconds: float | None) -> None:
        """Abort when queued output makes no progress for ``seconds``.

        ``None`` or ``0`` turns it off; a negative number or ``nan`` raises
        :exc:`ValueError`.
        """
        ...

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The current ``(low, high)`` water marks, as asyncio returns them."""
        ...

    def set_protocol(self, handler: Handler) -> None:
        """Hand the connection to another handler (gen_tcp's ``controlling_process``).

        Later data goes to the new handler; paused state and queued output
        are kept.  ``connection_made`` is not called again.
        """
        ...

    def get_protocol(self) -> Handler:
        """The handler that currently owns the connection."""
        ...

    def get_extra_info(self, name: str, default: object = None) -> object:
        """asyncio-compatible extras: ``peername``, ``sockname``, ``socket``."""
        ...


class Handler(Protocol):
    """What a transport calls. Order: made -> received* -> eof? -> lost.

    ``connection_lost`` is called exactly once and last.  Every callback is
    declared here, as asyncio's ``BaseProtocol`` declares them, so a misspelt
    hook is a type error; subclass :class:`BaseHandler` for the defaults of
    the optional ones: ``pause_writing``, ``resume_writing``, ``timeout``,
    ``passive`` and ``drain_requested`` (see :meth:`BaseHandler.drain_requested`
    for the graceful drain).  The transports still tolerate a handler that
    lacks an optional hook at run time, and apply the default.
    """

    def connection_made(self, transport: Transport) -> None:
        """The connection is up; keep ``transport`` to talk back."""
        ...

    def data_received(self, data: bytes) -> None:
        """Bytes arrived, in order; no message boundaries are kept."""
        ...

    def eof_received(self) -> bool | None:
        """The peer half-closed. Return true to keep writing, else it closes."""
        ...

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone: ``None`` for a clean close, else why."""
        ...

    def pause_writing(self) -> None:
        """The write buffer went above the high-water mark: stop producing."""
        ...

    def resume_writing(self) -> None:
        """The write buffer drained below the low-water mark: produce again."""
        ...

    def timeout(self) -> None:
        """No I/O for the idle timeout (the default closes the transport)."""
        ...

    def passive(self) -> None:
        """An ``active=N`` budget ran out and reading paused."""
        ...

    def drain_requested(self) -> None:
        """A graceful drain started: finish the work in flight, then close."""
        ...


class BaseHandler:
    """A handler with every hook defined; override what you need.

    The optional hooks beyond :class:`Handler` are ``pause_writing``,
    ``resume_writing`` (the water marks), ``timeout`` (the idle timeout, which
    closes the connection by default), ``passive`` (an active-N count ran
    out) and ``drain_requested`` (a graceful drain started).
    """

    # Subclasses may declare __slots__ too, to keep idle connections small.
    __slots__ = ("transport",)

    transport: Transport | None
    """Set by :meth:`connection_made`, ``None`` after :meth:`connection_lost`."""

    def connection_made(self, transport: Transport) -> None:
        """Store the transport as ``self.transport``."""
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Ignore data by default."""

    def eof_received(self) -> bool | None:
        """Close after flushing by default."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the transport."""
        self.transport = None

    def pause_writing(self) -> None:
        """The write buffer went above the high-water mark: stop producing."""

    def resume_writing(self) -> None:
        """The write buffer drained below the low-water mark: produce again."""

    def timeout(self) -> None:
        """No I/O for the idle timeout: close the connection."""
        if self.transport is not None:
            self.transport.close()

    def passive(self) -> None:
        """An ``active=N`` budget ran out and reading paused."""

    def drain_requested(self) -> None:
        """A graceful drain started: finish the work in flight, then close.

        The reactor calls it once per live connection when a drain starts
        (:meth:`Listener.shutdown <reactor.listener.Listener.shutdown>`,
        :meth:`Reactor.shutdown <reactor.loop.Reactor.shutdown>`, SIGTERM or
        SIGINT under ``reactor serve``); no new connection is accepted by
        then.  The handler answers what it has already been sent and closes
        the transport itself: ``close()`` flushes, then closes with a FIN.
        Nothing has to happen at once, but the drain's deadline aborts
        whatever is still open when it passes.

        By default this is :meth:`Transport.close_when_done`: an idle
        connection closes at once, a busy one once the peer's EOF arrived and
        the write queue is flushed.  A request/response protocol whose peers
        keep the connection open overrides it with
        :meth:`Transport.end_input` (answer what was sent, then close); a
        protocol with a goodbye message writes it and closes.  A handler
        without this hook gets the default.
        """
        if self.transport is not None:
            self.transport.close_when_done()


Factory: TypeAlias = Callable[[PeerKey], Handler | None]
"""Called by a listener with the peer key; returns its handler or ``None`` to refuse."""


class Plugin(Protocol):
    """What an entry point in the ``reactor.protocols`` group names.

    ``reactor serve NAME`` loads it, lets it add its command-line options and
    asks it for the factory of the listener.
    """

    description: str
    """One line for ``reactor list``."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the plugin's own options to ``reactor serve NAME``."""
        ...

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """Build the listener's factory from the parsed options."""
        ...
