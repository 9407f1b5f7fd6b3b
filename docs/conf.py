"""Sphinx configuration for selreactor's documentation."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "selreactor"
author = "the selreactor authors"
copyright = "2026, the selreactor authors"  # noqa: A001
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_type_aliases = {
    "PeerKey": "reactor.protocol.PeerKey",
    "ActiveMode": "reactor.protocol.ActiveMode",
    "Factory": "reactor.protocol.Factory",
}
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False
html_theme = "furo"
html_title = "selreactor"
html_static_path = ["_static"]
exclude_patterns = ["_build", "examples"]
