"""The figure of docs/benchmarks.rst: one PNG, four panels."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from bench import peers

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes

LOAD_PANELS = (
    (
        "Echo throughput relative to asyncio Protocol",
        (
            "echo-64B-100c",
            "echo-1KiB-100c",
            "echo-16KiB-10c",
            "echo-1KiB-1c",
            "bulk-64KiB-d16",
            "connect-rate",
        ),
    ),
    (
        "HTTP and RESP throughput relative to asyncio Protocol",
        ("http-wrk-100c", "resp-P1", "resp-P16"),
    ),
)
COLORS = {
    peers.SUBJECT: "#d62728",
    peers.BASELINE: "#1f77b4",
    "asyncio-streams": "#aec7e8",
    "uvloop": "#2ca02c",
    "twisted": "#9467bd",
    "tornado": "#8c564b",
    peers.FLOOR: "#7f7f7f",
    "c-epoll": "#bcbd22",
    "nginx": "#17becf",
    "redis": "#ff7f0e",
}


def _value(
    results: dict[str, dict[str, dict[str, object]]], sc: str, sv: str, key: str
) -> float | None:
    row = results.get(sc, {}).get(sv)
    if not row:
        return None
    v = row.get(key)
    return float(cast("float", v)) if isinstance(v, (int, float)) else None


def _grouped(
    ax: Axes, results: dict[str, dict[str, dict[str, object]]], title: str, keys: tuple[str, ...]
) -> None:
    servers = [
        s.name
        for s in peers.SERVERS
        if any(_value(results, k, s.name, "throughput") for k in keys)
    ]
    width = 0.8 / max(1, len(servers))
    for i, name in enumerate(servers):
        xs, ys = [], []
        for j, key in enumerate(keys):
            v = _value(results, key, name, "throughput")
            base = _value(results, key, peers.BASELINE, "throughput")
            if v is not None and base:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v / base)
        ax.bar(xs, ys, width, label=name, color=COLORS.get(name))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(keys)), keys, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("x asyncio-protocol")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)


def _bars(ax: Axes, names: list[str], values: list[float], title: str, xlabel: str) -> None:
    ax.barh(names, values, color=[COLORS.get(n, "#333333") for n in names])
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:,.1f}" if v < 100 else f" {v:,.0f}", va="center", fontsize=7)


def plot(doc: dict[str, object], out: Path) -> None:
    results = cast("dict[str, dict[str, dict[str, object]]]", doc.get("results") or {})
    meta = cast("dict[str, object]", doc["meta"])
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    for ax, (title, keys) in zip(axes[0], LOAD_PANELS, strict=True):
        _grouped(ax, results, title, keys)
    cpu = [
        (s.name, v)
        for s in peers.SERVERS
        if (v := _value(results, "echo-64B-100c", s.name, "cpu_us_per_unit")) is not None
    ]
    _bars(
        axes[1][0],
        [n for n, _ in cpu],
        [v for _, v in cpu],
        "Server CPU per message, echo 64 B x 100",
        "us of user+sys CPU per message (lower is better)",
    )
    rss = [
        (s.name, v)
        for s in peers.SERVERS
        if (v := _value(results, "idle-10k", s.name, "throughput")) is not None
    ]
    ax = axes[1][1]
    _bars(
        ax,
        [n for n, _ in rss],
        [v for _, v in rss],
        "RSS per idle connection, 10,000 connections",
        "bytes per connection (lower is better)",
    )
    ax.axvline(1000, color="red", linestyle="--", linewidth=0.8)
    fig.suptitle(f"selreactor benchmarks: {meta['command']} ({meta['started']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
