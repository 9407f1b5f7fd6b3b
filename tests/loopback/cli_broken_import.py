"""A plugin module whose import fails (it imports a module that does not exist)."""

from __future__ import annotations

import importlib

importlib.import_module("no_such_dependency_of_this_plugin")

plugin = None
