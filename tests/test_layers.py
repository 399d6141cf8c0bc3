"""ganaug's packages import downwards only, and never in a cycle.

The order, lowest first, is written once here and in docs/architecture.md. A package may
import its own layer's packages (without a cycle) and any lower layer, never a higher one.
"""

import ast
import shutil
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ganaug_cli"
LAYERS = [
    {"__init__", "errors", "progress", "devices", "imaging", "random_sources", "runs"},  # the core
    {"config"},  # schemas: every default once
    {"data"},  # image folders in
    {"models"},  # networks, energies, the Boltzmann likelihood estimators
    {"metrics"},  # the judge classifier, feature metrics
    {"training"},  # trainers and the one run loop
    {"families"},  # the registry
    {"sampling"},  # rebuild a run's model, generate, write
    {"workflows"},  # training sessions, eval, sample filters, the augmented folder
    {"cli", "__main__"},  # the edge
]
LAYER_OF = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def _unit(path: Path, root: Path) -> str:
    """The top-level package or module a file belongs to."""
    first = path.relative_to(root).parts[0]
    return first.removesuffix(".py")


def _imported_units(tree: ast.AST) -> set[str]:
    units = set()
    for node in ast.walk(tree):  # every import, also those inside functions
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "ganaug_cli" else [f"ganaug_cli.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "ganaug_cli":
                units.add(parts[1] if len(parts) > 1 and parts[1] in LAYER_OF else "__init__")
    return units


def import_graph(root: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        unit = _unit(path, root)
        graph.setdefault(unit, set()).update(_imported_units(ast.parse(path.read_text(encoding="utf-8"))) - {unit})
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(unit: str, trail: list[str]) -> None:
        if unit in trail:
            found.append(trail[trail.index(unit):] + [unit])
            return
        if unit in done:
            return
        for target in sorted(graph.get(unit, ())):
            visit(target, trail + [unit])
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, [])
    return found


def layer_violations(root: Path) -> list[str]:
    graph = import_graph(root)
    problems = [f"{unit} is in no layer (add it to LAYERS)" for unit in graph if unit not in LAYER_OF]
    problems += [
        f"{unit} imports {target}, a higher layer"
        for unit, targets in sorted(graph.items())
        for target in sorted(targets)
        if unit in LAYER_OF and target in LAYER_OF and LAYER_OF[target] > LAYER_OF[unit]
    ]
    problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in _cycles(graph)]
    return problems


def test_packages_import_only_downwards_and_without_cycles():
    assert layer_violations(PACKAGE) == []


def test_a_back_import_or_a_cycle_is_caught(tmp_path):
    copy = tmp_path / "ganaug_cli"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = copy / "models" / "base.py"
    base.write_text(base.read_text() + "\n\ndef _late():\n    from ganaug_cli.sampling import LoadedModel\n")
    runs = copy / "runs.py"
    runs.write_text(runs.read_text() + "\nfrom ganaug_cli import imaging\n")
    (copy / "imaging.py").write_text((copy / "imaging.py").read_text() + "\nimport ganaug_cli.runs\n")
    problems = layer_violations(copy)
    assert "models imports sampling, a higher layer" in problems
    assert any(p.startswith("import cycle:") and "imaging" in p and "runs" in p for p in problems)
