"""asyncio's selector, over the reactor's: one poll serves both.

Theory of operation.  asyncio's selector loop keeps ``(reader, writer)``
handles as each key's ``data`` and turns ready keys into callbacks in
``_process_events``.  The reactor's selector keeps a
:class:`~reactor.seam.Watcher` as ``data`` and calls it.  :class:`SharedSelector`
is what asyncio sees: it keeps asyncio's keys itself and registers, for each
descriptor, a small watcher in the reactor's selector that only notes "ready"
for asyncio.  Its :meth:`SharedSelector.select` is one reactor turn: the
reactor polls, dispatches its own connections and listeners directly (the hot
path never goes through asyncio's handles), runs its timers and callbacks, and
the handles of asyncio's ready descriptors go straight into asyncio's ready
queue, where they run with asyncio's own ``Handle`` and ``context``
semantics (``_process_events`` gets nothing left to do).

:class:`AioReactor` is a reactor that knows it is stepped by asyncio.  Over
one, :class:`reactor.aio.Loop` runs its own turn instead of asyncio's
``_run_once`` and the reactor's ``run_once``: one poll
(:meth:`AioReactor.poll`), asyncio's due timers and ready handles, then the
reactor's own timers, callbacks and reaping (:meth:`AioReactor.finish`).  The
reactor counts as running for the whole of ``run_forever``
(:meth:`AioReactor.hold`), so a turn takes no lock and makes no checks of its
own.  A connection closed between two runs (from code outside the loop) must
be reaped without waiting for unrelated I/O, so the next turn does not block.
"""

from __future__ import annotations

import contextlib
import selectors
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reactor.loop import Reactor

if TYPE_CHECKING:
    import asyncio

    from _typeshed import FileDescriptorLike

    from reactor.seam import LiveConnection
    from reactor.timers import Handle

__all__ = ["AioReactor", "SharedSelector"]

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE


def _nothing() -> None:
    """A callback whose only effect is that the next turn does not block."""


class AioReactor(Reactor):
    """The reactor under a :class:`reactor.aio.Loop`, which drives its turns."""

    def reap(self, conn: LiveConnection, fd: int) -> None:
        """As :meth:`Reactor.reap`; between runs, also make the next turn not wait."""
        super().reap(conn, fd)
        if not self.is_running():  # closed from outside the loop
            self.call_soon(_nothing)

    def hold(self) -> None:
        """The asyncio loop starts running: the reactor runs in this thread until
        :meth:`unhold` (a second runner gets :exc:`RuntimeError`, as with
        :meth:`~reactor.loop.Reactor.run`)."""
        if not self._turn_lock.acquire(blocking=False):
            raise RuntimeError("the reactor is already running")
        if self._closed:
            self._turn_lock.release()
            raise RuntimeError("the reactor is closed")
        self._thread_id = threading.get_ident()

    def unhold(self) -> None:
        """The asyncio loop stopped running."""
        self._thread_id = None
        self._turn_lock.release()

    def poll(self, timeout: float | None) -> None:
        """The I/O half of a turn: poll at most ``timeout`` seconds (less if a
        reactor timer is due sooner, none if reactor work is pending) and
        dispatch: connections' reads and writes run now, asyncio's descriptors
        put their handles in asyncio's ready queue."""
        if self._ready or self._closing or self._stopping:
            self._stopping = False
            timeout = 0.0
        elif self._timers._heap:
            timeout = self._wait(timeout)
        epoll = self._epoll
        if epoll is not None:
            self._dispatch_raw(epoll.poll(timeout))
        else:
            self._dispatch(self.selector.select(timeout))

    def finish(self) -> None:
        """The rest of a turn, after asyncio's callbacks: the reactor's due
        timers and callbacks, then the connections closed during the turn are
        reaped."""
        self.turns += 1  # the reactor's figures (reactor.metrics), as Reactor._turn counts
        ready = self._ready
        if self._timers._heap:
            self._timers.pop_due(self.now, ready, self._lateness)
        if ready:
            self._run_ready(ready)
        if self._closing:
            self._reap()
        self._timers.compact()

    def _run_ready(self, ready: deque[Handle]) -> None:
        for _ in range(len(ready)):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                handle.run()
            except Exception as exc:  # noqa: BLE001  a callback's bug is not the loop's
                self.call_exception_handler(
                    {"message": "callback failed", "exception": exc, "handle": handle}
                )


class _Noted:
    """The reactor-side watcher of one asyncio descriptor: it queues asyncio's
    reader or writer handle in asyncio's ready queue (what asyncio's
    ``_process_events`` does with a selector's ready key)."""

    __slots__ = ("key", "owner")

    def __init__(self, owner: SharedSelector, key: selectors.SelectorKey) -> None:
        self.owner = owner
        self.key = key

    def on_readable(self) -> None:
        """Ready for reading: asyncio runs the reader handle."""
        key = self.key
        reader = key.data[0]
        if reader is None:
            return
        if reader._cancelled:  # asyncio forgets a cancelled reader when it is due
            self.owner.loop._remove_reader(key.fileobj)
        else:
            self.owner.ready.append(reader)

    def on_writable(self) -> None:
        """Ready for writing: asyncio runs the writer handle."""
        key = self.key
        writer = key.data[1]
        if writer is None:
            return
        if writer._cancelled:
            self.owner.loop._remove_writer(key.fileobj)
        else:
            self.owner.ready.append(writer)

    def on_error(self, exc: BaseException) -> None:  # pragma: no cover - noting cannot fail
        """Noting readiness cannot fail; report it anyway."""
        self.owner.reactor.call_exception_handler(
            {"message": "asyncio descriptor watcher failed", "exception": exc}
        )


def _fd(fileobj: object) -> int:
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())  # type: ignore[attr-defined]  # any fileno() object
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class _KeyMap(Mapping[Any, selectors.SelectorKey]):  # keys: a descriptor or a file object
    """asyncio's keys, looked up by descriptor or by file object (as selectors' map)."""

    def __init__(self, keys: dict[int, selectors.SelectorKey]) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def __getitem__(self, fileobj: object) -> selectors.SelectorKey:
        try:
            return self._keys[_fd(fileobj)]
        except ValueError:
            raise KeyError(fileobj) from None


class SharedSelector(selectors.BaseSelector):
    """What asyncio's selector loop polls: a view of the reactor's selector.

    Closing it closes the reactor (the event loop owns its reactor).
    """

    def __init__(self, reactor: Reactor) -> None:
        self.reactor = reactor
        self.ready: deque[asyncio.Handle] = deque()
        """asyncio's ready queue (:meth:`attach` gives it)."""
        self.loop: Any = None
        """The asyncio loop polling this selector (:meth:`attach`)."""
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._watchers: dict[int, _Noted] = {}
        self._map = _KeyMap(self._keys)

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: object = None
    ) -> selectors.SelectorKey:
        """Watch ``fileobj`` for asyncio, in the reactor's selector."""
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        fd = _fd(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        key = selectors.SelectorKey(fileobj, fd, events, data)
        watcher = _Noted(self, key)
        self.reactor.selector.register(fd, events, watcher)
        self._keys[fd] = key
        self._watchers[fd] = watcher
        return key

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        """Stop watching ``fileobj``."""
        fd = _fd(fileobj)
        key = self._keys.pop(fd)
        del self._watchers[fd]
        if not self.reactor.is_closed():
            # closed already: the kernel forgot it
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.reactor.selector.unregister(fd)
        return key

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: object = None
    ) -> selectors.SelectorKey:
        """Change the events or the data of a watched ``fileobj``."""
        fd = _fd(fileobj)
        old = self._keys[fd]
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        key = selectors.SelectorKey(old.fileobj, fd, events, data)
        watcher = self._watchers[fd]
        watcher.key = key
        self._keys[fd] = key
        if events != old.events:
            self.reactor.selector.modify(fd, events, watcher)
        return key

    def attach(self, loop: asyncio.AbstractEventLoop, ready: deque[asyncio.Handle]) -> None:
        """asyncio's ``loop`` polls this selector; ``ready`` is its ready queue."""
        self.loop = loop
        self.ready = ready

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """One reactor turn of at most ``timeout`` seconds.

        asyncio's ready handles are already in its ready queue, so the list
        of ready keys it gets back is empty.
        """
        self.reactor.run_once(timeout)
        return []

    def get_key(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        """The key of ``fileobj``; :exc:`KeyError` if asyncio does not watch it."""
        fd = _fd(fileobj)
        try:
            return self._keys[fd]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        """asyncio's keys, by descriptor."""
        return self._map

    def close(self) -> None:
        """Close the reactor (its listeners, connections and selector)."""
        self._keys.clear()
        self._watchers.clear()
        self.reactor.close()
