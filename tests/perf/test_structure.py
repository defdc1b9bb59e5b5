"""The evaluator's module graph: no import cycle in llmhw (issue 10: perf/sweep ↔ perf/vector was one)."""
from __future__ import annotations

import ast
from pathlib import Path

import llmhw

ROOT = Path(llmhw.__file__).resolve().parent


def _graph() -> dict[str, set[str]]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = f
    graph = {}
    for name, f in mods.items():
        base = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):      # function-level (lazy) imports count too
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    head = ".".join(base.split(".")[:len(base.split(".")) - node.level + 1])
                    mod = head + ("." + node.module if node.module else "")
                else:
                    mod = node.module or ""
                for alias in node.names:
                    deps.add(f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in mods else mod)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycle_in_perf():
    assert [c for c in _cycles(_graph()) if any(m.startswith("llmhw.perf") for m in c)] == []
