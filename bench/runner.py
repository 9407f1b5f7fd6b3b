"""Run the benchmark: ``python -m bench [--quick]`` from the repository root.

Fairness.  The server runs pinned to one CPU and every load generator (and
this harness) to the other, so a server never competes with its client for
a core.  Each repetition starts every server afresh and the order of the
servers rotates from one repetition to the next, so slow drift of the
machine spreads over all of them; the figures reported are medians over
the repetitions.  A measurement during which other processes used more than
``--max-foreign`` of a CPU is redone (within a budget) and otherwise kept
but flagged.  Because the client can saturate its core before a fast server
does, the server's own CPU time per message is reported next to the rate.

TLS.  The load generator is built with OpenSSL (``-DLOADGEN_TLS -lssl
-lcrypto``) when its headers are there, else without, and the TLS
scenarios are then skipped with the reason.  Every TLS server gets a fresh
throwaway certificate in its temp dir (see :mod:`bench.peers`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pstats
import shlex
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench import peers, report, system
from bench.scenarios import (
    SCENARIOS,
    TLS_PROTOS,
    ClientError,
    Measurement,
    Scenario,
    cpu_of,
    run_loadgen,
    run_redis_benchmark,
    run_wrk,
)
from bench.servers.certs import CertError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = peers.ROOT
PY = peers.PY
RESULTS = ROOT / "bench" / "results"
IDLE_TIMEOUT = 300.0
MAX_STEAL = 0.25  # of a CPU taken by the hypervisor during a measurement
LOG_LINES = 20  # more than this in a server's log is reported as a problem
PROFILE_TOP = 40  # functions kept from a --profile run


@dataclass(frozen=True)
class Config:
    mode: str
    reps: int
    duration: float
    warmup: float
    redis_p1: int
    redis_p16: int
    idle_conns: int
    idle_reps: int
    micro_n: int
    micro_reps: int
    retries: int
    retry_budget: int
    max_foreign: float


QUICK = Config("quick", 3, 0.5, 0.15, 5000, 20000, 10000, 1, 100_000, 3, 1, 6, 0.15)
FULL = Config("full", 5, 5.0, 1.0, 100000, 1000000, 10000, 3, 200_000, 7, 2, 200, 0.10)


@dataclass(frozen=True)
class Live:
    """A started server: its process, the port it listens on, and its helpers."""

    proc: subprocess.Popen[bytes]
    port: int
    helpers: tuple[subprocess.Popen[bytes], ...] = ()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def pids(self) -> tuple[int, ...]:
        """The server's process and its helpers': their CPU is the server's."""
        return (self.proc.pid, *(h.pid for h in self.helpers))


@dataclass
class Run:
    scenario: str
    server: str
    rep: int
    attempt: int
    throughput: float
    p50_us: float | None
    p99_us: float | None
    cpu_us_per_unit: float | None
    foreign_cpu: float
    steal: float
    disturbed: bool
    errors: int
    verify_failures: int
    raw: dict[str, object] = field(default_factory=dict)


class Harness:
    def __init__(self, config: Config, args: argparse.Namespace) -> None:
        self.config = config
        self.args = args
        self.runs: list[Run] = []
        self.skips: dict[tuple[str, str], str] = {}
        self.failures: list[str] = []
        self.how: dict[str, str] = {}
        cpus = system.usable_cpus()
        self.pinned = len(cpus) >= 2 and shutil.which("taskset") is not None
        if self.pinned:
            self.server_cpu, self.client_cpu = cpus[0], cpus[1]
            os.sched_setaffinity(0, {self.client_cpu})
            self.server_pin = ["taskset", "-c", str(self.server_cpu)]
            self.client_pin = ["taskset", "-c", str(self.client_cpu)]
        else:
            self.server_cpu = self.client_cpu = cpus[0]
            self.server_pin, self.client_pin = [], []
        self.nofile = system.raise_nofile(config.idle_conns * 2 + 1000)
        self.loadgen: Path | None = None
        self.loadgen_tls = False
        self.noisy: set[tuple[str, str]] = set()
        self.retries_left = config.retry_budget

    # -- building --------------------------------------------------------------

    def build(self) -> None:
        """Compile the C load generator and echo server into bench/build/."""
        gcc = shutil.which("gcc") or shutil.which("cc")
        if gcc is None:
            self.failures.append("no C compiler: the echo scenarios are skipped")
            return
        peers.BUILD.mkdir(parents=True, exist_ok=True)
        for name in ("loadgen", "c_echo"):
            src = ROOT / "bench" / f"{name}.c"
            out = peers.BUILD / name
            out.unlink(missing_ok=True)
            cmd = [gcc, "-O2", "-Wall", "-o", str(out), str(src)]
            if name == "loadgen":
                tls = [gcc, "-O2", "-Wall", "-DLOADGEN_TLS", "-o", str(out), str(src)]
                tls += ["-lssl", "-lcrypto"]
                done = subprocess.run(tls, capture_output=True, text=True, check=False)
                if done.returncode == 0:
                    self.loadgen_tls = True
                    continue
                self.failures.append(
                    "building loadgen with OpenSSL failed (libssl-dev missing?), so the TLS "
                    f"scenarios are skipped: {done.stderr.strip()[-200:]}"
                )
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                self.failures.append(f"building {name} failed: {done.stderr.strip()[-300:]}")
        if self.loadgen_tls:
            src = ROOT / "bench" / "servers" / "c_tls_echo.c"
            out = peers.BUILD / "c_tls_echo"
            out.unlink(missing_ok=True)
            cmd = [gcc, "-O2", "-Wall", "-o", str(out), str(src), "-lssl", "-lcrypto"]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                self.failures.append(f"building c_tls_echo failed: {done.stderr.strip()[-300:]}")
        if (peers.BUILD / "loadgen").exists():
            self.loadgen = peers.BUILD / "loadgen"

    # -- servers -----------------------------------------------------------------

    @contextlib.contextmanager
    def serving(
        self, server: peers.Server, proto: str, idle: float | None = None
    ) -> Iterator[Live]:
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-{server.name}-"))
        helpers: list[subprocess.Popen[bytes]] = []
        proc: subprocess.Popen[bytes] | None = None
        profile = tmp / "server.prof"
        try:
            port = _free_port()
            try:
                launch = server.launch(proto, port, self.server_cpu, tmp, idle)
            except CertError as exc:
                raise ServerError(str(exc)) from exc
            if launch.config is not None:
                (tmp / launch.config[0]).write_text(launch.config[1])
            env = clean_env()
            if server.name == peers.SUBJECT:
                label = proto if idle is None else f"{proto}, idle scenario"
                shown = ["python", *launch.argv[1:]] if launch.argv[0] == PY else launch.argv
                self.how[label] = shlex.join(_shown_arg(a, port, tmp) for a in shown)
            # helpers share the server's CPU: they are part of what it costs
            for n, (argv, helper_port) in enumerate(launch.helpers):
                helper_log = tmp / f"helper{n}.log"
                helpers.append(self._start(argv, helper_log, env))
                _wait_ready(helpers[-1], helper_port, helper_log)
            log_path = tmp / "server.log"
            argv = launch.argv
            if self.args.profile and server.name == peers.SUBJECT and argv[1:2] == ["-m"]:
                argv = [argv[0], "-m", "cProfile", "-o", str(profile), *argv[1:]]
            proc = self._start(argv, log_path, env)
            _wait_ready(proc, port, log_path)
            yield Live(proc, port, tuple(helpers))
        finally:
            for started in ([proc] if proc is not None else []) + helpers:
                _stop(started)
            self._log_check(server, proto, tmp / "server.log")
            if profile.exists():
                self._keep_profile(profile, proto if idle is None else f"{proto}-idle")
            shutil.rmtree(tmp, ignore_errors=True)

    def _log_check(self, server: peers.Server, proto: str, log_path: Path) -> None:
        """A server that logged much did work the others did not: say so once."""
        try:
            lines = log_path.read_text(errors="replace").splitlines()
        except OSError:
            return
        if len(lines) > LOG_LINES and (server.name, proto) not in self.noisy:
            self.noisy.add((server.name, proto))
            self.failures.append(
                f"{server.name} ({proto}) logged {len(lines)} lines while measured, which "
                f"costs it CPU; the first after start-up: {lines[1][:200]}"
            )

    def _keep_profile(self, profile: Path, label: str) -> None:
        """The subject's cProfile, top functions by own time, into the results dir."""
        out = self.args.results / f"profile-{label}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        try:
            stats = pstats.Stats(str(profile), stream=text)
        except (OSError, EOFError, TypeError, ValueError) as exc:
            self.failures.append(f"profile of selreactor ({label}) unreadable: {exc}")
            return
        stats.sort_stats("tottime").print_stats(PROFILE_TOP)
        out.write_text(text.getvalue())
        print(f"bench: wrote {out}", file=sys.stderr)

    def _start(
        self, argv: list[str], log_path: Path, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        with open(log_path, "wb") as log:
            return subprocess.Popen(
                [*self.server_pin, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=env,
            )

    # -- measuring ---------------------------------------------------------------

    def measure(
        self,
        scenario: Scenario,
        server: peers.Server,
        rep: int,
        pids: tuple[int, ...],
        once: Callable[[], Measurement],
    ) -> None:
        for attempt in range(self.config.retries + 1):
            watch = system.Disturbance()
            cpu0 = cpu_of(pids)
            try:
                m = once()
            except ClientError as exc:
                self.failures.append(f"{scenario.key} / {server.name}: {exc}")
                return
            watch.stop(cpu_of(pids) - cpu0)
            disturbed = watch.foreign > self.config.max_foreign or watch.steal > MAX_STEAL
            run = Run(
                scenario=scenario.key,
                server=server.name,
                rep=rep,
                attempt=attempt,
                throughput=m.throughput,
                p50_us=m.p50_us,
                p99_us=m.p99_us,
                cpu_us_per_unit=m.cpu_us_per_unit,
                foreign_cpu=round(watch.foreign, 4),
                steal=round(watch.steal, 4),
                disturbed=disturbed,
                errors=m.errors,
                verify_failures=m.verify_failures,
                raw={"loadavg": list(watch.loadavg), **_small(m.raw)},
            )
            _progress(run, scenario)
            if not disturbed or attempt == self.config.retries or self.retries_left <= 0:
                self.runs.append(run)
                return
            self.retries_left -= 1
            time.sleep(0.5)

    def one(self, scenario: Scenario, proc: Live) -> Callable[[], Measurement]:
        port = proc.port
        cfg = self.config
        if scenario.tool in ("loadgen", "connect", "handshake"):
            assert self.loadgen is not None
            loadgen = self.loadgen
            return lambda: run_loadgen(
                pin=self.client_pin,
                loadgen=loadgen,
                scenario=scenario,
                port=port,
                pids=proc.pids,
                duration=cfg.duration,
                warmup=cfg.warmup,
            )
        if scenario.tool == "wrk":
            return lambda: run_wrk(self.client_pin, scenario, port, proc.pids, cfg.duration)
        if scenario.tool == "redis":
            n = cfg.redis_p1 if scenario.depth == 1 else cfg.redis_p16
            return lambda: run_redis_benchmark(self.client_pin, scenario, port, proc.pids, n)
        raise ValueError(scenario.tool)

    def idle(self, scenario: Scenario, server: peers.Server, rep: int) -> None:
        assert self.loadgen is not None
        idle = IDLE_TIMEOUT if server.name == peers.SUBJECT else None
        with self.serving(server, "echo", idle) as proc:
            time.sleep(0.3)
            rss0 = system.vm_rss(proc.pid)
            cpu0 = system.process_cpu(proc.pid)
            argv = [*self.client_pin, str(self.loadgen), "--mode", "idle"]
            argv += ["--port", str(proc.port), "-c", str(scenario.conns)]
            argv += ["-s", str(scenario.size), "--hold", "300"]
            holder = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            assert holder.stdout is not None and holder.stdin is not None
            line = holder.stdout.readline()
            time.sleep(0.5)
            rss1 = system.vm_rss(proc.pid)
            cpu = system.process_cpu(proc.pid) - cpu0
            holder.stdin.close()
            try:
                holder.wait(60)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait()
            if not line:
                err = holder.stderr.read().decode(errors="replace") if holder.stderr else ""
                self.failures.append(
                    f"{scenario.key} / {server.name}: loadgen failed: {err[-300:]}"
                )
                return
            data = json.loads(line)
            opened = int(data["opened"])
            if opened < scenario.conns:
                self.failures.append(
                    f"{scenario.key} / {server.name}: "
                    f"only {opened} of {scenario.conns} connections"
                )
            if opened <= 0:
                return
            run = Run(
                scenario=scenario.key,
                server=server.name,
                rep=rep,
                attempt=0,
                throughput=(rss1 - rss0) / opened,
                p50_us=None,
                p99_us=None,
                cpu_us_per_unit=cpu * 1e6 / opened,
                foreign_cpu=0.0,
                steal=0.0,
                disturbed=False,
                errors=int(data["errors"]),
                verify_failures=int(data["verify_failures"]),
                raw={"rss_before": rss0, "rss_after": rss1, "opened": opened},
            )
            _progress(run, scenario)
            self.runs.append(run)

    # -- the whole run -------------------------------------------------------------

    def selected(self) -> tuple[list[Scenario], list[peers.Server]]:
        scenarios = [s for s in SCENARIOS if _wanted(s.key, self.args.scenarios)]
        servers = [s for s in peers.SERVERS if _wanted(s.name, self.args.servers)]
        return scenarios, servers

    def available(self, scenario: Scenario, server: peers.Server) -> bool:
        key = (scenario.key, server.name)
        if key in self.skips:
            return False
        reason = server.check(scenario.proto)
        uses_loadgen = scenario.tool in ("loadgen", "connect", "handshake", "idle")
        if reason is None and uses_loadgen and not self.loadgen:
            reason = "not available: the C load generator was not built"
        tls_loadgen = uses_loadgen and scenario.proto in TLS_PROTOS
        if reason is None and tls_loadgen and not self.loadgen_tls:
            reason = "not available: the load generator was built without OpenSSL (libssl-dev)"
        if reason is None and scenario.tool in ("wrk", "redis"):
            tool = "wrk" if scenario.tool == "wrk" else "redis-benchmark"
            if shutil.which(tool) is None:
                reason = f"not available: {tool} not found (run bench/setup.sh)"
        if reason is not None:
            self.skips[key] = reason
            return False
        return True

    def run(self) -> None:
        scenarios, servers = self.selected()
        loaded = [s for s in scenarios if s.tool != "idle"]
        for rep in range(self.config.reps):
            shift = rep % max(1, len(servers))
            for server in servers[shift:] + servers[:shift]:
                for proto in server.protos:
                    todo = [s for s in loaded if s.proto == proto and self.available(s, server)]
                    if not todo:
                        continue
                    try:
                        with self.serving(server, proto) as proc:
                            for scenario in todo:
                                self.measure(
                                    scenario, server, rep, proc.pids, self.one(scenario, proc)
                                )
                    except ServerError as exc:
                        self.failures.append(f"{server.name} ({proto}): {exc}")
        for scenario in (s for s in scenarios if s.tool == "idle"):
            for rep in range(self.config.idle_reps):
                shift = rep % max(1, len(servers))
                for server in servers[shift:] + servers[:shift]:
                    if "echo" in server.protos and self.available(scenario, server):
                        try:
                            self.idle(scenario, server, rep)
                        except ServerError as exc:
                            self.failures.append(f"{server.name} (idle): {exc}")

    def micro(self) -> dict[str, object] | None:
        argv = [*self.server_pin, sys.executable, "-m", "bench.micro", "--json"]
        argv += ["-n", str(self.config.micro_n), "--reps", str(self.config.micro_reps)]
        try:
            out = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=600,
                cwd=ROOT,
                env=clean_env(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.failures.append("micro-benchmark timed out")
            return None
        if out.returncode != 0:
            self.failures.append(f"micro-benchmark failed: {out.stderr.strip()[-400:]}")
            return None
        result: dict[str, object] = json.loads(out.stdout)
        print(report.micro_lines(result), file=sys.stderr)
        return result


def clean_env() -> dict[str, str]:
    """The environment for servers: the source tree importable, no debug modes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for name in ("PYTHONDEVMODE", "PYTHONASYNCIODEBUG", "PYTHONMALLOC", "PYTHONTRACEMALLOC"):
        env.pop(name, None)
    return env


class ServerError(RuntimeError):
    """A server did not start, or died."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-600:]
            raise ServerError(f"exited with {proc.returncode}: {tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    _stop(proc)
    raise ServerError("did not listen within 20 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _shown_arg(arg: str, port: int, tmp: Path) -> str:
    """A launch argument as the report shows it: no per-run port or temp dir."""
    if arg == str(port):
        return "PORT"
    return arg.replace(str(tmp), "$TMP")


def _wanted(name: str, only: str | None) -> bool:
    return only is None or name in only.split(",")


def _small(raw: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in raw.items() if k != "output"}


def _progress(run: Run, scenario: Scenario) -> None:
    cpu = f"{run.cpu_us_per_unit:.2f} us" if run.cpu_us_per_unit is not None else "-"
    flag = "  DISTURBED" if run.disturbed else ""
    bad = (
        f"  errors={run.errors} verify={run.verify_failures}"
        if run.errors or run.verify_failures
        else ""
    )
    print(
        f"  [{run.rep}] {scenario.key:<18} {run.server:<17} "
        f"{run.throughput:>12,.1f} {scenario.unit}"
        f"  cpu/unit {cpu}  foreign {run.foreign_cpu:.2f}{flag}{bad}",
        file=sys.stderr,
        flush=True,
    )


def aggregate(runs: list[Run]) -> dict[str, dict[str, dict[str, object]]]:
    """Medians per scenario and server."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.scenario, run.server), []).append(run)
    out: dict[str, dict[str, dict[str, object]]] = {}
    for (scenario, server), items in groups.items():

        def med(values: list[float | None]) -> float | None:
            real = [v for v in values if v is not None]
            return statistics.median(real) if real else None

        out.setdefault(scenario, {})[server] = {
            "throughput": med([r.throughput for r in items]),
            "p50_us": med([r.p50_us for r in items]),
            "p99_us": med([r.p99_us for r in items]),
            "cpu_us_per_unit": med([r.cpu_us_per_unit for r in items]),
            "runs": len(items),
            "disturbed": sum(r.disturbed for r in items),
            "errors": sum(r.errors for r in items),
            "verify_failures": sum(r.verify_failures for r in items),
        }
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, finishes in < 5 min")
    parser.add_argument("--reps", type=int, help="repetitions (default: 3 quick, 5 full)")
    parser.add_argument("--duration", type=float, help="seconds per measurement")
    parser.add_argument("--servers", help="comma-separated server names (default: all)")
    parser.add_argument("--scenarios", help="comma-separated scenario keys (default: all)")
    parser.add_argument("--no-micro", action="store_true", help="skip the timer micro-benchmark")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run selreactor under cProfile (its figures then include the profiler's cost) and "
        "write the top functions to RESULTS/profile-PROTO.txt",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="do not rewrite docs/benchmarks.rst"
    )
    parser.add_argument(
        "--list", action="store_true", help="list servers and scenarios, then exit"
    )
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="rewrite the docs page and plot from the saved latest.json, run nothing",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="directory for latest.json / latest.md"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"scenario {scenario.key:<20} {scenario.title}")
        for server in peers.SERVERS:
            print(f"server   {server.name:<20} {server.describe} [{','.join(server.protos)}]")
        for target in report.targets({}):
            print(f"target   {target['target']} {target['shown']}")
        return 0
    if args.docs_only:
        saved = json.loads((args.results / "latest.json").read_text())
        for path in report.write_docs(saved, ROOT / "docs"):
            print(f"bench: wrote {path.relative_to(ROOT)}", file=sys.stderr)
        return 0
    base = QUICK if args.quick else FULL
    config = replace(base, reps=args.reps or base.reps, duration=args.duration or base.duration)
    command = "python -m bench" + ("".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:])))
    started = time.time()
    harness = Harness(config, args)
    print(f"bench: {config.mode} mode, {config.reps} repetitions", file=sys.stderr)
    if not harness.pinned:
        print("bench: fewer than 2 usable CPUs or no taskset: not pinned", file=sys.stderr)
    harness.build()
    harness.run()
    micro = None if args.no_micro else harness.micro()
    results = aggregate(harness.runs)
    doc: dict[str, object] = {
        "meta": {
            "command": command,
            "mode": config.mode,
            "config": asdict(config),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
            "elapsed_s": round(time.time() - started, 1),
            "machine": system.machine_info(),
            "pinned": harness.pinned,
            "server_cpu": harness.server_cpu,
            "client_cpu": harness.client_cpu,
            "nofile": harness.nofile,
            "openssl": ssl.OPENSSL_VERSION,
            "selreactor_launch": harness.how,
        },
        "scenarios": [asdict(s) for s in SCENARIOS],
        "servers": [
            {"name": s.name, "role": s.role.value, "describe": s.describe} for s in peers.SERVERS
        ],
        "results": results,
        "skipped": [
            {"scenario": k[0], "server": k[1], "reason": v} for k, v in harness.skips.items()
        ],
        "failures": harness.failures,
        "runs": [asdict(r) for r in harness.runs],
        "micro": micro,
    }
    doc["targets"] = report.targets(doc)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "latest.json").write_text(json.dumps(doc, indent=1) + "\n")
    markdown = report.markdown(doc)
    (args.results / "latest.md").write_text(markdown)
    print(markdown)
    if not args.no_docs:
        written = report.write_docs(doc, ROOT / "docs")
        for path in written:
            print(f"bench: wrote {path.relative_to(ROOT)}", file=sys.stderr)
    print(f"bench: wrote {args.results / 'latest.json'}", file=sys.stderr)
    bad = any(r.verify_failures for r in harness.runs)
    return 1 if bad else 0
