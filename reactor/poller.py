"""An epoll selector the loop can poll without the ``selectors`` per-event toll.

:class:`EpollSelector` is a complete :class:`selectors.BaseSelector`, so code
that registers, modifies and unregisters descriptors uses the standard
interface.  What it adds is :attr:`EpollSelector.watchers`, a plain dict from
descriptor to registered ``data``, and :meth:`EpollSelector.poll`, the raw
``epoll.poll``.  With them, :meth:`reactor.loop.Reactor.run_once` dispatches
``(fd, events)`` pairs straight to watchers, skipping the list of
``(SelectorKey, mask)`` tuples that :meth:`selectors.BaseSelector.select`
builds for every event.

Registration is lean too: the selector keeps the registered data in a plain
dict and the events in a byte per descriptor number (a ``bytearray``: 0 is
not registered), which at 10,000 connections is 30 bytes a connection less
than a second dict, and builds a :class:`selectors.SelectorKey` only when one is
asked for, and :meth:`EpollSelector.discard` forgets a descriptor that is
about to be closed without an ``epoll_ctl`` call (closing it removes it from
the epoll set).

The raw path does not mask events by the registered interest the way
``select()`` does: an error or hang-up is reported as both readable and
writable, as ``select()`` reports it when both were registered.  Every
watcher of the reactor treats a spurious readiness as a no-op, which is what
non-blocking descriptors require anyway.
"""

from __future__ import annotations

import contextlib
import select
import selectors
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectors import SelectorKey

    from _typeshed import FileDescriptorLike as _FileObject

__all__ = ["READ_BITS", "WRITE_BITS", "EpollSelector", "available"]

_EPOLLIN = getattr(select, "EPOLLIN", 0x001)
_EPOLLOUT = getattr(select, "EPOLLOUT", 0x004)
READ_BITS = ~_EPOLLOUT
"""Raw epoll bits that make a descriptor readable (anything but plain EPOLLOUT)."""
WRITE_BITS = ~_EPOLLIN
"""Raw epoll bits that make a descriptor writable (anything but plain EPOLLIN)."""


def available() -> bool:
    """Whether this platform has epoll."""
    return hasattr(select, "epoll")


def _fileno(fileobj: _FileObject) -> int:
    fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    if fd < 0:
        raise ValueError(f"invalid file descriptor {fd}")
    return fd


class _KeyMap(Mapping["_FileObject", "SelectorKey"]):
    """``get_map()``'s read-only view, keyed by descriptor."""

    def __init__(self, selector: EpollSelector) -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector.watchers)

    def __getitem__(self, fileobj: _FileObject) -> SelectorKey:
        try:
            return self._selector._key(_fileno(fileobj))
        except (ValueError, AttributeError):
            raise KeyError(fileobj) from None

    def __iter__(self) -> Iterator[_FileObject]:
        return iter(self._selector.watchers)


class EpollSelector(selectors.BaseSelector):
    """A :class:`selectors.BaseSelector` over ``select.epoll`` with a raw fast path."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._events = bytearray()  # [fd]: its selectors events, 0 if not registered
        self._fileobjs: dict[int, _FileObject] = {}  # only those registered as objects
        self.watchers: dict[int, object] = {}
        """Descriptor -> the ``data`` it was registered with."""
        self._map = _KeyMap(self)

    def _registered(self, fd: int) -> int:
        """The events ``fd`` is registered for; ``KeyError`` if none, as selectors says."""
        events = self._events[fd] if fd < len(self._events) else 0
        if not events:
            raise KeyError(f"fd {fd} is not registered")
        return events

    def _key(self, fd: int) -> SelectorKey:
        return selectors.SelectorKey(
            self._fileobjs.get(fd, fd), fd, self._registered(fd), self.watchers[fd]
        )

    @staticmethod
    def _epoll_events(events: int) -> int:
        if not events or events & ~(selectors.EVENT_READ | selectors.EVENT_WRITE):
            raise ValueError(f"invalid events: {events!r}")
        return (_EPOLLIN if events & selectors.EVENT_READ else 0) | (
            _EPOLLOUT if events & selectors.EVENT_WRITE else 0
        )

    def register(self, fileobj: _FileObject, events: int, data: object = None) -> SelectorKey:
        """Watch ``fileobj`` for ``events`` (``EVENT_READ`` and/or ``EVENT_WRITE``)."""
        fd = _fileno(fileobj)
        registered = self._events
        if fd < len(registered) and registered[fd]:
            raise KeyError(f"{fileobj!r} (fd {fd}) is already registered")
        self._epoll.register(fd, self._epoll_events(events))
        if fd >= len(registered):  # grown in steps, as a list is
            registered.extend(bytes(max(fd + 1 - len(registered), len(registered) // 8, 64)))
        registered[fd] = events
        self.watchers[fd] = data
        if fileobj is not fd:
            self._fileobjs[fd] = fileobj
        return selectors.SelectorKey(fileobj, fd, events, data)

    def unregister(self, fileobj: _FileObject) -> SelectorKey:
        """Stop watching ``fileobj``."""
        fd = _fileno(fileobj)
        key = self._key(fd)  # KeyError if absent, as selectors says
        self.discard(fd)
        with contextlib.suppress(OSError):  # already closed: the kernel forgot it
            self._epoll.unregister(fd)
        return key

    def discard(self, fd: int) -> None:
        """Forget ``fd`` without telling the kernel: for a descriptor about to be
        closed, since closing it removes it from the epoll set."""
        del self.watchers[fd]  # KeyError if absent, as selectors says
        self._events[fd] = 0
        if self._fileobjs:
            self._fileobjs.pop(fd, None)

    def modify(self, fileobj: _FileObject, events: int, data: object = None) -> SelectorKey:
        """Change the events or data of a registered ``fileobj``."""
        fd = _fileno(fileobj)
        if self._registered(fd) != events:
            self._epoll.modify(fd, self._epoll_events(events))
            self._events[fd] = events
        self.watchers[fd] = data
        return selectors.SelectorKey(fileobj, fd, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[SelectorKey, int]]:
        """The standard interface: ``(key, events)`` for each ready descriptor."""
        ready = []
        registered = self._events
        for fd, bits in self.poll(timeout):
            wanted = registered[fd] if fd < len(registered) else 0
            if wanted:
                events = (selectors.EVENT_READ if bits & READ_BITS else 0) | (
                    selectors.EVENT_WRITE if bits & WRITE_BITS else 0
                )
                ready.append((self._key(fd), events & wanted))
        return ready

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """The fast path: raw ``(fd, epoll bits)`` pairs."""
        if timeout is None:
            timeout = -1
        elif timeout <= 0:
            timeout = 0
        try:
            return self._epoll.poll(timeout, max(len(self.watchers), 1))
        except InterruptedError:
            return []

    def get_map(self) -> Mapping[_FileObject, SelectorKey]:
        """Registered descriptors and their keys."""
        return self._map

    def fileno(self) -> int:
        """The epoll descriptor, for a host loop to poll."""
        return self._epoll.fileno()

    def close(self) -> None:
        """Close the epoll descriptor and forget every registration."""
        self._epoll.close()
        self._events.clear()
        self._fileobjs.clear()
        self.watchers.clear()
