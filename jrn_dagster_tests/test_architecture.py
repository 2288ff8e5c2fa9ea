"""docs/architecture.md lists the dependencies between the packages; the code has exactly those."""

import re
from pathlib import Path

import grimp

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
BLOCK = re.compile(r"```text dependencies\n(.*?)```", re.S)


def _package(module: str) -> str:
    """``jrn_dagster.services.clone`` -> ``services``; the root package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def documented_edges() -> dict[str, set[str]]:
    match = BLOCK.search(DOC.read_text())
    assert match, f"{DOC} has no ```text dependencies block"
    edges: dict[str, set[str]] = {}
    for line in match.group(1).strip().splitlines():
        source, _, targets = line.partition("->")
        edges[source.strip()] = {t.strip() for t in targets.split(",") if t.strip()}
    return edges


def imported_edges() -> dict[str, set[str]]:
    graph = grimp.build_graph("jrn_dagster")
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        source = _package(module)
        if not source:
            continue
        edges.setdefault(source, set())
        for imported in graph.find_modules_directly_imported_by(module):
            target = _package(imported)
            if target and target != source:
                edges[source].add(target)
    return edges


def test_the_documented_dependencies_are_the_imports_of_the_code() -> None:
    assert documented_edges() == imported_edges()
