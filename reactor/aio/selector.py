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
the keys noted ready go back to asyncio, which runs their handles in its own
ready queue, with its own ``Handle`` and ``context`` semantics.

:class:`AioReactor` is a reactor that knows it is stepped by asyncio: a
connection closed from an asyncio callback, between two turns, must be reaped
without waiting for unrelated I/O, so the next turn must not block.
"""

from __future__ import annotations

import contextlib
import selectors
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reactor.loop import Reactor

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

    from reactor.seam import LiveConnection

__all__ = ["AioReactor", "SharedSelector"]

EVENT_READ = selectors.EVENT_READ
EVENT_WRITE = selectors.EVENT_WRITE


def _nothing() -> None:
    """A callback whose only effect is that the next turn does not block."""


class AioReactor(Reactor):
    """The reactor under a :class:`reactor.aio.Loop`."""

    def reap(self, conn: LiveConnection, fd: int) -> None:
        """As :meth:`Reactor.reap`; between turns, also make the next turn not wait."""
        super().reap(conn, fd)
        if not self.is_running():  # an asyncio callback closed it
            self.call_soon(_nothing)


class _Noted:
    """The reactor-side watcher of one asyncio descriptor: notes readiness."""

    __slots__ = ("key", "owner")

    def __init__(self, owner: SharedSelector, key: selectors.SelectorKey) -> None:
        self.owner = owner
        self.key = key

    def on_readable(self) -> None:
        """Ready for reading: asyncio runs the reader handle."""
        self.owner.ready.append((self.key, EVENT_READ))

    def on_writable(self) -> None:
        """Ready for writing: asyncio runs the writer handle."""
        self.owner.ready.append((self.key, EVENT_WRITE))

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
        self.ready: list[tuple[selectors.SelectorKey, int]] = []
        """Keys noted ready during the current turn."""
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

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """One reactor turn of at most ``timeout`` seconds; asyncio's ready keys."""
        self.reactor.run_once(timeout)
        ready, self.ready = self.ready, []
        return ready

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
