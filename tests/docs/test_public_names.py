"""Every public name is documented.

Each module of ``reactor/`` and ``protocols/`` declares ``__all__``; every
name in it has a docstring, and so does every public method and property of
every public class.  A constant or type alias has no ``__doc__`` of its own,
so for those the test looks in the source for the string literal right after
the assignment (the attribute docstring Sphinx's autodoc shows).
"""

from __future__ import annotations
import __future__

import ast
import importlib
import inspect
import itertools
import pkgutil
import re
import types
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("reactor", "protocols")


def module_names() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = [str(ROOT / package)]
        for info in pkgutil.walk_packages(path, prefix=f"{package}."):
            if info.name.rsplit(".", 1)[-1] != "__main__":
                names.append(info.name)
    return sorted(names)


MODULES = module_names()


@cache
def attribute_docstrings(module_name: str) -> dict[str, str]:
    """Names assigned at the top of a module that a string literal follows."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    docs: dict[str, str] = {}
    body = ast.parse(source).body
    for node, after in itertools.pairwise(body):
        if not (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                docs[target.id] = after.value.value
    return docs


def data_docstring(module_name: str, name: str) -> str | None:
    """The attribute docstring of ``name``, following re-exports."""
    doc = attribute_docstrings(module_name).get(name)
    if doc is not None:
        return doc
    source = inspect.getsource(importlib.import_module(module_name))
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and any((alias.asname or alias.name) == name for alias in node.names)
        ):
            return data_docstring(node.module, name)
    return None


def has_doc(obj: object) -> bool:
    doc = getattr(obj, "__doc__", None)
    return isinstance(doc, str) and bool(doc.strip())


def own_doc(obj: object) -> bool:
    """A docstring written for ``obj`` itself, not inherited from its type."""
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        return has_doc(obj)
    if isinstance(obj, (property, classmethod, staticmethod)):
        return has_doc(obj.__func__ if not isinstance(obj, property) else obj.fget)
    return False


def documented_by_class(obj: object) -> bool:
    """An instance of one of our documented classes (a plugin object) is documented."""
    cls = type(obj)
    return cls.__module__.split(".")[0] in PACKAGES and has_doc(cls)


def undocumented_members(cls: type) -> list[str]:
    missing = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        callable_member = (types.FunctionType, classmethod, staticmethod, property)
        if not isinstance(member, callable_member) or own_doc(member):
            continue
        # An override inherits its base's docstring, as autodoc shows it.
        if not (isinstance(member, types.FunctionType) and inspect.getdoc(getattr(cls, name))):
            missing.append(f"{cls.__qualname__}.{name}")
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_module_declares_all_and_documents_it(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert has_doc(module), f"{module_name} has no module docstring"
    public = getattr(module, "__all__", None)
    if public is None:
        # Allowed only for a package that exports nothing but its submodules.
        exported = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and not isinstance(value, (types.ModuleType, __future__._Feature))
        ]
        assert not exported, f"{module_name} has public names {exported} but no __all__"
        return
    missing = []
    for name in public:
        obj = getattr(module, name)
        # Python 3.10 says a parameterised alias such as Callable[[int], None]
        # is an instance of type; it is an alias, documented like a constant.
        is_alias = isinstance(obj, types.GenericAlias)
        if isinstance(obj, type) and not is_alias:
            if not has_doc(obj) or obj.__doc__ == type.__doc__:
                missing.append(name)
            if obj.__module__ == module_name:
                missing += undocumented_members(obj)
        elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            if not has_doc(obj):
                missing.append(name)
        elif data_docstring(module_name, name) is None and not documented_by_class(obj):
            # A constant or a type alias: its type's docstring does not describe it.
            missing.append(name)
    assert not missing, f"{module_name}: undocumented public names: {missing}"


def test_api_reference_covers_every_module() -> None:
    api = (ROOT / "docs" / "api.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. automodule:: ([\w.]+)", api, re.MULTILINE))
    missing = [name for name in MODULES if name not in documented]
    assert not missing, f"docs/api.rst does not document {missing}"
