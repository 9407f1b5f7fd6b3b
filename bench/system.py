"""What the harness reads from the machine: CPU times, RSS, load, identity.

Disturbance.  A benchmark on a shared two-core machine is only as good as
the quiet around it.  Around every measurement the harness reads the busy
time of all CPUs from ``/proc/stat`` and subtracts what it can account
for: the server's own CPU time, the load generator's (the children's
rusage) and the harness's own.  What is left was spent by someone else;
above a threshold the measurement is flagged and, within a budget, redone.
IRQ and softirq time are left out of "busy" because on loopback they are
our own traffic, charged to no process when IRQ time accounting is on.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class CpuTimes:
    """Aggregate ``/proc/stat`` figures in seconds, plus the wall clock."""

    wall: float
    busy: float
    steal: float


def cpu_times() -> CpuTimes:
    """Busy (user+nice+system) and steal seconds over all CPUs, now."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    ticks = [int(x) for x in fields[1:]]
    user, nice, system = ticks[0], ticks[1], ticks[2]
    steal = ticks[7] if len(ticks) > 7 else 0
    return CpuTimes(time.monotonic(), (user + nice + system) / CLK_TCK, steal / CLK_TCK)


def process_cpu(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds; 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes (``VmRSS`` of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def children_cpu() -> float:
    """CPU seconds of every child the harness has waited for."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def self_cpu() -> float:
    """CPU seconds of the harness itself."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def loadavg() -> float:
    """The one-minute load average."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Disturbance:
    """Accounts for the CPU time of one measurement window.

    ``start()`` before the load generator runs, ``stop(server_cpu)`` after
    it was waited for; ``foreign`` is then the fraction of one CPU that
    other processes used during the window.
    """

    def __init__(self) -> None:
        self._t0 = cpu_times()
        self._children0 = children_cpu()
        self._self0 = self_cpu()
        self._load0 = loadavg()
        self.foreign = 0.0
        self.steal = 0.0
        self.loadavg = (self._load0, self._load0)

    def stop(self, server_cpu: float) -> None:
        t1 = cpu_times()
        wall = max(t1.wall - self._t0.wall, 1e-6)
        ours = (children_cpu() - self._children0) + (self_cpu() - self._self0) + server_cpu
        self.foreign = max(0.0, (t1.busy - self._t0.busy) - ours) / wall
        self.steal = (t1.steal - self._t0.steal) / wall
        self.loadavg = (self._load0, loadavg())


def raise_nofile(want: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``want`` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def usable_cpus() -> list[int]:
    """The CPUs this process may run on, in order."""
    return sorted(os.sched_getaffinity(0))


def _first(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "missing"
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def machine_info() -> dict[str, object]:
    """Cores, CPU model, kernel, Python and tool versions."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cores": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_impl": platform.python_implementation(),
        "gcc": _first(["gcc", "--version"]),
        "wrk": _first(["wrk", "-v"]),
        "redis": _first(["redis-server", "--version"]),
        "nginx": _first(["nginx", "-v"]),
    }
