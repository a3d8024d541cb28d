"""One searched parameter: its YAML spec read into an Optuna distribution, inside the bounds
its values must keep."""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from typing import Any

import optuna

from autoimb.engine.space_yaml import as_written
from autoimb.exceptions import SearchSpaceError, did_you_mean

_PARAM_KEYS = {"type", "low", "high", "log", "step", "default", "choices"}
# What only a range reads: beside 'choices' it would be dropped in silence.
_RANGE_KEYS = ("high", "log", "low", "step")

# Bounds a parameter's values must keep, whatever component it belongs to: outside them a
# trial fails, or quietly does something else (a sampling_ratio of 5 under-samples every class
# to a fifth of the minority). (low, high, whether low itself is allowed.)
_LIMITS: dict[str, tuple[float, float, bool]] = {
    "sampling_ratio": (0.0, 1.0, False),
    "subsample": (0.0, 1.0, False),
    "colsample_bytree": (0.0, 1.0, False),
    "dropout": (0.0, 1.0, True),
    "learning_rate": (0.0, math.inf, False),
    "C": (0.0, math.inf, False),
    "ratio": (0.0, math.inf, False),
    "alpha": (0.0, math.inf, False),
    "noise_scale": (0.0, math.inf, True),
    "power": (0.0, math.inf, True),
    "reg_lambda": (0.0, math.inf, True),
    "min_child_weight": (0.0, math.inf, True),
    "weight_decay": (0.0, math.inf, True),
    "n_estimators": (1, math.inf, True),
    "k_neighbors": (1, math.inf, True),
    "n_neighbors": (1, math.inf, True),
    "m_neighbors": (1, math.inf, True),
    "n_clusters": (1, math.inf, True),
    "num_leaves": (2, math.inf, True),
    "max_depth": (1, math.inf, True),
    "min_samples_leaf": (1, math.inf, True),
    "batch_size": (1, math.inf, True),
}
# A forest's share of the columns at each split, or their number.
_SHARE_OR_COUNT = frozenset({"max_features"})


@dataclass(frozen=True)
class Param:
    """One searched hyper-parameter, compiled to an Optuna distribution."""

    name: str
    distribution: optuna.distributions.BaseDistribution | None
    default: Any

    def suggest(self, trial: optuna.Trial, key: str) -> Any:
        dist = self.distribution
        if dist is None:
            return self.default
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            return trial.suggest_categorical(key, dist.choices)
        if isinstance(dist, optuna.distributions.IntDistribution):
            return trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
        return trial.suggest_float(key, dist.low, dist.high, step=dist.step, log=dist.log)

    def describe(self) -> str:
        dist = self.distribution
        if dist is None:
            return f"= {self.default!r}"
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            return f"one of {list(dist.choices)} (default {self.default!r})"
        scale = ", log" if getattr(dist, "log", False) else ""
        kind = "int" if isinstance(dist, optuna.distributions.IntDistribution) else "float"
        return f"{kind} in [{dist.low}, {dist.high}]{scale} (default {self.default!r})"


def parse_param(
    name: str, spec: Any, where: str, expected: Any = None, allowed: tuple[Any, ...] = ()
) -> Param:
    """``expected``: the parameter's default in the shipped spaces, whose type its values
    must have (a float for a whole number would be cut by the model, a word fail every trial);
    ``allowed``: the few values its component can take, where it declares them."""
    param = _param_of(name, spec, where)
    dist = param.distribution
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        values = list(dist.choices)
    elif dist is None:
        values = [param.default]
    else:
        values = [dist.low, dist.high]
    if endless := [v for v in values if isinstance(v, float) and not math.isfinite(v)]:
        raise SearchSpaceError(
            f"{where}: {name} must be a finite number; got {endless[0]}. Give a finite value."
        )
    _check_kind(name, dist, values, expected, where)
    _check_limits(name, values, where)
    words = [a for a in allowed if not isinstance(a, type)]
    numbers = len(words) < len(allowed)  # ANY_NUMBER among them
    others = [v for v in values if not (v in words or (numbers and _is_number(v)))]
    if allowed and others:
        got = ", ".join(f"{v!r}{did_you_mean(v, words, aside=True)}" for v in others)
        takes = f"one of {words}" + (" or a number" if numbers else "")
        raise SearchSpaceError(f"{where}: {name} takes {takes}; got {got}.")
    return param


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# A parameter's kind, by the type of its shipped default: (words, test).
_KINDS: list[tuple[type, str, Any]] = [
    (bool, "true or false", lambda v: isinstance(v, bool)),
    (int, "whole numbers", _is_whole),
    (float, "numbers", _is_number),
]


def _check_kind(name: str, dist: Any, values: list[Any], expected: Any, where: str) -> None:
    for kind, words, fits in _KINDS:
        if not isinstance(expected, kind):
            continue
        if kind is int and isinstance(dist, optuna.distributions.FloatDistribution):
            raise SearchSpaceError(f"{where}: {name} takes whole numbers; give it 'type: int'.")
        if wrong := [v for v in values if not fits(v)]:
            raise SearchSpaceError(f"{where}: {name} takes {words}; got {wrong[0]!r}.")
        return


def _check_limits(name: str, values: list[Any], where: str) -> None:
    if name in _SHARE_OR_COUNT:  # scikit-learn's reading: a float a share, a whole number a count
        numbers = [v for v in values if _is_number(v)]
        if outside := [v for v in numbers if not (0 < v <= 1 if isinstance(v, float) else v >= 1)]:
            raise SearchSpaceError(
                f"{where}: {name} takes a share of the columns in (0, 1] (a float) or a count of "
                f"them from 1 (a whole number); got {outside[0]!r}. Keep the range inside it."
            )
        return
    if name not in _LIMITS:
        return
    low, high, low_allowed = _LIMITS[name]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    outside = [v for v in numbers if not (low <= v <= high and (low_allowed or v > low))]
    if outside:
        span = f"{'[' if low_allowed else '('}{low}, {high}]".replace(", inf]", ", inf)")
        raise SearchSpaceError(
            f"{where}: {name} must lie in {span}; got {outside[0]!r}. Keep the range inside it."
        )


def _param_of(name: str, spec: Any, where: str) -> Param:
    if not isinstance(spec, dict):
        return Param(name, None, spec)
    spec = as_written(spec)
    unknown = set(spec) - _PARAM_KEYS
    if unknown:
        raise SearchSpaceError(
            f"{where}: unknown key(s) {sorted(unknown)}; a parameter takes {sorted(_PARAM_KEYS)}."
        )
    if "choices" in spec:
        if beside := [key for key in _RANGE_KEYS if key in spec]:
            raise SearchSpaceError(
                f"{where}: 'choices' and {beside} given together; the trials draw from 'choices' "
                "alone. Give either 'choices' or a range ('type', 'low', 'high')."
            )
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise SearchSpaceError(f"{where}: 'choices' must be a non-empty list; got {choices!r}.")
        if nested := [c for c in choices if isinstance(c, list | dict)]:
            raise SearchSpaceError(  # Optuna stores and compares single values only
                f"{where}: 'choices' are single values (numbers, text, true or false); got "
                f"{nested[0]!r}. A list is given as the parameter's fixed value."
            )
        _check_type_of_choices(spec.get("type"), choices, where)
        default = spec.get("default", choices[0])
        if default not in choices:
            raise SearchSpaceError(f"{where}: default {default!r} is not one of {choices}.")
        return Param(name, optuna.distributions.CategoricalDistribution(choices), default)
    kind = spec.get("type")
    if kind not in ("int", "float"):
        raise SearchSpaceError(
            f"{where}: 'type' must be 'int' or 'float' (or give 'choices'); got {kind!r}."
        )
    try:
        low, high = spec["low"], spec["high"]
    except KeyError as exc:
        raise SearchSpaceError(f"{where}: a range needs 'low' and 'high'.") from exc
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise SearchSpaceError(f"{where}: 'low' and 'high' must be numbers; got {low!r}, {high!r}.")
    if not all(math.isfinite(v) for v in (low, high)):
        raise SearchSpaceError(
            f"{where}: 'low' and 'high' must be finite; got low={low}, high={high} (Optuna "
            "draws no value from an endless range). Give the largest value worth trying."
        )
    if not low <= high:
        raise SearchSpaceError(
            f"{where}: `low <= high` must hold, but got (low={low}, high={high})."
        )
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SearchSpaceError(f"{where}: 'log' must be true or false; got {log!r}.")
    step = spec.get("step")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, int | float) or not step > 0
    ):
        raise SearchSpaceError(f"{where}: 'step' must be a number > 0; got {step!r}.")
    if step is not None and log:
        raise SearchSpaceError(f"{where}: a log range takes no 'step'.")
    if step is not None and low < high and step > high - low:
        raise SearchSpaceError(
            f"{where}: 'step' {step} is larger than the range {low}..{high}: every trial would "
            "draw low. Give a step of at most high - low."
        )
    if log and low <= 0:
        raise SearchSpaceError(f"{where}: a log range needs low > 0; got low={low}.")
    middle = math.sqrt(low * high) if log else (low + high) / 2
    default = spec.get("default", round(middle) if kind == "int" else middle)
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise SearchSpaceError(f"{where}: default must be a number; got {default!r}.")
    if not low <= default <= high:
        raise SearchSpaceError(f"{where}: default {default} lies outside [{low}, {high}].")
    whole = all(float(v).is_integer() for v in (low, high, step or 1))
    if step is not None and (kind == "float" or whole):  # else refused as no int range below
        _check_steps_fill_range(low, high, step, kind, where)
    if kind == "int":
        if not all(float(v).is_integer() for v in (low, high, step or 1, default)):
            raise SearchSpaceError(
                f"{where}: an int range needs whole bounds, step and default; got low={low}, "
                f"high={high}, step={step}, default={default}."
            )
        distribution: optuna.distributions.BaseDistribution = optuna.distributions.IntDistribution(
            int(low), int(high), log=log, step=int(step or 1)
        )
        default = int(default)
    else:
        distribution = optuna.distributions.FloatDistribution(
            float(low), float(high), log=log, step=None if step is None else float(step)
        )
        default = float(default)
    return Param(name, distribution, default)


# What 'type' may say beside 'choices', and what each choice must then be.
_TYPES_OF_CHOICES: dict[str, Any] = {
    "categorical": lambda value: True,
    "int": _is_whole,
    "float": _is_number,
}


def _check_type_of_choices(kind: Any, choices: list[Any], where: str) -> None:
    if kind is None:
        return
    fits = _TYPES_OF_CHOICES.get(kind)
    if fits is None:
        raise SearchSpaceError(
            f"{where}: 'type' must be 'int', 'float' or 'categorical' beside 'choices'; got "
            f"{kind!r}."
        )
    if wrong := [choice for choice in choices if not fits(choice)]:
        raise SearchSpaceError(
            f"{where}: 'type: {kind}' beside 'choices' holding {wrong[0]!r}; give choices of "
            "that type, or leave 'type' out."
        )


def _check_steps_fill_range(low: float, high: float, step: float, kind: str, where: str) -> None:
    """Optuna cuts a range that is no whole number of steps down to the last step, with a
    warning that names neither the parameter nor the line; counted in decimals, as Optuna
    does, so 0.3..0.9 in steps of 0.3 fills its range."""
    low_, high_, step_ = (decimal.Decimal(str(v)) for v in (low, high, step))
    if (high_ - low_) % step_ == 0:
        return
    top = (high_ - low_) // step_ * step_ + low_
    shown = int(top) if kind == "int" else float(top)
    raise SearchSpaceError(
        f"{where}: the range {low}..{high} is no whole number of steps of {step}; the trials "
        f"would never draw above {shown}. Give high: {shown}, or a step that divides high - low."
    )
