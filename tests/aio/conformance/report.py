"""Run CPython's asyncio tests against the loop and print passed / applicable per module.

    python -m tests.aio.conformance.report                 # reactor.aio, every module
    python -m tests.aio.conformance.report --target asyncio --module test_streams
    python -m tests.aio.conformance.report --markdown --failures /tmp/failures.md

Standard library only, so any interpreter with its ``test`` package runs it
(``PYTHONPATH=. ~/.pyenv/versions/3.13.0/bin/python -m tests.aio.conformance.report``).
Each module runs in a child interpreter; each test there is bounded
(``--timeout``, tests.aio.conformance.bound), a test that ends its child is
counted as failed and a new child resumes after it, and every child is bounded
by ``--module-timeout``: a hang is a failure of the test that was running,
never a stalled report.

Columns: *tests* the module's test ids (one selector variant), *n/a* the ones
CPython skips here plus the white-box ``scope`` rows of SKIPS.md, *applicable*
the rest, *passed* (expected failures count as passed, as in CPython's runner),
*failed* failures, errors, timeouts and ``loop`` rows of SKIPS.md, *on loop* the
applicable tests that made at least one loop of the target (the others exercise
asyncio's futures and tasks over asyncio's own test loop), *seconds* wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TextIO

from tests.aio.conformance.bound import TestTimeout
from tests.aio.conformance.skips import SkipKind, kind_of
from tests.aio.conformance.suite import (
    TARGET_ENV,
    Bound,
    Target,
    build,
    load_target,
    module_names,
)

ROOT = Path(__file__).resolve().parents[3]
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


class _Result(unittest.TestResult):
    """Writes one JSON line per test to ``out``: its id, outcome, loops made and seconds."""

    def __init__(self, module: str, target: Target, out: TextIO) -> None:
        super().__init__()
        self._module, self._target, self._out = module, target, out
        self._outcome = "passed"
        self._detail = ""
        self._started = 0.0
        self._loops = 0

    def _id(self, test: unittest.TestCase) -> str:
        return f"{self._module}.{type(test).__name__}.{test._testMethodName}"

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._outcome, self._detail = "passed", ""
        self._loops = self._target.loops_created
        print(json.dumps({"start": self._id(test)}), file=self._out, flush=True)
        self._started = time.monotonic()

    def stopTest(self, test: unittest.TestCase) -> None:
        record = {
            "id": self._id(test),
            "outcome": self._outcome,
            "detail": self._detail,
            "on_loop": self._target.loops_created > self._loops,
            "seconds": round(time.monotonic() - self._started, 3),
        }
        print(json.dumps(record), file=self._out, flush=True)
        super().stopTest(test)

    def _fail(self, err: _ExcInfo) -> None:
        # keep the first failure of a test (a tearDown error may follow it)
        if self._outcome == "passed" and err[1] is not None:
            self._outcome = "timeout" if isinstance(err[1], TestTimeout) else "failed"
            text = "".join(traceback.format_exception(err[0], err[1], err[2]))
            self._detail = text[-4000:] if self._outcome == "failed" else str(err[1])[-4000:]

    def addError(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        self._fail(err)

    def addFailure(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        self._fail(err)

    def addSubTest(
        self, test: unittest.TestCase, subtest: unittest.TestCase, err: _ExcInfo | None
    ) -> None:
        if err is not None:
            self._fail(err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        kind = kind_of(reason)
        self._outcome = "skip-" + (kind.value if kind else "cpython")
        self._detail = reason

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        self._outcome, self._detail = "failed", "unexpected success"


@dataclass(frozen=True)
class Options:
    """How the children run: the target, the bounds, whether SKIPS.md's loop rows apply."""

    target: str
    timeout: float
    module_timeout: float
    loop_skips: bool


def run_module(module: str, options: Options, out: TextIO, after: str | None = None) -> None:
    """Run one conformance module in this process, writing JSON lines to ``out``.

    With ``after``, the tests up to and including that id are left out: the run
    resumes after a test that ended the previous child.
    """
    target = load_target(options.target)
    bound = Bound(options.timeout, watchdog=True)
    conformance = build(target, [module], bound, loop_skips=options.loop_skips)
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    tests = [
        test
        for cls in conformance.classes[module]
        for test in loader.loadTestsFromTestCase(cls)
        if isinstance(test, unittest.TestCase)
    ]
    if after is not None:
        ids = [f"{module}.{type(test).__name__}.{test._testMethodName}" for test in tests]
        tests = tests[ids.index(after) + 1 :]
    suite.addTests(tests)
    suite.run(_Result(module, target, out))


@dataclass
class ModuleFigures:
    """The counts of one module."""

    module: str
    tests: int = 0
    not_applicable: int = 0
    passed: int = 0
    failed: int = 0
    on_loop: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def applicable(self) -> int:
        """The tests that count."""
        return self.tests - self.not_applicable

    def add(self, record: dict[str, object]) -> None:
        """Count one test's JSON record."""
        outcome = str(record["outcome"])
        self.tests += 1
        self.seconds += float(str(record["seconds"]))
        if outcome in ("skip-cpython", f"skip-{SkipKind.SCOPE.value}"):
            self.not_applicable += 1
            return
        self.on_loop += bool(record["on_loop"])
        if outcome == "passed":
            self.passed += 1
        else:
            self.failed += 1
            if outcome != f"skip-{SkipKind.LOOP.value}":
                self.failures.append((str(record["id"]), outcome, str(record["detail"])))


def _run_child(
    module: str, options: Options, after: str | None
) -> tuple[list[dict[str, object]], str, int | None]:
    """One child interpreter's records, its stderr and exit status (None: killed)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "tests.aio.conformance.report", "--child", module]
    command += ["--target", options.target, "--timeout", str(options.timeout)]
    if not options.loop_skips:
        command.append("--ignore-loop-skips")
    if after is not None:
        command += ["--after", after]
    # the records go to a file of their own: the tests print to stdout and stderr
    with tempfile.NamedTemporaryFile("w+", suffix=".jsonl", encoding="utf-8") as records:
        command += ["--records", records.name]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=env,
                timeout=options.module_timeout,
                check=False,
                cwd=ROOT,
            )
            stderr, returncode = done.stderr, done.returncode
        except subprocess.TimeoutExpired:
            stderr, returncode = f"killed after {options.module_timeout:.0f} s", None
        lines = Path(records.name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines], stderr, returncode


def collect(module: str, options: Options) -> ModuleFigures:
    """Run ``module`` in child interpreters and count its results.

    A test that ends its child (the watchdog of a hang, a crash) is counted as
    failed, and a new child resumes after it.
    """
    figures = ModuleFigures(module)
    started = time.monotonic()
    after = None
    while True:
        records, stderr, returncode = _run_child(module, options, after)
        running = last = None
        for record in records:
            if "start" in record:
                running = str(record["start"])
                continue
            running, last = None, str(record["id"])
            figures.add(record)
        if running is None and returncode == 0:
            break
        detail = stderr[-3000:] or f"exit status {returncode}"
        outcome = "crash" if returncode else "timeout"
        if running is not None:
            # the child died or was killed inside a test: that test failed
            record = {"id": running, "outcome": outcome, "detail": detail}
            figures.add({**record, "on_loop": True, "seconds": 0})
        else:
            # between tests (or before the first): on the list, not a test of its own
            figures.failures.append((f"{module} (after {last or 'import'})", outcome, detail))
        resume = running or last
        if resume is None or resume == after:
            break
        after = resume
    figures.seconds = time.monotonic() - started
    return figures


def format_table(rows: list[ModuleFigures], target: str, markdown: bool) -> str:
    """The per-module table with a total line."""
    total = ModuleFigures("total")
    for row in rows:
        total.tests += row.tests
        total.not_applicable += row.not_applicable
        total.passed += row.passed
        total.failed += row.failed
        total.on_loop += row.on_loop
        total.seconds += row.seconds
    head = ("module", "tests", "n/a", "applicable", "passed", "failed", "on loop", "%", "seconds")
    lines = []
    for row in [*rows, total]:
        share = 100.0 * row.passed / row.applicable if row.applicable else 100.0
        lines.append(
            (
                row.module,
                row.tests,
                row.not_applicable,
                row.applicable,
                row.passed,
                row.failed,
                row.on_loop,
                f"{share:.1f}",
                f"{row.seconds:.0f}",
            )
        )
    version = ".".join(map(str, sys.version_info[:3]))
    title = f"asyncio conformance of {target} on Python {version}"
    if markdown:
        out = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(str(cell) for cell in line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(str(line[i])) for line in [head, *lines]) for i in range(len(head))]
    out = [title, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out += [
        "  ".join(
            str(c).rjust(w) if i else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    return "\n".join(out)


def write_failures(rows: list[ModuleFigures], path: Path, target: str) -> None:
    """The failures with their first lines, as markdown, for whoever fixes the loop."""
    version = ".".join(map(str, sys.version_info[:3]))
    out = [f"## {target} on Python {version}", ""]
    for row in rows:
        for test_id, outcome, detail in row.failures:
            # a failure's last lines are its error; a timeout's message is where it hung
            head = "\n".join(detail.strip().splitlines()[-(18 if outcome == "timeout" else 6) :])
            out += [
                f"- `{test_id}` ({outcome})",
                "",
                "  ```",
                *("  " + text for text in head.splitlines()),
                "  ```",
                "",
            ]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Print the conformance table; exit 1 if any applicable test failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target", choices=("reactor", "asyncio"), default=os.environ.get(TARGET_ENV) or "reactor"
    )
    parser.add_argument("--module", action="append", help="a module of test.test_asyncio")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per test")
    parser.add_argument("--module-timeout", type=float, default=900.0, help="seconds per module")
    parser.add_argument("--markdown", action="store_true", help="a markdown table")
    parser.add_argument("--failures", type=Path, help="write the failures here (markdown)")
    parser.add_argument(
        "--ignore-loop-skips",
        action="store_true",
        help="run the tests of SKIPS.md's loop rows too (to see which pass now)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--after", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    options = Options(
        args.target, args.timeout, args.module_timeout, loop_skips=not args.ignore_loop_skips
    )
    if args.child:
        with args.records.open("w", encoding="utf-8") as out:
            run_module(args.child, options, out, args.after)
        return 0
    modules = args.module or module_names()
    unknown = sorted(set(modules) - set(module_names()))
    if unknown:
        parser.error(f"not a conformance module on this Python: {', '.join(unknown)}")
    rows = []
    for module in modules:
        rows.append(collect(module, options))
        print(f"{module}: {rows[-1].passed}/{rows[-1].applicable}", file=sys.stderr, flush=True)
    target = "reactor.aio" if args.target == "reactor" else "asyncio"
    print(format_table(rows, target, args.markdown))
    if args.failures:
        write_failures(rows, args.failures, target)
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
