"""pytest fixtures for code that runs on selreactor.

Installed with selreactor, this module is a pytest plugin through the
``pytest11`` entry point named ``reactor.pytest_plugin``, so pytest loads it
by itself.  From a checkout that was never installed, load it with
``pytest -p reactor.pytest_plugin`` or ``pytest_plugins =
["reactor.pytest_plugin"]`` in the top-level ``conftest.py``; the entry
point's name is the module's, so both ways together still load it once.

The fixtures (each is function-scoped; a fixture of the same name in a
``conftest.py`` overrides it):

``clock``
    A :class:`~reactor.testing.FakeClock`.  Set ``clock.autojump = True``
    for :func:`~reactor.testing.run_until` to jump to the next timer instead
    of waiting for it.
``fake_reactor``
    A :class:`~reactor.loop.Reactor` on ``clock``, bound to it: ``clock.advance(s)``
    runs the timers that fall due.  Closed after the test.
``reactor``
    A reactor on the real monotonic clock.  Closed after the test.
``serve_plugin``
    :func:`~reactor.testing.serve_plugin` on ``reactor`` (or on the
    ``reactor=`` given, such as ``fake_reactor``):
    ``serve_plugin("echo", idle_timeout=5)`` returns the
    :class:`~reactor.listener.Listener`, on a free loopback port.  Its type
    is :class:`~reactor.testing.ServePlugin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from reactor.loop import Reactor
from reactor.testing import FakeClock
from reactor.testing import serve_plugin as serve

if TYPE_CHECKING:
    from collections.abc import Iterator

    from reactor.listener import Listener
    from reactor.protocol import Plugin
    from reactor.testing import ServePlugin

# The fixtures are documented above: pytest's fixture objects are not
# functions, so they are not public names of the module.
__all__: list[str] = []


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def fake_reactor(clock: FakeClock) -> Iterator[Reactor]:
    """A reactor on the fake clock, bound to it; closed after the test."""
    reactor = clock.bind(Reactor(clock=clock))
    yield reactor
    reactor.close()


@pytest.fixture
def reactor() -> Iterator[Reactor]:
    """A reactor on the real monotonic clock; closed after the test."""
    r = Reactor()
    yield r
    r.close()


@pytest.fixture
def serve_plugin(reactor: Reactor) -> Iterator[ServePlugin]:
    """Serve a protocol plugin on the test's reactor; its listeners close after the test."""
    listeners: list[Listener] = []
    default = reactor

    def serve_on(
        plugin: str | Plugin,
        *argv: str,
        reactor: Reactor | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: object,
    ) -> Listener:
        listener = serve(reactor or default, plugin, *argv, host=host, port=port, **options)
        listeners.append(listener)
        return listener

    yield serve_on
    for listener in listeners:
        if not listener.reactor.is_closed() and not listener.is_closed():
            listener.close()
