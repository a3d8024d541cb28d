"""Models to continue training from (``pretrained=``), checked against the data before any
trial: the wrong kind of object, a model of other columns or of columns in another order
would otherwise be ignored, fail every trial, or read the wrong columns in silence."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autoimb._checks import refuse
from autoimb._compat import TORCH_AVAILABLE
from autoimb.exceptions import AutoImbError, did_you_mean

PRETRAINED = ("lightgbm", "xgboost", "mlp")  # the models that continue from given weights

# What the boosted models continue from, and what the search hands them: its columns in its
# own order (categorical codes first), as an array.
_KINDS = {
    "lightgbm": "a lightgbm.Booster, a fitted LGBMClassifier or a model file",
    "xgboost": "an xgboost.Booster, a fitted XGBClassifier or a model file",
}


# The mlp's parameters that decide its weights' shapes.
_SHAPE = ("width", "depth", "norm")


def check_pretrained(
    pretrained: Any,
    available: dict[str, list[str]],
    columns: list[str],
    mlp_params: Mapping[str, Any] | None = None,
    *,
    n_classes: int = 2,
    dropped: Sequence[str] = (),
) -> dict[str, Any]:
    """Each model to continue from as the booster the search continues, checked: a misspelt
    key, or a model the space leaves out, would be ignored in silence; a booster of another
    task fails every trial of its model. ``dropped``: the columns the search leaves out (constant,
    empty, identifiers), named when a model reads them."""
    if pretrained is not None and not isinstance(pretrained, Mapping):
        raise refuse(
            "pretrained",
            "None or a dict of the models to continue from",
            f"{type(pretrained).__name__} {repr(pretrained)[:80]}",
            "Give {'lightgbm': booster or file, 'xgboost': booster or file, 'mlp': weights}.",
        )
    given = dict(pretrained or {})
    for key in given:
        if key not in PRETRAINED:
            hint = did_you_mean(key, PRETRAINED, aside=True)
            raise AutoImbError(
                f"pretrained has {key!r}, which no model continues from{hint}; "
                "give {'lightgbm': booster or file, 'xgboost': booster or file, 'mlp': weights}."
            )
        if key not in available["model"]:
            needs = ""
            if key == "mlp" and not TORCH_AVAILABLE:
                needs = " (it needs torch: pip install autoimb[deep])"
            elif key == "mlp" and mlp_params is None:
                needs = " (the space searches no mlp; space='deep' does)"
            raise AutoImbError(
                f"pretrained has {key!r}, but this search does not fit {key} on this data"
                f"{needs}; search a space with it, or leave it out of pretrained."
            )
        if key in _KINDS:
            booster = _checked_booster(key, given[key], columns, dropped)
            _check_task(key, booster, n_classes)
            # XGBoost's as saved bytes, each fit making a booster of its own from them.
            given[key] = booster.save_raw() if key == "xgboost" else booster
    if "mlp" in given:
        searched = [
            name
            for name, param in (mlp_params or {}).items()
            if name in _SHAPE and param.distribution is not None and not param.distribution.single()
        ]
        _check_weights(given["mlp"], searched)
    return given


def _check_weights(weights: Any, shape_searched: list[str]) -> None:
    """Weights fit one network shape: a space that draws others failed every such trial."""
    if not isinstance(weights, Mapping | str | os.PathLike):
        raise AutoImbError(
            "pretrained['mlp'] must be a mapping of weights (a trained net's state_dict) or a "
            f"file of them; got {type(weights).__name__}."
        )
    if shape_searched:
        raise AutoImbError(
            f"pretrained['mlp'] fits one network shape, and the space searches mlp's "
            f"{shape_searched}: every trial of another shape would fail. Fix them in the space "
            "to the shape the weights were trained with (e.g. mlp: {width: 128, depth: 2, "
            "norm: batch})."
        )


def _checked_booster(key: str, value: Any, columns: list[str], dropped: Sequence[str]) -> Any:
    booster = _lightgbm_booster(value) if key == "lightgbm" else _xgboost_booster(value)
    if booster is None:
        got = type(value).__name__
        if _unfitted(value):  # scikit-learn's clone, as cross_val_score makes, unfits it too
            got = (
                f"an unfitted {got} (a clone of a fitted one is unfitted: give its booster, "
                f"{'model.booster_' if key == 'lightgbm' else 'model.get_booster()'}, to keep "
                "it through clone)"
            )
        raise AutoImbError(f"pretrained[{key!r}] must be {_KINDS[key]}; got {got}.")
    width = booster.num_feature() if key == "lightgbm" else booster.num_features()
    names = booster.feature_name() if key == "lightgbm" else booster.feature_names
    named = list(names) if names and not _generic(names) else None
    if width != len(columns) or (named is not None and named != columns):
        raise AutoImbError(_other_columns(key, width, named, columns, dropped))
    if key == "xgboost" and names:
        booster = booster.copy()  # the search hands its models arrays, which have no names
        booster.feature_names = None
        booster.feature_types = None
    return booster


def _other_columns(
    key: str, width: int, names: list[str] | None, columns: list[str], dropped: Sequence[str]
) -> str:
    """Which columns differ, so that the model can be trained again on the right ones: a
    column constant in these rows, left out by the search, made a matching model unusable."""
    given = (
        f"{_few(columns)} (categorical columns first, each date as days and its parts); train "
        "it on these columns in this order"
    )
    if names is not None and sorted(names) == sorted(columns):
        return (
            f"pretrained[{key!r}] was trained on columns in another order than the search "
            f"gives its models: {given}."
        )
    if width == len(columns):
        told = f"pretrained[{key!r}] was trained on columns of other names than the search's"
    else:
        told = f"pretrained[{key!r}] reads {width} columns, and the search gives its models "
        told += f"{len(columns)}"
    why = "constant, empty or an identifier in these rows"
    if names is None:  # a model of an array: which column it had is not known
        told += f"; the search leaves out {_few(list(dropped))} ({why})" if dropped else ""
    else:
        extra = [n for n in names if n not in columns]
        if left_out := [n for n in extra if n in dropped]:
            told += f"; it reads {_few(left_out)}, which the search leaves out ({why})"
        if unknown := [n for n in extra if n not in dropped]:
            told += f"; it reads {_few(unknown)}, which the search does not give it"
        if missing := [c for c in columns if c not in names]:
            told += f"; it lacks {_few(missing)}"
    return f"{told}. The search gives its models {given}."


def _few(names: list[str]) -> str:
    return f"{names[:12]}{' …' if len(names) > 12 else ''}"


# The objectives whose raw scores a classifier of the search goes on from, by the number of
# models per round they keep: one for two classes, one per class for more.
_BINARY = {"lightgbm": ("binary", "cross_entropy"), "xgboost": ("binary:",)}
_MULTI = {"lightgbm": ("multiclass", "multiclassova"), "xgboost": ("multi:",)}
_OWN = {"lightgbm": ("binary", "multiclass"), "xgboost": ("binary:logistic", "multi:softprob")}


def _check_task(key: str, booster: Any, n_classes: int) -> None:
    """A booster of another class count or of regression was accepted, and every trial of its
    model failed (LightGBM: "Number of classes must be 1 for non-multiclass training") or went
    on from scores that mean something else."""
    classes, objective = _lightgbm_task(booster) if key == "lightgbm" else _xgboost_task(booster)
    wanted = _BINARY[key] if n_classes == 2 else _MULTI[key]
    fits = objective is None or objective.startswith(wanted)
    own = _OWN[key][n_classes > 2]
    if fits and classes == n_classes:
        return
    if objective is not None and not objective.startswith((*_BINARY[key], *_MULTI[key])):
        trained = f"with objective {objective!r}, not a classifier's"
    else:
        trained = f"for {classes} classes" + (f" (objective {objective!r})" if objective else "")
    raise AutoImbError(
        f"pretrained[{key!r}] was trained {trained}, and y holds {n_classes} classes; "
        f"continue from a classifier trained on these {n_classes} classes (objective "
        f"{own!r}), or leave {key} out of pretrained."
    )


def _lightgbm_task(booster: Any) -> tuple[int, str | None]:
    """Classes and objective; the objective as the model text names it (the booster's params
    hold an alias, or nothing for LightGBM's default, regression), None for one of the user's."""
    per_round = booster.num_model_per_iteration()
    head = booster.model_to_string(num_iteration=1).split("\nTree=", 1)[0]
    words = [line[10:].split()[0] for line in head.splitlines() if line.startswith("objective=")]
    return (2 if per_round == 1 else per_round), (words[0] if words and words[0] else None)


def _xgboost_task(booster: Any) -> tuple[int, str | None]:
    learner = json.loads(booster.save_config())["learner"]
    classes = int(learner["learner_model_param"].get("num_class", 0))
    return (classes if classes > 1 else 2), learner["objective"].get("name")


def _generic(names: Any) -> bool:
    """Names a booster makes up for an array's columns."""
    return all(str(n) in (f"Column_{i}", f"f{i}") for i, n in enumerate(names))


def _lightgbm_booster(value: Any) -> Any:
    import lightgbm

    if isinstance(value, lightgbm.LGBMModel):
        return getattr(value, "booster_", None) if hasattr(value, "fitted_") else None
    if isinstance(value, str | os.PathLike):
        path = _existing(value, "lightgbm")
        try:
            return lightgbm.Booster(model_file=str(path))
        except lightgbm.basic.LightGBMError as exc:
            raise _not_a_model("lightgbm", path, exc) from None
    return value if isinstance(value, lightgbm.Booster) else None


def _xgboost_booster(value: Any) -> Any:
    import xgboost

    if isinstance(value, xgboost.XGBModel):
        return value.get_booster() if not _unfitted(value) else None
    if isinstance(value, str | os.PathLike):
        path = _existing(value, "xgboost")
        booster = xgboost.Booster()
        try:
            booster.load_model(str(path))
        except xgboost.core.XGBoostError as exc:
            raise _not_a_model("xgboost", path, exc) from None
        return booster
    return value if isinstance(value, xgboost.Booster) else None


def _unfitted(value: Any) -> bool:
    """A scikit-learn model of either library not yet fitted, asked of the library itself:
    scikit-learn's ``check_is_fitted`` fails on XGBoost 2's models under scikit-learn 1.6 (their
    tags), and XGBoost 3 raises scikit-learn's NotFittedError where XGBoost 2 raised its own."""
    import lightgbm
    import xgboost
    from sklearn.exceptions import NotFittedError

    if isinstance(value, lightgbm.LGBMModel):
        return not hasattr(value, "fitted_")
    if isinstance(value, xgboost.XGBModel):
        try:
            value.get_booster()
        except (xgboost.core.XGBoostError, NotFittedError):
            return True
    return False


def _existing(path: Any, key: str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise AutoImbError(f"pretrained[{key!r}] names {found}, which is no file.")
    return found


def _not_a_model(key: str, path: Path, exc: Exception) -> AutoImbError:
    """The library's own words, in one line: XGBoost's come with its C++ stack trace."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    said = re.sub(r"^\[[\d:]+\] \S+:\d+: (Check failed: .*? : )?", "", first).rstrip(".")
    library, article = ("LightGBM", "a") if key == "lightgbm" else ("XGBoost", "an")
    return AutoImbError(
        f"pretrained[{key!r}] names {path}, which is not {article} {library} model file "
        f"({said}); give the file {library} saved the model to, or the fitted model itself."
    )


def pretrained_note(pretrained: dict[str, Any]) -> str | None:
    """Cross-validation cannot hide from a model rows it learnt before the search."""
    if not pretrained:
        return None
    return (
        f"The scores assume the pretrained {' and '.join(sorted(pretrained))} model never saw "
        "these rows: continued from one trained on them, every fold is scored on rows it "
        "already knew, and best_score overstates what new rows will give."
    )
