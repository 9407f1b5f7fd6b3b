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

Times are integer milliseconds of the injected clock, which is monotonic,
plus a fixed ``epoch``: the offset from that clock to Unix time taken once
when the server starts.  Deadlines are then Unix milliseconds, as EXPIREAT
and EXPIRETIME speak them and as Redis checks them for overflow, while TTLs
still survive wall-clock jumps.

:class:`Databases` holds the numbered databases SELECT chooses from (16, as
Redis has), sharing one clock.

WATCH.  ``watchers`` maps each watched key to the transactions watching it;
it is empty unless some connection watches a key of this database, and only
then does the database become a
:class:`~protocols.resp.transactions.WatchedKeyspace`, whose writes tell
those transactions.  The two hooks here, :meth:`Keyspace.touch` (expiry, the
list commands' in-place edits) and :meth:`Keyspace.touch_swapped` (SWAPDB),
do nothing in a database nobody watches.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, TypeAlias, Union

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Callable, Iterator

    from protocols.resp.transactions import Transaction

__all__ = ["DEFAULT_DATABASES", "Databases", "Keyspace", "Value"]

DEFAULT_DATABASES = 16
"""How many databases Redis has by default (``databases 16``)."""

Value: TypeAlias = Union[bytes, "deque[bytes]"]
"""A string is ``bytes``; a list is a ``deque`` of ``bytes``."""


class Keyspace:
    """One database: values, deadlines and the counters INFO reports."""

    __slots__ = (
        "_clock",
        "_data",
        "_epoch",
        "_on_volatile",
        "_rng",
        "_vindex",
        "_vkeys",
        "_vwhen",
        "expired",
        "hits",
        "misses",
        "watchers",
    )

    def __init__(
        self,
        clock: Callable[[], float],
        rng: random.Random | None = None,
        on_volatile: Callable[[], object] | None = None,
        epoch: float = 0.0,
    ) -> None:
        self._clock = clock
        self._epoch = epoch  # Unix time minus the clock's
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 (sampling, not secrets)
        self._on_volatile = on_volatile  # called when the first TTL appears
        self._data: dict[bytes, Value] = {}
        self._vkeys: list[bytes] = []
        self._vwhen: list[int] = []
        self._vindex: dict[bytes, int] = {}
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.watchers: dict[bytes, set[Transaction]] = {}  # WATCHed keys (see the module doc)

    def now_ms(self) -> int:
        """The clock as Unix time, in integer milliseconds."""
        return int((self._clock() + self._epoch) * 1000)

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
        self.touch(key)

    def is_live(self, key: bytes) -> bool:
        """Whether ``key`` holds a value whose deadline has not passed; reclaims nothing."""
        if key not in self._data:
            return False
        i = self._vindex.get(key)
        return i is None or self._vwhen[i] > self.now_ms()

    def touch(self, key: bytes) -> None:
        """``key`` changed in place or expired: nothing to do unless it is watched."""

    def touch_swapped(self, other: Keyspace) -> None:
        """SWAPDB is about to give this database ``other``'s keys: nothing unless watched."""

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
        self._data = {}
        self._vkeys.clear()
        self._vwhen.clear()
        self._vindex.clear()

    def random_key(self) -> bytes | None:
        """A live key chosen at random, or ``None`` when empty.

        A deliberate limit: a dict has no random access, so this walks to a
        random position (O(n)); RANDOMKEY is rare in a cache.
        """
        data = self._data
        for _ in range(100):  # expired keys met on the way are reclaimed; retry
            if not data:
                return None
            i = self._rng.randrange(len(data))
            key = next(k for j, k in enumerate(data) if j == i)
            if self.get(key) is not None:
                return key
        return None

    def items(self) -> list[tuple[bytes, Value, int | None]]:
        """Every live key with its value and deadline (SWAPDB, MOVE and tests)."""
        return [(key, self._data[key], self.deadline(key)) for key in list(self.live_keys())]

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


class Databases:
    """The numbered databases of one server, sharing one clock and one expiry timer."""

    __slots__ = ("_clock", "_epoch", "dbs")

    def __init__(
        self,
        clock: Callable[[], float],
        count: int = DEFAULT_DATABASES,
        *,
        rng: random.Random | None = None,
        on_volatile: Callable[[], object] | None = None,
        epoch: float = 0.0,
    ) -> None:
        self._clock = clock
        self._epoch = epoch
        self.dbs = [Keyspace(clock, rng, on_volatile, epoch) for _ in range(count)]

    def __len__(self) -> int:
        """How many databases there are."""
        return len(self.dbs)

    def __getitem__(self, index: int) -> Keyspace:
        """Database ``index``."""
        return self.dbs[index]

    def __iter__(self) -> Iterator[Keyspace]:
        """The databases in order."""
        return iter(self.dbs)

    def wall_time(self) -> float:
        """The clock as Unix time in seconds (TIME, EXPIRETIME)."""
        return self._clock() + self._epoch

    def set_on_volatile(self, callback: Callable[[], object] | None) -> None:
        """Call ``callback`` whenever a database's count of keys with a TTL leaves zero."""
        for db in self.dbs:
            db.set_on_volatile(callback)

    @property
    def volatile(self) -> int:
        """Keys with a TTL, over every database."""
        return sum(db.volatile for db in self.dbs)

    def counter(self, name: str) -> int:
        """``hits``, ``misses`` or ``expired``, summed over every database."""
        return sum(getattr(db, name) for db in self.dbs)

    def reset_stats(self) -> None:
        """Zero the hit, miss and expiry counters."""
        for db in self.dbs:
            db.hits = db.misses = db.expired = 0

    def flush(self) -> None:
        """FLUSHALL: remove every key of every database."""
        for db in self.dbs:
            db.flush()

    def swap(self, a: int, b: int) -> None:
        """SWAPDB: exchange the contents (and counters) of two databases.

        Sessions hold the Keyspace object they selected, so the contents move
        between the objects rather than the objects between the slots.
        """
        if a == b:
            return
        x, y = self.dbs[a], self.dbs[b]
        x.touch_swapped(y)
        y.touch_swapped(x)
        for slot in Keyspace.__slots__:
            # WATCHes stay with the database number, as the sessions do.
            if slot not in ("_clock", "_epoch", "_on_volatile", "_rng", "watchers"):
                tmp = getattr(x, slot)
                setattr(x, slot, getattr(y, slot))
                setattr(y, slot, tmp)

    def sweep(self, per_round: int, max_rounds: int) -> int:
        """One active-expiry cycle over every database with keys that have a TTL."""
        return sum(db.sweep(per_round, max_rounds) for db in self.dbs if db.volatile)
