"""reactor.aio's performance targets, checked against a run.

Echo on reactor.aio (asyncio's Protocol API, and its streams) at least
uvloop's messages per second with the same code; reactor.aio's server CPU
per message within 1.15x of selreactor's native handler; aiohttp on
reactor.aio at least aiohttp on uvloop.  The coroutine echo of
reactor.streams: server CPU per message within 1.3x of the callback echo,
messages per second at least 1.5x asyncio streams and at least uvloop's
streams, at most 2,000 bytes of RSS per idle connection at 10k.
"""

from __future__ import annotations

from typing import cast

from bench import peers

Row = dict[str, object]
Results = dict[str, dict[str, Row]]

CPU_TARGET = 1.15
STREAMS_CPU_TARGET = 1.3
STREAMS_VS_ASYNCIO = 1.5
STREAMS_RSS_TARGET = 2000
ECHO = ("echo-64B-100c", "echo-1KiB-100c")


def figure(results: Results, scenario: str, server: str, key: str) -> float | None:
    """``key`` of ``server`` in ``scenario``, if this run measured it."""
    row = results.get(scenario, {}).get(server)
    value = row.get(key) if row else None
    return float(cast("float", value)) if isinstance(value, (int, float)) else None


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is 0."""
    return None if a is None or b is None or b == 0 else a / b


def target_row(
    what: str, value: float | None, limit: float, better: str, shown: str | None = None
) -> dict[str, object]:
    """A row of the targets table: ``value`` against ``limit`` (``better`` is
    ``"low"`` or ``"high"``); ``shown`` is the limit as printed (a ratio by default)."""
    if value is None:
        status = "n/a"
    elif better == "low":
        status = "met" if value <= limit else "missed"
    else:
        status = "met" if value >= limit else "missed"
    if shown is None:
        shown = f"<= {limit:.2f}x" if better == "low" else f">= {limit:.2f}x"
    return {"target": what, "value": value, "limit": limit, "status": status, "shown": shown}


def targets(results: Results) -> list[dict[str, object]]:
    """The reactor.aio rows of the report's targets table."""
    out: list[dict[str, object]] = []
    pairs = ((peers.AIO, "uvloop"), (peers.AIO_STREAMS, "uvloop-streams"))
    for key in ECHO:
        for aio, uvloop in pairs:
            rate = ratio(
                figure(results, key, aio, "throughput"), figure(results, key, uvloop, "throughput")
            )
            out.append(target_row(f"{key}: {aio} msg/s vs {uvloop}", rate, 1.0, "high"))
        cpu = ratio(
            figure(results, key, peers.AIO, "cpu_us_per_unit"),
            figure(results, key, peers.SUBJECT, "cpu_us_per_unit"),
        )
        out.append(
            target_row(f"{key}: {peers.AIO} CPU/msg vs native selreactor", cpu, CPU_TARGET, "low")
        )
    key = "http-wrk-100c"
    rate = ratio(
        figure(results, key, peers.AIO_AIOHTTP, "throughput"),
        figure(results, key, "aiohttp-uvloop", "throughput"),
    )
    out.append(target_row(f"{key}: aiohttp on reactor.aio vs on uvloop", rate, 1.0, "high"))
    return out


def streams_targets(results: Results) -> list[dict[str, object]]:
    """The reactor.streams rows of the report's targets table."""
    out: list[dict[str, object]] = []
    s = peers.STREAMS
    for key in ECHO:
        cpu = ratio(
            figure(results, key, s, "cpu_us_per_unit"),
            figure(results, key, peers.SUBJECT, "cpu_us_per_unit"),
        )
        out.append(
            target_row(
                f"{key}: {s} CPU/msg vs callback selreactor", cpu, STREAMS_CPU_TARGET, "low"
            )
        )
        for peer, limit in (("asyncio-streams", STREAMS_VS_ASYNCIO), ("uvloop-streams", 1.0)):
            rate = ratio(
                figure(results, key, s, "throughput"), figure(results, key, peer, "throughput")
            )
            out.append(target_row(f"{key}: {s} msg/s vs {peer}", rate, limit, "high"))
    rss = figure(results, "idle-10k", s, "throughput")
    what = f"{s}: RSS per idle connection at 10k (bytes)"
    out.append(target_row(what, rss, STREAMS_RSS_TARGET, "low", f"<= {STREAMS_RSS_TARGET}"))
    return out
