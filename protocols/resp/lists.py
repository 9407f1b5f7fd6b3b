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
    from protocols.resp.commands import Commands, Session

__all__ = ["ListCommands"]

# name, method, arity, flags, summary
_LISTS: tuple[tuple[str, str, int, str, str], ...] = (
    ("lpush", "lpush", -3, "write fast", "Prepend values to a list"),
    ("rpush", "rpush", -3, "write fast", "Append values to a list"),
    ("lpop", "lpop", -2, "write fast", "Remove and get the first elements"),
    ("rpop", "rpop", -2, "write fast", "Remove and get the last elements"),
    ("llen", "llen", 2, "readonly fast", "The length of a list"),
    ("lrange", "lrange", 4, "readonly", "A range of elements of a list"),
)


class ListCommands:
    """The list commands of one command table."""

    def __init__(self, commands: Commands) -> None:
        self.store = commands.store
        for name, method, arity, flags, summary in _LISTS:
            commands.add(
                name, getattr(self, method), arity, flags, (1, 1), group="list", summary=summary
            )

    def _list(self, key: bytes) -> deque[bytes] | None:
        """The list at ``key``; raises TypeError for another type."""
        value = self.store.get(key)
        if value is not None and type(value) is bytes:
            raise TypeError(key)
        return value  # type: ignore[return-value]

    def _push(self, args: list[bytes], left: bool) -> bytes:
        try:
            items = self._list(args[1])
        except TypeError:
            return WRONGTYPE
        if items is None:
            items = deque()
            self.store.set(args[1], items)
        if left:
            items.extendleft(args[2:])
        else:
            items.extend(args[2:])
        return encode_integer(len(items))

    def lpush(self, session: Session, args: list[bytes]) -> bytes:
        """``LPUSH key value ...``: prepend; the new length."""
        return self._push(args, left=True)

    def rpush(self, session: Session, args: list[bytes]) -> bytes:
        """``RPUSH key value ...``: append; the new length."""
        return self._push(args, left=False)

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
            items = self._list(args[1])
        except TypeError:
            return WRONGTYPE
        if items is None:
            return session.resp.null if len(args) == 2 else session.resp.null_array
        pop = items.popleft if left else items.pop
        popped = [pop() for _ in range(min(count, len(items)))]
        if not items:
            self.store.delete(args[1])
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
            items = self._list(args[1])
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
            items = self._list(args[1])
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
