"""Timer micro-benchmark: selreactor's call_soon/call_later against asyncio's.

``python -m bench.micro [-n 200000] [--reps 5] [--json]``

* call_soon: schedule N callbacks, then run one loop turn that runs them.
* call_later: schedule N callbacks with random delays in [0, 10) s on a
  fake clock, then advance the clock in 100 steps, one loop turn per step.
* call_later+cancel: the same, cancelling every other handle before running.

Both loops get the same fake clock (asyncio's ``loop.time`` is replaced on
the instance), so no real time passes in select() and only the scheduling
machinery is timed.  Implementations are interleaved within each repetition
and the median is reported, as operations (callbacks scheduled and run) per
second, with the ratio selreactor / asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import random
import statistics
import time
from typing import TYPE_CHECKING

from reactor.loop import Reactor
from reactor.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

STEPS = 100
SPAN = 10.0


def _delays(n: int) -> list[float]:
    rng = random.Random(1234)
    return [rng.random() * SPAN for _ in range(n)]


def reactor_call_soon(n: int) -> float:
    r = Reactor(clock=FakeClock())
    out: list[int] = []
    add = out.append
    t0 = time.perf_counter()
    for i in range(n):
        r.call_soon(add, i)
    r.run_once(0)
    elapsed = time.perf_counter() - t0
    r.close()
    assert len(out) == n
    return elapsed


def asyncio_call_soon(n: int, loop: asyncio.AbstractEventLoop | None = None) -> float:
    loop = loop or asyncio.new_event_loop()
    out: list[int] = []
    add = out.append
    t0 = time.perf_counter()
    for i in range(n):
        loop.call_soon(add, i)
    loop.call_soon(loop.stop)
    loop.run_forever()
    elapsed = time.perf_counter() - t0
    loop.close()
    assert len(out) == n
    return elapsed


def uvloop_call_soon(n: int) -> float:
    import uvloop

    return asyncio_call_soon(n, uvloop.new_event_loop())


def reactor_call_later(n: int, delays: list[float], cancel: bool) -> float:
    clock = FakeClock()
    r = Reactor(clock=clock)
    out: list[int] = []
    add = out.append
    t0 = time.perf_counter()
    handles = [r.call_later(d, add, 0) for d in delays]
    if cancel:
        for h in handles[::2]:
            h.cancel()
    for _ in range(STEPS):
        clock.advance(SPAN / STEPS)
        r.run_once(0)
    clock.advance(1.0)
    r.run_once(0)
    elapsed = time.perf_counter() - t0
    r.close()
    assert len(out) == (n - len(handles[::2]) if cancel else n)
    return elapsed


def asyncio_call_later(n: int, delays: list[float], cancel: bool) -> float:
    clock = FakeClock()
    loop = asyncio.new_event_loop()
    loop.time = clock  # type: ignore[method-assign]
    out: list[int] = []
    add = out.append

    def step() -> None:
        loop.call_soon(loop.stop)
        loop.run_forever()

    t0 = time.perf_counter()
    handles = [loop.call_later(d, add, 0) for d in delays]
    if cancel:
        for h in handles[::2]:
            h.cancel()
    for _ in range(STEPS):
        clock.advance(SPAN / STEPS)
        step()
    clock.advance(1.0)
    step()
    elapsed = time.perf_counter() - t0
    loop.close()
    assert len(out) == (n - len(handles[::2]) if cancel else n)
    return elapsed


def run(n: int, reps: int) -> dict[str, object]:
    delays = _delays(n)
    cases: dict[str, dict[str, Callable[[], float]]] = {
        "call_soon": {
            "selreactor": lambda: reactor_call_soon(n),
            "asyncio": lambda: asyncio_call_soon(n),
        },
        "call_later": {
            "selreactor": lambda: reactor_call_later(n, delays, False),
            "asyncio": lambda: asyncio_call_later(n, delays, False),
        },
        "call_later+cancel": {
            "selreactor": lambda: reactor_call_later(n, delays, True),
            "asyncio": lambda: asyncio_call_later(n, delays, True),
        },
    }
    if importlib.util.find_spec("uvloop") is not None:
        cases["call_soon"]["uvloop"] = lambda: uvloop_call_soon(n)
    times: dict[str, dict[str, list[float]]] = {c: {k: [] for k in v} for c, v in cases.items()}
    for rep in range(reps):
        for case, impls in cases.items():
            names = list(impls)
            if rep % 2:
                names.reverse()
            for name in names:
                gc.collect()
                times[case][name].append(impls[name]())
    results: dict[str, dict[str, float]] = {}
    for case, by_impl in times.items():
        row = {name: n / statistics.median(ts) for name, ts in by_impl.items()}
        row["ratio"] = row["selreactor"] / row["asyncio"]
        results[case] = row
    return {"n": n, "reps": reps, "steps": STEPS, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__)
    parser.add_argument("-n", type=int, default=200_000, help="callbacks per run")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (median)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    result = run(args.n, args.reps)
    if args.json:
        print(json.dumps(result))
    else:
        from bench.report import micro_lines

        print(micro_lines(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
