"""The import graph of the package: no cycle between modules, and no module imports one from a layer above it.

Every ``import`` and ``from ... import`` of the package's own modules counts, inside functions too (a deferred
import is still a dependency)."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "neuralcodes_jax"

#: Lowest first. A module may import modules of its own layer or of a lower one. Subpackages are one unit each.
LAYERS = (
    ("config_utils",),
    ("specs", "channels", "estimators", "likelihoods", "distributed", "metrics_writer", "data", "nets"),
    ("codes", "schedule", "checkpointing", "feed", "programs"),
    ("methods",),
    ("evaluators",),
    ("run_config",),
    ("train",),
    ("analysis", "sweeps"),
)


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("neuralcodes_jax",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from pkg import sub`` depends on the submodule; ``from mod import name`` on the module
                names = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                    for a in node.names
                ]
            else:
                continue
            for name in names:
                target = resolve(name) if name.startswith("neuralcodes_jax") else None
                if target and target != module and target != "neuralcodes_jax":
                    graph[module].add(target)
    return graph


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_every_unit_has_a_layer():
    layered = {u for layer in LAYERS for u in layer}
    units = {_unit(m) for m in _modules() if m != "neuralcodes_jax"}
    assert units - layered == set(), f"add these modules to LAYERS: {sorted(units - layered)}"


def _upward(graph: dict[str, set[str]]) -> list[str]:
    level = {u: i for i, layer in enumerate(LAYERS) for u in layer}
    return [
        f"{a} imports {b}"
        for a, targets in graph.items()
        for b in targets
        if _unit(a) in level and _unit(b) in level and level[_unit(b)] > level[_unit(a)]
    ]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_from_a_layer_above():
    assert _upward(_graph()) == []


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_checks_can_fail():
    """The walk sees real edges, and a planted upward import and a planted cycle are found."""
    graph = _graph()
    assert "neuralcodes_jax.channels" in graph["neuralcodes_jax.codes.ldpc"]
    assert "neuralcodes_jax.codes.gf2" in graph["neuralcodes_jax.codes.linear"]
    planted = {k: set(v) for k, v in graph.items()}
    planted["neuralcodes_jax.config_utils"].add("neuralcodes_jax.channels")  # channels imports config_utils
    assert _upward(planted) == ["neuralcodes_jax.config_utils imports neuralcodes_jax.channels"]
    assert ["neuralcodes_jax.channels", "neuralcodes_jax.config_utils"] in _cycles(planted)
