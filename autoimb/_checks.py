"""One validator for every input check, and one error template.

Every refusal reads ``"<what> must be <expected>; got <value>."`` (plus, where it helps, what to
do), raised as :class:`~autoimb.exceptions.AutoImbError`, so a user sees the same style from the
API, the CLI and each estimator.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from autoimb._warnings import user_stacklevel
from autoimb.exceptions import AutoImbError, SchemaError


def refuse(what: str, expected: str, got: Any, fix: str = "") -> AutoImbError:
    """The library's one error message: what is wrong, what was expected, what to do."""
    text = f"{what} must be {expected}; got {got}."
    return AutoImbError(f"{text} {fix}".strip())


def check_rows_paired(X: Any, **given: Any) -> None:
    """Rows pair by position, as in scikit-learn. A pandas ``y`` (weights, groups) whose index
    holds X's very row labels in another order was surely meant to pair by label: by position
    each row would get another row's label, in silence; refused. Where one side is numbered
    0, 1, 2 … afresh, it may name no rows (``pd.Series(encoder.fit_transform(...))``, right
    by position) or be the rows before a shuffle (``df.sample(frac=1)``'s X beside ``df``'s
    y, wrong by position): warned of."""
    rows = getattr(X, "index", None)
    if not isinstance(rows, pd.Index):
        return
    for name, values in given.items():
        index = getattr(values, "index", None)
        if not isinstance(index, pd.Index) or len(index) != len(rows) or index.equals(rows):
            continue
        try:
            reordered = index.sort_values().equals(rows.sort_values())
        except TypeError:  # labels that do not sort (text and numbers): other rows
            continue
        if not reordered:
            continue
        whose = f"{name}'" if name.endswith("s") else f"{name}'s"
        one = {"y": "label", "sample_weight": "weight", "groups": "group"}.get(name, name)
        said = (
            f"{whose} index holds X's row labels in another order, and rows pair by position "
            f"(as in scikit-learn): each row would get another row's {one}"
        )
        fresh = pd.RangeIndex(len(rows))
        if not rows.is_unique:  # {name}.loc[X.index] gives a row each label's every match
            raise AutoImbError(
                f"{said}. X's index repeats row labels, so they cannot pair the rows: pass "
                f"{name}.to_numpy() if the order is already X's, or else give X and {name} one "
                "index of unique labels (reset_index(drop=True) before either was reordered)."
            )
        if not (rows.equals(fresh) or index.equals(fresh)):
            raise AutoImbError(
                f"{said}. Pass {name}.loc[X.index] to pair them by label, or "
                f"{name}.to_numpy() if the order is already X's."
            )
        warnings.warn(
            f"{said}, unless the index numbered 0, 1, 2 … names no rows. If {name} was "
            f"taken before X's rows were shuffled or sorted, pass {name}.loc[X.index]; if its "
            f"order is X's, pass {name}.to_numpy() to say so.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def check_groups_given(X: Any, groups: Any) -> None:
    """A group column's name, as the command line's ``--group COL`` takes it, is no labels:
    it was refused as "one label per row; got shape ()", which did not say what to pass."""
    if not isinstance(groups, str):
        return
    columns = getattr(X, "columns", None)
    if columns is not None and groups in columns:
        raise AutoImbError(
            f"groups is the text {groups!r}, not one label per row; to group the rows by X's "
            f"column {groups!r}, pass groups=X[{groups!r}] and X.drop(columns={groups!r}), so "
            f"that no model learns from the ids (command line: --group {groups})."
        )
    raise AutoImbError(
        f"groups is the text {groups!r}, not one label per row; pass each row's group (the "
        f"column itself, as data[{groups!r}], or an array of ids)."
    )


def check_number(name: str, value: Any, *, low: float, strict: bool = False) -> float:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    ok = ok and bool(np.isfinite(value)) and (value > low if strict else value >= low)
    if not ok:
        raise refuse(name, f"a finite number {'>' if strict else '>='} {low}", repr(value))
    return float(value)


def check_int(name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise refuse(name, f"an integer >= {low}", repr(value))
    return int(value)


def check_flag(name: str, value: Any, expected: str = "True or False") -> bool:
    """True or False (numpy's too). By Python's truth a text "false" or "no" is true:
    ensemble="false" ensembled, in silence."""
    if not isinstance(value, bool | np.bool_):
        raise refuse(name, expected, f"{type(value).__name__} {value!r}")
    return bool(value)


def check_path(name: str, value: Any) -> Path:
    """A file's path, as text or a path object; pathlib's own refusal of None named no
    parameter ("expected str, bytes or os.PathLike object")."""
    if not isinstance(value, str | os.PathLike) or not str(value):
        raise refuse(name, "a file path (str or pathlib.Path)", f"{type(value).__name__} {value!r}")
    return Path(value)


def check_n_jobs(name: str, value: Any) -> int:
    """How many at once, with joblib's reading of ``n_jobs``: None is 1, -1 every core, -2 all
    but one, and so on (never fewer than 1). Counted from the cores, not by
    ``joblib.effective_n_jobs``, which reads any count as 1 (and warns of loky) in a process of
    a ``multiprocessing`` pool: trials run in threads, which work there."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value == 0:
        raise refuse(
            name,
            "a positive integer, or a negative one counting from the cores (-1: all of them)",
            repr(value),
        )
    value = int(value)
    return value if value > 0 else max(joblib.cpu_count() + 1 + value, 1)


SEED_END = 2**32
"""Seeds run from 0 to 2**32 - 1, numpy's range."""


def check_seed(value: Any) -> int | None:
    """An int seed, or None. A ``RandomState`` or ``Generator``, as scikit-learn users pass,
    gives one seed drawn from it: the same state gives the same search."""
    if value is None:
        return None
    if isinstance(value, np.random.RandomState):
        return int(value.randint(SEED_END - 1, dtype=np.int64))
    if isinstance(value, np.random.Generator):
        return int(value.integers(SEED_END - 1))
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise refuse(
            "random_state",
            "None, an integer or a numpy RandomState / Generator",
            f"{type(value).__name__} {value!r}",
        )
    if not 0 <= value < SEED_END:
        raise refuse("random_state", f"an integer from 0 to {SEED_END - 1}", repr(value))
    return int(value)


def check_callbacks(callbacks: Any) -> tuple[Any, ...]:
    """Trial callbacks, as Optuna calls them (``f(study, trial)``), checked before a study is
    written: a wrong one would otherwise fail after the first trial, leaving the study."""
    fix = "Pass callbacks=[f, ...] with each f(study, trial), as Optuna's callbacks."
    if (
        callable(callbacks)
        or isinstance(callbacks, str | bytes)
        or not hasattr(callbacks, "__iter__")
    ):
        raise refuse("callbacks", "a list of functions", type(callbacks).__name__, fix)
    checked = tuple(callbacks)
    for callback in checked:
        if not callable(callback):
            raise refuse("each callback", "a function", repr(callback)[:80], fix)
        try:
            inspect.signature(callback).bind(None, None)
        except TypeError:
            raise refuse(
                "each callback",
                "callable as f(study, trial)",
                getattr(callback, "__name__", repr(callback)[:80]),
                fix,
            ) from None
        except ValueError:  # a builtin without a signature: Optuna will tell
            continue
    return checked


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise refuse(name, f"one of {list(choices)}", repr(value))
    return value


def check_matrix(X: Any, owner: object, n_features: int | None = None) -> np.ndarray:
    """A finite float64 matrix; at predict time, as many columns as at fit time."""
    name = type(owner).__name__
    if n_features is not None and np.ndim(X) == 2 and np.shape(X)[1] != n_features:
        raise SchemaError(
            f"X has {np.shape(X)[1]} features, but {name} is expecting {n_features} features "
            "as input."
        )
    try:
        return check_array(X, dtype=np.float64)
    except ValueError as exc:
        raise AutoImbError(f"{name}: bad X: {exc}") from exc


def check_labels(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Class labels, one per row, at least two classes: the classes and each row's code."""
    try:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
    except ValueError as exc:
        raise AutoImbError(f"{exc} A classifier needs class labels.") from exc
    if len(y) != n_rows:
        raise refuse("y", f"one label per row of X ({n_rows})", f"{len(y)} labels")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise refuse("y", "labels of at least two classes", f"only one class ({classes!r})")
    return classes, codes.astype(np.int64)


def check_sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray | None:
    """One finite, non-negative weight per row, not all zero; None stays None."""
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise refuse("sample_weight", "numbers", f"values that are not ({exc})") from exc
    if weights.ndim == 0:  # one number for every row
        weights = np.full(n_rows, float(weights))
    if weights.ndim == 2 and weights.shape[1] == 1:  # a column, as y may be
        weights = weights[:, 0]
    if weights.ndim != 1:  # flattened, its cells would land on other rows
        raise refuse("sample_weight", "one weight per row, 1-D", f"shape {weights.shape}")
    if len(weights) != n_rows:
        raise refuse("sample_weight", f"one weight per row ({n_rows})", len(weights))
    if not np.all(np.isfinite(weights)):
        raise refuse("sample_weight", "finite", f"{int((~np.isfinite(weights)).sum())} NaN or inf")
    if np.any(weights < 0):
        raise refuse("sample_weight", "non-negative", f"{int((weights < 0).sum())} below 0")
    if weights.sum() <= 0:
        raise refuse("sample_weight", "positive somewhere", "all zero")
    return weights


def weights_or_ones(sample_weight: Any, n_rows: int) -> np.ndarray:
    weights = check_sample_weight(sample_weight, n_rows)
    return np.ones(n_rows) if weights is None else weights


def check_budget(
    time_budget: float | None, n_trials: int | None
) -> tuple[float | None, int | None]:
    """Both as Python numbers (a NumPy one, as a parameter grid gives, is as good)."""
    if time_budget is None and n_trials is None:
        raise AutoImbError(
            "give a time_budget (seconds) or n_trials (or both); without either the search "
            "would never end."
        )
    if time_budget is not None and (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, int | float | np.integer | np.floating)
        or not np.isfinite(time_budget)
        or time_budget <= 0
    ):
        raise AutoImbError(
            f"time_budget must be a positive number of seconds; got {time_budget!r}."
        )
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials <= 0
    ):
        raise AutoImbError(f"n_trials must be a positive integer; got {n_trials!r}.")
    return (
        None if time_budget is None else float(time_budget),
        None if n_trials is None else int(n_trials),
    )
