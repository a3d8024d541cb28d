"""Declarative search spaces: a YAML file names each stage's components and their ranges.

A file is checked when it is loaded — unknown components, bad bounds and malformed YAML are
refused with the file, the key and the line in the message — and a trial is turned into a
strategy config by :meth:`SearchSpace.sample`. Parameter names are flat
(``"model"``, ``"model.lightgbm.num_leaves"``), so Optuna's grouped multivariate TPE sees each
component's parameters as one conditional group.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import warnings
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import optuna
import yaml

from autoimb import config
from autoimb._compat import TORCH_AVAILABLE
from autoimb._warnings import user_stacklevel
from autoimb.engine.space_params import Param, parse_param
from autoimb.exceptions import SearchSpaceError, did_you_mean
from autoimb.stages import REGISTRY, STAGES, Component

logger = logging.getLogger("autoimb")


class _LineLoader(yaml.SafeLoader):
    """Remembers the line of every mapping key, so errors can point into the file."""


def _mapping_with_lines(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    lines: dict[Any, int] = {}
    for key, _ in node.value:  # YAML keeps the last of two alike in silence
        if key.value in lines:
            raise yaml.constructor.ConstructorError(
                problem=f"{key.value!r} given twice (also at line {lines[key.value]})",
                problem_mark=key.start_mark,
            )
        lines[key.value] = key.start_mark.line + 1
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__lines__"] = lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_lines)


@dataclass
class SearchSpace:
    """The components of each stage, their parameter ranges, and the strategies tried first."""

    name: str
    description: str
    stages: dict[str, dict[str, dict[str, Param]]]
    initial: list[dict[str, str]] = field(default_factory=list)
    source: str = ""
    text: str = ""
    shipped: bool = False  # one of autoimb's own spaces, by name (not a file named like one)

    def available(
        self, stage: str, *, n_classes: int = 2, sample_weight: bool = False, n_rows: int = 0
    ) -> list[str]:
        """Components usable on this data.

        Binary-only models leave multi-class searches, and components whose cost grows faster
        than the rows (neighbour-based cleaning, forests that copy the data per tree, slow
        scorers) leave searches on large data, where they would eat the budget of many trials.
        """
        names = [
            name
            for name in self.stages.get(stage, {})
            if _unusable(stage, name, n_classes, sample_weight, n_rows) is None
        ]
        return names or ["none"]

    def check_models(self, *, n_classes: int, sample_weight: bool, n_rows: int) -> None:
        """Refuse, before a study is written, a space none of whose models can run here."""
        models = list(self.stages.get("model", {}))
        why = {m: _unusable("model", m, n_classes, sample_weight, n_rows) for m in models}
        if models and all(why.values()):
            reasons = "; ".join(f"{m} {r}" for m, r in why.items())
            raise SearchSpaceError(
                f"no model of space {self.name!r} can run on this data here: {reasons}."
            )
        # What the shipped spaces leave out where, the README says; but the deep models are what
        # a user asks the deep space for, and without torch it would run with none of them.
        left = [
            f"{stage} {name} {reason}"
            for stage in STAGES
            for name in self.stages.get(stage, {})
            if (reason := _unusable(stage, name, n_classes, sample_weight, n_rows))
            and (not self.shipped or REGISTRY[stage][name].requires == "torch")
        ]
        if left:
            warnings.warn(
                f"space {self.name!r} searches without what cannot run on this data: "
                f"{'; '.join(left)}.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    def sample(
        self,
        trial: optuna.Trial,
        *,
        n_classes: int = 2,
        sample_weight: bool = False,
        n_rows: int = 0,
        read_as_given: tuple[str, ...] = (),
    ) -> dict[str, dict[str, Any]]:
        """One strategy: the model first, since it decides whether weighting applies, and
        whether the columns reach it as given (a pretrained model reads as many as it was
        trained on: a features stage's added column would fail every fit)."""
        config: dict[str, dict[str, Any]] = {}
        for stage in ("model", *[s for s in STAGES if s != "model"]):
            names = self.available(
                stage, n_classes=n_classes, sample_weight=sample_weight, n_rows=n_rows
            )
            if stage == "weighting" and takes_no_weights(config["model"]["name"]):
                names = ["none"]
            if stage == "features" and config["model"]["name"] in read_as_given:
                names = ["none"]
            name = names[0] if len(names) == 1 else trial.suggest_categorical(stage, names)
            params = self.stages.get(stage, {}).get(name, {})
            config[stage] = {"name": name}
            for param in params.values():
                config[stage][param.name] = param.suggest(trial, f"{stage}.{name}.{param.name}")
        return {stage: config[stage] for stage in STAGES}

    def searches_nothing(self, **data: Any) -> bool:
        """Whether every strategy drawn is the same one (one component per stage, every
        setting fixed): a trial run again would repeat the first to the last digit."""
        try:
            self.sample(optuna.trial.FixedTrial({}), **data)
        except ValueError:  # it asked for a value: there is a choice to make
            return False
        return True

    def describe(self) -> str:
        lines = [f"{self.name}: {self.description}".rstrip(": ")]
        for stage in STAGES:
            components = self.stages.get(stage)
            if not components:
                continue
            lines.append(f"  {stage}:")
            for name, params in components.items():
                component = REGISTRY[stage][name]
                note = "" if component.requires != "torch" or TORCH_AVAILABLE else " [needs torch]"
                lines.append(f"    {name}{note} — {component.description}")
                for param in params.values():
                    lines.append(f"        {param.name}: {param.describe()}")
        if self.initial:
            lines.append("  tried first:")
            lines.extend(f"    {item}" for item in self.initial)
        return "\n".join(lines)


def takes_no_weights(model: str) -> bool:
    component: Component = REGISTRY["model"][model]
    return component.balances_itself or not component.sample_weight


def shipped_space_file(name: str) -> Traversable:
    """A YAML file shipped in ``autoimb.search_spaces`` (the top-level ``search_spaces/``)."""
    return resources.files("autoimb.search_spaces") / f"{name}.yaml"


def builtin_spaces() -> list[str]:
    folder = resources.files("autoimb.search_spaces")
    names = [p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")]
    return sorted(n for n in names if n != "portfolio")


def load_space(space: str | Path | SearchSpace = "default") -> SearchSpace:
    """A built-in space by name, or a YAML file by path."""
    if isinstance(space, SearchSpace):
        return space
    text_name = str(space)
    if text_name in builtin_spaces():
        text = shipped_space_file(text_name).read_text(encoding="utf-8")
        return dataclasses.replace(parse_space(text, source=f"{text_name}.yaml"), shipped=True)
    path = Path(text_name)
    if not path.is_file():
        hint = did_you_mean(text_name, builtin_spaces())
        raise SearchSpaceError(
            f"search space {text_name!r} is neither a built-in space {builtin_spaces()} nor a "
            f"YAML file that exists.{hint}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SearchSpaceError(
            f"{path}: not UTF-8 text (byte {exc.start}); a search space is a YAML file: save it "
            "as UTF-8."
        ) from None
    return parse_space(text, source=str(path))


def space_difference(before: SearchSpace, now: SearchSpace) -> str | None:
    """How ``now`` searches otherwise than ``before``, in a few words; None when the same.

    Only what trials draw from counts — each stage's components in order, and each parameter's
    distribution (or fixed value) — not the name, description, comments or the strategies tried
    first. A resumed study must draw from the same: Optuna refuses a choice whose options
    changed, and scores drawn from other ranges would not compare.
    """
    for stage in STAGES:
        old, new = before.stages.get(stage, {}), now.stages.get(stage, {})
        if list(old) != list(new):
            offered, before_offered = list(new) or "nothing", list(old) or "nothing"
            return f"stage {stage!r} offers {offered} instead of {before_offered}"
        for component, params in new.items():
            drawn_before, drawn_now = _drawn(old[component]), _drawn(params)
            changed = sorted(
                name
                for name in drawn_before.keys() | drawn_now.keys()
                if drawn_before.get(name) != drawn_now.get(name)
            )
            if changed:
                return f"{stage} {component!r} draws {changed} otherwise"
    return None


def recorded_space_difference(recorded: str, space: SearchSpace) -> str | None:
    """:func:`space_difference` from the space a study recorded (its YAML text). A space
    recorded by a version with other components can be compared by its text only."""
    if recorded == space.text:
        return None
    try:
        return space_difference(parse_space(recorded, source="the study's space"), space)
    except SearchSpaceError:
        return "components this version lacks"


def _drawn(params: dict[str, Param]) -> dict[str, Any]:
    return {
        name: param.distribution if param.distribution is not None else ("fixed", param.default)
        for name, param in params.items()
    }


# The shipped spaces that hold the parameter defaults, first one first.
DEFAULTS_FROM: tuple[str, ...] = ("default", "deep")


@functools.cache
def component_defaults() -> dict[str, dict[str, dict[str, Any]]]:
    """``stage -> name -> parameter -> default`` of every component of the shipped spaces.

    The YAML ``default:`` is the only default a parameter has; builders keep none of their own.
    A component takes its defaults from ``default.yaml``, or from ``deep.yaml`` when the default
    space does not name it. The engine hands the result to builders in
    :attr:`autoimb.stages.FitContext.defaults`, so a parameter a space does not search (or a
    partner model built with no parameters) gets the same value everywhere. Treat the result
    as read-only: it is cached.
    """
    defaults: dict[str, dict[str, dict[str, Any]]] = {stage: {} for stage in STAGES}
    for name in DEFAULTS_FROM:
        text = shipped_space_file(name).read_text(encoding="utf-8")
        space = parse_space(text, source=f"{name}.yaml", check_names=False)
        for stage, components in space.stages.items():
            for component, params in components.items():
                defaults[stage].setdefault(
                    component, {param.name: param.default for param in params.values()}
                )
    return defaults


def parse_space(text: str, *, source: str = "<string>", check_names: bool = True) -> SearchSpace:
    """A space from its YAML text. ``check_names`` refuses parameters no component has; only
    the files that define those names (:data:`DEFAULTS_FROM`) are read without it."""
    try:
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SearchSpaceError(f"{source}: malformed YAML{where}: {problem}") from exc
    if not isinstance(document, dict):
        shown = repr(document)
        shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
        raise SearchSpaceError(
            f"{source}: a search space is a mapping of stages; got a {type(document).__name__}: "
            f"{shown}."
        )
    lines = document.pop("__lines__", {})
    unknown = set(document) - {"name", "description", "initial", *STAGES}
    if unknown:
        key = sorted(unknown)[0]
        raise SearchSpaceError(
            f"{source}, line {lines.get(key, '?')}: unknown key {key!r}; a space has 'name', "
            f"'description', 'initial' and the stages {list(STAGES)}."
        )
    if "model" not in document:
        raise SearchSpaceError(
            f"{source}: the space names no 'model' stage; add at least one model."
        )
    stages: dict[str, dict[str, dict[str, Param]]] = {}
    for stage in STAGES:
        if stage not in document:
            continue
        block = document[stage]
        if not isinstance(block, dict) or len([k for k in block if k != "__lines__"]) == 0:
            raise SearchSpaceError(
                f"{source}, line {lines.get(stage, '?')}: stage {stage!r} must map component "
                "names to their parameters (use '{}' for none)."
            )
        known = component_defaults()[stage] if check_names else None
        stages[stage] = _parse_stage(stage, block, source, known)
    initial = _parse_initial(document.get("initial") or [], stages, source, lines)
    return SearchSpace(
        name=str(document.get("name", Path(source).stem)),
        description=str(document.get("description", "")),
        stages=stages,
        initial=initial,
        source=source,
        text=text,
    )


def _parse_stage(
    stage: str, block: dict[str, Any], source: str, known: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, Param]]:
    """``known`` holds each component's parameters; a name outside them would be drawn by
    every trial and read by no builder."""
    lines = block.pop("__lines__", {})
    parsed = {}
    for name, params in block.items():
        where = f"{source}, line {lines.get(name, '?')}, {stage}.{name}"
        if name not in REGISTRY[stage]:
            hint = did_you_mean(name, REGISTRY[stage])
            raise SearchSpaceError(
                f"{where}: unknown {stage} {name!r}.{hint} Known: {sorted(REGISTRY[stage])}."
            )
        params = params or {}
        if not isinstance(params, dict):
            raise SearchSpaceError(f"{where}: parameters must be a mapping; got {params!r}.")
        param_lines = params.pop("__lines__", {})
        if known is not None:
            takes = [*known.get(name, {}), *REGISTRY[stage][name].data_params]
            _refuse_unknown_params(stage, name, params, takes, source, param_lines)
        shipped = (known or {}).get(name, {})
        parsed[name] = {
            key: _without_torch_choices(
                REGISTRY[stage][name],
                parse_param(
                    key,
                    spec,
                    f"{source}, line {param_lines.get(key, '?')}, {stage}.{name}.{key}",
                    shipped.get(key),
                    REGISTRY[stage][name].values.get(key, ()),
                ),
            )
            for key, spec in params.items()
        }
    return parsed


def _refuse_unknown_params(
    stage: str, name: str, params: dict, known: list[str], source: str, lines: dict
) -> None:
    for key in params:
        if key in known:
            continue
        hint = did_you_mean(key, known)
        has = f"Its parameters: {sorted(known)}" if known else "It takes no parameters"
        raise SearchSpaceError(
            f"{source}, line {lines.get(key, '?')}, {stage}.{name}.{key}: {stage} {name!r} has "
            f"no parameter {key!r}.{hint} {has}."
        )


def _without_torch_choices(component: Component, param: Param) -> Param:
    """Without PyTorch, a parameter's choices that need it are not offered (a trial drawing
    one could only fail). A space that offers only such choices is kept as written: its trials
    fail with the message that says to install the ``deep`` extra."""
    needs_torch = component.torch_choices.get(param.name, ())
    dist = param.distribution
    if (
        TORCH_AVAILABLE
        or not needs_torch
        or not isinstance(dist, optuna.distributions.CategoricalDistribution)
    ):
        return param
    choices = [c for c in dist.choices if c not in needs_torch]
    if not choices:
        return param
    default = param.default if param.default in choices else choices[0]
    return Param(param.name, optuna.distributions.CategoricalDistribution(choices), default)


def _parse_initial(
    items: Any, stages: dict[str, dict[str, dict[str, Param]]], source: str, lines: dict
) -> list[dict[str, str]]:
    where = f"{source}, line {lines.get('initial', '?')}, initial"
    if not isinstance(items, list):
        raise SearchSpaceError(f"{where}: must be a list of strategies; got {items!r}.")
    initial = []
    for item in items:
        if not isinstance(item, dict):
            raise SearchSpaceError(f"{where}: each entry maps stages to components; got {item!r}.")
        item = {k: v for k, v in item.items() if k != "__lines__"}
        for stage, name in item.items():
            if stage not in STAGES:
                hint = did_you_mean(stage, STAGES)
                raise SearchSpaceError(
                    f"{where}: {stage!r} is no stage.{hint} The stages: {list(STAGES)}."
                )
            if not isinstance(name, str) or name not in stages.get(stage, {}):
                # as the file wrote it: not the lines the loader keeps beside a mapping's keys
                shown = (
                    {k: v for k, v in name.items() if k != "__lines__"}
                    if isinstance(name, dict)
                    else name
                )
                raise SearchSpaceError(
                    f"{where}: {stage}={shown!r} is not a component of this space's {stage!r} "
                    "stage."
                )
        initial.append({str(k): str(v) for k, v in item.items()})
    return initial


def _unusable(
    stage: str, name: str, n_classes: int, sample_weight: bool, n_rows: int
) -> str | None:
    """Why a component cannot run on this data here, with the fix; None when it can."""
    component = REGISTRY[stage][name]
    if component.binary_only and n_classes > 2:
        return "is for two classes only (choose another model)"
    if not component.scales and n_rows > config.LARGE_DATA_ROWS:
        return f"is too slow beyond {config.LARGE_DATA_ROWS:,} rows (subsample the data)"
    if component.requires == "torch" and not TORCH_AVAILABLE:
        return "needs PyTorch (pip install 'autoimb[deep]')"
    if sample_weight and stage == "model" and not component.sample_weight:
        return "takes no sample weights (leave sample_weight out)"
    return None
