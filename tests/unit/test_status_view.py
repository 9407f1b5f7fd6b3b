"""The live page's paged table and who may close a connection: plain objects, no sockets."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from protocols.status_view import MAX_LIMIT, connection_row, is_loopback, may_close, page
from reactor.protocol import PeerKey


@dataclass(eq=False)
class FakeConnection:
    id: int
    peer: PeerKey
    local: PeerKey = ("127.0.0.1", 5678)
    created: float = 100.0
    last_activity: float = 100.0
    bytes_in: int = 0
    bytes_out: int = 0
    reading: bool = True
    writing_paused: bool = False
    queued: int = 0
    proxy_peer: PeerKey | None = None  # a connection its PROXY header rekeyed
    worker: int | None = None  # a worker's connection, as its supervisor sees it

    def is_reading(self) -> bool:
        return self.reading

    def get_write_buffer_size(self) -> int:
        return self.queued


@dataclass(eq=False)
class FakeListener:
    address: PeerKey
    plugin: str
    connections: dict[PeerKey, FakeConnection]


def conns(n: int) -> list[FakeConnection]:
    return [
        FakeConnection(i, (f"10.0.{i % 3}.1", 40000 + i), bytes_in=i * 10, created=100.0 + i)
        for i in range(1, n + 1)
    ]


def test_a_page_of_rows_sorted_and_filtered() -> None:
    table = conns(9)
    got = page(table, [], now=200.0, query={"sort": "-bytes_in", "limit": "2", "offset": "1"})
    assert [row["id"] for row in got["connections"]] == [8, 7]
    assert (got["total"], got["matched"], got["offset"], got["limit"]) == (9, 9, 1, 2)
    assert got["sort"] == "-bytes_in"
    got = page(table, [], now=200.0, query={"filter": "10.0.2.", "sort": "peer"})
    assert [row["peer"] for row in got["connections"]] == [
        "10.0.2.1:40002",
        "10.0.2.1:40005",
        "10.0.2.1:40008",
    ]
    assert got["matched"] == 3
    got = page(table, [], now=200.0, query={"sort": "age"})  # youngest first
    assert [row["id"] for row in got["connections"]][:2] == [9, 8]


def test_bad_query_values_fall_back() -> None:
    got = page(conns(3), [], now=0.0, query={"sort": "nope", "limit": "x", "offset": "-5"})
    assert got["sort"] == "id"
    assert got["offset"] == 0
    assert len(got["connections"]) == 3
    got = page(conns(3), [], now=0.0, query={"limit": "999999", "offset": "99"})
    assert got["limit"] == MAX_LIMIT
    assert got["offset"] == 3  # past the end: an empty page, not an error
    assert got["connections"] == []


def test_a_row_carries_every_field_and_the_extras() -> None:
    conn = FakeConnection(
        7,
        ("::1", 5000),
        created=90.0,
        last_activity=95.0,
        bytes_in=3,
        bytes_out=4,
        reading=False,
        queued=12,
        proxy_peer=("1.2.3.4", 9),
        worker=2,
    )
    row = connection_row(conn, 100.0, "echo")
    assert row == {
        "id": 7,
        "peer": "[::1]:5000",
        "local": "127.0.0.1:5678",
        "plugin": "echo",
        "age": 10.0,
        "idle": 5.0,
        "bytes_in": 3,
        "bytes_out": 4,
        "queued": 12,
        "reading": False,
        "writing_paused": False,
        "state": "open",
        "tls": "-",
        "cipher": "-",
        "sni": "-",
        "alpn": "-",
        "proxy": "1.2.3.4:9",
        "worker": 2,
    }
    assert connection_row(FakeConnection(8, ("a", 1)), 100.0)["proxy"] is None


def test_listeners_name_their_connections_plugin() -> None:
    table = conns(2)
    listener = FakeListener(("127.0.0.1", 5678), "echo", {c.peer: c for c in table[:1]})
    got = page(table, [listener], now=0.0)
    assert [row["plugin"] for row in got["connections"]] == ["echo", ""]
    assert got["listeners"][0]["address"] == "127.0.0.1:5678"
    assert got["listeners"][0]["active"] == 1


def test_ten_thousand_connections_cost_one_page() -> None:
    table = conns(10_000)
    start = time.perf_counter()
    got = page(table, [], now=200.0, query={"sort": "-bytes_out", "filter": "10.0.1."})
    elapsed = time.perf_counter() - start
    assert len(got["connections"]) == 100
    assert got["matched"] == 3334
    assert elapsed < 1.0  # about 20 ms here: a poll a second is cheap


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("unix:/tmp/s", True),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False),
        ("not an address", False),
    ],
)
def test_loopback_peers(host: str, loopback: bool) -> None:
    assert is_loopback((host, 1)) is loopback


def test_who_may_close() -> None:
    here, there = ("127.0.0.1", 1), ("10.0.0.1", 1)
    assert may_close(here, "", None)
    assert not may_close(here, None, None)  # no header: a cross-site form, say
    assert not may_close(there, "", None)
    assert not may_close(there, "guess", "secret")
    assert may_close(there, "secret", "secret")
    assert not may_close(there, "", "")
    assert not may_close(None, "secret", None)
