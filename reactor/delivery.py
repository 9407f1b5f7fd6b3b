"""gen_tcp's delivery: framed messages and bounded active modes for one connection.

Theory of operation.  A connection on the plain path (no framer, active mode
``True``) hands each read straight to the handler's ``data_received`` and
has no :class:`Delivery` at all.  Setting a framer (gen_tcp's ``{packet,
N}``), a bounded active mode (``False``, ``"once"``, ``N``) or a graceful
drain's ``end_input()`` gives the connection one, and its reads go through
:meth:`Delivery.feed` instead: the framer turns bytes into messages, a queue
holds what the active budget does not want yet, and when an active-N budget
runs out reading pauses and the handler's ``passive()`` hook is called
(gen_tcp's ``{tcp_passive, Socket}``).  Once the delivery is plain again
(no framer, active ``True``, nothing queued) it tells the connection, which
drops it: the next read takes the direct path again.

Queued messages are delivered on a later turn, never from inside the call
that made them deliverable, and reading resumes only once they are all
delivered, so the peer's EOF cannot overtake them.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Protocol

from reactor.errors import hook_failed
from reactor.protocol import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Callable

    from reactor.protocol import ActiveMode, Decoder, EventLoop, Handler

__all__ = ["Delivery", "DeliveryHost"]


class DeliveryHost(Protocol):
    """What a :class:`Delivery` needs of its connection."""

    @property
    def loop(self) -> EventLoop:
        """The loop that runs queued deliveries on a later turn."""
        ...

    def pause_reading(self) -> None:
        """The budget is spent: stop reading."""
        ...

    def resume_reading(self) -> None:
        """The budget was refilled and the queue is empty: read again."""
        ...

    def on_error(self, exc: BaseException, hook: str = "") -> None:
        """A delivery outside the loop's dispatch failed: abort the connection."""
        ...


class Delivery:
    """The framer, queue and active budget of one connection.

    Made by the connection when first needed; ``plain_again`` is called when
    it is plain once more, so the connection can drop it.  The connection
    keeps :attr:`handler` current and clears :attr:`live` when it closes.
    ``call_soon`` runs queued deliveries on a later turn; it defaults to the
    host loop's, and a transport without a loop (the test kit's
    :class:`~reactor.testing.MemoryTransport`) passes its own deferral.
    """

    __slots__ = (
        "_call_soon",
        "_host",
        "_plain_again",
        "active",
        "after_read",
        "framer",
        "handler",
        "live",
        "notify_passive",
        "pending",
    )

    def __init__(
        self,
        host: DeliveryHost,
        handler: Handler,
        plain_again: Callable[[], object],
        *,
        call_soon: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        self._host = host
        self._call_soon = call_soon
        self._plain_again = plain_again
        self.handler = handler
        """The handler messages go to (the connection's current one)."""
        self.live = True
        """False once the connection is closing: nothing more is delivered."""
        self.framer: Decoder | None = None
        """The framer, or ``None`` for one message per read."""
        self.active = -1
        """-1: deliver everything; 0: passive; N: N more messages."""
        self.notify_passive = False
        """Whether running out of budget calls ``passive()`` (active-N only)."""
        self.pending: collections.deque[bytes] = collections.deque()
        """Messages read but not delivered yet."""
        self.after_read: Callable[[], None] | None = None
        """Called after each read's delivery, and after queued ones (``end_input``)."""

    def plain(self) -> bool:
        """Whether reads could go straight to the handler."""
        return self.framer is None and self.active == -1 and not self.pending

    def holds_input(self) -> bool:
        """Whether messages wait in the queue, or a partial frame in the framer."""
        if self.pending:
            return True
        buffered = getattr(self.framer, "buffered", None)
        return buffered is not None and bool(buffered())

    def set_active(self, mode: ActiveMode) -> None:
        """gen_tcp's active modes; see :meth:`reactor.transport.Connection.set_active`."""
        self.notify_passive = False
        if mode is True:
            self.active = -1
        elif mode is False:
            self.active = 0
        elif mode == "once":
            self.active = 1
        elif isinstance(mode, int):
            self.active = max(max(self.active, 0) + mode, 0)
            self.notify_passive = True
            if self.active == 0:
                self._became_passive()
        else:
            raise ValueError(f"bad active mode {mode!r}")
        if self.active == 0:
            self._host.pause_reading()
        elif self.pending:
            # Messages already read go first, on the next turn (delivery is
            # never re-entrant); reading resumes once they are delivered.
            (self._call_soon or self._host.loop.call_soon)(self._deliver_later)
        else:
            self._host.resume_reading()

    def feed(self, data: bytes) -> None:
        """One read's bytes: frame them, deliver what the budget allows, queue the rest."""
        pending = self.pending
        if self.framer is None:
            if self.active == -1 and not pending:  # only while end_input() watches
                self.handler.data_received(data)
            else:
                pending.append(data)
                self.deliver_pending()
        else:
            try:
                pending.extend(self.framer.feed(data))
            except ProtocolError as exc:
                # gen_tcp delivers the messages that preceded the bad one
                pending.extend(getattr(exc, "frames", ()))
                self.deliver_pending()
                raise
            self.deliver_pending()
        if self.after_read is not None:
            self.after_read()

    def deliver_pending(self) -> None:
        """Deliver queued messages while the budget lasts and the connection is open."""
        pending = self.pending
        while pending and self.active and self.live:
            message = pending.popleft()
            if self.active > 0:
                self.active -= 1
                if self.active == 0:  # the budget is spent: stop reading first
                    self._host.pause_reading()
                    self.handler.data_received(message)
                    if self.active == 0 and self.notify_passive:
                        self._became_passive()
                    continue
            self.handler.data_received(message)
        if not pending and self.framer is None and self.active == -1:
            self._plain_again()

    def _deliver_later(self) -> None:
        host = self._host
        try:
            self.deliver_pending()
            if self.active and not self.pending and self.live:
                host.resume_reading()
                if self.after_read is not None:  # the queued input is delivered now
                    self.after_read()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            host.on_error(exc)

    def _became_passive(self) -> None:
        """gen_tcp's ``{tcp_passive, Socket}``: an active-N budget ran out."""
        if not self.live:
            return
        handler = self.handler
        try:
            handler.passive()
        except Exception as exc:  # noqa: BLE001  contained: this connection only
            hook_failed(exc, handler, "passive", self._host.on_error)
