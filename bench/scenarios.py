"""The scenarios and the load generators that drive them.

Every load generator runs pinned to the client CPU and reports the same
shape of :class:`Measurement`: a rate, latency percentiles, and the number
of units (messages, requests, connections) the server's CPU time is divided
by.  The C load generator measures the server's CPU over its own window
(``--pid``); for wrk and redis-benchmark the harness reads it around the run.

The TLS scenarios run the same tools over TLS: the C load generator with
``--tls`` (ping-pong) or ``--mode handshake`` (full handshakes, no
resumption), wrk with an ``https://`` URL.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.system import process_cpu

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    proto: str  # echo | http | resp | tls-echo | https
    tool: str  # loadgen | connect | handshake | idle | wrk | redis
    unit: str  # what the throughput counts, per second
    conns: int = 100
    size: int = 64
    depth: int = 1
    note: str = ""


SCENARIOS: list[Scenario] = [
    Scenario("echo-64B-100c", "echo 64 B x 100 connections", "echo", "loadgen", "msg/s", 100, 64),
    Scenario(
        "echo-1KiB-100c", "echo 1 KiB x 100 connections", "echo", "loadgen", "msg/s", 100, 1024
    ),
    Scenario(
        "echo-16KiB-10c", "echo 16 KiB x 10 connections", "echo", "loadgen", "msg/s", 10, 16384
    ),
    Scenario(
        "echo-1KiB-1c",
        "echo 1 KiB x 1 connection (latency)",
        "echo",
        "loadgen",
        "msg/s",
        1,
        1024,
    ),
    Scenario(
        "bulk-64KiB-d16",
        "bulk: 1 connection, 64 KiB x 16 in flight",
        "echo",
        "loadgen",
        "MiB/s",
        1,
        65536,
        16,
        note="CPU per 64 KiB message",
    ),
    Scenario(
        "connect-rate",
        "connect, 64 B echo, close (50 at once)",
        "echo",
        "connect",
        "conn/s",
        50,
        64,
    ),
    Scenario("http-wrk-100c", "HTTP keep-alive, wrk 100 connections", "http", "wrk", "req/s", 100),
    Scenario(
        "resp-P1", "RESP ping/set/get, 50 clients, -P 1", "resp", "redis", "req/s", 50, depth=1
    ),
    Scenario(
        "resp-P16", "RESP ping/set/get, 50 clients, -P 16", "resp", "redis", "req/s", 50, depth=16
    ),
    Scenario(
        "tls-echo-1KiB-100c",
        "TLS echo 1 KiB x 100 connections",
        "tls-echo",
        "loadgen",
        "msg/s",
        100,
        1024,
        note="TLS 1.3, ECDSA P-256 certificate; handshakes before the measured window",
    ),
    Scenario(
        "https-wrk-100c",
        "HTTPS keep-alive, wrk 100 connections",
        "https",
        "wrk",
        "req/s",
        100,
        note="wrk over TLS; the 100 handshakes are inside the measured window",
    ),
    Scenario(
        "tls-handshake",
        "TLS full handshake, 64 B echo, close (50 at once)",
        "tls-echo",
        "handshake",
        "hs/s",
        50,
        64,
        note="no session resumption; CPU per unit is the server's CPU per full handshake",
    ),
    Scenario(
        "idle-10k",
        "RSS per idle connection, 10,000 connections",
        "echo",
        "idle",
        "B/conn",
        10000,
        16,
    ),
]


@dataclass
class Measurement:
    throughput: float
    p50_us: float | None
    p99_us: float | None
    server_cpu_s: float
    units: int
    errors: int = 0
    verify_failures: int = 0
    raw: dict[str, object] = field(default_factory=dict)

    @property
    def cpu_us_per_unit(self) -> float | None:
        if self.units <= 0:
            return None
        return self.server_cpu_s * 1e6 / self.units


class ClientError(RuntimeError):
    """The load generator failed or printed something unreadable."""


def _run(argv: list[str], timeout: float) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ClientError(f"{argv[0]} timed out after {timeout:.0f} s") from exc
    if out.returncode not in (0, 1, 2):
        raise ClientError(f"{' '.join(argv)} exited {out.returncode}: {out.stderr.strip()[-500:]}")
    if not out.stdout.strip():
        raise ClientError(f"{' '.join(argv)} printed nothing: {out.stderr.strip()[-500:]}")
    return out.stdout


TLS_PROTOS = ("tls-echo", "https")


def cpu_of(pids: tuple[int, ...]) -> float:
    """utime + stime of all of ``pids``, in seconds."""
    return sum(process_cpu(pid) for pid in pids)


def run_loadgen(
    *,
    pin: list[str],
    loadgen: Path,
    scenario: Scenario,
    port: int,
    pids: tuple[int, ...],
    duration: float,
    warmup: float,
) -> Measurement:
    mode = scenario.tool if scenario.tool in ("connect", "handshake") else "pingpong"
    argv = [*pin, str(loadgen), "--port", str(port), "--mode", mode]
    for pid in pids:
        argv += ["--pid", str(pid)]
    if scenario.proto in TLS_PROTOS:
        argv.append("--tls")
    argv += ["-c", str(scenario.conns), "-s", str(scenario.size), "-d", str(scenario.depth)]
    argv += ["-t", str(duration), "-w", str(warmup)]
    data = json.loads(_run(argv, timeout=duration + warmup + 60))
    msgs = int(data["messages"])
    rate = float(data["msgs_per_s"])
    if scenario.unit == "MiB/s":
        rate = float(data["bytes_per_s"]) / 2**20
    return Measurement(
        throughput=rate,
        p50_us=float(data["p50_us"]) if msgs else None,
        p99_us=float(data["p99_us"]) if msgs else None,
        server_cpu_s=float(data["server_cpu_s"]),
        units=msgs,
        errors=int(data["errors"]),
        verify_failures=int(data["verify_failures"]),
        raw=data,
    )


_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def _wrk_latency(text: str, pct: str) -> float | None:
    match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def run_wrk(
    pin: list[str], scenario: Scenario, port: int, pids: tuple[int, ...], duration: float
) -> Measurement:
    seconds = max(1, round(duration))
    argv = [*pin, "wrk", "-t1", f"-c{scenario.conns}", f"-d{seconds}s", "--latency"]
    scheme = "https" if scenario.proto == "https" else "http"
    argv.append(f"{scheme}://127.0.0.1:{port}/")
    cpu0 = cpu_of(pids)
    text = _run(argv, timeout=seconds + 60)
    cpu = cpu_of(pids) - cpu0
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    total = re.search(r"^\s*(\d+) requests in", text, re.M)
    if rps is None or total is None:
        raise ClientError(f"unreadable wrk output: {text[-400:]}")
    errors = 0
    for match in re.finditer(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    ):
        errors += sum(int(g) for g in match.groups())
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if bad:
        errors += int(bad.group(1))
    return Measurement(
        throughput=float(rps.group(1)),
        p50_us=_wrk_latency(text, "50"),
        p99_us=_wrk_latency(text, "99"),
        server_cpu_s=cpu,
        units=int(total.group(1)),
        errors=errors,
        raw={"output": text},
    )


REDIS_TESTS = "ping,set,get"


def run_redis_benchmark(
    pin: list[str], scenario: Scenario, port: int, pids: tuple[int, ...], requests: int
) -> Measurement:
    argv = [*pin, "redis-benchmark", "-h", "127.0.0.1", "-p", str(port)]
    argv += ["-c", str(scenario.conns), "-n", str(requests), "-P", str(scenario.depth)]
    argv += ["-t", REDIS_TESTS, "--csv"]
    cpu0 = cpu_of(pids)
    text = _run(argv, timeout=300)
    cpu = cpu_of(pids) - cpu0
    tests: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) < 7 or cells[0] == "test":
            continue
        try:
            tests[cells[0]] = {"rps": float(cells[1]), "p50_ms": float(cells[4])}
            tests[cells[0]]["p99_ms"] = float(cells[6])
        except ValueError:
            continue
    if not tests or any(t["rps"] <= 0 for t in tests.values()):
        raise ClientError(f"unreadable redis-benchmark output: {text[-400:]}")
    # Each test ran the same number of requests: the rate over all of them
    # is the total divided by the summed time.
    seconds = sum(requests / t["rps"] for t in tests.values())
    p50s = sorted(t["p50_ms"] for t in tests.values())
    return Measurement(
        throughput=requests * len(tests) / seconds,
        p50_us=p50s[len(p50s) // 2] * 1e3,
        p99_us=max(t["p99_ms"] for t in tests.values()) * 1e3,
        server_cpu_s=cpu,
        units=requests * len(tests),
        raw={"tests": tests},
    )
