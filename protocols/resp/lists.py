"""List commands: LPUSH, RPUSH, LPOP, RPOP, LLEN, LRANGE.

A second value type, so that TYPE and the WRONGTYPE error mean something and
the usual client calls for queues work.  A list is a ``deque``; an emptied
list disappears, as in Redis.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from protocols.resp.parser import EMPTY_ARRAY, encode_array, encode_bulk, encode_integer, parse_int
from protocols.resp.replies import NOT_INTEGER, WRONGTYPE, wrong_arity

if TYPE_CHECKING:
    from protocols.resp.commands import Commands
    from protocols.resp.session import Session
    from protocols.resp.store import Keyspace

__all__ = ["ListCommands"]


class ListCommands:
    """The list commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    @staticmethod
    def _list(db: Keyspace, key: bytes, count: bool = False) -> deque[bytes] | None:
        """The list at ``key``; raises TypeError for another type."""
        value = db.lookup(key) if count else db.get(key)
        if value is not None and type(value) is bytes:
            raise TypeError(key)
        return value  # type: ignore[return-value]

    def _push(self, db: Keyspace, args: list[bytes], left: bool) -> bytes:
        try:
            items = self._list(db, args[1])
        except TypeError:
            return WRONGTYPE
        if items is None:
            items = deque()
            db.set(args[1], items)
        if left:
            items.extendleft(args[2:])
        else:
            items.extend(args[2:])
        db.touch(args[1])  # changed in place: WATCH must hear of it
        return encode_integer(len(items))

    def lpush(self, session: Session, args: list[bytes]) -> bytes:
        """``LPUSH key value ...``: prepend; the new length."""
        return self._push(session.db, args, left=True)

    def rpush(self, session: Session, args: list[bytes]) -> bytes:
        """``RPUSH key value ...``: append; the new length."""
        return self._push(session.db, args, left=False)

    def _pop(self, session: Session, args: list[bytes], left: bool) -> bytes:
        if len(args) > 3:
            return wrong_arity("lpop" if left else "rpop")
        count = 1
        if len(args) == 3:
            parsed = parse_int(args[2])
            if parsed is None or parsed < 0:
                return b"-ERR value is out of range, must be positive\r\n"
            count = parsed
        try:
            items = self._list(session.db, args[1], count=True)
        except TypeError:
            return WRONGTYPE
        if items is None:
            return session.resp.null if len(args) == 2 else session.resp.null_array
        pop = items.popleft if left else items.pop
        popped = [pop() for _ in range(min(count, len(items)))]
        if not items:
            session.db.delete(args[1])
        elif popped:
            session.db.touch(args[1])  # changed in place: WATCH must hear of it
        if len(args) == 2:
            return encode_bulk(popped[0])
        return encode_array(popped) if popped else EMPTY_ARRAY

    def lpop(self, session: Session, args: list[bytes]) -> bytes:
        """``LPOP key [count]``: the first element(s), or null."""
        return self._pop(session, args, left=True)

    def rpop(self, session: Session, args: list[bytes]) -> bytes:
        """``RPOP key [count]``: the last element(s), or null."""
        return self._pop(session, args, left=False)

    def llen(self, session: Session, args: list[bytes]) -> bytes:
        """``LLEN key``: the length, 0 when missing."""
        try:
            items = self._list(session.db, args[1], count=True)
        except TypeError:
            return WRONGTYPE
        return encode_integer(0 if items is None else len(items))

    def lrange(self, session: Session, args: list[bytes]) -> bytes:
        """``LRANGE key start stop``: the elements, negative indexes from the end."""
        start = parse_int(args[2])
        stop = parse_int(args[3])
        if start is None or stop is None:
            return NOT_INTEGER
        try:
            items = self._list(session.db, args[1], count=True)
        except TypeError:
            return WRONGTYPE
        if items is None:
            return EMPTY_ARRAY
        n = len(items)
        start = max(start + n if start < 0 else start, 0)
        stop = min(stop + n if stop < 0 else stop, n - 1)
        if start > stop:
            return EMPTY_ARRAY
        return encode_array([items[i] for i in range(start, stop + 1)])
