"""``python -m bench.instructions``: CPU cost as instruction counts, not seconds.

The timed benchmarks (``python -m bench``) need a quiet machine: on a loaded
one their CPU-per-message figures swing by tens of percent.  Instruction
counts do not: ``valgrind --tool=callgrind`` counts what the server process
executes, whatever else the machine runs, so two source trees (say ``main``
before and after a change) can be compared in one command on any machine.

Method.  For each tree the echo plugin is served under callgrind
(``python -m reactor serve echo``, the tree first on ``PYTHONPATH``) and driven
by a fixed workload from this process; the server is stopped with SIGTERM
(the graceful drain) and callgrind's total is read.  Each workload runs twice,
at ``N`` and ``2N`` units, and the figure is the difference divided by ``N``:
the marginal instructions per unit, free of start-up, imports and shutdown.

Workloads: ``echo-64B`` and ``echo-1KiB`` (ping-pong over ``--conns``
connections, every byte checked) count per message; ``connect`` (connect,
one 64-byte echo, close) counts per connection.

Subjects: each ``--tree`` runs the echo plugin; each ``--server
LABEL=COMMAND`` runs any echo server instead (``{port}`` in the command is
replaced; it runs in the first tree, with ``{python}`` the interpreter), so
servers that share the workload compare too: the coroutine echo of
``reactor.streams`` against the callback one, an asyncio program on
``reactor.aio`` against stdlib asyncio and uvloop, ``--status`` against none.

Deliberate limits: instructions are not time (a cache miss costs no more than
a hit here), and valgrind's own scheduling serialises the server's syscalls,
so compare trees with each other, never with the timed figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Workload:
    """One kind of work the server does, counted per unit."""

    key: str
    unit: str
    size: int
    connect: bool = False


WORKLOADS = {
    w.key: w
    for w in (
        Workload("echo-64B", "message", 64),
        Workload("echo-1KiB", "message", 1024),
        Workload("connect", "connection", 64, connect=True),
    )
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        chunk = sock.recv(size - len(got))
        if not chunk:
            raise ConnectionError("server closed early")
        got += chunk
    return bytes(got)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)  # a process starting under valgrind: nothing to step
    raise TimeoutError("server did not listen in time")


def _drive(workload: Workload, port: int, units: int, conns: int) -> None:
    payload = bytes(i % 251 for i in range(workload.size))
    if workload.connect:
        for _ in range(units):
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                sock.sendall(payload)
                if _recv_exactly(sock, len(payload)) != payload:
                    raise AssertionError("echo mismatch")
        return
    socks = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(conns)]
    try:
        for _ in range(units // conns):
            for sock in socks:
                sock.sendall(payload)
            for sock in socks:
                if _recv_exactly(sock, len(payload)) != payload:
                    raise AssertionError("echo mismatch")
    finally:
        for sock in socks:
            sock.close()


ECHO = "{python} -m reactor serve echo --host 127.0.0.1 --port {port} --log-level error"
"""The default subject: the echo plugin as ``reactor serve`` runs it."""


@dataclass(frozen=True)
class Subject:
    """One server to measure: a label, the tree it runs in, its command."""

    label: str
    tree: Path
    command: str = ECHO


def count(subject: Subject, workload: Workload, units: int, conns: int, timeout: float) -> int:
    """Instructions ``subject`` executes for ``units`` of ``workload``."""
    port = _free_port()
    tree = subject.tree
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
        env.pop("PYTHONDEVMODE", None)
        server = subject.command.format(python=sys.executable, port=port).split()
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *server]
        with subprocess.Popen(
            command,
            cwd=tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        ) as proc:
            try:
                _wait_for_port(port, proc, time.monotonic() + timeout)
                _drive(workload, port, units, conns)
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=timeout)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        text = out.read_text(errors="replace") if out.exists() else ""
        match = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
        if match is None:
            raise RuntimeError(f"no callgrind total for {subject.label}: {err.decode()}")
        return int(match[1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--tree",
        action="append",
        type=Path,
        help="a source tree to measure (repeat; the first is the reference; default: this one)",
    )
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="LABEL=COMMAND",
        help="an echo server command with {port} (and {python}); runs in the first tree",
    )
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS)
    )
    parser.add_argument("--messages", type=int, default=4000, help="N for the echo workloads")
    parser.add_argument("--connects", type=int, default=400, help="N for the connect workload")
    parser.add_argument("--conns", type=int, default=10, help="connections for the echo workloads")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per server run")
    args = parser.parse_args(argv)
    for name in args.workloads.split(","):
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}")
    if args.messages < args.conns or args.messages % args.conns:
        parser.error("--messages must be a multiple of --conns")
    for spec in args.server:
        label, sep, command = spec.partition("=")
        if not sep or not label or "{port}" not in command:
            parser.error(f"--server wants LABEL=COMMAND with {{port}}, got {spec!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed (Debian package valgrind)")
        return 1
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    subjects = [Subject(str(t), t) for t in (trees if args.tree or not args.server else [])]
    for spec in args.server:
        label, _, command = spec.partition("=")
        subjects.append(Subject(label, trees[0], command))
    rows: list[tuple[str, str, list[float]]] = []
    for name in args.workloads.split(","):
        workload = WORKLOADS[name]
        units = args.connects if workload.connect else args.messages
        per_unit: list[float] = []
        for subject in subjects:
            low = count(subject, workload, units, args.conns, args.timeout)
            high = count(subject, workload, 2 * units, args.conns, args.timeout)
            per_unit.append((high - low) / units)
            print(
                f"  {name:<10} {subject.label}: {per_unit[-1]:,.0f} instructions/{workload.unit}"
            )
        rows.append((name, workload.unit, per_unit))
    print()
    print("| workload | unit | " + " | ".join(s.label for s in subjects) + " |")
    print("|---|---|" + "---|" * len(subjects))
    for name, unit, per_unit in rows:
        cells = [f"{per_unit[0]:,.0f}"]
        with contextlib.suppress(ZeroDivisionError):
            cells += [f"{v:,.0f} ({v / per_unit[0]:.3f}x)" for v in per_unit[1:]]
        print(f"| {name} | instructions/{unit} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
