"""HTTP micro-benchmark: CPU per request of the HTTP handler, in process.

``python -m bench.http_micro [-n 20000] [--reps 15] [--mode both] [--profile]``

Requests are wrk's keep-alive ``GET /`` (``Host: 127.0.0.1:8080``), fed to
an :class:`~protocols.http.server.HTTPHandler` on a fake transport and loop
(no sockets, no selector):

* sequential: one request per ``data_received``, as a keep-alive client that
  waits for each response sends them;
* pipelined: batches of 16 requests per ``data_received``.

The figure is the minimum over the repetitions of ``time.process_time()``
divided by N, in microseconds: CPU time, not wall-clock, so other work on
the machine disturbs it less, and the minimum discards the repetitions it
did disturb.  The same loops run a naive responder (find the blank line,
answer a constant) for scale.  ``--profile`` runs cProfile on one
sequential pass instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from typing import TYPE_CHECKING

from bench.servers.minimal import HttpResponder
from protocols.http.app import default_app
from protocols.http.server import HTTPConfig, HTTPHandler

if TYPE_CHECKING:
    from collections.abc import Callable

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
PIPELINE = 16
PEER = ("127.0.0.1", 40000)


class _Timer:
    __slots__ = ()

    def cancel(self) -> None:
        pass


class _Loop:
    """Time and timers that never fire: the handler only arms them."""

    def __init__(self) -> None:
        self.connections: dict[int, object] = {}

    def time(self) -> float:
        return 0.0

    def call_soon(self, callback: Callable[..., object], *args: object) -> _Timer:
        raise AssertionError("the benchmark never yields a turn")

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> _Timer:
        return _Timer()


class _Transport:
    """Counts the bytes written; never pushes back."""

    __slots__ = ("last_activity", "loop", "peer", "writes", "written")

    def __init__(self) -> None:
        self.loop = _Loop()
        self.peer = PEER
        self.last_activity = 0.0
        self.written = 0
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.writes += 1

    def writelines(self, lines: list[bytes]) -> None:
        self.written += sum(map(len, lines))
        self.writes += 1

    def set_idle_timeout(self, seconds: float | None) -> None:
        pass  # the transport's idle deadline: never reached here

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        raise AssertionError("the connection should stay open")

    abort = close


def _chunks(n: int, pipelined: bool) -> list[bytes]:
    if not pipelined:
        return [REQUEST] * n
    return [REQUEST * PIPELINE] * (n // PIPELINE)


def run_handler(n: int, pipelined: bool) -> float:
    """CPU seconds for the handler to answer ``n`` requests."""
    chunks = _chunks(n, pipelined)
    transport = _Transport()
    handler = HTTPHandler(default_app(), HTTPConfig(pipeline_budget=PIPELINE), PEER)
    handler.connection_made(transport)  # type: ignore[arg-type]
    receive = handler.data_received
    t0 = time.process_time()
    for chunk in chunks:
        receive(chunk)
    elapsed = time.process_time() - t0
    assert transport.written >= len(chunks) * (PIPELINE if pipelined else 1) * 100
    return elapsed


def run_naive(n: int, pipelined: bool) -> float:
    """CPU seconds for a naive responder (find the blank line, answer a constant)."""
    chunks = _chunks(n, pipelined)
    transport = _Transport()
    write = transport.write
    feed = HttpResponder().feed  # the asyncio/uvloop peers' responder
    t0 = time.process_time()
    for chunk in chunks:
        write(feed(chunk))
    return time.process_time() - t0


def measure(fn: Callable[[int, bool], float], n: int, pipelined: bool, reps: int) -> float:
    """Minimum CPU microseconds per request over ``reps`` runs."""
    fn(min(n, 1000), pipelined)  # warm caches and imports
    best = float("inf")
    gc.disable()
    try:
        for _ in range(reps):
            best = min(best, fn(n, pipelined))
    finally:
        gc.enable()
    return best / n * 1e6


def profile(n: int) -> None:
    """cProfile over one sequential pass: call counts and cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    run_handler(n, pipelined=False)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_micro", description=__doc__)
    parser.add_argument("-n", type=int, default=20000, help="requests per repetition")
    parser.add_argument("--reps", type=int, default=15, help="repetitions (minimum is kept)")
    parser.add_argument("--mode", choices=("sequential", "pipelined", "both"), default="both")
    parser.add_argument("--profile", action="store_true", help="cProfile one sequential pass")
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.n)
        return
    modes = ["sequential", "pipelined"] if args.mode == "both" else [args.mode]
    for mode in modes:
        pipelined = mode == "pipelined"
        ours = measure(run_handler, args.n, pipelined, args.reps)
        naive = measure(run_naive, args.n, pipelined, args.reps)
        print(
            f"{mode:10s}  handler {ours:6.2f} us/req   naive {naive:6.2f} us/req"
            f"   ratio {ours / naive:5.1f}"
        )


if __name__ == "__main__":
    main()
