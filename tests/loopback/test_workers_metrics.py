"""``--workers N``: the supervisor's ``/metrics`` and ``/status.json`` show every worker."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections import Counter

import pytest

from tests.servers import Server, poll, start

pytestmark = pytest.mark.slow

_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE)


def _get(server: Server, path: str) -> bytes:
    assert server.status_port is not None
    url = f"http://127.0.0.1:{server.status_port}{path}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        body: bytes = reply.read()
    return body


def scrape(server: Server, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples called ``name`` in the supervisor's ``/metrics``, with their labels."""
    text = _get(server, "/metrics").decode()
    found = []
    for match in _SAMPLE.finditer(text):
        if match["name"] == name:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
            found.append((labels, float(match["value"])))
    return found


def active_by_worker(server: Server) -> Counter[str]:
    """Worker label -> connections open on the served port, from ``/metrics``."""
    where = f"127.0.0.1:{server.port}"
    counts: Counter[str] = Counter()
    for labels, value in scrape(server, "selreactor_connections_active"):
        if labels.get("listener") == where:
            counts[labels["worker"]] += int(value)
    return counts


def status_by_worker(server: Server) -> Counter[str]:
    """Worker slot -> connections to the served port, from ``/status.json``."""
    page = json.loads(_get(server, "/status.json?filter=&limit=1000"))
    return Counter(
        str(row["worker"])
        for row in page["connections"]
        if str(row["local"]).endswith(f":{server.port}")
    )


def test_metrics_and_status_json_through_the_supervisor_label_every_worker() -> None:
    server = start("echo", "--workers", "2", "--log-level", "INFO")
    clients: list[socket.socket] = []
    try:
        # both workers report (zeros included) before any connection
        poll(lambda: {"0", "1"} <= set(active_by_worker(server)), what="both workers' metrics")
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
            clients.append(sock)

        def agree() -> bool:
            by_metrics = active_by_worker(server)
            return sum(by_metrics.values()) == len(clients) and +by_metrics == status_by_worker(
                server
            )

        poll(agree, what="metrics and the status page agree on every connection")
        by_metrics = active_by_worker(server)
        assert by_metrics["0"] + by_metrics["1"] == len(clients)
        assert set(by_metrics) == {"0", "1"}  # only the two workers serve the port
        page = json.loads(_get(server, "/status.json"))
        rows = [r for r in page["connections"] if str(r["local"]).endswith(f":{server.port}")]
        assert len(rows) == len(clients)
        assert all(r["worker"] in (0, 1) and isinstance(r["pid"], int) for r in rows)
        mine = {"{}:{}".format(*s.getsockname()) for s in clients}
        assert {r["peer"] for r in rows} == mine
        # every series carries a worker label; the supervisor's own are its status page's
        turns = scrape(server, "selreactor_loop_turns_total")
        assert {labels["worker"] for labels, _ in turns} == {"0", "1", "supervisor"}
        assert all("worker" in labels for labels, _ in scrape(server, "selreactor_timeouts_total"))
    finally:
        for sock in clients:
            sock.close()
        assert server.stop() == 0
