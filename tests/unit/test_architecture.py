"""The shape of the package, enforced: no import cycles (lazy imports included), a small public surface per
package, few top-level modules, and the layers of ``[tool.importlinter]`` (run by ``make test``)."""

from __future__ import annotations

from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[2] / "src" / "replaykit"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_even_through_deferred_imports():
    graph = grimp.build_graph("replaykit", cache_dir=None)
    # a package's __init__ re-exporting its own submodules is not a cycle between concepts
    cycles = [c for c in _cycles(graph) if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert not cycles, f"import cycles: {cycles}"


def test_at_most_six_top_level_modules_beside_the_packages():
    modules = sorted(p.name for p in SRC.glob("*.py"))
    assert len(modules) <= 6, modules


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
