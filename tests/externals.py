"""External programs the tests drive (curl, redis-cli, escript, gcc, ...), and life without them.

A test that needs one asks for it here, by the program's name and the Debian
package that provides it::

    needs_curl = needs("curl", "curl")  # a marker, checked before the test's fixtures

    def test_x() -> None:
        cli = program("redis-cli", "redis-tools")  # the path, or the test skips here

Without the program the test skips with one line naming the package, and the
end of the run (tests/conftest.py) prints one summary of everything skipped and
the ``apt-get install`` line that gets it.  Under ``CI=true`` the same message
fails the test instead: CI never passes with a peer silently left out.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import NoReturn

import pytest

__all__ = ["MISSING", "in_ci", "needs", "program", "unavailable"]

MISSING = re.compile(r"(?P<what>.+?) is not installed \(Debian package (?P<packages>[^()\n]+)\)")
"""Matches (from the start) the message of :func:`unavailable`; the summary reads it back."""


def in_ci() -> bool:
    """Whether ``CI`` is set to a true value (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def unavailable(what: str, package: str) -> NoReturn:
    """Skip the running test (fail it under ``CI=true``): ``what`` is not installed.

    ``package`` is the Debian package (or space-separated packages) that provides it.
    """
    message = f"{what} is not installed (Debian package {package})"
    if in_ci():
        pytest.fail(f"{message}; CI=true makes a missing program a failure", pytrace=False)
    pytest.skip(message)


def program(name: str, package: str) -> str:
    """The path of the program ``name`` on PATH; without it, :func:`unavailable` decides."""
    path = shutil.which(name)
    if path is None:
        unavailable(name, package)
    return path


def needs(name: str, package: str) -> pytest.MarkDecorator:
    """A marker for a test (or, as ``pytestmark``, a module) that runs ``name``.

    tests/conftest.py checks it before the test's fixtures are set up, so a
    missing program costs no server start-up.
    """
    return pytest.mark.external(name, package)
