"""reactor.protocol.format_peer: one way to write a peer key, for every view of the table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocols.resp.server import format_addr
from protocols.status import snapshot
from reactor.protocol import PeerKey, format_peer
from tests.unit.test_status import FakeConnection

ports = st.integers(0, 65535)
scopes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
ipv4_hosts = st.ip_addresses(v=4).map(str)
ipv6_hosts = st.one_of(
    st.ip_addresses(v=6).map(str),
    st.tuples(st.ip_addresses(v=6).map(str), scopes).map("%".join),  # link-local %scope
)


def parse(text: str) -> PeerKey:
    """Read an address back as people read it: the port after the last colon."""
    host, colon, port = text.rpartition(":")
    assert colon and port.isdigit(), text
    if host.startswith("["):
        assert host.endswith("]"), text
        host = host[1:-1]
    return host, int(port)


@given(ipv4_hosts, ports)
def test_ipv4_keys_are_host_colon_port_and_read_back(host: str, port: int) -> None:
    text = format_peer((host, port))
    assert text == f"{host}:{port}"
    assert parse(text) == (host, port)


@given(ipv6_hosts, ports)
def test_ipv6_keys_are_bracketed_and_read_back(host: str, port: int) -> None:
    text = format_peer((host, port))
    assert text == f"[{host}]:{port}"
    assert parse(text) == (host, port)


def test_examples() -> None:
    assert format_peer(("127.0.0.1", 5678)) == "127.0.0.1:5678"
    assert format_peer(("::1", 5678)) == "[::1]:5678"
    assert format_peer(("fe80::1%eth0", 80)) == "[fe80::1%eth0]:80"


def test_unix_keys_show_the_path_and_the_connection_id() -> None:
    assert format_peer(("unix:/tmp/s", 3)) == "unix:/tmp/s#3"  # a peer: path#id
    assert format_peer(("unix:", 7)) == "unix:#7"  # an unnamed client socket
    assert format_peer(("unix:/tmp/s", 0)) == "unix:/tmp/s"  # a listener's own address


@given(st.one_of(ipv4_hosts, ipv6_hosts), ports)
def test_the_views_of_the_table_agree(host: str, port: int) -> None:
    key = (host, port)
    table = snapshot([FakeConnection(1, key, key)], now=110.0)
    assert list(table) == [format_peer(key)]
    assert table[format_peer(key)][0]["peer"] == format_peer(key)
    assert format_addr(key) == format_peer(key)  # RESP's addr= and laddr=


def test_resp_keeps_redis_unix_addresses() -> None:
    # Redis writes a Unix-socket client's addr= as the path with port 0.
    assert format_addr(("unix:/tmp/redis.sock", 9)) == "/tmp/redis.sock:0"
