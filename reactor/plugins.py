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
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from reactor.protocol import Plugin

__all__ = ["GROUP", "PluginNotFound", "available", "forget", "load"]

GROUP = "reactor.protocols"
"""The entry-point group that plugins register in."""


class PluginNotFound(LookupError):
    """No entry point, module path or built-in plugin has that name."""


def available() -> dict[str, EntryPoint]:
    """Every plugin registered in the group, by name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def _not_found(name: str, why: str = "") -> PluginNotFound:
    known = ", ".join(sorted(available())) or "none installed"
    return PluginNotFound(f"no plugin {name!r}{why} (available: {known})")


def load(name: str) -> Plugin:
    """The plugin object named ``name`` (an entry-point name or ``module:attr``).

    :class:`PluginNotFound` says, in one line, which plugins are available.
    A plugin that is found but fails to import raises what its import raised.
    """
    found = available().get(name)
    if found is not None:
        return cast("Plugin", found.load())
    if ":" in name:
        module_name, _, attr = name.partition(":")
    elif name.isidentifier():
        module_name, attr = f"protocols.{name}", "plugin"
    else:
        raise _not_found(name)
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise _not_found(name)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # the module itself is missing, not one that it imports
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise _not_found(name) from None
        raise
    try:
        return cast("Plugin", getattr(module, attr or "plugin"))
    except AttributeError:
        raise _not_found(name, f": {module_name} has no attribute {attr!r}") from None


def forget(name: str) -> list[str]:
    """Drop the package of plugin ``name`` from :data:`sys.modules`, so that the
    next :func:`load` imports its code afresh (a worker after a reload does).

    The package is the top-level one of the plugin's module (``protocols``
    for the built-in plugins); selreactor's own ``reactor`` package is never
    dropped.  Returns the names of the modules dropped.
    """
    found = available().get(name)
    if found is not None:
        module_name = found.value.partition(":")[0].strip()
    elif ":" in name:
        module_name = name.partition(":")[0]
    else:
        module_name = f"protocols.{name}"
    top = module_name.split(".", 1)[0]
    if not top or top == "reactor":
        return []
    dropped = [m for m in sys.modules if m == top or m.startswith(top + ".")]
    for module in dropped:
        del sys.modules[module]
    importlib.invalidate_caches()
    return dropped
