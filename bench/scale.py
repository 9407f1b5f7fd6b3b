"""``python -m bench.scale``: workers' spread and the proxy plugin's cost.

1. With ``--workers 2``, open 1,000 connections and count each worker's
   (``/status.json`` of the supervisor): max/min per worker, with the shared
   socket and with ``--reuse-port``, side by side.
2. CPU per forwarded message on the same path (client -> X -> ``serve echo``):
   X = nothing (the echo's own cost), the ``proxy`` plugin, HAProxy.  The CPU
   is the process's user+system time from /proc, divided by the messages.

On a two-core machine the load generator shares the cores: these figures
measure correctness of distribution and cost per message, not scaling.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
TICKS = os.sysconf("SC_CLK_TCK")


class Served:
    """``reactor serve`` in a subprocess; ``port`` and ``status`` read from its stderr."""

    def __init__(self, *args: str) -> None:
        argv = [sys.executable, "-m", "reactor", "serve", *args, "--port", "0"]
        argv += ["--log-level", "WARNING"]  # the announcements are printed anyway
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=ENV)
        self.port = 0
        self.status = 0
        workers = "--workers" in args
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                if m := re.search(r"status page on http://\S+:(\d+)/", line):
                    self.status = int(m.group(1))
                if m := re.search(r"serving \S+ on \S+:(\d+)", line):
                    self.port = int(m.group(1))
                    if not workers:
                        ready.set()
                if "workers ready" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or not self.port:
            self.stop()
            raise SystemExit(f"bench.scale: {' '.join(args)} did not start")

    def rows(self) -> list[dict[str, object]]:
        url = f"http://127.0.0.1:{self.status}/status.json"
        with urllib.request.urlopen(url, timeout=10) as reply:
            table = json.loads(reply.read())
        return [
            r for local, rows in table.items() if local.endswith(f":{self.port}") for r in rows
        ]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def spread(connections: int, reuse_port: bool) -> dict[int, int]:
    args = ["echo", "--workers", "2", "--status", "127.0.0.1:0", "--backlog", "2048"]
    server = Served(*args, *(["--reuse-port"] if reuse_port else []))
    socks = []
    try:
        for _ in range(connections):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
        deadline = time.monotonic() + 60
        while True:
            rows = server.rows()
            if len(rows) >= connections or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # the workers report twice a second
        counts: dict[int, int] = {0: 0, 1: 0}
        for row in rows:
            counts[int(str(row["worker"]))] += 1
        return counts
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def ping_pong(port: int, connections: int, messages: int, size: int = 64) -> None:
    """``messages`` round trips of ``size`` bytes on each of ``connections``."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(connections)]
    payload = b"m" * size
    for sock in socks:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(messages):
        for sock in socks:
            sock.sendall(payload)
        for sock in socks:
            got = 0
            while got < size:
                chunk = sock.recv(size - got)
                if not chunk:
                    raise SystemExit("bench.scale: the peer closed")
                got += len(chunk)
    for sock in socks:
        sock.close()


def haproxy_in_front(backend: int) -> tuple[subprocess.Popen[bytes], int, Path] | None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        front = probe.getsockname()[1]
    env = {**os.environ, "FRONT_PORT": str(front), "BACKEND_PORT": str(backend)}
    # the Deployment page's configuration, without the PROXY header: same path as the proxy's
    text = (ROOT / "docs" / "deploy" / "haproxy.cfg").read_text()
    text = text.replace('"${SEND_PROXY[*]}"', "").replace("maxconn 4096", "maxconn 1000")
    config = Path(tempfile.mkdtemp()) / "haproxy.cfg"
    config.write_text(text)
    proc = subprocess.Popen([haproxy, "-db", "-f", str(config)], env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", front), timeout=1).close()
            return proc, front, config
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None


def cost(connections: int, messages: int) -> dict[str, float]:
    total = connections * messages
    results: dict[str, float] = {}
    echo = Served("echo")
    try:
        before = cpu_seconds(echo.proc.pid)
        ping_pong(echo.port, connections, messages)
        results["echo alone (the echo's CPU)"] = (cpu_seconds(echo.proc.pid) - before) / total
        proxy = Served("proxy", "--to", f"127.0.0.1:{echo.port}")
        try:
            before = cpu_seconds(proxy.proc.pid)
            ping_pong(proxy.port, connections, messages)
            results["proxy plugin (its CPU)"] = (cpu_seconds(proxy.proc.pid) - before) / total
        finally:
            proxy.stop()
        front = haproxy_in_front(echo.port)
        if front is not None:
            proc, port, config = front
            try:
                before = cpu_seconds(proc.pid)
                ping_pong(port, connections, messages)
                results["haproxy (its CPU)"] = (cpu_seconds(proc.pid) - before) / total
            finally:
                proc.terminate()
                proc.wait(10)
                config.unlink()
    finally:
        echo.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=20, help="connections for the cost run")
    parser.add_argument("--messages", type=int, default=2000, help="round trips per connection")
    options = parser.parse_args(argv)
    print(f"spread of {options.connections} connections over 2 workers")
    for label, reuse in (("shared socket", False), ("--reuse-port", True)):
        counts = spread(options.connections, reuse)
        low, high = min(counts.values()), max(counts.values())
        ratio = high / low if low else float("inf")
        print(f"  {label:<14} per worker {counts[0]:>5} {counts[1]:>5}   max/min {ratio:.2f}")
    print(f"CPU per forwarded message ({options.pairs} connections x {options.messages} x 64 B)")
    for label, seconds in cost(options.pairs, options.messages).items():
        print(f"  {label:<30} {seconds * 1e6:8.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
