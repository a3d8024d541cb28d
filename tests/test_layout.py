"""The house rules, read from the source: who may import whom, and no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autoimb"

# What every stage package may import from autoimb besides itself.
STAGE_MAY_IMPORT = (
    "autoimb.stages.base",
    "autoimb.stages.class_weights",
    "autoimb._checks",
    "autoimb._compat",
    "autoimb.exceptions",
)
# The one exception: a hybrid model is a deep model and a tree model by definition.
STAGE_EXTRA = {"hybrid": ("autoimb.stages.deep",)}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every autoimb module a file imports, lazily or under TYPE_CHECKING included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name.split(".")[0] == "autoimb"}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolved(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    edges = {}
    for name, path in MODULES.items():
        targets = {resolved(t) for t in imports(path)} - {None, name, "autoimb"}
        edges[name] = {t for t in targets if not name.startswith(f"{t}.")}
    return edges


def families() -> list[str]:
    return sorted(p.name for p in (PACKAGE / "stages").iterdir() if (p / "__init__.py").exists())


@pytest.mark.parametrize("family", families())
def test_a_stage_imports_only_the_stage_base_checks_and_compat(family: str) -> None:
    own = f"autoimb.stages.{family}"
    allowed = (own, *STAGE_MAY_IMPORT, *STAGE_EXTRA.get(family, ()))
    for path in (PACKAGE / "stages" / family).rglob("*.py"):
        for target in imports(path):
            assert target.startswith(allowed) or target in ("autoimb",), (
                f"{module_name(path)} imports {target}: a stage may import only "
                f"{', '.join(STAGE_MAY_IMPORT)}"
            )


def test_every_strategy_family_has_its_folder() -> None:
    expected = {"resampling", "weighting", "augmentation", "anomaly", "models", "balanced"}
    expected |= {"deep", "hybrid", "ensembles"}
    assert expected <= set(families())
    assert {"over.py", "under.py", "combined.py"} <= {
        p.name for p in (PACKAGE / "stages" / "resampling").iterdir()
    }


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        (
            "autoimb.posthoc",
            ("optuna", "autoimb.engine", "autoimb.api", "autoimb.estimator", "autoimb.cli"),
        ),
        ("autoimb.metrics", ("optuna", "autoimb.engine", "autoimb.posthoc", "autoimb.stages")),
        ("autoimb.engine", ("autoimb.api", "autoimb.estimator", "autoimb.cli", "autoimb.report")),
        ("autoimb.report", ("autoimb.api", "autoimb.estimator", "autoimb.cli")),
        ("autoimb.result", ("autoimb.api", "autoimb.estimator", "autoimb.cli")),
        ("autoimb.stages", ("optuna", "autoimb.engine", "autoimb.posthoc", "autoimb.metrics")),
    ],
)
def test_layers_import_only_downward(layer: str, forbidden: tuple[str, ...]) -> None:
    for name, path in MODULES.items():
        if name != layer and not name.startswith(f"{layer}."):
            continue
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        names = set(imports(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        bad = sorted(n for n in names if n.startswith(forbidden))
        assert not bad, f"{name} imports {bad}"


def test_no_import_circles() -> None:
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
