"""Plugins count through the reactor's registry: HTTP requests, RESP commands, chat lines."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import socket
import time

import redis
from prometheus_client.parser import text_string_to_metric_families

from protocols.status import plugin as status_plugin
from reactor import metrics, plugins
from reactor.embedding import ReactorThread
from tests.helpers import client

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def serve(rt: ReactorThread, name: str) -> int:
    factory = plugins.load(name).make_factory(rt.reactor, argparse.Namespace())
    return int(rt.call(rt.reactor.listen, factory, "127.0.0.1", 0).port)


def test_http_resp_and_chat_figures() -> None:
    with ReactorThread() as rt, contextlib.ExitStack() as stack:
        http_port = serve(rt, "http")
        resp_port = serve(rt, "resp")
        chat_port = serve(rt, "chat")
        status = rt.call(
            rt.reactor.listen,
            status_plugin.make_factory(rt.reactor, argparse.Namespace()),
            "127.0.0.1",
            0,
        )
        web = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        stack.callback(web.close)
        for path in ("/", "/", "/nowhere"):
            web.request("GET", path)
            web.getresponse().read()
        web.request("BREW", "/")
        web.getresponse().read()
        r = redis.Redis(port=resp_port, socket_timeout=10)
        stack.callback(r.close)
        r.set("k", "v")
        assert r.get("k") == b"v"
        assert r.get("k") == b"v"
        alice = stack.enter_context(client(chat_port))
        bob = stack.enter_context(client(chat_port))
        for s in (alice, bob):
            s.setblocking(True)
            s.settimeout(10)
        alice.sendall(b"hello\n")
        wait_for_line(bob, b"<127.0.0.1:%d> hello" % alice.getsockname()[1])
        got = scrape(status.port)
        assert got[("selreactor_http_requests_total", (("method", "GET"), ("status", "200")))] == 2
        assert got[("selreactor_http_requests_total", (("method", "GET"), ("status", "404")))] == 1
        assert (
            got[("selreactor_http_requests_total", (("method", "other"), ("status", "405")))] == 1
        )
        assert got[("selreactor_http_request_duration_seconds_count", (("method", "GET"),))] == 3
        assert got[("selreactor_resp_commands_total", (("command", "get"),))] == 2
        assert got[("selreactor_resp_commands_total", (("command", "set"),))] == 1
        assert got[("selreactor_chat_messages_total", ())] == 1
        assert got[("selreactor_chat_members", ())] == 2
        # the same figures for an embedder, without HTTP
        families = rt.call(metrics.collect, rt.reactor)
        assert metrics.value(families, "selreactor_resp_commands_total", command="get") == 2


def wait_for_line(sock: socket.socket, wanted: bytes) -> None:
    seen = b""
    deadline = time.monotonic() + 10
    while wanted not in seen and time.monotonic() < deadline:
        seen += sock.recv(4096)
    assert wanted in seen
