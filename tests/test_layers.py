"""The house rules, read from the code: no import cycle and no import that runs upward.

Every import counts: module level, inside functions (lazy), under `if TYPE_CHECKING`. The layer
table below is written here, not read from the product, so moving a module to the wrong floor
fails this test. docs/architecture.md draws the same floors.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "apiframe_magic"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Floors, lowest first. A module may import its own floor and any floor below it.
FLOORS = ["vocabulary", "prompt", "engine", "static", "widgets", "face", "cli"]

# The leaves every floor may use: they import nothing of the package but each other.
VOCABULARY = {
    "errors", "models", "credits", "redaction", "settings", "words", "argtypes", "presenting",
}
# The offline twin stands beside the floors: anything from the engine up may start it, and it
# imports only the vocabulary, the prompt language and itself.
SIMULATOR_MAY_IMPORT = {"vocabulary", "prompt", "simulator"}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "face"  # the package root only registers the extension
    head = parts[0]
    if head in VOCABULARY:
        return "vocabulary"
    if head == "prompt":
        return "prompt"
    if head == "simulator":
        return "simulator"
    if head == "static":
        return "static"
    if head == "widgets":
        return "widgets"
    if head in ("ipython", "magic"):
        return "face"
    if head == "cli":
        return "cli"
    return "engine"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports_of(module: str) -> set[str]:
    """Every package module `module` imports, wherever the import statement sits."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from . import runtime` imports the module apiframe_magic.runtime
            names = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith(PACKAGE) and name != module:
                found.add(name)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def allowed(importer: str, imported: str) -> bool:
    if imported == PACKAGE:
        return importer == PACKAGE  # nothing reaches back up through the package root
    source, target = layer_of(importer), layer_of(imported)
    if source == "simulator":
        return target in SIMULATOR_MAY_IMPORT
    if target == "simulator":
        return FLOORS.index(source) >= FLOORS.index("engine")
    return FLOORS.index(target) <= FLOORS.index(source)


def test_the_table_knows_every_module():
    assert len(MODULES) > 40
    assert {layer_of(m) for m in MODULES} == set(FLOORS) | {"simulator"}


def test_no_import_runs_upward():
    upward = sorted(f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
                    for a, targets in GRAPH.items() for b in targets if not allowed(a, b))
    assert not upward, "\n".join(upward)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; the components with more than one module are import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_import_circle():
    circles = strongly_connected(GRAPH)
    assert not circles, "\n".join(" <-> ".join(c) for c in circles)


@pytest.mark.parametrize("graph, circles", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_circle_finder_finds_circles(graph, circles):
    assert strongly_connected(graph) == circles


def test_the_reader_sees_lazy_and_relative_imports():
    """The walk must see imports inside functions, else the two tests above prove nothing."""
    assert "apiframe_magic.ipython.magic" in GRAPH[f"{PACKAGE}"]
    assert not allowed("apiframe_magic.jobs", "apiframe_magic.ipython.presenter")
    assert not allowed("apiframe_magic.simulator.app", "apiframe_magic.client")
    assert allowed("apiframe_magic.runtime", "apiframe_magic.simulator")
