"""``reactor serve NAME --workers N``: restarts, reloads, signals, socket activation."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.externals import program
from tests.servers import ENV, ROOT, Server, poll, start

pytestmark = pytest.mark.slow


def echo_round_trip(sock: socket.socket, payload: bytes = b"ping") -> None:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(len(payload) - len(got))
        assert chunk, "closed"
        got += chunk
    assert got == payload


def workers_of(server: Server) -> dict[int, set[str]]:
    """worker slot -> the peers it serves, from the supervisor's status page."""
    found: dict[int, set[str]] = {}
    for row in server.rows():
        found.setdefault(int(str(row["worker"])), set()).add(str(row["peer"]))
    return found


def pids_of(server: Server) -> dict[int, int]:
    return {int(str(r["worker"])): int(str(r["pid"])) for r in server.rows()}


def test_a_killed_worker_is_restarted_and_the_other_carries_on() -> None:
    server = start("echo", "--workers", "2", "--log-level", "INFO")
    clients: list[socket.socket] = []
    try:
        # connect until both workers serve someone (the kernel picks who accepts)
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            echo_round_trip(sock)
            clients.append(sock)
            if len(clients) % 10 == 0:
                poll(lambda: len(server.rows()) >= len(clients), what="reports")
                if len(workers_of(server)) == 2:
                    break
        table = workers_of(server)
        assert len(table) == 2, "one worker took every connection"
        victim_pid = pids_of(server)[0]
        mine = {"{}:{}".format(*s.getsockname()): s for s in clients}
        survivors = [mine[peer] for peer in table[1]]
        os.kill(victim_pid, signal.SIGKILL)
        for _ in range(20):  # the other worker's clients under load meanwhile
            for sock in survivors:
                echo_round_trip(sock, b"x" * 1000)

        def restarted() -> bool:
            # the kill must be logged first: before it, the log's first "worker 0
            # started" would pass for the restart
            _, found, after = server.log().partition("killed by SIGKILL")
            if not found:
                return False
            return "worker 0 started" in after or any(
                w == 0 and p != victim_pid for w, p in pids_of(server).items()
            )

        poll(restarted, what="worker 0 restarted")
        assert "killed by SIGKILL" in server.log()
        fresh = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        echo_round_trip(fresh)
        fresh.close()
    finally:
        for sock in clients:
            sock.close()
        assert server.stop() == 0


def test_sighup_under_wrk_load_fails_no_request() -> None:
    wrk = program("wrk", "wrk")
    server = start("http", "--workers", "2", "--log-level", "INFO")
    try:
        load = subprocess.Popen(
            [wrk, "-t2", "-c16", "-d6s", f"http://127.0.0.1:{server.port}/"],
            stdout=subprocess.PIPE,
            text=True,
        )
        # the reload lands in the middle of the run: once every wrk connection is served
        poll(lambda: sum(1 for r in server.rows() if r["bytes_out"]) >= 16, what="load")
        server.proc.send_signal(signal.SIGHUP)
        out, _ = load.communicate(timeout=60)
        assert load.returncode == 0, out
        assert "Socket errors" not in out, out
        assert "Non-2xx" not in out, out
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        assert requests > 100, out
        poll(lambda: server.log().count("drains") >= 2, what="the old generation drained")
        assert "starting generation 1" in server.log()
    finally:
        assert server.stop() == 0


def test_a_plugin_that_cannot_start_is_restarted_with_back_off() -> None:
    server = start(
        "tests.loopback.cli_plugins:plugin_bug",
        "--workers",
        "2",
        "--log-level",
        "INFO",
        status=False,
    )
    try:
        began = time.monotonic()
        # two slots, each: the start, then restarts after 0.25, 0.5, 1 s
        poll(lambda: server.log().count("started (pid") >= 8, timeout=30, what="restarts")
        assert time.monotonic() - began >= 1.5
        assert server.proc.poll() is None  # the supervisor carries on
    finally:
        assert server.stop() == 0


def test_sigttin_and_sigttou_add_and_remove_a_worker() -> None:
    server = start("echo", "--workers", "1", "--log-level", "INFO")
    try:
        server.proc.send_signal(signal.SIGTTIN)
        poll(lambda: "worker 1 started" in server.log(), what="a second worker")
        server.proc.send_signal(signal.SIGTTOU)
        poll(lambda: "worker 1 (pid" in server.log().split("SIGTTOU", 1)[-1], what="removed")
    finally:
        assert server.stop() == 0


# The child puts the socket where systemd would (descriptor 3) and names itself
# in LISTEN_PID, as systemd does between its fork and exec.
ACTIVATED = """
import os, sys
fd = int(sys.argv.pop(1))
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ["LISTEN_PID"] = str(os.getpid())
from reactor.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_socket_activation(workers: list[str]) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    argv = [sys.executable, "-c", ACTIVATED, str(listener.fileno()), "serve", "echo", *workers]
    proc = subprocess.Popen(
        argv,
        env={**ENV, "LISTEN_FDS": "1"},
        pass_fds=(listener.fileno(),),
        stderr=subprocess.PIPE,
        text=True,
    )
    listener.close()
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(1)]
        assert f"serving echo on 127.0.0.1:{port}" in lines[0], lines
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        echo_round_trip(sock)
        sock.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        proc.stderr.close()


def test_the_systemd_units_of_the_deployment_page() -> None:
    deploy = ROOT / "docs" / "deploy"
    unit = (deploy / "selreactor.service").read_text(encoding="utf-8")
    command = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    words = shlex.split(command.removeprefix("ExecStart="))
    assert words[:2] == ["/usr/bin/env", "reactor"]
    args = [w.replace(":8080", ":0") for w in words[2:]]  # any free port for the page
    sockets = (deploy / "selreactor.socket").read_text(encoding="utf-8")
    listen = next(line for line in sockets.splitlines() if line.startswith("ListenStream="))
    host = listen.removeprefix("ListenStream=").rpartition(":")[0]
    listener = socket.create_server((host, 0))  # port 0: the test's, not 5678
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", ACTIVATED, str(listener.fileno()), *args],
        env={**ENV, "LISTEN_FDS": "1"},
        pass_fds=(listener.fileno(),),
        stderr=subprocess.PIPE,
        text=True,
    )
    listener.close()
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(2)]
        assert any(f"serving echo on {host}:{port} with 2 workers" in line for line in lines)
        sock = socket.create_connection((host, port), timeout=10)
        echo_round_trip(sock)
        sock.close()
        proc.send_signal(signal.SIGHUP)  # ExecReload
    finally:
        proc.send_signal(signal.SIGTERM)  # KillMode=mixed: the supervisor alone
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        proc.stderr.close()
