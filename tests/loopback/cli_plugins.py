"""Third-party plugins for the command-line tests, served as ``tests.loopback.cli_plugins:NAME``.

Each one misbehaves in its own way (or not at all, for ``shouter``), so the
tests can check that ``reactor serve`` turns the failure into one line.
"""

from __future__ import annotations

import argparse

from protocols.echo import plugin as echo
from reactor.protocol import EventLoop, Factory


class Shouter:
    """A well-behaved plugin with options of its own (``--shout``, ``--volume``)."""

    description = "a third-party plugin with its own options"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Two options of its own."""
        parser.add_argument("--volume", type=int, default=3, help="how loudly")
        either = parser.add_mutually_exclusive_group()
        either.add_argument("--shout", action="store_true", help="say it loudly")
        either.add_argument("--whisper", action="store_true", help="say it softly")

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """The echo plugin's factory."""
        return echo.make_factory(loop, options)


class Clashing(Shouter):
    """Adds ``--port``, which ``reactor serve`` already has."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """A clash with a standard option."""
        parser.add_argument("--port", type=int, default=1)


class BrokenOptions(Shouter):
    """``add_arguments`` raises something that is not argparse's."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """A plugin bug."""
        raise KeyError("options table")


class Raising(Shouter):
    """``make_factory`` raises the exception it was built with."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def make_factory(self, loop: EventLoop, options: argparse.Namespace) -> Factory:
        """Refuse to start."""
        raise self.exc


shouter = Shouter()
clashing = Clashing()
broken_options = BrokenOptions()
bad_value = Raising(ValueError("--volume must be below 11"))
bad_type = Raising(TypeError("unsupported operand type(s) for +: 'int' and 'str'"))
missing_file = Raising(FileNotFoundError(2, "No such file or directory", "/nonexistent/app.conf"))
plugin_bug = Raising(RuntimeError("something internal broke"))
