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
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import optuna

from autoimb import config
from autoimb._compat import TORCH_AVAILABLE
from autoimb._warnings import user_stacklevel
from autoimb.engine.space_initial import parse_initial, takes_no_weights
from autoimb.engine.space_params import Param, parse_param
from autoimb.engine.space_yaml import (
    as_written,
    at_line,
    looks_like_yaml,
    read_yaml,
    text_of_mapping,
)
from autoimb.exceptions import SearchSpaceError, did_you_mean
from autoimb.stages import REGISTRY, STAGES, Component

logger = logging.getLogger("autoimb")

# The name of a space given in Python (a dict or YAML text) without a ``name:`` of its own.
CUSTOM_NAME = "custom"


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

    def choices(
        self,
        stage: str,
        model: str | None,
        *,
        read_as_given: tuple[str, ...] = (),
        **usable: Any,
    ) -> list[str]:
        """What a stage draws from beside ``model`` (None for the model stage itself): no
        weighting for a model that takes none, no features stage for one that reads the
        columns as given."""
        if stage == "weighting" and model is not None and takes_no_weights(model):
            return ["none"]
        if stage == "features" and model in read_as_given:
            return ["none"]
        return self.available(stage, **usable)

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
        usable = {"n_classes": n_classes, "sample_weight": sample_weight, "n_rows": n_rows}
        for stage in ("model", *[s for s in STAGES if s != "model"]):
            model = config["model"]["name"] if "model" in config else None
            names = self.choices(stage, model, read_as_given=read_as_given, **usable)
            name = names[0] if len(names) == 1 else trial.suggest_categorical(stage, names)
            params = self.stages.get(stage, {}).get(name, {})
            config[stage] = {"name": name}
            for param in params.values():
                config[stage][param.name] = param.suggest(trial, f"{stage}.{name}.{param.name}")
        return {stage: config[stage] for stage in STAGES}

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


def shipped_space_file(name: str) -> Traversable:
    """A YAML file shipped in ``autoimb.search_spaces`` (the top-level ``search_spaces/``)."""
    return resources.files("autoimb.search_spaces") / f"{name}.yaml"


def builtin_spaces() -> list[str]:
    folder = resources.files("autoimb.search_spaces")
    names = [p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")]
    return sorted(n for n in names if n != "portfolio")


def load_space(space: str | Path | Mapping[str, Any] | SearchSpace = "default") -> SearchSpace:
    """A built-in space by name, a YAML file by path, or a space given in Python: a dict of
    the file's form, or its YAML text. Each is checked as a file is."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping):
        source = "the space given as a dict"
        text = text_of_mapping(space, source)
        return parse_space(text, source=source, name=CUSTOM_NAME, with_lines=False)
    text_name = str(space)
    if text_name in builtin_spaces():
        text = shipped_space_file(text_name).read_text(encoding="utf-8")
        return dataclasses.replace(parse_space(text, source=f"{text_name}.yaml"), shipped=True)
    path = Path(text_name)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long for a path, or holding a NUL
        is_file = False
    if not is_file and isinstance(space, str) and looks_like_yaml(space):
        return parse_space(space, source="the space given as YAML text", name=CUSTOM_NAME)
    if not is_file:
        shown = text_name if len(text_name) <= 80 else f"{text_name[:77]}..."
        hint = did_you_mean(text_name, builtin_spaces())
        raise SearchSpaceError(
            f"search space {shown!r} is neither a built-in space {builtin_spaces()} nor a YAML "
            f"file that exists.{hint} (A dict, or YAML text, is read as the space itself.)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SearchSpaceError(
            f"{path}: not UTF-8 text (byte {exc.start}); a search space is a YAML file: save it "
            "as UTF-8."
        ) from None
    except OSError as exc:
        raise SearchSpaceError(f"{path}: cannot be read: {exc.strerror or exc}.") from None
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


def recorded_space(recorded: str, study: str, name: str | None = None) -> SearchSpace:
    """The space ``study`` recorded (its YAML text); one a check added since refuses is the
    study's to say, not a file to mend: a resumed study draws from its own space."""
    source = f"study {study!r}"
    try:
        return parse_space(recorded, source=source, name=name)
    except SearchSpaceError as exc:
        where = str(exc).removeprefix(source).lstrip(",: ")
        raise SearchSpaceError(
            f"{source} was created with a search space this version refuses: in it, {where} A "
            "resumed study draws from the space it was created with, so its trials cannot go "
            "on under this version: start another study with a space corrected so "
            "(study_name=..., or --new-study on the command line), or resume it with the "
            "autoimb version that created it."
        ) from None


def recorded_space_difference(recorded: str, space: SearchSpace, study: str) -> str | None:
    """:func:`space_difference` from the space ``study`` recorded (its YAML text)."""
    if recorded == space.text:
        return None
    return space_difference(recorded_space(recorded, study), space)


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


def parse_space(
    text: str,
    *,
    source: str = "<string>",
    check_names: bool = True,
    name: str | None = None,
    with_lines: bool = True,
) -> SearchSpace:
    """A space from its YAML text. ``check_names`` refuses parameters no component has; only
    the files that define those names (:data:`DEFAULTS_FROM`) are read without it. ``name``
    stands in for a ``name:`` the text lacks (else the file's stem); ``with_lines=False`` for
    a text written from a dict, whose lines the user never saw."""
    document = read_yaml(text, source, with_lines=with_lines)
    if document is None:
        raise SearchSpaceError(
            f"{source}: the space is empty (no stage in it); name at least its models, e.g. "
            "'model: {lightgbm: {}}'."
        )
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
            f"{at_line(source, lines, key)}: unknown key {key!r}; a space has 'name', "
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
        if not isinstance(block, dict) or not as_written(block):
            raise SearchSpaceError(
                f"{at_line(source, lines, stage)}: stage {stage!r} must map component "
                "names to their parameters (use '{}' for none)."
            )
        known = component_defaults()[stage] if check_names else None
        stages[stage] = _parse_stage(stage, block, source, known)
    parameters = component_defaults() if check_names else None
    initial = parse_initial(document.get("initial") or [], stages, source, lines, parameters)
    return SearchSpace(
        name=str(document.get("name", name or Path(source).stem)),
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
        where = f"{at_line(source, lines, name)}, {stage}.{name}"
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
            for key in REGISTRY[stage][name].data_params:
                if key not in params:  # no default fits every data set
                    raise SearchSpaceError(
                        f"{where}: {stage} {name!r} needs {key!r} given in the space: no default "
                        f"fits every data set. {REGISTRY[stage][name].description}"
                    )
        shipped = (known or {}).get(name, {})
        parsed[name] = {
            key: _without_torch_choices(
                REGISTRY[stage][name],
                parse_param(
                    key,
                    spec,
                    f"{at_line(source, param_lines, key)}, {stage}.{name}.{key}",
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
        # The library behind it may well have one so named: only these reach it.
        takes = (
            f"It takes only these: {sorted(known)}; others of the library it wraps are not "
            "passed on"
            if known
            else "It takes no parameters"
        )
        raise SearchSpaceError(
            f"{at_line(source, lines, key)}, {stage}.{name}.{key}: autoimb's {stage} {name!r} "
            f"has no parameter {key!r}.{hint} {takes}."
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
