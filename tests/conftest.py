"""Fixtures shared by the whole suite: a reactor on a fake clock, a real one, loopback helpers.

Also the end-of-run summary of the external programs (tests/externals.py) that
were not installed, and so left tests out.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import settings

from tests.externals import MISSING, in_ci, program

# clock, fake_reactor, reactor, serve_plugin.  Installed, the plugin is also an
# entry point of that very name, so pytest loads it once either way.
pytest_plugins = ["reactor.pytest_plugin"]


def has_ipv6() -> bool:
    """Whether ::1 can be bound here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


# Hypothesis: no per-example deadline (CI machines are shared and vary), and a
# bounded number of examples so the suite stays fast on every Python.
settings.register_profile("selreactor", deadline=None, max_examples=200)
settings.register_profile("ci", deadline=None, max_examples=200, derandomize=True)
settings.load_profile("ci" if in_ci() else "selreactor")


# -- external programs ------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``external`` marker that tests.externals.needs() puts on a test."""
    config.addinivalue_line(
        "markers", "external(name, package): runs the program name, from Debian package package"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (under CI=true, fail) a test whose external program is missing, before its fixtures."""
    for mark in item.iter_markers("external"):
        program(*mark.args)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One summary of the tests left out for a missing program, and how to install it."""
    counts: dict[str, int] = {}
    packages: dict[str, list[str]] = {}
    for key in ("skipped", "failed", "error"):
        for report in terminalreporter.stats.get(key, ()):
            longrepr = getattr(report, "longrepr", None)
            # a skip is (path, line, "Skipped: message"); a failure from unavailable() is
            # the message alone, so a traceback that merely quotes one is not counted
            text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            if match := MISSING.match(text.removeprefix("Skipped: ")):
                counts[match[0]] = counts.get(match[0], 0) + 1
                packages[match[0]] = match["packages"].split()
    if not counts:
        return
    counts = dict(sorted(counts.items()))
    apt = dict.fromkeys(package for what in counts for package in packages[what])
    ci = in_ci()
    verb = "failed (CI=true)" if ci else "skipped"
    terminalreporter.write_sep("=", "external programs not installed", red=ci, yellow=not ci)
    for what, count in counts.items():
        terminalreporter.write_line(f"{what}: {count} test{'s' * (count != 1)} {verb}")
    terminalreporter.write_line(
        f"to run them: apt-get install {' '.join(apt)}"
        " (or bash .ci/run, which installs them and runs tox)"
    )
