"""The package's layers only import downwards, and no modules import each other in a cycle.

Every ``import`` in every module counts, also those inside functions or under
``TYPE_CHECKING``: a deferred import is still a dependency, only a hidden one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import framesift

PACKAGE = Path(framesift.__file__).parent

# Lowest first. A module may import its own layer and the layers before it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("framesift.errors", "framesift.registry")),
    ("decode", ("framesift.decode", "framesift.synth")),
    ("hub", ("framesift.hub",)),
    ("distributed", ("framesift.distributed",)),
    ("encode", ("framesift.encode",)),
    ("vlm", ("framesift.vlm",)),
    ("cache", ("framesift.cache",)),
    ("select", ("framesift.select",)),
    ("compress", ("framesift.compress",)),
    ("answer", ("framesift.answer",)),
    ("pipeline", ("framesift.source", "framesift.pipeline", "framesift")),
    ("eval", ("framesift.eval", "framesift.index")),
    ("vila", ("framesift.vila",)),
    ("serve", ("framesift.serve", "framesift.demo", "framesift.integrations")),
    ("cli", ("framesift.cli",)),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """Index in LAYERS of the longest prefix naming ``module`` (the bare package name
    ``framesift`` names only the package's own ``__init__``)."""
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            covers = module == prefix or (prefix != "framesift" and module.startswith(prefix + "."))
            if covers and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank >= 0, f"{module} belongs to no layer; add it to LAYERS"
    return rank


def imports_of(module: str) -> set[str]:
    return imports_in(MODULES[module].read_text(), module, MODULES[module].name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool) -> set[str]:
    """framesift modules ``source`` (module ``module``) imports; a ``from pkg import name`` of
    a submodule counts as importing the submodule."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        found |= {n for n in names if n == "framesift" or n.startswith("framesift.")}
    return {n if n in MODULES else n.rpartition(".")[0] for n in found} - {module}


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_upward_imports():
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
        for m, deps in GRAPH.items()
        for d in sorted(deps)
        if layer_of(d) > layer_of(m)
    ]
    assert not upward, "imports must only look down:\n" + "\n".join(upward)


def test_no_import_cycles():
    """Tarjan's strongly connected components; a component of two or more is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, f"modules importing each other: {cycles}"


def test_the_checker_sees_planted_imports():
    """Imports inside functions and relative imports are found (no vacuous pass)."""
    source = "def f():\n    from framesift.cli import main\n    from ..answer import base\n"
    found = imports_in(source, "framesift.select.fake", is_package=False)
    assert found == {"framesift.cli.main", "framesift.answer.base"}
    assert all(layer_of(d) > layer_of("framesift.select.fake") for d in found)
