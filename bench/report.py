"""Turning a run into a markdown table, the docs page and the plot."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from bench import aio_targets, peers
from bench.aio_targets import figure, ratio, target_row
from bench.scenarios import SCENARIOS, Scenario

Row = dict[str, object]
Results = dict[str, dict[str, Row]]

CPU_TARGET = 1.15
RSS_TARGET = 1000.0
CONNECT_TARGET = 2.0
TLS_CPU_TARGET = 1.0  # TLS echo: server CPU per message at most uvloop's
HTTPS_TARGET = 1.0  # HTTPS keep-alive: requests per second at least uvloop's
HANDSHAKE_TARGET = 1.1  # full handshake: server CPU within 1.1x of asyncio's
TLS_CEILINGS = ("c-tls-epoll", "nginx")


def _num(value: object) -> float | None:
    return float(cast("float", value)) if isinstance(value, (int, float)) else None


def _results(doc: dict[str, object]) -> Results:
    return cast("Results", doc.get("results") or {})


def _skips(doc: dict[str, object]) -> dict[tuple[str, str], str]:
    items = cast("list[dict[str, str]]", doc.get("skipped") or [])
    return {(s["scenario"], s["server"]): s["reason"] for s in items}


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _role(name: str) -> str:
    try:
        return peers.by_name(name).role.value
    except KeyError:
        return "?"


def table_rows(doc: dict[str, object], scenario: Scenario) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one scenario's table (shared by markdown and rst)."""
    results = _results(doc)
    skips = _skips(doc)
    by = results.get(scenario.key, {})
    base_t = figure(results, scenario.key, peers.BASELINE, "throughput")
    floor_t = figure(results, scenario.key, peers.FLOOR, "throughput")
    floor_c = figure(results, scenario.key, peers.FLOOR, "cpu_us_per_unit")
    idle = scenario.tool == "idle"
    if idle:
        header = ["server", "role", "bytes/conn", "x asyncio", "x floor", "CPU us/conn", "runs"]
    else:
        header = [
            "server",
            "role",
            scenario.unit,
            "x asyncio",
            "x floor",
            "p50 us",
            "p99 us",
            "CPU us/unit",
            "CPU x floor",
            "runs",
        ]
    rows: list[list[str]] = []
    for server in peers.SERVERS:
        name = server.name
        if scenario.proto not in server.protos:
            continue
        row = by.get(name)
        if row is None:
            reason = skips.get((scenario.key, name))
            if reason is None:
                continue
            rows.append([name, server.role.value, reason] + [""] * (len(header) - 3))
            continue
        t = _num(row.get("throughput"))
        c = _num(row.get("cpu_us_per_unit"))
        runs = f"{row.get('runs')}"
        disturbed = int(cast("int", row.get("disturbed") or 0))
        if disturbed:
            runs += f" ({disturbed} disturbed)"
        if row.get("verify_failures") or row.get("errors"):
            runs += f" errors={row.get('errors')} verify={row.get('verify_failures')}"
        digits = 1 if scenario.unit == "MiB/s" else 0
        if idle:
            rows.append(
                [
                    name,
                    server.role.value,
                    _fmt(t),
                    _x(ratio(t, base_t)),
                    _x(ratio(t, floor_t)),
                    _fmt(c, 1),
                    runs,
                ]
            )
        else:
            rows.append(
                [
                    name,
                    server.role.value,
                    _fmt(t, digits),
                    _x(ratio(t, base_t)),
                    _x(ratio(t, floor_t)),
                    _fmt(_num(row.get("p50_us"))),
                    _fmt(_num(row.get("p99_us"))),
                    _fmt(c, 2),
                    _x(ratio(c, floor_c)),
                    runs,
                ]
            )
    return header, rows


def targets(doc: dict[str, object]) -> list[dict[str, object]]:
    """The project's performance targets, checked against this run."""
    r = _results(doc)
    s = peers.SUBJECT
    # reactor.aio's and reactor.streams' come first
    out: list[dict[str, object]] = aio_targets.targets(r) + aio_targets.streams_targets(r)

    def add(what: str, value: float | None, limit: float, better: str, shown: str) -> None:
        out.append(target_row(what, value, limit, better, shown))

    cpu = ratio(
        figure(r, "echo-64B-100c", s, "cpu_us_per_unit"),
        figure(r, "echo-64B-100c", peers.FLOOR, "cpu_us_per_unit"),
    )
    add("echo 64 B x 100: server CPU/msg vs bare floor", cpu, CPU_TARGET, "low", "<= 1.15x")
    for key in ("echo-64B-100c", "echo-1KiB-100c", "http-wrk-100c", "resp-P16"):
        rate = ratio(figure(r, key, s, "throughput"), figure(r, key, "uvloop", "throughput"))
        add(f"{key}: throughput vs uvloop", rate, 1.0, "high", ">= 1.00x")
    rate = ratio(
        figure(r, "connect-rate", s, "throughput"),
        figure(r, "connect-rate", peers.BASELINE, "throughput"),
    )
    add("connect rate vs asyncio-protocol", rate, CONNECT_TARGET, "high", ">= 2.00x")
    rss = figure(r, "idle-10k", s, "throughput")
    add("RSS per idle connection at 10k (bytes)", rss, RSS_TARGET, "low", "<= 1000")
    tls_cpu = ratio(
        figure(r, "tls-echo-1KiB-100c", s, "cpu_us_per_unit"),
        figure(r, "tls-echo-1KiB-100c", "uvloop", "cpu_us_per_unit"),
    )
    add("tls-echo-1KiB-100c: server CPU/msg vs uvloop", tls_cpu, TLS_CPU_TARGET, "low", "<= 1.00x")
    https = ratio(
        figure(r, "https-wrk-100c", s, "throughput"),
        figure(r, "https-wrk-100c", "uvloop", "throughput"),
    )
    add("https-wrk-100c: req/s vs uvloop", https, HTTPS_TARGET, "high", ">= 1.00x")
    handshake = ratio(
        figure(r, "tls-handshake", s, "cpu_us_per_unit"),
        figure(r, "tls-handshake", peers.BASELINE, "cpu_us_per_unit"),
    )
    add(
        "tls-handshake: server CPU/handshake vs asyncio-protocol",
        handshake,
        HANDSHAKE_TARGET,
        "low",
        "<= 1.10x",
    )
    return out


def tls_lines(doc: dict[str, object]) -> list[str]:
    """The TLS ratios the targets name, with both sides' figures, for the report."""
    r = _results(doc)
    s = peers.SUBJECT
    out: list[str] = []
    pairs = [
        ("tls-echo-1KiB-100c", "cpu_us_per_unit", "uvloop", "server CPU us/msg"),
        ("https-wrk-100c", "throughput", "uvloop", "req/s"),
        ("tls-handshake", "cpu_us_per_unit", peers.BASELINE, "server CPU us/handshake"),
    ]
    for key, field, other, what in pairs:
        mine, theirs = figure(r, key, s, field), figure(r, key, other, field)
        if mine is None and theirs is None:
            continue
        digits = 0 if field == "throughput" else 1
        line = (
            f"{key}: {what} selreactor {_fmt(mine, digits)}, {other} {_fmt(theirs, digits)}"
            f" ({_x(ratio(mine, theirs))})"
        )
        ceilings = [
            f"{name} {_fmt(value, digits)}"
            for name in TLS_CEILINGS
            if (value := figure(r, key, name, field)) is not None
        ]
        out.append(line + (f"; ceilings: {', '.join(ceilings)}" if ceilings else ""))
    return out


def _target_value(t: dict[str, object]) -> str:
    v = _num(t.get("value"))
    if v is None:
        return "-"
    return f"{v:,.0f}" if "bytes" in str(t["target"]) else f"{v:.2f}x"


def micro_lines(micro: dict[str, object]) -> str:
    results = cast("dict[str, dict[str, float]]", micro.get("results") or {})
    lines = [f"timer micro-benchmark, n={micro.get('n')}, median of {micro.get('reps')}:"]
    for case, row in results.items():
        impls = ", ".join(f"{k} {v:,.0f} ops/s" for k, v in row.items() if k != "ratio")
        lines.append(f"  {case:<18} {impls}; selreactor/asyncio {row['ratio']:.2f}x")
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    return out


def _machine_line(doc: dict[str, object]) -> str:
    meta = cast("dict[str, object]", doc["meta"])
    m = cast("dict[str, object]", meta["machine"])
    return (
        f"{m['cores']} cores ({m['cpu_model']}), {m.get('memory_gib')} GiB, Linux {m['kernel']}, "
        f"{m.get('python_impl')} {m['python']}"
    )


def disturbance_line(doc: dict[str, object]) -> str:
    """How many measurements stayed disturbed, in words."""
    runs = cast("list[dict[str, object]]", doc.get("runs") or [])
    timed = [r for r in runs if r.get("scenario") != "idle-10k"]
    flagged = sum(1 for r in timed if r.get("disturbed"))
    meta = cast("dict[str, object]", doc["meta"])
    config = cast("dict[str, object]", meta.get("config") or {})
    limit = _num(config.get("max_foreign")) or 0.0
    text = (
        f"{flagged} of {len(timed)} timed measurements kept the disturbed flag (other "
        f"processes used more than {limit:.0%} of a CPU, or the hypervisor stole more than "
        "25%, during the measurement, after the allowed retries)"
    )
    if timed and flagged * 2 > len(timed):
        text += "; the machine was shared and busy, so read the ratios as rough"
    return text


def markdown(doc: dict[str, object]) -> str:
    meta = cast("dict[str, object]", doc["meta"])
    lines = [
        "# selreactor benchmarks",
        "",
        f"Command: `{meta['command']}` ({meta['mode']} mode, {meta['started']}, "
        f"{meta['elapsed_s']} s)",
        f"Machine: {_machine_line(doc)}",
        f"Server on CPU {meta['server_cpu']}, clients on CPU {meta['client_cpu']}"
        + ("" if meta["pinned"] else " (NOT pinned)"),
        f"Disturbance: {disturbance_line(doc)}.",
        "Ratios: x asyncio = against asyncio's Protocol server; x floor = against the bare "
        "epoll loop. Medians over repetitions; CPU = the server's user+sys per unit.",
        "",
        "## Targets",
        "",
    ]
    lines += _md_table(
        ["target", "measured", "wanted", "status"],
        [
            [str(t["target"]), _target_value(t), str(t["shown"]), str(t["status"])]
            for t in targets(doc)
        ],
    )
    tls = tls_lines(doc)
    if tls:
        lines += ["", "## TLS ratios", ""] + [f"- {line}" for line in tls]
    for scenario in SCENARIOS:
        header, rows = table_rows(doc, scenario)
        if not rows:
            continue
        lines += ["", f"## {scenario.title} ({scenario.key})", ""]
        if scenario.note:
            lines += [scenario.note, ""]
        lines += _md_table(header, rows)
    micro = doc.get("micro")
    if micro:
        lines += ["", "## Timers", "", "```", micro_lines(cast("dict[str, object]", micro)), "```"]
    failures = cast("list[str]", doc.get("failures") or [])
    if failures:
        lines += ["", "## Problems", ""] + [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n"


# -- docs -----------------------------------------------------------------------


def _rst_cell(text: str) -> str:
    # Keep cells inert: no markup characters, no trailing underscores.
    return text.replace("*", "x").replace("`", "'").replace("|", "/").rstrip("_") or " "


def _rst_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {_rst_cell(row[0])}")
        out += [f"     - {_rst_cell(cell)}" for cell in row[1:]]
    return out


def _heading(text: str, char: str) -> list[str]:
    return [text, char * len(text), ""]


def rst(doc: dict[str, object], image: str | None) -> str:
    meta = cast("dict[str, object]", doc["meta"])
    m = cast("dict[str, object]", meta["machine"])
    launch = cast("dict[str, str]", meta.get("selreactor_launch") or {})
    lines = _heading("Benchmarks", "=")
    lines += [
        "selreactor is measured against other Python servers written for the same job,",
        "against a bare ``select.epoll`` loop with no framework at all (the *floor*: what any",
        "pure-Python reactor must cost at least) and against C servers (the *ceilings*).",
        "Everything runs in one command, on one machine, in the same run.",
        "",
    ]
    lines += _heading("Running it", "-")
    lines += [
        "From the repository root::",
        "",
        "    bash bench/setup.sh      # wrk, redis, nginx, gcc, OpenSSL if missing (Debian)",
        "    python -m bench --quick  # about 4 minutes",
        "    python -m bench          # the full run",
        "",
        "or ``tox -e bench``.  ``python -m bench --list`` shows the servers and scenarios;",
        "``--servers`` and ``--scenarios`` take comma-separated names.  Results go to",
        "``bench/results/latest.json`` and ``latest.md``; this page and its plot are rewritten",
        "from the same run.",
        "",
    ]
    lines += _heading("Method", "-")
    lines += [
        "- The server is pinned to one CPU, the load generator to the other.",
        "- Echo load comes from ``bench/loadgen.c`` (epoll, compiled at run time): ping-pong",
        "  over N connections with a fixed message size, optional pipelining depth, a",
        "  connect-rate mode and an idle-hold mode.  Every echoed byte is compared with the",
        "  byte sent; latency percentiles come from a 1 us histogram.  HTTP load comes from",
        "  ``wrk``, RESP load from ``redis-benchmark -t ping,set,get``.",
        "- The server's own CPU time (user+sys from ``/proc/PID/stat``) is divided by the",
        "  messages it answered: on two cores the client can saturate before a fast server",
        "  does, and then CPU per message still tells the servers apart.",
        "- Each repetition restarts every server; the order rotates between repetitions;",
        "  figures are medians.  CPU time used by other processes during a measurement is",
        "  accounted from ``/proc/stat``; a disturbed measurement is redone, and flagged if",
        "  it stays disturbed.",
        "- Idle memory: ``VmRSS`` of the server before and after 10,000 connections (each",
        "  served one echo, then held), divided by 10,000.  selreactor serves them with",
        f"  an idle timeout of {IDLE_TIMEOUT_TEXT} s armed.",
        "- The HTTP and RESP peers (asyncio, uvloop, bare epoll) share one minimal",
        "  responder (``bench/servers/minimal.py``), so they compare event loops.",
        "- TLS: every server gets a fresh self-signed ECDSA P-256 certificate (made with",
        "  ``openssl req`` at run time, never committed) and negotiates TLS 1.3 with the",
        "  load generator, which is built with OpenSSL.  TLS echo is the ping-pong over",
        "  TLS (the handshakes happen before the measured window); the handshake rate",
        "  counts full handshakes (no session resumption), each with one 64 B echo and a",
        "  close_notify; HTTPS is wrk over ``https://``.  asyncio and uvloop use their own",
        "  SSL transports.  The C ceilings: ``bench/servers/c_tls_echo.c`` (epoll and",
        "  OpenSSL, nothing else) for TLS echo and handshakes, and nginx (HTTPS: ``return",
        "  200``; TLS echo: its stream module ends TLS and proxies to the C echo server,",
        "  both processes' CPU counted, so it pays for a second hop).",
        "",
    ]
    lines += _heading("Latest run", "-")
    lines += [
        "The figures below come from the run named here; they are rewritten by every run.",
        "",
        f"- Command: ``{meta['command']}`` ({meta['mode']} mode), {meta['started']},"
        f" {meta['elapsed_s']} s",
        f"- Machine: {m['cores']} cores, {m['cpu_model']}, {m.get('memory_gib')} GiB",
        f"- Kernel: Linux {m['kernel']}",
        f"- Python: {m.get('python_impl')} {m['python']}",
        f"- Tools: {m.get('wrk')}; {m.get('redis')}; {m.get('nginx')};"
        f" {meta.get('openssl', 'OpenSSL ?')}",
        f"- Server on CPU {meta['server_cpu']}, clients on CPU {meta['client_cpu']}"
        + ("" if meta["pinned"] else " (not pinned: fewer than two CPUs)"),
        f"- Disturbance: {disturbance_line(doc)}.",
    ]
    for proto, how in sorted(launch.items()):
        lines.append(f"- selreactor {proto}: ``{how}``")
    lines.append("")
    if image:
        lines += [
            f".. image:: {image}",
            "   :alt: throughput relative to asyncio, CPU per message and memory per idle"
            " connection",
            "",
        ]
    lines += _heading("Targets", "~")
    lines += _rst_table(
        ["target", "measured", "wanted", "status"],
        [
            [str(t["target"]), _target_value(t), str(t["shown"]), str(t["status"])]
            for t in targets(doc)
        ],
    )
    lines.append("")
    tls = tls_lines(doc)
    if tls:
        lines += _heading("TLS ratios", "~")
        lines += [f"- {_rst_cell(line)}" for line in tls]
        lines.append("")
    for scenario in SCENARIOS:
        header, rows = table_rows(doc, scenario)
        if not rows:
            continue
        lines += _heading(f"{scenario.title}", "~")
        if scenario.note:
            lines += [scenario.note + ".", ""]
        lines += _rst_table(header, rows)
        lines.append("")
    micro = cast("dict[str, object] | None", doc.get("micro"))
    if micro:
        lines += _heading("Timers", "~")
        lines += [
            f"``python -m bench.micro``: {micro.get('n'):,} callbacks per run (call_later:",
            "random delays up to 10 s on a fake clock advanced in 100 steps), median of",
            f"{micro.get('reps')} runs, operations per second.",
            "",
        ]
        results = cast("dict[str, dict[str, float]]", micro.get("results") or {})
        header = ["operation", "selreactor", "asyncio", "uvloop", "selreactor / asyncio"]
        rows = [
            [
                case,
                _fmt(row.get("selreactor")),
                _fmt(row.get("asyncio")),
                _fmt(row.get("uvloop")),
                _x(row.get("ratio")),
            ]
            for case, row in results.items()
        ]
        lines += _rst_table(header, rows)
        lines.append("")
    failures = cast("list[str]", doc.get("failures") or [])
    if failures:
        lines += _heading("Problems in this run", "~")
        lines += [f"- {_rst_cell(f)}" for f in failures]
        lines.append("")
    return "\n".join(lines)


IDLE_TIMEOUT_TEXT = "300"


def write_docs(doc: dict[str, object], docs: Path) -> list[Path]:
    """Write docs/benchmarks.rst and docs/_static/bench.png; returns the paths."""
    written: list[Path] = []
    static = docs / "_static"
    static.mkdir(parents=True, exist_ok=True)
    image: str | None = None
    try:
        from bench.plot import plot

        png = static / "bench.png"
        plot(doc, png)
        written.append(png)
        image = "_static/bench.png"
    except ImportError:
        pass
    page = docs / "benchmarks.rst"
    page.write_text(rst(doc, image))
    written.append(page)
    return written
