"""A missing external program: one skip line naming its package, one summary, a failure in CI.

The runs are pytest sessions in a temporary folder (pytester) whose conftest
takes the suite's own hooks, with programs that are installed nowhere.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
from tests.conftest import pytest_configure, pytest_runtest_setup, pytest_terminal_summary
"""

PRESENT = """
from tests.externals import needs, program

def test_present() -> None:
    assert program("sh", "dash").endswith("/sh")
"""

TESTS = (
    PRESENT
    + """
@needs("selreactor-no-such-tool", "no-such-package")
def test_marked() -> None:
    raise AssertionError("never runs: the marker skips it first")

@needs("selreactor-no-such-tool", "no-such-package")
def test_marked_too() -> None:
    raise AssertionError("never runs")

def test_inline() -> None:
    program("selreactor-other-tool", "pkg-one pkg-two")
    raise AssertionError("never runs")
"""
)


@pytest.fixture
def session(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_peers=TESTS)
    return pytester


def test_without_ci_a_missing_program_skips_and_the_run_says_how_to_get_it(
    session: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = session.runpytest("-ra", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            "*= external programs not installed =*",
            "selreactor-no-such-tool is not installed (Debian package no-such-package):"
            " 2 tests skipped",
            "selreactor-other-tool is not installed (Debian package pkg-one pkg-two):"
            " 1 test skipped",
            "to run them: apt-get install no-such-package pkg-one pkg-two"
            " (or bash .ci/run, which installs them and runs tox)",
            "*short test summary info*",
            "SKIPPED [[]2[]] *: selreactor-no-such-tool is not installed"
            " (Debian package no-such-package)",
            "SKIPPED [[]1[]] *: selreactor-other-tool is not installed"
            " (Debian package pkg-one pkg-two)",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_with_ci_true_a_missing_program_fails_the_run(
    session: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = session.runpytest("-ra", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "selreactor-no-such-tool is not installed (Debian package no-such-package):"
            " 2 tests failed (CI=true)",
            "selreactor-other-tool is not installed (Debian package pkg-one pkg-two):"
            " 1 test failed (CI=true)",
            "to run them: apt-get install no-such-package pkg-one pkg-two*",
            "*short test summary info*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_run_that_misses_nothing_prints_no_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(PRESENT)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "external programs" not in result.stdout.str()
