"""A test kit for code that runs on the reactor: fake time, in-memory connections, loopback.

Tests never sleep to synchronise.  They step the reactor until a condition
holds, with a deadline in real time so that a broken test fails fast instead
of hanging, and they run timers on a clock that moves only when told to::

    clock = FakeClock()
    reactor = clock.bind(Reactor(clock=clock))
    reactor.call_later(30, fired.append, True)
    clock.advance(30)  # runs what fell due: no extra turn needed
    assert fired

The kit, module by module (everything is importable from here):

* :mod:`reactor.testing.clock`: :class:`FakeClock` (bound to a reactor, its
  ``advance()`` runs the timers that fall due; ``autojump`` jumps to the next
  one whenever the reactor would wait), :func:`run_until`, :func:`settle`,
  :class:`StepTimeout`;
* :mod:`reactor.testing.memory`: :class:`MemoryTransport`, the
  :class:`~reactor.protocol.Transport` interface over memory, to test a
  handler without sockets;
* :mod:`reactor.testing.pair`: :func:`connection_pair`, two handlers
  connected in memory and driven by a reactor (each end a
  :class:`PairedTransport`);
* :mod:`reactor.testing.loopback`: :class:`LoopbackClient`, a real client
  socket stepped with the reactor, and :func:`read_exactly` /
  :func:`read_until_eof` for raw sockets;
* :mod:`reactor.testing.serving`: :func:`serve_plugin`, a protocol plugin
  served as ``reactor serve NAME`` would;
* :mod:`reactor.pytest_plugin`: pytest fixtures for all of it (``clock``,
  ``fake_reactor``, ``reactor``, ``serve_plugin``), loaded by pytest itself
  once selreactor is installed.
"""

from reactor.testing.clock import DEFAULT_MAX_TURNS, FakeClock, StepTimeout, run_until, settle
from reactor.testing.loopback import LoopbackClient, read_exactly, read_until_eof
from reactor.testing.memory import DEFAULT_LOCAL, MemoryTransport
from reactor.testing.pair import PairedTransport, connection_pair
from reactor.testing.serving import ServePlugin, serve_plugin

__all__ = [
    "DEFAULT_LOCAL",
    "DEFAULT_MAX_TURNS",
    "FakeClock",
    "LoopbackClient",
    "MemoryTransport",
    "PairedTransport",
    "ServePlugin",
    "StepTimeout",
    "connection_pair",
    "read_exactly",
    "read_until_eof",
    "run_until",
    "serve_plugin",
    "settle",
]
