"""The keyspace: keys to values, with Redis's lazy and active expiry.

Theory of operation.  Values live in one dict.  Keys with a time to live
("volatile" keys, in Redis's word) are also kept in two parallel lists, key
and deadline, with a dict from key to list index; removal swaps the last
entry into the hole.  That gives O(1) set, clear and -- what the active sweep
needs -- O(1) sampling of a random volatile key, so a million keys with TTLs
never cost a timer each.

Expiry is lazy first: any access to a key whose deadline passed deletes it
and reports it missing.  Keys nobody touches again are found by
:meth:`Keyspace.sweep`, which the server calls a few times a second: it
samples a bounded number of volatile keys, deletes the expired ones, and
goes round again only while more than a quarter of a sample had expired
(Redis's active expire cycle).  The cost per call is bounded by its
arguments, whatever the size of the keyspace.

Times are integer milliseconds of the injected clock, which is monotonic:
TTLs survive wall-clock jumps.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, TypeAlias, Union

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Callable, Iterator

__all__ = ["Keyspace", "Value"]

Value: TypeAlias = Union[bytes, "deque[bytes]"]
"""A string is ``bytes``; a list is a ``deque`` of ``bytes``."""


class Keyspace:
    """One database: values, deadlines and the counters INFO reports."""

    __slots__ = (
        "_clock",
        "_data",
        "_on_volatile",
        "_rng",
        "_vindex",
        "_vkeys",
        "_vwhen",
        "expired",
        "hits",
        "misses",
    )

    def __init__(
        self,
        clock: Callable[[], float],
        rng: random.Random | None = None,
        on_volatile: Callable[[], object] | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 (sampling, not secrets)
        self._on_volatile = on_volatile  # called when the first TTL appears
        self._data: dict[bytes, Value] = {}
        self._vkeys: list[bytes] = []
        self._vwhen: list[int] = []
        self._vindex: dict[bytes, int] = {}
        self.hits = 0
        self.misses = 0
        self.expired = 0

    def now_ms(self) -> int:
        """The clock, in integer milliseconds."""
        return int(self._clock() * 1000)

    def __len__(self) -> int:
        """Keys stored, counting expired ones not yet reclaimed (as DBSIZE does)."""
        return len(self._data)

    @property
    def volatile(self) -> int:
        """How many keys have a TTL."""
        return len(self._vkeys)

    def set_on_volatile(self, callback: Callable[[], object] | None) -> None:
        """Call ``callback`` whenever the count of keys with a TTL leaves zero."""
        self._on_volatile = callback

    # -- access ----------------------------------------------------------------

    def get(self, key: bytes) -> Value | None:
        """The live value of ``key``, or ``None``; expires it if due."""
        value = self._data.get(key)
        if value is not None and key in self._vindex and self._due(key):
            return None
        return value

    def lookup(self, key: bytes) -> Value | None:
        """:meth:`get`, counting a keyspace hit or miss for INFO."""
        value = self._data.get(key)
        if value is None or (key in self._vindex and self._due(key)):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def _due(self, key: bytes) -> bool:
        """Delete ``key`` if its deadline passed; say whether it did."""
        if self._vwhen[self._vindex[key]] > self.now_ms():
            return False
        self._expire(key)
        return True

    def _expire(self, key: bytes) -> None:
        del self._data[key]
        self._unvolatile(key)
        self.expired += 1

    def exists(self, key: bytes) -> bool:
        """Whether ``key`` holds a live value."""
        return self.get(key) is not None

    def set(self, key: bytes, value: Value, expire_at: int | None = None) -> None:
        """Store ``value``; clear any TTL, or set the deadline ``expire_at`` (ms)."""
        self._data[key] = value
        if expire_at is not None:
            self._set_deadline(key, expire_at)
        elif key in self._vindex:
            self._unvolatile(key)

    def replace(self, key: bytes, value: Value) -> None:
        """Store ``value`` keeping the key's TTL (APPEND, INCR, KEEPTTL)."""
        self._data[key] = value

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; whether a live value was removed."""
        if self.get(key) is None:
            return False
        del self._data[key]
        if key in self._vindex:
            self._unvolatile(key)
        return True

    def flush(self) -> None:
        """Remove every key."""
        self._data.clear()
        self._vkeys.clear()
        self._vwhen.clear()
        self._vindex.clear()

    def live_keys(self) -> Iterator[bytes]:
        """The live keys (expired ones met on the way are reclaimed)."""
        vindex = self._vindex
        if not vindex:
            yield from list(self._data)
            return
        now = self.now_ms()
        for key in list(self._data):
            i = vindex.get(key)
            if i is not None and self._vwhen[i] <= now:
                self._expire(key)
            else:
                yield key

    # -- time to live ----------------------------------------------------------

    def deadline(self, key: bytes) -> int | None:
        """The deadline of a live ``key`` in ms, ``None`` without a TTL.

        Raises ``KeyError`` if the key does not exist.
        """
        if self.get(key) is None:
            raise KeyError(key)
        i = self._vindex.get(key)
        return None if i is None else self._vwhen[i]

    def expire_at(self, key: bytes, when: int) -> bool:
        """Give a live ``key`` the deadline ``when`` (ms); a past one deletes it."""
        if self.get(key) is None:
            return False
        if when <= self.now_ms():
            self.delete(key)
        else:
            self._set_deadline(key, when)
        return True

    def persist(self, key: bytes) -> bool:
        """Drop the TTL of a live ``key``; whether it had one."""
        if self.get(key) is None or key not in self._vindex:
            return False
        self._unvolatile(key)
        return True

    def _set_deadline(self, key: bytes, when: int) -> None:
        i = self._vindex.get(key)
        if i is not None:
            self._vwhen[i] = when
            return
        self._vindex[key] = len(self._vkeys)
        self._vkeys.append(key)
        self._vwhen.append(when)
        if len(self._vkeys) == 1 and self._on_volatile is not None:
            self._on_volatile()

    def _unvolatile(self, key: bytes) -> None:
        i = self._vindex.pop(key)
        last_key = self._vkeys.pop()
        last_when = self._vwhen.pop()
        if i < len(self._vkeys):
            self._vkeys[i] = last_key
            self._vwhen[i] = last_when
            self._vindex[last_key] = i

    def average_ttl(self) -> int:
        """Mean remaining TTL in ms over a bounded sample of volatile keys."""
        when = self._vwhen
        if not when:
            return 0
        now = self.now_ms()
        sample = when if len(when) <= 100 else self._rng.sample(when, 100)
        return max(0, sum(sample) // len(sample) - now)

    def sweep(self, per_round: int = 20, max_rounds: int = 16) -> int:
        """Reclaim expired keys nobody asked for; return how many.

        Samples ``per_round`` random volatile keys per round, and starts
        another round (at most ``max_rounds``) only while more than a quarter
        of the last sample had expired.
        """
        keys = self._vkeys
        when = self._vwhen
        randrange = self._rng.randrange
        now = self.now_ms()
        total = 0
        for _ in range(max_rounds):
            sample = min(per_round, len(keys))
            if not sample:
                break
            expired = 0
            for _ in range(sample):
                if not keys:
                    break
                i = randrange(len(keys))
                if when[i] <= now:
                    self._expire(keys[i])
                    expired += 1
            total += expired
            if expired * 4 <= sample:
                break
        return total
