"""How many folds the data can hold, and what they stratify on: a class too small (in rows,
or in groups, of positive weight) for the folds asked lowers them, with a warning."""

from __future__ import annotations

import warnings

import numpy as np

from autoimb._warnings import user_stacklevel
from autoimb.data.dataset import Dataset
from autoimb.data.labels import plain
from autoimb.engine.splits import Folds
from autoimb.exceptions import AutoImbError


def n_folds_for(counts: np.ndarray, cv: int, unit: str = "rows") -> int:
    """As many folds as asked, lowered (with a warning) when the smallest class is too small:
    ``counts`` of its rows, or of the groups that hold it (``unit`` says which, and whether
    only those of positive weight count)."""
    if not isinstance(cv, int | np.integer) or isinstance(cv, bool) or cv < 2:
        raise AutoImbError(f"cv must be an integer >= 2 (the number of folds); got {cv!r}.")
    smallest = int(counts.min())
    if smallest < 2:
        raise AutoImbError(
            f"the smallest class has fewer than 2 {unit}; cross-validation cannot hold it out. "
            "Collect more examples of it or drop it"
            + ("; or give more of its rows weight." if "weight" in unit else ".")
        )
    if smallest < cv:
        warnings.warn(
            f"the smallest class has only {smallest} {unit}, fewer than cv={cv}; using "
            f"{smallest} folds instead.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return smallest
    if unit.startswith("rows") and smallest < 2 * cv:
        warnings.warn(
            f"the smallest class has only {smallest} {unit}: each of the {cv} validation folds "
            f"holds {_one_or_two(smallest, cv)} of them, so a fold's score moves "
            "in large steps (a fold may score 0). The score pools every fold's rows, and its "
            "interval says how unsure it is.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return int(cv)


def _one_or_two(count: int, folds: int) -> str:
    """How many of ``count`` rows a fold of ``folds`` holds: "1", or "1 or 2"."""
    low, high = count // folds, -(-count // folds)
    return str(low) if low == high else f"{low} or {high}"


def weighed_rows(data: Dataset) -> tuple[np.ndarray, str]:
    """The rows a class's size counts, and what they are called: a row of weight 0 is neither
    learned nor scored, so a class whose weight lies in one group (or one row) cannot be
    cross-validated however many rows it has."""
    if data.sample_weight is None:
        return np.ones(len(data.y), dtype=bool), ""
    return np.asarray(data.sample_weight) > 0, " of positive weight"


def strata(data: Dataset, weighed: np.ndarray, folds: Folds) -> np.ndarray:
    """What the folds stratify on: the class, and whether the row weighs anything where some
    rows weigh 0, so each fold validates (and trains on) its share of the rows that count;
    a class alone where one of its two strata is too small to share out."""
    if weighed.all():
        return data.y
    strata = data.y * 2 + weighed
    counts = np.bincount(strata, minlength=2 * data.n_classes).reshape(-1, 2)
    for code, (weightless, weighing) in enumerate(counts):
        if 0 < min(weightless, weighing) < folds.n_splits:  # too few to share: the class alone
            strata[data.y == code] = 2 * code
    present = np.bincount(strata)
    return strata if present[present > 0].min() >= folds.n_splits else data.y


def group_splits(
    folds: Folds, data: Dataset, random_state: int | None
) -> tuple[Folds, list[tuple[np.ndarray, np.ndarray]]]:
    """Folds by group, each holding a class's groups whole: at most as many as the groups that
    hold the smallest class, and fewer where stratifying whole groups (a heuristic) still
    leaves a fold without a class, where no score is defined."""
    weighed, which = weighed_rows(data)
    held = [np.unique(folds.groups[(data.y == c) & weighed]) for c in range(data.n_classes)]
    counts = np.array([len(groups) for groups in held])
    if counts.min() == 1:  # (none at all: the class has no row of weight, said as for rows)
        raise AutoImbError(_in_one_group(data, folds.groups, held, which))
    folds = folds.with_splits(n_folds_for(counts, folds.n_splits, f"groups{which}"))
    splits, asked = folds.split(strata(data, weighed, folds), random_state), folds.n_splits
    while folds.n_splits > 2:
        if all(np.unique(data.y[v[weighed[v]]]).size == data.n_classes for _, v in splits):
            break
        folds = folds.with_splits(folds.n_splits - 1)
        splits = folds.split(strata(data, weighed, folds), random_state)
    if folds.n_splits < asked:
        warnings.warn(
            f"{asked} folds by group leave a fold without every class; using "
            f"{folds.n_splits} folds instead.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return folds, splits


def _in_one_group(data: Dataset, groups: np.ndarray, held: list[np.ndarray], which: str) -> str:
    """Why folds by group cannot hold a class out: one group for every row (a constant
    column), or one group for the whole class; the data need not be collected again."""
    leave_out = (
        "or leave out the groups (groups=, --group on the command line) if the rows are independent"
    )
    if (every := np.unique(groups)).size == 1:
        return (
            f"the groups (groups=, --group on the command line) hold one group for all "
            f"{len(groups)} rows ({plain(every[0])!r}), so no fold by group can both train on a "
            f"class and validate it. Give the groups rows share (a patient or customer id), "
            f"{leave_out}."
        )
    smallest = int(np.argmin([len(groups) for groups in held]))
    return (
        f"the smallest class ({plain(data.classes[smallest])!r}) is held by fewer than 2 groups"
        f"{which}: all its rows{which} are in group {plain(held[smallest][0])!r}, so no fold "
        f"by group can both train on it and validate it. Give finer groups, {leave_out}"
        + ("; or give more of its rows weight." if which else ".")
    )
