"""The conformance harness itself: the skip list's grammar, its rows, the per-test bound."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import unittest

import pytest

from tests.aio.conformance import report
from tests.aio.conformance.bound import TestTimeout, bounded
from tests.aio.conformance.skips import SkipKind, SkipListError, kind_of, load_skips, parse_skips
from tests.aio.conformance.suite import Target, build, has_cpython_tests, load_target

pytestmark = pytest.mark.skipif(
    # unavoidable: some distributions package the interpreter's test suite apart
    not has_cpython_tests(),
    reason="this Python ships without test.test_asyncio (e.g. Debian: libpython3-testsuite)",
)

ROW = "| `test_events.*.test_foo` | {python} | {kind} | why |"


@pytest.mark.parametrize(
    ("python", "version", "applies"),
    [
        ("all", (3, 10), True),
        ("3.12", (3, 12), True),
        ("3.12", (3, 13), False),
        ("3.12+", (3, 11), False),
        ("3.12+", (3, 14), True),
        ("<3.12", (3, 11), True),
        ("<3.12", (3, 12), False),
        ("3.10, 3.13+", (3, 11), False),
        ("3.10, 3.13+", (3, 13), True),
    ],
)
def test_python_column(python: str, version: tuple[int, int], applies: bool) -> None:
    (skip,) = parse_skips(ROW.format(python=python, kind="loop"))
    assert skip.applies(version) is applies


def test_pattern_and_kind() -> None:
    (skip,) = parse_skips(ROW.format(python="all", kind="scope"))
    assert skip.kind is SkipKind.SCOPE
    assert skip.matches("test_events.EPollEventLoopTests.test_foo")
    assert not skip.matches("test_events.EPollEventLoopTests.test_foobar")
    assert kind_of(skip.message()) is SkipKind.SCOPE
    assert kind_of("Windows only") is None


@pytest.mark.parametrize(("python", "kind"), [("3.x", "loop"), ("all", "flaky")])
def test_malformed_row_is_an_error(python: str, kind: str) -> None:
    with pytest.raises(SkipListError, match="line 1"):
        parse_skips(ROW.format(python=python, kind=kind))


def test_every_row_names_a_test() -> None:
    """A row for this Python that matches no test id is stale (renamed or removed upstream)."""
    ids = list(build(load_target("asyncio")).test_ids())
    stale = [
        skip.pattern
        for skip in load_skips()
        if skip.applies() and not any(skip.matches(test_id) for test_id in ids)
    ]
    assert stale == []


def test_policy_is_set_per_test_and_restored() -> None:
    conformance = build(load_target("asyncio"), ["test_streams"])
    (cls,) = conformance.classes["test_streams"]
    seen: list[type] = []

    def test_probe(self: unittest.TestCase) -> None:
        seen.append(type(asyncio.get_event_loop_policy()))

    probe = type("Probe", (cls,), {"test_probe": test_probe})
    before = asyncio.get_event_loop_policy()
    result = unittest.TestResult()
    probe("test_probe").run(result)
    assert result.wasSuccessful(), result.errors
    assert seen[0].__name__ == "ConformancePolicy"
    assert asyncio.get_event_loop_policy() is before


def test_a_hang_fails_its_test() -> None:
    # defined here, not at module level, so that pytest does not collect it
    class _Hang(unittest.TestCase):
        def test_hang(self) -> None:
            threading.Event().wait()  # never set: the bound must end it

    out = io.StringIO()
    target = Target("asyncio", asyncio.DefaultEventLoopPolicy, asyncio.SelectorEventLoop)
    with bounded(0.2, watchdog=False):
        _Hang("test_hang").run(report._Result("hang", target, out))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[-1]["outcome"] == "timeout"
    assert records[-1]["id"] == "hang._Hang.test_hang"


def test_a_loop_spinning_in_callbacks_is_ended() -> None:
    """asyncio's Handle._run swallows a BaseException raised in a callback: one alarm is not
    enough, the repeated one lands in the loop's own code and ends run_forever."""
    loop = asyncio.new_event_loop()

    def spin() -> None:
        loop.call_soon(spin)
        sum(range(10_000))  # most of the time is spent inside the callback

    loop.call_soon(spin)
    swallowed: list[object] = []
    loop.set_exception_handler(lambda loop, context: swallowed.append(context))
    try:
        with pytest.raises(TestTimeout), bounded(0.2, watchdog=False):
            loop.run_forever()
    finally:
        loop.close()
