"""The live status page beside an echo server, read by real HTTP clients."""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.request

from protocols.echo import EchoHandler
from protocols.status import plugin as status_plugin
from reactor.embedding import ReactorThread
from tests.helpers import client
from tests.loopback.test_cli import ENV


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
        conn.request("GET", "/status.json")
        table = json.loads(conn.getresponse().read())
        peers = {row["peer"] for row in table[f"127.0.0.1:{echo.port}"]}
        assert peers == {"{}:{}".format(*s.getsockname()) for s in socks}
        assert all(row["bytes_in"] == 4 for row in table[f"127.0.0.1:{echo.port}"])
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        assert f"127.0.0.1:{echo.port}: 3 connections" in page
        assert 'http-equiv="refresh"' in page
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
        assert "{}:{}".format(*sock.getsockname()) in {
            row["peer"] for row in table[f"127.0.0.1:{echo_port}"]
        }
        sock.close()
        proc.terminate()
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stderr.close()
