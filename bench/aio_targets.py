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


def _get(results: Results, scenario: str, server: str, key: str) -> float | None:
    row = results.get(scenario, {}).get(server)
    value = row.get(key) if row else None
    return float(cast("float", value)) if isinstance(value, (int, float)) else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _target(what: str, value: float | None, limit: float, better: str) -> dict[str, object]:
    if value is None:
        status = "n/a"
    elif better == "low":
        status = "met" if value <= limit else "missed"
    else:
        status = "met" if value >= limit else "missed"
    shown = f"<= {limit:.2f}x" if better == "low" else f">= {limit:.2f}x"
    return {"target": what, "value": value, "limit": limit, "status": status, "shown": shown}


def targets(results: Results) -> list[dict[str, object]]:
    """The reactor.aio rows of the report's targets table."""
    out: list[dict[str, object]] = []
    pairs = ((peers.AIO, "uvloop"), (peers.AIO_STREAMS, "uvloop-streams"))
    for key in ECHO:
        for aio, uvloop in pairs:
            rate = _ratio(
                _get(results, key, aio, "throughput"), _get(results, key, uvloop, "throughput")
            )
            out.append(_target(f"{key}: {aio} msg/s vs {uvloop}", rate, 1.0, "high"))
        cpu = _ratio(
            _get(results, key, peers.AIO, "cpu_us_per_unit"),
            _get(results, key, peers.SUBJECT, "cpu_us_per_unit"),
        )
        out.append(
            _target(f"{key}: {peers.AIO} CPU/msg vs native selreactor", cpu, CPU_TARGET, "low")
        )
    key = "http-wrk-100c"
    rate = _ratio(
        _get(results, key, peers.AIO_AIOHTTP, "throughput"),
        _get(results, key, "aiohttp-uvloop", "throughput"),
    )
    out.append(_target(f"{key}: aiohttp on reactor.aio vs on uvloop", rate, 1.0, "high"))
    return out


def streams_targets(results: Results) -> list[dict[str, object]]:
    """The reactor.streams rows of the report's targets table."""
    out: list[dict[str, object]] = []
    s = peers.STREAMS
    for key in ECHO:
        cpu = _ratio(
            _get(results, key, s, "cpu_us_per_unit"),
            _get(results, key, peers.SUBJECT, "cpu_us_per_unit"),
        )
        out.append(
            _target(f"{key}: {s} CPU/msg vs callback selreactor", cpu, STREAMS_CPU_TARGET, "low")
        )
        for peer, limit in (("asyncio-streams", STREAMS_VS_ASYNCIO), ("uvloop-streams", 1.0)):
            rate = _ratio(
                _get(results, key, s, "throughput"), _get(results, key, peer, "throughput")
            )
            out.append(_target(f"{key}: {s} msg/s vs {peer}", rate, limit, "high"))
    rss = _get(results, "idle-10k", s, "throughput")
    row = _target(f"{s}: RSS per idle connection at 10k (bytes)", rss, STREAMS_RSS_TARGET, "low")
    row["shown"] = f"<= {STREAMS_RSS_TARGET}"
    out.append(row)
    return out
