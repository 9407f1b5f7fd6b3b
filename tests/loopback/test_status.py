"""The live status page beside an echo server, read by real HTTP clients."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from protocols.echo import EchoHandler
from protocols.status import plugin as status_plugin
from reactor.embedding import ReactorThread
from tests.helpers import client, reap
from tests.loopback.test_cli import ENV

if TYPE_CHECKING:
    from reactor.listener import Listener


def test_the_page_lists_each_echo_client_by_its_address() -> None:
    with ReactorThread() as rt:
        reactor = rt.reactor
        echo = rt.call(reactor.listen, lambda peer: EchoHandler(), "127.0.0.1", 0)
        factory = status_plugin.make_factory(reactor, argparse.Namespace(refresh=1.0))
        status = rt.call(reactor.listen, factory, "127.0.0.1", 0)
        socks = [client(echo.port) for _ in range(3)]
        for s in socks:
            s.setblocking(True)
            s.sendall(b"ping")
            assert s.recv(4) == b"ping"
        conn = http.client.HTTPConnection("127.0.0.1", status.port, timeout=10)
        conn.request("GET", "/table?format=json")
        table = json.loads(conn.getresponse().read())
        peers = {row["peer"] for row in table[f"127.0.0.1:{echo.port}"]}
        assert peers == {"{}:{}".format(*s.getsockname()) for s in socks}
        assert all(row["bytes_in"] == 4 for row in table[f"127.0.0.1:{echo.port}"])
        conn.request("GET", "/table")
        page = conn.getresponse().read().decode()
        assert f"127.0.0.1:{echo.port}: 3 connections" in page
        assert 'http-equiv="refresh"' in page
        conn.request("GET", f"/status.json?filter=:{socks[1].getsockname()[1]}")
        one = json.loads(conn.getresponse().read())
        assert one["matched"] == 1
        assert one["connections"][0]["peer"] == "{}:{}".format(*socks[1].getsockname())
        assert one["connections"][0]["local"] == f"127.0.0.1:{echo.port}"
        assert one["total"] == 4  # the three echo clients and this one
        conn.close()
        for s in socks:
            s.close()


def test_serve_with_status_option() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reactor",
            "serve",
            "echo",
            "--port",
            "0",
            "--status",
            "127.0.0.1:0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    try:
        status_port = echo_port = 0
        deadline = time.monotonic() + 15
        while not (status_port and echo_port) and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if m := re.search(r"status page on http://127\.0\.0\.1:(\d+)/", line):
                status_port = int(m.group(1))
            if m := re.search(r"serving echo on 127\.0\.0\.1:(\d+)", line):
                echo_port = int(m.group(1))
        assert status_port and echo_port
        sock = client(echo_port)
        sock.setblocking(True)
        sock.sendall(b"Some Data")
        assert sock.recv(9) == b"Some Data"
        url = f"http://127.0.0.1:{status_port}/status.json"
        with urllib.request.urlopen(url, timeout=10) as reply:
            table = json.loads(reply.read())
        rows = {row["peer"]: row for row in table["connections"]}
        assert rows["{}:{}".format(*sock.getsockname())]["local"] == f"127.0.0.1:{echo_port}"
        sock.close()
        proc.terminate()
        assert proc.wait(15) == 0
    finally:
        reap(proc)


def _status_pair(rt: ReactorThread) -> tuple[Listener, Listener]:
    reactor = rt.reactor
    echo = rt.call(reactor.listen, lambda peer: EchoHandler(), "127.0.0.1", 0)
    factory = status_plugin.make_factory(reactor, argparse.Namespace(token="sesame"))
    status = rt.call(reactor.listen, factory, "127.0.0.1", 0)
    return echo, status


def test_metrics_count_what_the_clients_did() -> None:
    with ReactorThread() as rt, contextlib.ExitStack() as stack:
        echo, status = _status_pair(rt)
        socks = [stack.enter_context(client(echo.port)) for _ in range(3)]
        for s in socks:
            s.setblocking(True)
            s.sendall(b"x" * 100)
            assert s.recv(100) == b"x" * 100
        conn = http.client.HTTPConnection("127.0.0.1", status.port, timeout=10)
        stack.callback(conn.close)
        deadline = time.monotonic() + 10
        while True:  # the close reaches the reactor when it reaches it
            conn.request("GET", "/metrics")
            reply = conn.getresponse()
            text = reply.read().decode()
            got = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for fam in text_string_to_metric_families(text)
                for s in fam.samples
            }
            where = (("listener", f"127.0.0.1:{echo.port}"), ("plugin", ""))
            if got[("selreactor_connections_active", where)] == 3 or time.monotonic() > deadline:
                break
        assert reply.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
        assert got[("selreactor_connections_active", where)] == 3
        assert got[("selreactor_connections_accepted_total", where)] == 3
        assert got[("selreactor_received_bytes_total", where)] == 300
        assert got[("selreactor_sent_bytes_total", where)] == 300


def test_the_close_button_closes_from_loopback_only_with_the_header() -> None:
    with ReactorThread() as rt, contextlib.ExitStack() as stack:
        echo, status = _status_pair(rt)
        victim = stack.enter_context(client(echo.port))
        victim.setblocking(True)
        victim.settimeout(10)
        victim.sendall(b"hi")
        assert victim.recv(2) == b"hi"
        conn_id = next(c.id for c in rt.call(lambda: list(echo.connections.values())))
        conn = http.client.HTTPConnection("127.0.0.1", status.port, timeout=10)
        stack.callback(conn.close)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/close", body=f"id={conn_id}", headers=form)
        reply = conn.getresponse()
        assert reply.status == 403
        assert "loopback" in json.loads(reply.read())["error"]
        conn.request("POST", "/close", body="id=999999", headers={**form, "X-Status-Token": ""})
        reply = conn.getresponse()
        assert (reply.status, json.loads(reply.read())) == (
            404,
            {"error": "no connection #999999"},
        )
        conn.request(
            "POST", "/close", body=f"id={conn_id}", headers={**form, "X-Status-Token": ""}
        )
        reply = conn.getresponse()
        answer = json.loads(reply.read())
        assert reply.status == 200
        assert answer == {"closed": conn_id, "peer": "{}:{}".format(*victim.getsockname())}
        assert victim.recv(10) == b""  # the peer sees the close
