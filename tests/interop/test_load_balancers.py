"""HAProxy and nginx's stream module in front of ``--proxy-protocol --workers 2``.

The configurations are the files the Deployment page shows
(docs/deploy/haproxy.cfg, docs/deploy/nginx.conf), run as they are.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.externals import program, unavailable
from tests.servers import ROOT, Server, poll, start

DEPLOY = ROOT / "docs" / "deploy"
CLIENTS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def running(
    argv: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()


def check_table_keys_clients(server: Server, front: int) -> None:
    clients = [socket.create_connection(("127.0.0.1", front), timeout=10) for _ in range(CLIENTS)]
    try:
        for sock in clients:
            sock.sendall(b"hello")
            assert sock.recv(5) == b"hello"  # through the balancer and back
        wanted = {"{}:{}".format(*sock.getsockname()) for sock in clients}

        def listed() -> bool:
            return wanted <= {str(row["peer"]) for row in server.rows()}

        poll(listed, what="every client's address in the table")
        rows = [row for row in server.rows() if row["peer"] in wanted]
        assert all(str(row["proxy"]).startswith("127.0.0.1:") for row in rows)
        assert {row["worker"] for row in rows} <= {0, 1}
    finally:
        for sock in clients:
            sock.close()


@pytest.fixture
def echo_behind_a_proxy() -> Iterator[Server]:
    server = start(
        "echo",
        "--proxy-protocol",
        "--proxy-trusted",
        "127.0.0.1/32",
        "--workers",
        "2",
        "--log-level",
        "WARNING",
    )
    try:
        yield server
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("send_proxy", ["send-proxy", "send-proxy-v2 proxy-v2-options crc32c"])
def test_haproxy(echo_behind_a_proxy: Server, send_proxy: str) -> None:
    haproxy = program("haproxy", "haproxy")
    front = free_port()
    env = {
        **os.environ,
        "FRONT_PORT": str(front),
        "BACKEND_PORT": str(echo_behind_a_proxy.port),
        "SEND_PROXY": send_proxy,
    }
    config = str(DEPLOY / "haproxy.cfg")
    checked = subprocess.run(
        [haproxy, "-c", "-q", "-f", config], env=env, capture_output=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr
    with running([haproxy, "-db", "-f", config], env) as proc:
        poll(lambda: accepting(front) or proc.poll() is not None, what="haproxy listening")
        assert proc.poll() is None
        check_table_keys_clients(echo_behind_a_proxy, front)


def nginx_stream_module() -> Path:
    nginx = program("nginx", "nginx-light")
    version = subprocess.run(
        [nginx, "-V"], check=False, capture_output=True, text=True, timeout=30
    ).stderr
    modules = Path("/usr/lib/nginx/modules")
    if "--with-stream" not in version or not (modules / "ngx_stream_module.so").exists():
        unavailable("nginx's stream module", "libnginx-mod-stream")
    return modules


def test_nginx_stream(echo_behind_a_proxy: Server, tmp_path: Path) -> None:
    modules = nginx_stream_module()
    front = free_port()
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for name, value in {
        "@FRONT_PORT@": str(front),
        "@BACKEND_PORT@": str(echo_behind_a_proxy.port),
        "@PREFIX@": str(tmp_path),
        "@MODULES@": str(modules),
    }.items():
        text = text.replace(name, value)
    config = tmp_path / "nginx.conf"
    config.write_text(text, encoding="utf-8")
    with running(["nginx", "-p", str(tmp_path), "-c", str(config)]) as proc:
        poll(lambda: accepting(front) or proc.poll() is not None, what="nginx listening")
        assert proc.poll() is None
        check_table_keys_clients(echo_behind_a_proxy, front)
