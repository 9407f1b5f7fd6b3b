"""CPython's asyncio tests against reactor.aio, one pytest item per CPython test.

pytest collects ``unittest.TestCase`` subclasses natively: the rebound classes
of tests.aio.conformance.suite are put into this module's namespace as
``<module>__<Class>`` (``test_events__EPollEventLoopTests``), so an item reads
``test_conformance.py::test_streams__StreamTests::test_open_connection``.  Each
class's ``run()`` sets the conformance policy for its test and restores the
previous one, and bounds the test with a repeating SIGALRM (tests.aio.conformance.bound:
one alarm, pytest-timeout's signal method, can be swallowed by the loop's
callback wrapper): a hang fails that test, and the run goes on.  pytest-timeout's
thread method stays behind it as the last resort (it dumps the stacks and ends
the run).  Every item is marked ``conformance``.

``SELREACTOR_AIO_CONFORMANCE_LOOP=asyncio`` runs the same items on the stdlib
loop (the baseline).  ``python -m tests.aio.conformance.report`` prints the
per-module figures.
"""

from __future__ import annotations

import pytest

from tests.aio.conformance.bound import GRACE
from tests.aio.conformance.suite import TARGET_ENV, Bound, build, has_cpython_tests, load_target
from tests.externals import in_ci

TIMEOUT = 30
"""Seconds per test: CPython's slowest loop tests take a few seconds on a loaded machine."""

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.timeout(TIMEOUT + 2 * GRACE, method="thread"),
    # CPython runs these tests under its default warning filters; some provoke
    # DeprecationWarnings on purpose and check them with assertWarns
    pytest.mark.filterwarnings("default"),
]

if not has_cpython_tests():
    # unavoidable: some distributions package the interpreter's test suite apart
    # (Debian's libpython3.X-testsuite); without it there is nothing to run
    pytest.skip(
        "this Python ships without test.test_asyncio (e.g. Debian: libpython3-testsuite)",
        allow_module_level=True,
    )

try:
    _target = load_target()
except ModuleNotFoundError as exc:
    if exc.name != "reactor.aio" or in_ci():
        raise
    # unavoidable while reactor.aio is not in the tree; under CI=true this fails instead
    pytest.skip(
        f"reactor.aio is not in the tree; {TARGET_ENV}=asyncio runs the stdlib baseline",
        allow_module_level=True,
    )

for _module, _classes in build(_target, bound=Bound(TIMEOUT, watchdog=False)).classes.items():
    for _cls in _classes:
        globals()[f"{_module}__{_cls.__name__}"] = _cls
