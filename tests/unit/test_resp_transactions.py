"""MULTI/EXEC/DISCARD and WATCH without sockets: Redis's replies and its WATCH rules."""

from __future__ import annotations

import random

import pytest

from protocols.resp.commands import Commands
from protocols.resp.replies import RESP3
from protocols.resp.session import Session
from protocols.resp.store import Databases, Keyspace
from protocols.resp.transactions import WatchedKeyspace
from reactor.testing import FakeClock
from tests.unit.test_resp_commands import EPOCH, FakeHost

QUEUED = b"+QUEUED\r\n"
OK = b"+OK\r\n"
NULL_ARRAY = b"*-1\r\n"
EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"


class Server:
    """One command table, sessions made on demand; commands run as a connection runs them."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.databases = Databases(self.clock, rng=random.Random(1), epoch=EPOCH)
        self.commands = Commands(self.databases, FakeHost(), self.clock)
        self.sessions: dict[int, Session] = {}

    def session(self, ident: int) -> Session:
        if ident not in self.sessions:
            self.sessions[ident] = Session(ident, self.databases[0])
        return self.sessions[ident]

    def on(self, ident: int, *words: bytes | str | int) -> bytes:
        args = [w if isinstance(w, bytes) else str(w).encode() for w in words]
        return self.commands.run(self.session(ident), args)

    def __call__(self, *words: bytes | str | int) -> bytes:
        return self.on(1, *words)


@pytest.fixture
def r() -> Server:
    return Server()


def test_multi_exec_queues_then_runs_in_order(r: Server) -> None:
    r("RPUSH", "l", "a", "b")
    assert r("MULTI") == OK
    assert r("LRANGE", "l", 0, -1) == QUEUED
    assert r("PING") == QUEUED
    assert r("INCR", "n") == QUEUED
    assert r("INCR", "n") == QUEUED
    assert r.on(2, "GET", "n") == b"$-1\r\n"  # nothing ran yet
    assert r("EXEC") == b"*4\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n+PONG\r\n:1\r\n:2\r\n"
    assert r("GET", "n") == b"$1\r\n2\r\n"  # out of MULTI again
    assert r("MULTI") == OK
    assert r("EXEC") == b"*0\r\n"


def test_exec_keeps_errors_of_queued_commands_in_the_array(r: Server) -> None:
    r("SET", "s", "abc")
    r("MULTI")
    r("INCR", "s")
    r("SET", "t", "1")
    assert r("EXEC") == b"*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
    assert r("GET", "t") == b"$1\r\n1\r\n"


def test_discard_and_the_errors_outside_multi(r: Server) -> None:
    assert r("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert r("DISCARD") == b"-ERR DISCARD without MULTI\r\n"
    r("MULTI")
    assert r("SET", "k", "v") == QUEUED
    assert r("DISCARD") == OK
    assert r("GET", "k") == b"$-1\r\n"
    assert r("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_nested_multi_and_watch_inside_multi_are_errors_that_do_not_abort(r: Server) -> None:
    r("MULTI")
    assert r("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert r("WATCH", "x") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    r("SET", "k", "v")
    assert r("EXEC") == b"*1\r\n+OK\r\n"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (("NOSUCH", "a"), b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n"),
        (("GET",), b"-ERR wrong number of arguments for 'get' command\r\n"),
        (("EXEC", "x"), b"-ERR wrong number of arguments for 'exec' command\r\n"),
    ],
)
def test_an_error_while_queueing_aborts_exec(
    r: Server, bad: tuple[str, ...], error: bytes
) -> None:
    r("MULTI")
    r("SET", "a", "1")
    assert r(*bad) == error
    assert r("SET", "b", "2") == QUEUED  # still queueing, as Redis does
    assert r("EXEC") == EXECABORT
    assert r("EXISTS", "a", "b") == b":0\r\n"
    assert r("PING") == b"+PONG\r\n"  # the MULTI state is gone


def test_exec_null_is_resp3_null_too(r: Server) -> None:
    r.session(1).resp = RESP3
    r("WATCH", "x")
    r.on(2, "SET", "x", "1")
    r("MULTI")
    assert r("EXEC") == b"_\r\n"


def test_quit_inside_multi_runs_at_once(r: Server) -> None:
    r("MULTI")
    assert r("QUIT") == OK
    assert r.session(1).quit


def test_a_transaction_too_large_is_refused(r: Server) -> None:
    r.commands.transactions.max_queued = 20
    r("MULTI")
    assert r("SET", "k", "0123456789") == QUEUED  # 14 bytes of arguments
    assert r("SET", "k", "0123456789").startswith(b"-ERR transaction too large")
    assert r("EXEC") == EXECABORT


def test_dispatcher_is_plain_execute_outside_multi(r: Server) -> None:
    session = r.session(1)
    assert r.commands.dispatcher(session) == r.commands.execute
    r("MULTI")
    assert session.attention
    assert r.commands.dispatcher(session) == r.commands.transactions.queue
    session.attention = False
    r("EXEC")
    assert session.attention
    assert r.commands.dispatcher(session) == r.commands.execute


# -- WATCH -----------------------------------------------------------------------


def exec_after(r: Server, *writes: tuple[str | int, ...], by: int = 2) -> bytes:
    """Run ``writes`` on session ``by``, then MULTI / PING / EXEC on session 1."""
    for write in writes:
        r.on(by, *write)
    r("MULTI")
    r("PING")
    return r("EXEC")


def test_watch_unmodified_runs(r: Server) -> None:
    r("SET", "x", "1")
    assert r("WATCH", "x", "y", "z") == OK
    assert r("WATCH", "x") == OK  # twice is once
    assert exec_after(r, ("GET", "x"), ("SET", "other", "1")) == b"*1\r\n+PONG\r\n"


@pytest.mark.parametrize(
    "write",
    [
        ("SET", "x", "30"),  # the same value is a change too
        ("DEL", "x"),
        ("INCR", "x"),
        ("APPEND", "x", "1"),
        ("EXPIRE", "x", 100),
        ("SETRANGE", "x", 0, "4"),
        ("SETBIT", "x", 0, 1),
        ("RENAME", "x", "y"),
        ("RENAME", "w", "x"),
        ("MOVE", "x", 3),
        ("GETDEL", "x"),
        ("GETEX", "x", "EX", 10),
        ("MSET", "a", "1", "x", "2"),
        ("COPY", "w", "x", "REPLACE"),
        ("FLUSHDB",),
        ("FLUSHALL",),
        ("SWAPDB", 0, 1),
    ],
)
def test_a_change_to_a_watched_key_fails_exec(r: Server, write: tuple[str | int, ...]) -> None:
    r("SET", "x", "30")
    r("SET", "w", "1")
    r("WATCH", "a", "b", "x")
    assert exec_after(r, write) == NULL_ARRAY


@pytest.mark.parametrize(
    "write",
    [
        ("SETNX", "x", "other"),
        ("SET", "x", "v", "NX"),
        ("SET", "nokey", "v", "XX"),
        ("DEL", "nokey"),
        ("EXPIRE", "nokey", 10),
        ("PERSIST", "x"),
        ("RENAMENX", "w", "x"),
        ("MSETNX", "w", "1", "x", "2"),
        ("GET", "x"),
        ("INCR", "notwatched"),
        ("FLUSHDB",),  # x lives in database 3 here, see below
    ],
)
def test_a_write_that_changes_nothing_watched_keeps_exec(
    r: Server, write: tuple[str | int, ...]
) -> None:
    r("SET", "x", "30")
    r("SET", "w", "1")
    if write == ("FLUSHDB",):
        r.on(2, "SELECT", 3)
    r("WATCH", "x", "nokey")
    assert exec_after(r, write) == b"*1\r\n+PONG\r\n"


def test_flush_touches_only_keys_that_existed(r: Server) -> None:
    r("WATCH", "missing")
    assert exec_after(r, ("FLUSHALL",)) == b"*1\r\n+PONG\r\n"
    r("WATCH", "missing")
    assert exec_after(r, ("FLUSHDB",)) == b"*1\r\n+PONG\r\n"


def test_swapdb_touches_a_watched_key_that_either_database_holds(r: Server) -> None:
    r.on(2, "SELECT", 1)
    r.on(2, "SET", "x", "30")
    r("WATCH", "x")  # missing in database 0, present in 1
    assert exec_after(r, ("SWAPDB", 0, 1)) == NULL_ARRAY
    r.on(2, "FLUSHALL")
    r("WATCH", "x")  # missing in both
    assert exec_after(r, ("SWAPDB", 0, 1)) == b"*1\r\n+PONG\r\n"


def test_watch_remembers_the_database(r: Server) -> None:
    r("SELECT", 5)
    r("SET", "x", "30")
    r("WATCH", "x")
    r("SELECT", 1)
    r("SET", "x", "10")  # another database's x
    r("SELECT", 5)
    assert exec_after(r) == b"*1\r\n+PONG\r\n"


def test_in_place_list_changes_touch(r: Server) -> None:
    r("RPUSH", "l", "a", "b")
    r("WATCH", "l")
    assert exec_after(r, ("RPUSH", "l", "c")) == NULL_ARRAY
    r("WATCH", "l")
    assert exec_after(r, ("LPOP", "l")) == NULL_ARRAY
    r("WATCH", "l")
    assert exec_after(r, ("LRANGE", "l", 0, -1)) == b"*1\r\n+PONG\r\n"


def test_own_changes_before_multi_count(r: Server) -> None:
    r("SET", "x", "30")
    r("WATCH", "x")
    r("SET", "x", "40")
    assert exec_after(r) == NULL_ARRAY
    # A failed EXEC watches nothing any more.
    assert exec_after(r, ("SET", "x", "50")) == b"*1\r\n+PONG\r\n"


def test_successful_exec_unwatches(r: Server) -> None:
    r("WATCH", "x")
    assert exec_after(r) == b"*1\r\n+PONG\r\n"
    assert exec_after(r, ("SET", "x", "1")) == b"*1\r\n+PONG\r\n"


def test_unwatch_and_discard_clear_the_dirty_mark(r: Server) -> None:
    assert r("UNWATCH") == OK  # nothing watched
    r("WATCH", "x")
    r.on(2, "SET", "x", "1")
    r("UNWATCH")
    assert exec_after(r) == b"*1\r\n+PONG\r\n"
    r("WATCH", "x")
    r("SET", "x", "10")
    r("MULTI")
    r("DISCARD")
    r("MULTI")
    r("INCR", "x")
    assert r("EXEC") == b"*1\r\n:11\r\n"


def test_expire_touches_and_expiry_fails_exec(r: Server) -> None:
    # An EXPIRE on a watched key is a change.
    r("SET", "x", "foo")
    r("WATCH", "x")
    assert exec_after(r, ("EXPIRE", "x", 10)) == NULL_ARRAY
    # Active expiry of a watched key: the sweep reclaims it.
    r("SET", "x", "foo", "PX", 100)
    r("WATCH", "x")
    r.clock.advance(0.2)
    assert r.databases.sweep(20, 16) == 1
    assert exec_after(r) == NULL_ARRAY
    # Lazy expiry: nobody touched it, EXEC finds it expired.
    r("SET", "x", "foo", "PX", 100)
    r("WATCH", "x")
    r.clock.advance(0.2)
    assert exec_after(r) == NULL_ARRAY


def test_stale_keys_watched_do_not_fail_exec(r: Server) -> None:
    for write in [(), ("EXISTS", "x"), ("DEL", "x"), ("FLUSHDB",)]:
        r("SET", "x", "foo", "PX", 1)
        r.clock.advance(0.01)  # expired, not reclaimed: stale
        r("WATCH", "x")
        assert exec_after(r, *([write] if write else [])) == b"*1\r\n+PONG\r\n"


def test_only_watched_databases_pay_for_watch(r: Server) -> None:
    db = r.databases[0]
    assert type(db) is Keyspace
    r("WATCH", "x", "y")
    r.on(2, "WATCH", "x")
    assert type(db) is WatchedKeyspace
    assert type(r.databases[1]) is Keyspace
    r("UNWATCH")
    assert type(db) is WatchedKeyspace  # session 2 still watches x
    r.on(2, "SET", "x", "1")  # touches session 2, which stops watching
    assert type(db) is Keyspace
    assert db.watchers == {}
    r("WATCH", "x")
    r.session(1).release()  # the connection went
    assert type(db) is Keyspace
    assert r.session(1).tx is None


def test_swapdb_leaves_watches_with_the_database_number(r: Server) -> None:
    r("WATCH", "x")
    r("SWAPDB", 0, 1)  # nothing live: no touch
    assert r.databases[0].watchers.keys() == {b"x"}
    assert r.databases[1].watchers == {}
    assert type(r.databases[0]) is WatchedKeyspace
    assert type(r.databases[1]) is Keyspace
