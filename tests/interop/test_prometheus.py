"""A real Prometheus scrapes /metrics; its query API must agree with what the test did.

The configuration is the documented one (docs/observability/prometheus.yml),
pointed at the status listener's port.  Prometheus keeps its database in the
test's temporary directory and listens on a free loopback port; every wait is
a bounded loop over its HTTP API.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocols.echo import EchoHandler
from protocols.status import plugin as status_plugin
from reactor.embedding import ReactorThread
from tests.externals import needs, program

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docs" / "observability" / "prometheus.yml"
DOCUMENTED_TARGET = "127.0.0.1:9100"

pytestmark = [needs("prometheus", "prometheus"), pytest.mark.slow, pytest.mark.timeout(150)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def prometheus(tmp_path: Path, target: str) -> Iterator[str]:
    """A Prometheus scraping ``target`` every second; yields its base URL."""
    text = CONFIG.read_text(encoding="utf-8")
    assert DOCUMENTED_TARGET in text
    config = tmp_path / "prometheus.yml"
    config.write_text(text.replace(DOCUMENTED_TARGET, target), encoding="utf-8")
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            program("prometheus", "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def query(base: str, promql: str) -> list[dict[str, object]] | None:
    """The instant vector for ``promql``, or ``None`` while Prometheus is not up."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            answer = json.loads(reply.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    assert answer["status"] == "success", answer
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


def wait_for_value(base: str, promql: str, wanted: float, timeout: float = 90) -> float | None:
    """Poll until ``promql`` has one sample equal to ``wanted``; the last value seen."""
    last: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = query(base, promql)
        if result:
            value = result[0]["value"]
            assert isinstance(value, list)
            last = float(value[1])
            if last == wanted:
                return last
        time.sleep(0.25)  # Prometheus's own pace: a scrape a second
    return last


def test_prometheus_reads_the_counters_back(tmp_path: Path) -> None:
    with ReactorThread() as rt, contextlib.ExitStack() as stack:
        reactor = rt.reactor
        echo = rt.call(reactor.listen, lambda peer: EchoHandler(), "127.0.0.1", 0)
        factory = status_plugin.make_factory(reactor, argparse.Namespace())
        status = rt.call(reactor.listen, factory, "127.0.0.1", 0)
        opened, sent = 7, 0
        socks = []
        for i in range(opened):
            s = stack.enter_context(socket.create_connection(("127.0.0.1", echo.port), 10))
            payload = b"m" * (1000 + i)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(65536)
            sent += len(payload)
            socks.append(s)
        for s in socks[:3]:  # closed ones must still count
            s.close()
        base = stack.enter_context(prometheus(tmp_path, f"127.0.0.1:{status.port}"))
        where = f'listener="127.0.0.1:{echo.port}"'
        assert (
            wait_for_value(base, f"selreactor_connections_accepted_total{{{where}}}", opened)
            == opened
        )
        assert wait_for_value(base, f"selreactor_connections_closed_total{{{where}}}", 3) == 3
        assert wait_for_value(base, f"selreactor_connections_active{{{where}}}", 4) == 4
        assert wait_for_value(base, f"selreactor_received_bytes_total{{{where}}}", sent) == sent
        assert wait_for_value(base, f"selreactor_sent_bytes_total{{{where}}}", sent) == sent
        up = query(base, 'up{job="selreactor"}')
        assert up
        value = up[0]["value"]
        assert isinstance(value, list)
        assert value[1] == "1"
