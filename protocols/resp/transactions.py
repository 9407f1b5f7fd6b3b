"""MULTI, EXEC, DISCARD, WATCH and UNWATCH: queued commands and optimistic locking.

Theory of operation.  A connection's :class:`Transaction` exists from its
first MULTI or WATCH.  MULTI gives it a queue and swaps the connection's
dispatch: the handler runs every command through
:meth:`Commands.dispatcher`, which is :meth:`Commands.execute` outside a
transaction and :meth:`TransactionCommands.queue` inside one.  ``queue``
checks each command as Redis does before queueing it (an unknown command, a
wrong number of arguments: the error is the reply, and EXEC will answer
EXECABORT), runs EXEC, DISCARD, MULTI, WATCH and QUIT at once, and answers
``+QUEUED`` for the rest.  EXEC runs the queue through the ordinary
:meth:`Commands.execute` and answers the replies as one array.  So a
connection that never says MULTI runs exactly the code it ran before.

WATCH.  A watched key is an entry in its database's ``watchers`` (key to the
transactions watching it) and in the transaction's ``watched`` list.  While
a database has watchers, it is a :class:`WatchedKeyspace`: the object's
class is swapped to this subclass, which has the same slots and tells the
watchers of each key it writes, deletes, expires or re-times; when the last
watch goes, the class is swapped back.  A database nobody watches is a plain
:class:`~protocols.resp.store.Keyspace`, so no write pays for WATCH.  A
touched transaction is marked dirty and stops watching (nothing can make it
clean again before EXEC), and its EXEC answers a null array.

Expiry.  WATCH reclaims an already expired key first, so deleting that
stale key later is no change (as Redis treats it).  A key that expires
between WATCH and EXEC touches its watchers, whether active expiry finds
it or EXEC's own check of the watched keys.  FLUSHDB and FLUSHALL touch the
watched keys that held a live value; SWAPDB touches a watched key when
either database holds it live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.resp.parser import MAX_QUERY, OK, encode_error
from protocols.resp.store import Keyspace

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.session import Session
    from protocols.resp.store import Value

__all__ = [
    "EXECABORT",
    "IMMEDIATE",
    "QUEUED",
    "Transaction",
    "TransactionCommands",
    "WatchedKeyspace",
]

QUEUED = b"+QUEUED\r\n"
"""The reply to a command queued inside MULTI."""
EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"
"""EXEC after an error while queueing."""
IMMEDIATE = frozenset({"exec", "discard", "multi", "watch", "quit"})
"""The commands MULTI runs at once rather than queueing, as Redis does."""

_NESTED = encode_error("ERR MULTI calls can not be nested")
_EXEC_WITHOUT = encode_error("ERR EXEC without MULTI")
_DISCARD_WITHOUT = encode_error("ERR DISCARD without MULTI")
_WATCH_INSIDE = encode_error("ERR WATCH inside MULTI is not allowed")


class WatchedKeyspace(Keyspace):
    """A database with watched keys: every change to one of them tells its watchers.

    Never constructed: :meth:`Transaction.watch` swaps a database's class to
    this one and :meth:`Transaction.unwatch` swaps it back.
    """

    __slots__ = ()

    # The methods call Keyspace's by name, not through super(): a command may
    # hold one of these bound methods (MSET's loop) while a touch swaps the
    # object back to a plain Keyspace, which super() would then refuse.

    def touch(self, key: bytes) -> None:
        """Mark every transaction watching ``key`` dirty; they stop watching."""
        txs = self.watchers.get(key)
        if txs:
            for tx in list(txs):
                tx.dirty = True
                tx.unwatch()  # may swap this object back to a plain Keyspace

    def set(self, key: bytes, value: Value, expire_at: int | None = None) -> None:
        """Store ``value`` (see :meth:`Keyspace.set`) and touch ``key``."""
        Keyspace.set(self, key, value, expire_at)
        self.touch(key)

    def replace(self, key: bytes, value: Value) -> None:
        """Store ``value`` keeping the TTL and touch ``key``."""
        Keyspace.replace(self, key, value)
        self.touch(key)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``, touching it if a live value went."""
        removed = Keyspace.delete(self, key)
        if removed:
            self.touch(key)
        return removed

    def expire_at(self, key: bytes, when: int) -> bool:
        """Give ``key`` a deadline, touching it if it exists."""
        done = Keyspace.expire_at(self, key, when)
        if done:
            self.touch(key)
        return done

    def persist(self, key: bytes) -> bool:
        """Drop the TTL, touching ``key`` if it had one."""
        done = Keyspace.persist(self, key)
        if done:
            self.touch(key)
        return done

    def flush(self) -> None:
        """Remove every key, touching the watched ones that were live."""
        live = [key for key in self.watchers if self.is_live(key)]
        Keyspace.flush(self)
        for key in live:
            self.touch(key)

    def touch_swapped(self, other: Keyspace) -> None:
        """Touch each watched key live here or in ``other``, which SWAPDB brings here."""
        for key in list(self.watchers):
            if self.is_live(key) or other.is_live(key):
                self.touch(key)


class Transaction:
    """One connection's MULTI queue and WATCHed keys."""

    __slots__ = ("dirty", "failed", "queue", "queued_bytes", "watched")

    def __init__(self) -> None:
        self.queue: list[list[bytes]] | None = None  # None: not inside MULTI
        self.queued_bytes = 0
        self.failed = False  # an error while queueing: EXEC answers EXECABORT
        self.dirty = False  # a watched key changed: EXEC answers a null array
        self.watched: list[tuple[Keyspace, bytes]] = []

    def watch(self, db: Keyspace, key: bytes) -> None:
        """Watch ``key`` of ``db`` (once, however often it is named)."""
        # An expired key is reclaimed now: deleting it later is no change.
        db.get(key)
        watchers = db.watchers
        txs = watchers.get(key)
        if txs is None:
            if not watchers:
                db.__class__ = WatchedKeyspace
            txs = watchers[key] = set()
        elif self in txs:
            return
        txs.add(self)
        self.watched.append((db, key))

    def unwatch(self) -> None:
        """Stop watching every key; a database left unwatched is a plain Keyspace again."""
        watched = self.watched
        self.watched = []
        for db, key in watched:
            watchers = db.watchers
            txs = watchers.get(key)
            if txs is not None:
                txs.discard(self)
                if not txs:
                    del watchers[key]
            if not watchers and db.__class__ is not Keyspace:
                db.__class__ = Keyspace

    def check_expired(self) -> None:
        """Reclaim the watched keys whose deadline passed, which touches them (EXEC)."""
        for db, key in list(self.watched):
            db.get(key)

    def end(self) -> None:
        """Leave MULTI: drop the queue and the error and dirty marks, stop watching."""
        self.queue = None
        self.queued_bytes = 0
        self.failed = False
        self.dirty = False
        self.unwatch()


class TransactionCommands:
    """MULTI, EXEC, DISCARD, WATCH, UNWATCH, and the dispatch inside MULTI."""

    def __init__(self, commands: Commands, max_queued: int = MAX_QUERY) -> None:
        self.commands = commands
        self.max_queued = max_queued
        """Most bytes of arguments one transaction may queue (client-query-buffer-limit)."""

    def multi(self, session: Session, args: list[bytes]) -> bytes:
        """``MULTI``: queue the commands that follow until EXEC or DISCARD."""
        tx = session.tx
        if tx is None:
            tx = session.tx = Transaction()
        elif tx.queue is not None:
            return _NESTED
        tx.queue = []
        session.attention = True  # the handler takes the dispatcher again
        return OK

    def queue(self, session: Session, args: list[bytes]) -> bytes:
        """A command inside MULTI: checked and queued, or run now if it is EXEC and the like."""
        tx = session.tx
        assert tx is not None and tx.queue is not None, "queue() runs only inside MULTI"
        found = self.commands.find(args)
        if isinstance(found, bytes):  # unknown, or the wrong number of arguments
            tx.failed = True
            return found
        if found.name in IMMEDIATE:
            return self.commands.execute(session, args)
        if not (tx.failed or tx.dirty):  # EXEC will not run it: keep no copy
            size = sum(map(len, args))
            if tx.queued_bytes + size > self.max_queued:
                tx.failed = True
                return encode_error(
                    "ERR transaction too large: its queued commands exceed "
                    f"client-query-buffer-limit ({self.max_queued} bytes)"
                )
            tx.queue.append(args)
            tx.queued_bytes += size
        return QUEUED

    def exec_(self, session: Session, args: list[bytes]) -> bytes:
        """``EXEC``: run the queue and answer its replies as one array.

        EXECABORT after an error while queueing; a null array when a watched
        key changed since WATCH.
        """
        tx = session.tx
        if tx is None or tx.queue is None:
            return _EXEC_WITHOUT
        session.attention = True
        tx.check_expired()
        queue = tx.queue
        if tx.failed or tx.dirty:
            refused = EXECABORT if tx.failed else session.resp.null_array
            tx.end()
            return refused
        tx.unwatch()  # nothing the queue does can fail this EXEC now
        execute = self.commands.execute
        # Still inside MULTI while the queue runs, as CLIENT LIST shows it.
        replies = [execute(session, queued) for queued in queue]
        tx.end()
        session.command = "exec"
        return b"*%d\r\n%b" % (len(replies), b"".join(replies))

    def discard(self, session: Session, args: list[bytes]) -> bytes:
        """``DISCARD``: drop the queue and every WATCH."""
        tx = session.tx
        if tx is None or tx.queue is None:
            return _DISCARD_WITHOUT
        tx.end()
        session.attention = True
        return OK

    def watch(self, session: Session, args: list[bytes]) -> bytes:
        """``WATCH key ...``: EXEC will fail if one of them changes first."""
        tx = session.tx
        if tx is None:
            tx = session.tx = Transaction()
        elif tx.queue is not None:
            return _WATCH_INSIDE
        if not tx.dirty:  # once dirty, nothing more to watch for
            db = session.db
            for key in args[1:]:
                tx.watch(db, key)
        return OK

    def unwatch(self, session: Session, args: list[bytes]) -> bytes:
        """``UNWATCH``: forget every WATCH."""
        tx = session.tx
        if tx is not None:
            tx.unwatch()
            tx.dirty = False
        return OK
