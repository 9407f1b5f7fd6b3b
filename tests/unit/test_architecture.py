"""The shape of ``reactor/``: no import cycle, the seam respected."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "reactor"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every import between modules of ``reactor/``, TYPE_CHECKING and lazy ones included."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_reactor() -> None:
    # A package imports its submodules to re-export them; that is not a cycle
    # between concerns, so the package nodes themselves are left out.
    graph = import_graph()
    packages = {"reactor", "reactor.testing"}
    graph = {k: v - packages for k, v in graph.items() if k not in packages}
    assert find_cycle(graph) is None


def test_nothing_below_the_loop_names_it() -> None:
    graph = import_graph()
    # nor the connection, from the modules a connection is made of
    for name in ["reactor.channel", "reactor.writer", "reactor.delivery", "reactor.drain"]:
        assert "reactor.transport" not in graph[name], f"{name} imports reactor.transport"
    below = [
        "reactor.transport",
        "reactor.channel",
        "reactor.writer",
        "reactor.delivery",
        "reactor.listener",
        "reactor.binding",
        "reactor.connector",
        "reactor.drain",
        "reactor.scheduler",
        "reactor.signals",
        "reactor.errors",
        "reactor.addresses",
        "reactor.sockopts",
    ]
    for name in below:
        assert "reactor.loop" not in graph[name], f"{name} imports reactor.loop"


# Reads of another module's underscore names that are deliberate, each with a
# comment at the place saying why (the loop's per-turn hot path).
ALLOWED = {("reactor/loop.py", "_heap"), ("reactor/loop.py", "_cancelled")}


def test_no_module_reaches_into_another_modules_underscore_names() -> None:
    """``x._name`` where ``x`` is not ``self`` or ``cls``, outside the module
    that defines ``_name``, is the seam broken."""
    defined: dict[str, set[Path]] = {}
    files = sorted(PACKAGE.glob("*.py"))
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in files}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    defined.setdefault(node.attr, set()).add(path)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.setdefault(node.name, set()).add(path)
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
                continue
            if node.attr.startswith("__") or path in defined.get(node.attr, {path}):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            rel = str(path.relative_to(ROOT))
            if (rel, node.attr) not in ALLOWED:
                found.append(f"{rel}:{node.lineno}: .{node.attr}")
    assert not found, found


# One concern per module: the two modules on the hot path stay small enough to
# read whole, and nothing else in reactor/ grows past the bar unsplit.
LIMITS = {
    "reactor/loop.py": 400,
    "reactor/transport.py": 400,
}
DEFAULT_LIMIT = 450


def test_no_module_of_reactor_is_over_its_size_bar() -> None:
    over = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        limit = LIMITS.get(rel, DEFAULT_LIMIT)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            over.append(f"{rel}: {lines} lines > {limit}")
    assert not over, over
