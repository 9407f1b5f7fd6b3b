"""The keyspace: values, TTLs, lazy expiry and the sampled active sweep."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from protocols.resp.glob import matches
from protocols.resp.store import Keyspace
from reactor.testing import FakeClock


def make() -> tuple[Keyspace, FakeClock]:
    clock = FakeClock()
    return Keyspace(clock, rng=random.Random(7)), clock


def test_set_get_delete() -> None:
    store, _ = make()
    store.set(b"k", b"v")
    assert store.get(b"k") == b"v"
    assert len(store) == 1
    assert store.delete(b"k")
    assert not store.delete(b"k")
    assert store.get(b"k") is None


def test_lazy_expiry_on_access() -> None:
    store, clock = make()
    store.set(b"k", b"v", expire_at=store.now_ms() + 1500)
    clock.advance(1.4)
    assert store.get(b"k") == b"v"
    clock.advance(0.1)
    assert store.get(b"k") is None
    assert len(store) == 0
    assert store.volatile == 0
    assert store.expired == 1


def test_set_clears_ttl_replace_keeps_it() -> None:
    store, _clock = make()
    store.set(b"a", b"1", expire_at=store.now_ms() + 1000)
    store.replace(b"a", b"2")
    assert store.deadline(b"a") is not None
    store.set(b"a", b"3")
    assert store.deadline(b"a") is None
    assert store.volatile == 0


def test_persist_and_expire_at() -> None:
    store, _clock = make()
    assert not store.expire_at(b"missing", store.now_ms() + 10)
    store.set(b"a", b"1")
    assert not store.persist(b"a")
    assert store.expire_at(b"a", store.now_ms() + 10)
    assert store.persist(b"a")
    assert store.deadline(b"a") is None
    assert store.expire_at(b"a", store.now_ms())  # a deadline now or past deletes
    assert store.get(b"a") is None


def test_hits_and_misses() -> None:
    store, _ = make()
    store.set(b"a", b"1")
    store.lookup(b"a")
    store.lookup(b"b")
    assert (store.hits, store.misses) == (1, 1)


def test_on_volatile_fires_when_the_first_ttl_appears() -> None:
    calls: list[int] = []
    store = Keyspace(FakeClock(), on_volatile=lambda: calls.append(1))
    store.set(b"a", b"1", expire_at=store.now_ms() + 100)
    store.set(b"b", b"1", expire_at=store.now_ms() + 100)
    assert calls == [1]
    store.flush()
    store.set(b"c", b"1", expire_at=store.now_ms() + 100)
    assert calls == [1, 1]


def test_sweep_is_bounded_per_call_and_reclaims_everything_eventually() -> None:
    store, clock = make()
    now = store.now_ms()
    for i in range(10_000):
        store.set(b"k%d" % i, b"v", expire_at=now + 1000)
    for i in range(100):
        store.set(b"p%d" % i, b"v")
    clock.advance(2)
    reclaimed = store.sweep(per_round=20, max_rounds=16)
    assert 0 < reclaimed <= 20 * 16
    calls = 1
    while store.volatile:
        reclaimed = store.sweep(per_round=20, max_rounds=16)
        assert reclaimed <= 320
        calls += 1
        assert calls < 1000
    assert len(store) == 100
    assert store.expired == 10_000


def test_sweep_stops_early_when_few_keys_are_expired() -> None:
    store, clock = make()
    now = store.now_ms()
    for i in range(1000):
        store.set(b"k%d" % i, b"v", expire_at=now + (100 if i < 10 else 100_000))
    clock.advance(1)
    # about 1% are due: one round of 20 samples, then it stops
    assert store.sweep(per_round=20, max_rounds=16) <= 20
    assert store.volatile >= 990


def test_live_keys_skip_and_reclaim_expired() -> None:
    store, clock = make()
    store.set(b"a", b"1")
    store.set(b"b", b"1", expire_at=store.now_ms() + 10)
    clock.advance(1)
    assert list(store.live_keys()) == [b"a"]
    assert len(store) == 1


def test_average_ttl() -> None:
    store, _ = make()
    assert store.average_ttl() == 0
    store.set(b"a", b"1", expire_at=store.now_ms() + 1000)
    store.set(b"b", b"1", expire_at=store.now_ms() + 3000)
    assert store.average_ttl() == 2000


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "setttl", "del", "persist", "advance", "sweep"]),
            st.integers(0, 5),
            st.integers(1, 3000),
        ),
        max_size=60,
    )
)
def test_matches_a_simple_model(ops: list[tuple[str, int, int]]) -> None:
    """The indexes of volatile keys stay consistent whatever the order of operations."""
    store, clock = make()
    model: dict[bytes, int | None] = {}  # key -> deadline
    for op, k, n in ops:
        key = b"k%d" % k
        now = store.now_ms()
        if op == "set":
            store.set(key, b"v")
            model[key] = None
        elif op == "setttl":
            store.set(key, b"v", expire_at=now + n)
            model[key] = now + n
        elif op == "del":
            store.delete(key)
            model.pop(key, None)
        elif op == "persist":
            store.persist(key)
            if key in model and (model[key] or 0) > now:
                model[key] = None
        elif op == "advance":
            clock.advance(n / 1000)
        else:
            store.sweep()
        now = store.now_ms()
        live = {k for k, when in model.items() if when is None or when > now}
        assert set(store.live_keys()) == live
        for key in live:
            assert store.deadline(key) == model[key]
        model = {k: model[k] for k in live}
        assert store.volatile == sum(1 for when in model.values() if when is not None)


# -- glob ----------------------------------------------------------------------


def test_glob_like_redis() -> None:
    cases = [
        (b"*", b"", True),
        (b"*", b"anything", True),
        (b"h?llo", b"hello", True),
        (b"h?llo", b"hllo", False),
        (b"h*llo", b"hllo", True),
        (b"h*llo", b"heeeello", True),
        (b"h[ae]llo", b"hallo", True),
        (b"h[ae]llo", b"hillo", False),
        (b"h[^e]llo", b"hallo", True),
        (b"h[^e]llo", b"hello", False),
        (b"h[a-b]llo", b"hbllo", True),
        (b"h[b-a]llo", b"hbllo", True),  # a reversed range is swapped
        (b"h[a-b]llo", b"hcllo", False),
        (b"\\*", b"*", True),
        (b"\\*", b"a", False),
        (b"[\\]]", b"]", True),
        (b"[", b"[", False),
        (b"[abc", b"b", True),  # an unterminated class ends at the pattern's end
        (b"a\\", b"a\\", True),  # a trailing backslash is literal
        (b"a*b*c", b"axxbyyc", True),
        (b"a*b*c", b"axxbyy", False),
        (b"**a", b"ba", True),
        (b"user:*:name", b"user:42:name", True),
        (b"user:*:name", b"user:42:age", False),
    ]
    for pattern, key, expected in cases:
        assert matches(pattern, key) is expected, (pattern, key)


def test_glob_is_not_exponential() -> None:
    assert not matches(b"a*" * 30 + b"b", b"a" * 200)


@given(st.binary(max_size=20))
def test_glob_literal_and_star(key: bytes) -> None:
    escaped = b"".join(b"\\" + bytes([c]) for c in key)
    assert matches(escaped, key)
    assert matches(b"*", key)
    assert matches(escaped + b"*", key + b"tail")
