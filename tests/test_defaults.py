"""The YAML ``default:`` is a parameter's only default.

Builders read their parameters strictly (``params[key]``); the engine lays a trial's values over
the shipped spaces' defaults (:func:`autoimb.engine.space.component_defaults`) and hands them in
through ``FitContext.defaults``. These tests keep it that way: no builder falls back on a value
of its own, every component builds from the YAML defaults alone, and the shipped spaces agree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from autoimb._compat import TORCH_AVAILABLE
from autoimb.engine.space import builtin_spaces, component_defaults, load_space
from autoimb.stages import REGISTRY, FitContext
from autoimb.stages.ensembles import PARTNERS

STAGES_DIR = Path(__file__).resolve().parents[1] / "autoimb" / "stages"
# (file under autoimb/stages, key) -> why the builder keeps a default of its own.
DATA_DEPENDENT = {
    ("weighting/__init__.py", "weights"): (
        "explicit class weights default to one equal weight per class: the number of classes "
        "is known only from the data, so no YAML space can hold it"
    ),
}
# (space, stage, component, parameter) -> why its default differs from default.yaml's.
INTENDED = {
    ("fast", "model", "lightgbm", "n_estimators"): "fast.yaml buys speed with fewer trees",
    ("fast", "model", "lightgbm", "learning_rate"): "fewer trees need a larger step",
    ("fast", "model", "balanced_random_forest", "n_estimators"): "fewer trees for speed",
}
COMPONENTS = [(stage, name) for stage, names in REGISTRY.items() for name in names]


def _context() -> FitContext:
    return FitContext(
        class_counts=np.array([90, 10]),
        n_features=4,
        random_state=0,
        defaults=component_defaults(),
    )


def _fallbacks() -> set[tuple[str, str]]:
    """Every ``params.get(key, default)`` under autoimb/stages, as (file, key)."""
    found = set()
    for path in sorted(STAGES_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "params"
                and len(node.args) == 2
            ):
                key = node.args[0]
                name = key.value if isinstance(key, ast.Constant) else ast.unparse(key)
                found.add((path.relative_to(STAGES_DIR).as_posix(), str(name)))
    return found


def test_no_builder_keeps_a_default_of_its_own() -> None:
    found = _fallbacks()
    assert found - set(DATA_DEPENDENT) == set(), (
        "read these as params[key] and give the YAML a default"
    )
    assert set(DATA_DEPENDENT) <= found, "a data-dependent default is gone: drop it from the list"


@pytest.mark.parametrize(("stage", "name"), COMPONENTS, ids=[f"{s}-{n}" for s, n in COMPONENTS])
def test_every_component_builds_from_the_yaml_defaults_alone(stage: str, name: str) -> None:
    component = REGISTRY[stage][name]
    if component.requires == "torch" and not TORCH_AVAILABLE:
        pytest.skip(f"{name} needs torch")
    built = component.make({}, _context())
    if stage == "ensemble" and built is not None:
        model = REGISTRY["model"]["logistic_regression"].make({}, _context())
        built((model, True), {})


@pytest.mark.parametrize("name", PARTNERS)
def test_every_ensemble_partner_builds_at_its_defaults(name: str) -> None:
    ctx = _context()
    model = REGISTRY["model"]["logistic_regression"].make({}, ctx)
    expected = type(REGISTRY["model"][name].make({}, ctx))
    for ensemble in ("soft_voting", "stacking"):
        combine = REGISTRY["ensemble"][ensemble].make({"partner": name}, ctx)
        combined, options = combine((model, True), {})
        assert isinstance(combined.members[1][0], expected)
        assert len(options) == 2


def test_make_lays_the_parameters_over_the_defaults() -> None:
    ctx = _context()
    lightgbm = REGISTRY["model"]["lightgbm"]
    assert (
        lightgbm.make({}, ctx).num_leaves == component_defaults()["model"]["lightgbm"]["num_leaves"]
    )
    assert lightgbm.make({"num_leaves": 7}, ctx).num_leaves == 7
    with pytest.raises(KeyError):
        lightgbm.make({}, FitContext(class_counts=np.array([90, 10]), n_features=4))


@pytest.mark.parametrize("space", builtin_spaces())
def test_shipped_spaces_name_registered_components_with_defaults_in_range(space: str) -> None:
    # Loading checks both: unknown components and defaults outside their range are refused.
    assert load_space(space).stages["model"]


def test_shipped_spaces_agree_on_defaults() -> None:
    default = load_space("default")
    disagree = {}
    for other in (n for n in builtin_spaces() if n != "default"):
        for stage, components in load_space(other).stages.items():
            for name, params in components.items():
                base = default.stages.get(stage, {}).get(name, {})
                for param in params.values():
                    if param.name in base and base[param.name].default != param.default:
                        key = (other, stage, name, param.name)
                        disagree[key] = (base[param.name].default, param.default)
    assert set(disagree) == set(INTENDED), disagree
