"""The reactor: one selector, a ready queue, a timer heap and a wake-up pipe.

Theory of operation.  :meth:`Reactor.run_once` is one turn of the loop:

1. compute how long it may sleep: zero if callbacks are ready, else until the
   next live timer (or the caller's ``timeout``, or forever);
2. ``select()``; stamp the turn's time once (transports read it as their
   activity stamp instead of calling the clock per read);
3. dispatch each ready descriptor to the object registered for it.  Exceptions
   are contained per object: a connection that fails is aborted, a plain
   reader that fails goes to the exception handler;
4. move due timers behind the ``call_soon`` callbacks and run exactly the
   callbacks present now (those they schedule wait for the next turn);
5. reap the connections aborted or closed during the turn, so a connection is
   never torn down while one of its own callbacks is still on the stack.

Other threads reach the loop only through :meth:`Reactor.call_soon_threadsafe`,
which appends to the ready deque and writes one byte to a socketpair unless a
byte is already on its way.  The same socketpair is the ``signal.set_wakeup_fd``
target, so a signal's number arrives as a byte and its handler runs as a
normal callback, never inside the interrupted code.

The wake-up protocol is :mod:`reactor.waker`'s; what the loop offers the
transports, listeners and connectors it drives is :mod:`reactor.seam`.
"""

from __future__ import annotations

import logging
import selectors
import threading
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeAlias, cast

from reactor.connector import ConnectOptions, Connector, connect
from reactor.drain import Drain
from reactor.errors import log_context
from reactor.listener import Listener, ListenerOptions
from reactor.metrics import LagHistogram
from reactor.poller import READ_BITS, WRITE_BITS, EpollSelector
from reactor.poller import available as poller_available
from reactor.scheduler import FileLike, Scheduler
from reactor.seam import Closable, LiveConnection, Watcher
from reactor.timers import DeadlineQueue

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from reactor.protocol import Factory

__all__ = ["ExceptionHandler", "FileLike", "Reactor", "Watcher"]

log = logging.getLogger(__name__)

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE

# The longest one select() may block: epoll takes milliseconds in a C int (about
# 24 days), so a far timer wakes the loop once a day instead (as asyncio does).
_MAX_WAIT = 86400.0
_get_ident = threading.get_ident


ExceptionHandler: TypeAlias = Callable[["Reactor", dict[str, object]], object]
"""``handler(reactor, context)``; ``context`` has ``message`` and maybe ``exception``."""


class Reactor(Scheduler):
    """A single-threaded event loop over a :mod:`selectors` selector.

    ``clock`` is any zero-argument callable returning monotonic seconds; tests
    pass :class:`reactor.testing.FakeClock`.  ``selector`` is any
    :class:`selectors.BaseSelector`; it defaults to
    :class:`reactor.poller.EpollSelector` where epoll exists (a selector the
    loop polls without building a key tuple per event), else
    :class:`selectors.DefaultSelector`.

    A reactor belongs to the thread that runs it (:meth:`run`, or a host
    stepping it with :meth:`run_once`); other threads use only
    :meth:`call_soon_threadsafe`.  Running it from two threads at once raises
    :exc:`RuntimeError`.  ``debug`` (default: on under ``python -X dev`` or
    ``PYTHONDEVMODE=1``, see :meth:`set_debug`) adds checks that cost a
    little per call, as asyncio's debug mode does.
    """

    def __init__(
        self,
        selector: selectors.BaseSelector | None = None,
        clock: Callable[[], float] | None = None,
        *,
        debug: bool | None = None,
    ) -> None:
        if selector is None:
            selector = EpollSelector() if poller_available() else selectors.DefaultSelector()
        self.selector = selector
        """The selector; transports and listeners register themselves in it."""
        # The fast path: poll epoll directly and dispatch by descriptor.
        self._epoll = selector if isinstance(selector, EpollSelector) else None
        self._watchers_by_fd = cast(
            "dict[int, Watcher]", self._epoll.watchers if self._epoll is not None else {}
        )
        super().__init__(selector, clock, debug, self.call_exception_handler)
        self.now = self._clock()
        """The time of the current turn, stamped once after each poll."""
        self.deadlines = DeadlineQueue(self.call_at, self.time)
        """The connections' idle deadlines, behind one timer."""
        self._stopping = False
        self._turn_lock = threading.Lock()  # held by whoever runs the loop
        self._exception_handler: ExceptionHandler | None = None
        self._connections: dict[int, LiveConnection] = {}
        self._connections_view = types.MappingProxyType(self._connections)
        self._closing: list[LiveConnection] = []
        self.listeners: list[Closable] = []
        """Every listener opened on this reactor and not yet closed."""
        self._drain: Drain | None = None  # set by shutdown()
        self.turns = 0
        """Turns of the loop so far (``selreactor_loop_turns_total``)."""
        self.timer_lag = LagHistogram()
        """How late each timer fired (``selreactor_loop_lag_seconds``)."""
        self._lateness = self.timer_lag.observe
        self.selector.register(self._waker.rsock.fileno(), EVENT_READ, self._waker)

    # -- connections (used by transports and listeners) -----------------------

    @property
    def connections(self) -> Mapping[int, LiveConnection]:
        """Every live connection, listeners' and outbound, by connection id."""
        return self._connections_view

    def listen(
        self,
        factory: Factory,
        host: str | None = "127.0.0.1",
        port: int = 5678,
        **options: Unpack[ListenerOptions],
    ) -> Listener:
        """Listen on ``host:port`` and serve each connection with ``factory``.

        ``factory(peer_key)`` returns the connection's handler, or ``None`` to
        refuse it.  See :class:`reactor.listener.Listener` for the options.
        ``host`` may be a Unix socket path (``/...`` or ``unix:...``).
        """
        if self._debug:
            self._check_thread("listen")

        return Listener(self, factory, host, port, **options)

    def connect(
        self, factory: Factory, host: str, port: int, **options: Unpack[ConnectOptions]
    ) -> Connector:
        """Open an outbound connection without blocking; see :func:`reactor.connector.connect`."""
        if self._debug:
            self._check_thread("connect")

        return connect(self, factory, host, port, **options)

    def shutdown(
        self, timeout: float = 10.0, callback: Callable[[], object] | None = None
    ) -> None:
        """Drain gracefully: stop accepting, let every connection finish its
        work, abort whatever is still open after ``timeout`` seconds.

        Every listener closes; every live connection, accepted or outbound,
        gets its handler's ``drain_requested()`` (see
        :meth:`reactor.protocol.BaseHandler.drain_requested`).  ``callback``
        runs once no connection is left.  Called again while a drain runs, it
        only adds the callback: the first deadline stands.  See
        :mod:`reactor.drain`.
        """
        if self._drain is None or self._drain.done():
            self._drain = Drain(self, timeout)
            self._drain.start()
        if callback is not None:
            self._drain.add_callback(callback)

    def add_connection(self, conn: LiveConnection) -> None:
        """Enter ``conn`` in :attr:`connections` (a transport does, when made)."""
        self._connections[conn.id] = conn

    def reap(self, conn: LiveConnection, fd: int) -> None:
        """Reap ``conn`` at the end of this turn: it leaves :attr:`connections`
        and its ``on_reap()`` runs.  ``fd`` (``-1``: none) is still registered
        and is closed before the next poll, so epoll forgets it without a call.
        """
        if fd >= 0:
            if self._epoll is not None:
                self._epoll.discard(fd)
            else:
                self.selector.unregister(fd)
        self._closing.append(conn)

    # -- running ----------------------------------------------------------------

    def run_once(self, timeout: float | None = None) -> None:
        """One turn: wait up to ``timeout`` seconds (``None``: until something
        is due), dispatch I/O, run due timers and ready callbacks.

        After :meth:`stop` the next turn does not wait, once; the turn after it
        waits again.  Raises :exc:`RuntimeError` if the loop is already
        running, in another thread or in this one (a callback cannot run a
        nested turn), or is closed.
        """
        if not self._turn_lock.acquire(blocking=False):
            raise RuntimeError("the reactor is already running")
        try:
            self._check_open()
            self._thread_id = _get_ident()
            self._turn(timeout)
        finally:
            self._thread_id = None
            self._turn_lock.release()

    def _turn(self, timeout: float | None) -> None:
        self.turns += 1
        ready = self._ready
        if self._stopping:  # stop(): this turn polls without waiting, once
            self._stopping = False
            wait: float | None = 0.0
        elif ready:
            wait = 0.0
        else:
            wait = self._wait(timeout)
        if self._epoll is not None:
            self._dispatch_raw(self._epoll.poll(wait))
        else:
            self._dispatch(self.selector.select(wait))
        now = self.now
        # Deliberate exceptions to "no other module's underscore names", both
        # per turn on the hot path: the heap's emptiness is one attribute test
        # (len() would be a Python-level call), and a handle's cancelled flag
        # is read directly rather than through cancelled(), once per callback.
        if self._timers._heap:
            self._timers.pop_due(now, ready, self._lateness)
        for _ in range(len(ready)):
            handle = ready.popleft()
            if handle._cancelled:  # see above: the timers' flag, read directly
                continue
            try:
                handle.run()
            except Exception as exc:  # noqa: BLE001  a callback's bug is not the loop's
                self.call_exception_handler(
                    {"message": "callback failed", "exception": exc, "handle": handle}
                )
        if self._closing:
            self._reap()
        self._timers.compact()

    def _dispatch(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        """Any selector: ``(key, mask)`` pairs."""
        self.now = self._clock()
        for key, mask in events:
            watcher = key.data
            try:
                if mask & EVENT_READ:
                    watcher.on_readable()
                if mask & EVENT_WRITE:
                    watcher.on_writable()
            except Exception as exc:  # noqa: BLE001  contained per watcher
                watcher.on_error(exc)

    def _dispatch_raw(self, events: list[tuple[int, int]]) -> None:
        """The hot path, for :class:`reactor.poller.EpollSelector`: raw epoll pairs."""
        self.now = self._clock()
        watchers = self._watchers_by_fd
        read_bits, write_bits = READ_BITS, WRITE_BITS
        for fd, bits in events:
            watcher = watchers.get(fd)
            if watcher is None:  # unregistered earlier in this turn
                continue
            try:
                if bits & read_bits:
                    watcher.on_readable()
                if bits & write_bits:
                    watcher.on_writable()
            except Exception as exc:  # noqa: BLE001  contained per watcher
                watcher.on_error(exc)

    def _wait(self, timeout: float | None) -> float | None:
        """How long select() may block: until the next timer, at most ``timeout``."""
        deadline = self._timers.next_deadline()
        if deadline is not None:
            wait = max(0.0, deadline - self._clock())
            if timeout is None or wait < timeout:
                timeout = wait
        return _MAX_WAIT if timeout is not None and timeout > _MAX_WAIT else timeout

    def _reap(self) -> None:
        closing, self._closing = self._closing, []
        connections = self._connections
        for conn in closing:
            connections.pop(conn.id, None)
            conn.on_reap()
        if self._drain is not None:
            self._drain.reaped()

    def run(self) -> None:
        """Run turns until :meth:`stop` is called.

        :meth:`stop` called before :meth:`run` makes it run one turn (that
        does not wait) and return, as asyncio's ``run_forever`` does.  Raises
        :exc:`RuntimeError` if the loop is already running or closed.
        """
        if not self._turn_lock.acquire(blocking=False):
            raise RuntimeError("the reactor is already running")
        try:
            self._check_open()
            self._thread_id = _get_ident()
            stopped_before = self._stopping
            turn = self._turn
            while True:
                turn(None)
                if self._stopping or stopped_before:
                    break
        finally:
            self._stopping = False
            self._thread_id = None
            self._turn_lock.release()

    def stop(self) -> None:
        """Make :meth:`run` return after the current turn.

        For a host stepping the loop with :meth:`run_once`, the next turn
        does not wait (once).  From another thread use
        ``call_soon_threadsafe(reactor.stop)``.
        """
        self._stopping = True

    def fileno(self) -> int:
        """The selector's own descriptor (epoll, kqueue), for a host loop to poll.

        It turns readable when :meth:`run_once` has I/O to dispatch; timers do
        not make it readable, so the host also honours :meth:`timeout`.
        """
        fileno = getattr(self.selector, "fileno", None)
        if fileno is None:
            raise NotImplementedError(f"{type(self.selector).__name__} has no descriptor")
        fd: int = fileno()
        return fd

    def close(self) -> None:
        """Abort every connection, close listeners, the selector and the pipe."""
        if self._closed:
            return
        if self._thread_id is not None:
            raise RuntimeError("cannot close a running reactor")
        for listener in list(self.listeners):
            listener.close()
        for conn in list(self._connections.values()):
            conn.abort()
        self._reap()
        self._signals.remove_all()
        self._closed = True
        self._strict = True
        self._ready.clear()
        self._timers.clear()
        self._watchers.clear()
        self.selector.close()
        self._waker.close()

    def __enter__(self) -> Reactor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- errors -------------------------------------------------------------------

    def set_exception_handler(self, handler: ExceptionHandler | None) -> None:
        """Route failed callbacks to ``handler(reactor, context)``; ``None`` restores logging."""
        self._exception_handler = handler

    def call_exception_handler(self, context: dict[str, object]) -> None:
        """Report a failure that nobody else can handle."""
        if self._exception_handler is None:
            self.default_exception_handler(context)
            return
        try:
            self._exception_handler(self, context)
        except Exception:  # the handler's own bug must not stop the loop
            log.exception("exception handler failed while handling %r", context.get("message"))
            self.default_exception_handler(context)

    def default_exception_handler(self, context: dict[str, object]) -> None:
        """Log ``context`` at error level, with the traceback when there is one."""
        log_context(log, context)
