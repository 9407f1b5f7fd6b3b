"""Finding protocol plugins: the ``reactor.protocols`` entry-point group.

A distribution registers a plugin the way selreactor registers its own::

    [project.entry-points."reactor.protocols"]
    echo = "protocols.echo:plugin"

``reactor serve NAME`` then finds it.  A ``module:attribute`` path works too,
for a plugin that is not installed.  When no entry point has the name (a
source checkout that was never installed), ``protocols.NAME:plugin`` is tried
last, which is where the built-in plugins live.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from reactor.protocol import Plugin

__all__ = ["GROUP", "PluginNotFound", "available", "load"]

GROUP = "reactor.protocols"
"""The entry-point group that plugins register in."""


class PluginNotFound(LookupError):
    """No entry point, module path or built-in plugin has that name."""


def available() -> dict[str, EntryPoint]:
    """Every plugin registered in the group, by name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str) -> Plugin:
    """The plugin object named ``name`` (an entry-point name or ``module:attr``)."""
    found = available().get(name)
    if found is not None:
        return cast("Plugin", found.load())
    if ":" in name:
        module_name, _, attr = name.partition(":")
    elif name.isidentifier():
        module_name, attr = f"protocols.{name}", "plugin"
    else:
        raise PluginNotFound(name)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            known = ", ".join(sorted(available())) or "none installed"
            raise PluginNotFound(f"no plugin {name!r} (known: {known})") from None
        raise
    try:
        return cast("Plugin", getattr(module, attr))
    except AttributeError:
        raise PluginNotFound(f"{module_name} has no attribute {attr!r}") from None
