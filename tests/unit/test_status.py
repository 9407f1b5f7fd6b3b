"""The status page's table and HTML, from plain objects: no sockets."""

from __future__ import annotations

from dataclasses import dataclass

from protocols.status import render_html, snapshot
from reactor.protocol import PeerKey


@dataclass
class FakeConnection:
    id: int
    peer: PeerKey
    local: PeerKey
    created: float = 100.0
    last_activity: float = 104.0
    bytes_in: int = 10
    bytes_out: int = 20
    reading: bool = True
    writing_paused: bool = False
    queued: int = 0

    def is_reading(self) -> bool:
        return self.reading

    def get_write_buffer_size(self) -> int:
        return self.queued


def test_rows_are_grouped_by_local_address_and_keyed_by_peer() -> None:
    conns = [
        FakeConnection(3, ("127.0.0.1", 40002), ("127.0.0.1", 5678)),
        FakeConnection(1, ("127.0.0.1", 40001), ("127.0.0.1", 5678)),
        FakeConnection(
            2, ("::1", 40003), ("::1", 8080), reading=False, writing_paused=True, queued=70000
        ),
    ]
    table = snapshot(conns, now=110.0)
    assert list(table) == ["127.0.0.1:5678", "[::1]:8080"]
    assert [row["peer"] for row in table["127.0.0.1:5678"]] == [
        "127.0.0.1:40001",
        "127.0.0.1:40002",
    ]
    v6 = table["[::1]:8080"][0]
    assert v6 == {
        "id": 2,
        "peer": "[::1]:40003",
        "age": 10.0,
        "idle": 6.0,
        "bytes_in": 10,
        "bytes_out": 20,
        "queued": 70000,
        "flow": "reading paused, writing paused",
        "tls": "-",  # plain TCP: nothing negotiated
        "cipher": "-",
        "sni": "-",
        "alpn": "-",
    }


def test_html_shows_every_peer_escaped_and_refreshes() -> None:
    conns = [FakeConnection(1, ("unix:<x>", 1), ("unix:/tmp/s", 0))]
    page = render_html(snapshot(conns, now=101.0), refresh=1.5)
    assert '<meta http-equiv="refresh" content="1.5">' in page
    assert "<h1>1 live connection</h1>" in page
    assert "unix:&lt;x&gt;#1" in page  # format_peer's Unix key: path#connection id
    assert "unix:/tmp/s: 1 connection" in page


def test_an_empty_table() -> None:
    page = render_html(snapshot([], now=0.0), refresh=2)
    assert "<h1>0 live connections</h1>" in page
