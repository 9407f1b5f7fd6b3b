"""Fixtures shared by the whole suite: a reactor on a fake clock, a real one, loopback helpers."""

from __future__ import annotations

import os
import socket

from hypothesis import settings

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
settings.load_profile("ci" if os.environ.get("CI") else "selreactor")
