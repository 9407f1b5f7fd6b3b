"""CPython's own asyncio tests (``test.test_asyncio``), rebound to the loop under test.

Theory of operation.  Every supported interpreter ships its asyncio test suite;
the modules that drive a loop through its public interface are imported as they
are, and each of their ``unittest.TestCase`` classes gets a subclass built here:

- ``run()`` installs the conformance policy (a subclass of the target's
  ``EventLoopPolicy`` that counts the loops it makes) for the test and restores
  the previous policy afterwards, so tests that ask the policy (``asyncio.run``,
  ``IsolatedAsyncioTestCase``, ``asyncio.new_event_loop()``) get the target loop;
- ``create_event_loop()`` (test_events, test_sock_lowlevel, test_sendfile) and
  ``new_loop()`` (the functional mixins: test_server, test_sslproto,
  test_buffered_proto) return the target loop instead of a ``SelectorEventLoop``
  of an explicit selector class;
- a test named in the skip list (SKIPS.md) is replaced by a skip that says why.

CPython instantiates the same mixin once per selector class (epoll, poll,
select, kqueue).  The target has one loop, so of the classes that define their
own loop factory over the same bases only the first one that runs here is kept;
the rest would run the same tests again on the same loop.

Only the standard library is used here: ``python -m tests.aio.conformance.report``
runs on a bare interpreter, and the pytest module builds its items from the same
classes.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import sys
import unittest
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.aio.conformance.bound import bounded
from tests.aio.conformance.skips import Skip, SkipKind, load_skips

TARGET_ENV = "SELREACTOR_AIO_CONFORMANCE_LOOP"
"""Environment variable naming the loop under test: ``reactor`` (the default) or ``asyncio``."""

MODULES: tuple[tuple[str, tuple[int, int]], ...] = (
    ("test_events", (3, 10)),
    ("test_sock_lowlevel", (3, 10)),
    ("test_server", (3, 10)),
    ("test_sendfile", (3, 10)),
    ("test_streams", (3, 10)),
    ("test_tasks", (3, 10)),
    ("test_futures", (3, 10)),
    ("test_locks", (3, 10)),
    ("test_queues", (3, 10)),
    ("test_timeouts", (3, 11)),
    ("test_taskgroups", (3, 11)),
    ("test_runners", (3, 10)),
    ("test_subprocess", (3, 10)),
    ("test_ssl", (3, 11)),
    ("test_sslproto", (3, 10)),
    ("test_context", (3, 10)),
    ("test_waitfor", (3, 10)),
    ("test_buffered_proto", (3, 10)),
)
"""The modules of ``test.test_asyncio`` run against the loop, with the first Python having each."""

_LOOP_HOOKS = ("create_event_loop", "new_loop")


def has_cpython_tests() -> bool:
    """Whether this interpreter ships its asyncio tests (some distributions package them apart)."""
    return importlib.util.find_spec("test.test_asyncio") is not None


def module_names() -> list[str]:
    """The conformance modules this interpreter ships."""
    return [name for name, since in MODULES if sys.version_info[:2] >= since]


@dataclass
class Target:
    """The loop under test: its name, its policy class and its ``new_event_loop``."""

    name: str
    policy_class: type[asyncio.AbstractEventLoopPolicy]
    new_event_loop: Callable[[], asyncio.AbstractEventLoop]
    loops_created: int = 0

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """A fresh loop of the target, counted."""
        self.loops_created += 1
        return self.new_event_loop()


def load_target(name: str | None = None) -> Target:
    """The target named by ``name`` or $SELREACTOR_AIO_CONFORMANCE_LOOP (default: reactor.aio).

    ``asyncio`` is the stand-in: the same harness over the stdlib loop, which
    proves the machinery itself and gives the baseline figures.  ImportError
    when ``reactor.aio`` is not importable.
    """
    name = name or os.environ.get(TARGET_ENV) or "reactor"
    if name == "asyncio":
        return Target("asyncio", asyncio.DefaultEventLoopPolicy, asyncio.SelectorEventLoop)
    if name == "reactor":
        aio = importlib.import_module("reactor.aio")
        return Target("reactor.aio", aio.EventLoopPolicy, aio.new_event_loop)
    raise ValueError(f"{TARGET_ENV} must be 'reactor' or 'asyncio', not {name!r}")


def _counting_policy(target: Target) -> asyncio.AbstractEventLoopPolicy:
    """An instance of the target's policy whose ``new_event_loop`` counts the loops it makes."""
    base = target.policy_class

    def new_event_loop(self: asyncio.AbstractEventLoopPolicy) -> asyncio.AbstractEventLoop:
        target.loops_created += 1
        return base.new_event_loop(self)

    policy_class = type("ConformancePolicy", (base,), {"new_event_loop": new_event_loop})
    policy: asyncio.AbstractEventLoopPolicy = policy_class()
    return policy


def _set_policy(policy: asyncio.AbstractEventLoopPolicy | None) -> None:
    # 3.14 deprecates the policy system; the tests still go through it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(policy)


def _get_policy() -> asyncio.AbstractEventLoopPolicy:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy()


def _runners_new_loop(target: Target) -> Callable[[Any], asyncio.AbstractEventLoop]:
    """test_runners' ``BaseTest.new_loop`` mocks a BaseEventLoop's selector; this is the target
    loop with the one probe its tearDown asserts (``shutdown_asyncgens`` was awaited)."""

    def new_loop(self: Any) -> asyncio.AbstractEventLoop:
        loop: Any = target.new_loop()
        original = loop.shutdown_asyncgens
        loop.shutdown_ag_run = False

        async def shutdown_asyncgens() -> None:
            loop.shutdown_ag_run = True
            await original()

        loop.shutdown_asyncgens = shutdown_asyncgens
        result: asyncio.AbstractEventLoop = loop
        return result

    return new_loop


_MODULE_HOOKS: dict[str, Callable[[Target], dict[str, Callable[..., Any]]]] = {
    "test_runners": lambda target: {"new_loop": _runners_new_loop(target)},
}


def _defines_loop(cls: type) -> bool:
    return any(hook in vars(cls) for hook in _LOOP_HOOKS)


def _test_classes(module: Any) -> Iterator[type[unittest.TestCase]]:
    """The TestCase classes of ``module`` that hold tests, deduplicated over selector variants."""
    loader = unittest.TestLoader()
    seen_bases: set[tuple[type, ...]] = set()
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, unittest.TestCase)
        and loader.getTestCaseNames(obj)
    ]
    # a variant CPython skips on this platform (Proactor, kqueue) never stands for the others
    classes.sort(key=lambda cls: bool(getattr(cls, "__unittest_skip__", False)))
    for cls in classes:
        if _defines_loop(cls):
            if cls.__bases__ in seen_bases:
                continue
            seen_bases.add(cls.__bases__)
        yield cls


def _skipped(reason: str) -> Callable[[Any], None]:
    def test(self: Any) -> None:
        raise unittest.SkipTest(reason)

    return test


@dataclass
class Conformance:
    """The rebound TestCase classes of every conformance module, for one target."""

    target: Target
    skips: list[Skip]
    classes: dict[str, list[type[unittest.TestCase]]]

    def test_ids(self) -> Iterator[str]:
        """``module.Class.test`` of every test, as the skip list names them."""
        loader = unittest.TestLoader()
        for module, classes in self.classes.items():
            for cls in classes:
                for name in loader.getTestCaseNames(cls):
                    yield f"{module}.{cls.__name__}.{name}"


@dataclass(frozen=True)
class Bound:
    """The time bound of each test (see tests.aio.conformance.bound)."""

    seconds: float = 30.0
    watchdog: bool = True


def _rebind(
    module_name: str,
    cls: type[unittest.TestCase],
    target: Target,
    skips: list[Skip],
    bound: Bound,
) -> type[unittest.TestCase]:
    """A subclass of ``cls`` that runs on ``target`` and skips what the skip list names."""
    policy = _counting_policy(target)

    def run(self: Any, result: Any = None) -> Any:
        previous = _get_policy()
        _set_policy(policy)
        try:
            with bounded(bound.seconds, watchdog=bound.watchdog):
                return super(rebound, self).run(result)
        finally:
            # a test may leave a loop set on the policy; never carry it to the next test
            _set_policy(previous)

    def new_loop(self: Any) -> asyncio.AbstractEventLoop:
        return target.new_loop()

    namespace: dict[str, Any] = {
        "run": run,
        "__module__": __name__,
        "__qualname__": cls.__name__,
        "conformance_module": module_name,
    }
    for hook in _LOOP_HOOKS:
        if hasattr(cls, hook):
            namespace[hook] = new_loop
    if module_name in _MODULE_HOOKS:
        namespace.update(_MODULE_HOOKS[module_name](target))
    for name in unittest.TestLoader().getTestCaseNames(cls):
        skip = match_skip(skips, f"{module_name}.{cls.__name__}.{name}")
        if skip is not None:
            namespace[name] = _skipped(skip.message())
    rebound: type[unittest.TestCase] = type(cls.__name__, (cls,), namespace)
    return rebound


def match_skip(skips: list[Skip], test_id: str) -> Skip | None:
    """The first entry of the skip list that names ``test_id`` on this Python, if any."""
    for skip in skips:
        if skip.matches(test_id):
            return skip
    return None


def build(
    target: Target | None = None,
    modules: list[str] | None = None,
    bound: Bound | None = None,
    *,
    loop_skips: bool = True,
) -> Conformance:
    """Import the conformance modules and rebind their test classes to ``target``.

    ``loop_skips=False`` runs the tests of the ``loop`` rows anyway (to see which pass now).
    """
    target = target or load_target()
    bound = bound or Bound()
    skips = [skip for skip in load_skips() if loop_skips or skip.kind is SkipKind.SCOPE]
    classes: dict[str, list[type[unittest.TestCase]]] = {}
    for name in modules or module_names():
        module = importlib.import_module(f"test.test_asyncio.{name}")
        classes[name] = [_rebind(name, cls, target, skips, bound) for cls in _test_classes(module)]
    return Conformance(target, skips, classes)
