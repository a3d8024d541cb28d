"""How the rows are split into folds: stratified by default; by group or in time order; or by any
scikit-learn splitter the user passes.

Data with repeated patients, customers or devices leaks across stratified folds (a model is
validated on people it was trained on) and data in time order leaks the future into the past;
either way the score lies. Every fold-based step of a search (trials, cross-fitted thresholds,
ensemble selection, the fresh-fold measure) uses the same folds, so the one choice here keeps
them all honest.

A splitter need not validate every row: ``TimeSeriesSplit`` never validates its first block.
Rows no fold validates are left out of every score (``CrossValidation.scored``); they still
train the folds that come after them, and the final model.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
)

from autoimb import config
from autoimb._checks import SEED_END, refuse
from autoimb._warnings import user_stacklevel
from autoimb.data.labels import plain
from autoimb.exceptions import AutoImbError

KINDS = config.FOLD_KINDS


@dataclass(frozen=True)
class Folds:
    """What the folds are: a kind and a count, which a study records and a worker rebuilds, or
    the user's own splitter (a scikit-learn splitter, or a list of ``(train, valid)`` index
    pairs). ``groups`` (one label per row) go to the splitter; kind "group" needs them."""

    n_splits: int = config.DEFAULT_CV
    kind: str = "stratified"
    splitter: Any = None
    groups: np.ndarray | None = None

    @property
    def custom(self) -> bool:
        return self.splitter is not None

    def describe(self) -> str:
        """In a few words, for the study's record, notes and the report: the same words for
        the same folds in every run, so that a resume can be compared with them."""
        if self.splitter is None:
            return f"{self.n_splits} {self.kind} folds"
        if isinstance(self.splitter, list):
            return f"{len(self.splitter)} given splits"
        if _unseeded(self.splitter):
            return f"{_described(self.splitter)}, shuffled with the search's seed"
        return _described(self.splitter)

    def identity(self) -> str | None:
        """A digest of what tells these folds from others of the same description (the group
        labels, the given splits' rows), which :meth:`describe` leaves out: a study resumed on
        other groups would compare scores of other folds. None when the description says all."""
        parts: list[str] = []
        if self.groups is not None:
            parts += [str(label) for label in np.asarray(self.groups).tolist()]
        if isinstance(self.splitter, list):  # the rows each fold trains on and validates
            for rows in (rows for pair in self.splitter for rows in pair):
                parts.append(",".join(map(str, np.asarray(rows).tolist())))
        if not parts:
            return None
        return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]

    def split(self, y: np.ndarray, random_state: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """The ``(train, valid)`` row indices of each fold."""
        if isinstance(self.splitter, list):
            return [(np.asarray(t), np.asarray(v)) for t, v in self.splitter]
        rows = np.zeros((len(y), 1))
        if not self.custom:
            splitter = self._named(random_state)
        else:
            # A copy: a seed of numpy's RandomState would move on with each split, and the
            # user's object stays as given. A shuffling splitter without a seed of its own takes
            # the search's, so that the same seed draws the same folds (and a resume, the
            # study's seed, its own folds).
            splitter = copy.deepcopy(self.splitter)
            if _unseeded(splitter):
                splitter.random_state = random_state
        try:
            splits = list(splitter.split(rows, y, self.groups))
        except ValueError as exc:  # more folds than rows: a count is lowered, a splitter not
            said = str(exc).rstrip(".")
            raise AutoImbError(
                f"cv={_described(self.splitter)} cannot split the {len(y)} rows ({said}). Give it "
                "fewer folds, or cv as a number of folds, which is lowered to what the data holds."
            ) from None
        return [(np.asarray(t), np.asarray(v)) for t, v in splits]

    def redrawn(self, random_state: int) -> Folds | None:
        """The same kind of folds drawn anew (for the fresh-fold measure), or None where the
        splitter gives one split only (given splits, time order, or no ``shuffle``)."""
        if not self.custom:
            return None if self.kind == "time" else self
        if not _shuffles(self.splitter):
            return None
        fresh = copy.deepcopy(self.splitter)
        fresh.random_state = random_state
        return Folds(self.n_splits, self.kind, fresh, self.groups)

    def fresh_seeds(self, random_state: int) -> tuple[int, int]:
        """The seeds of the fresh-fold measure's two splits: the ones after the search's, but
        never the seed a splitter of the user's drew the search's folds with, which would
        draw those very folds again."""
        own = {random_state}
        if isinstance(seed := getattr(self.splitter, "random_state", None), int | np.integer):
            own.add(int(seed))
        after = (seed % SEED_END for seed in itertools.count(random_state + 1))
        first, second = itertools.islice((seed for seed in after if seed not in own), 2)
        return first, second

    def _named(self, random_state: int | None) -> Any:
        if self.kind == "time":
            return TimeSeriesSplit(self.n_splits)
        if self.kind == "group":
            return StratifiedGroupKFold(self.n_splits, shuffle=True, random_state=random_state)
        return StratifiedKFold(self.n_splits, shuffle=True, random_state=random_state)

    def with_splits(self, n_splits: int) -> Folds:
        return Folds(n_splits, self.kind, self.splitter, self.groups)


def as_folds(cv: Any, groups: Any = None, *, n_rows: int | None = None) -> Folds:
    """The user's ``cv`` (a count, a splitter, a list of splits) and ``groups``, checked."""
    labels = _check_groups(groups, n_rows)
    if isinstance(cv, Folds):
        return cv
    if isinstance(cv, bool) or cv is None:
        raise AutoImbError(_CV_HELP.format(got=repr(cv)))
    if isinstance(cv, int | np.integer):
        if cv < 2:
            raise AutoImbError(f"cv must be at least 2 folds; got {cv}.")
        return Folds(int(cv), "stratified" if labels is None else "group", None, labels)
    if hasattr(cv, "split") and hasattr(cv, "get_n_splits"):
        if labels is None and splits_by_group(cv):
            raise AutoImbError(
                f"{type(cv).__name__} splits by group: pass groups= (one label per row, e.g. "
                "the patient or customer id)."
            )
        n_splits = int(cv.get_n_splits(np.zeros((n_rows or 2, 1)), None, labels))
        if n_splits < 2:
            raise AutoImbError(
                f"cv={_described(cv)} makes {n_splits} split, and the search needs at least 2 "
                "folds that validate other rows: the decision threshold is chosen, and the "
                "winner measured, on rows scored out of fold. Pass a K-fold splitter "
                "(StratifiedKFold(5)) or a number of folds."
            )
        return Folds(n_splits, "custom", cv, labels)
    if isinstance(cv, Iterable) and not isinstance(cv, str | bytes | Mapping):
        pairs = _check_pairs(list(cv))
        return Folds(len(pairs), "custom", pairs, labels)
    raise AutoImbError(_CV_HELP.format(got=type(cv).__name__))


def splits_by_group(cv: Any) -> bool:
    """Whether ``cv`` is a splitter that needs the groups (GroupKFold, LeaveOneGroupOut, …)."""
    return hasattr(cv, "split") and "Group" in type(cv).__name__


def named_folds(n_splits: int, kind: str, groups: Any = None, n_rows: int | None = None) -> Folds:
    """Folds of a named kind (the command line's ``--cv-split``), checked."""
    if kind not in KINDS:
        raise AutoImbError(f"the kind of folds must be one of {list(KINDS)}; got {kind!r}.")
    labels = _check_groups(groups, n_rows)
    if kind == "group" and labels is None:
        raise AutoImbError("folds by group need the groups: --group COLUMN (groups= in Python).")
    if n_splits < 2:
        raise AutoImbError(f"cv must be at least 2 folds; got {n_splits}.")
    return Folds(n_splits, kind, None, labels)


def check_splits(
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    groups: Any = None,
    classes: Any = None,
    weights: Any = None,
) -> None:
    """Folds the search can use: validation parts that do not overlap, training parts that
    hold every class in rows of positive weight (a model never shown a class cannot score it;
    ``classes`` name them), and, with ``groups``, no group on both sides of a fold (a splitter
    that ignores them would let the score lie). Validation parts without a class are warned of.
    """
    seen = np.zeros(len(y), dtype=bool)
    weighed = np.ones(len(y), dtype=bool) if weights is None else np.asarray(weights) > 0
    n_classes = int(y.max()) + 1
    for k, (train, valid) in enumerate(splits):
        if len(valid) == 0 or len(train) == 0:
            raise AutoImbError(f"fold {k} has no training or no validation rows.")
        outside = np.concatenate([train, valid])
        if (outside := outside[(outside < 0) | (outside >= len(y))]).size:
            raise AutoImbError(
                f"fold {k} holds row {outside[0]}, and the data has {len(y)} rows (0 to "
                f"{len(y) - 1}): index pairs fit only the rows they were made for. Where a tool "
                "fits on part of the rows (cross_val_score, GridSearchCV), pass a splitter "
                "(StratifiedKFold(5)) or a number of folds instead."
            )
        if (both := np.intersect1d(train, valid)).size:
            raise AutoImbError(
                f"fold {k} trains on {both.size} of the rows it validates (e.g. row {both[0]}): "
                "the score would lie. Give each fold training and validation rows apart."
            )
        if groups is not None and (shared := np.intersect1d(groups[train], groups[valid])).size:
            raise AutoImbError(
                f"groups= is given, and fold {k} validates {shared.size} group(s) it also "
                f"trains on (e.g. {plain(shared[0])!r}): the score would lie. Pass a splitter that "
                "splits by group (GroupKFold, StratifiedGroupKFold), or cv as a number of "
                "folds, which then splits by group."
            )
        if seen[valid].any():
            raise AutoImbError(
                f"fold {k}'s validation rows overlap an earlier fold's; use a splitter whose "
                "validation parts are disjoint (KFold-like, not ShuffleSplit)."
            )
        seen[valid] = True
        if len(held := np.unique(y[train])) < n_classes:
            raise AutoImbError(_lacking_class(splits, k, y, held, classes, groups))
        if len(learned := np.unique(y[train[weighed[train]]])) < n_classes:
            lacking = [
                name for c, name in enumerate(_names(n_classes, classes)) if c not in learned
            ]
            raise AutoImbError(
                f"fold {k}'s training rows hold class(es) {lacking[:10]} only in rows of weight "
                "0 (sample_weight), which teach a model nothing of them. Give more of their rows "
                "weight, or folds whose training parts each hold some of their rows of positive "
                "weight (cv as a number of folds shares them out)."
            )
    _warn_unvalidated(splits, y, weighed, classes, weights is not None)


def _names(n_classes: int, classes: Any) -> list[Any]:
    return [plain(classes[c]) if classes is not None else c for c in range(n_classes)]


def _warn_unvalidated(
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    weighed: np.ndarray,
    classes: Any,
    weighted: bool,
) -> None:
    """A fold that validates no row of a class has no score for it: its average precision is
    undefined (nan), and its F1 0.0 whatever the model, which reads as a real score."""
    names, n_classes = _names(int(y.max()) + 1, classes), int(y.max()) + 1
    missing: dict[int, list[Any]] = {}
    for k, (_, valid) in enumerate(splits):
        shown = np.unique(y[valid[weighed[valid]]])
        if absent := [names[c] for c in range(n_classes) if c not in shown]:
            missing[k] = absent
    if not missing:
        return
    lacking = list(dict.fromkeys(name for absent in missing.values() for name in absent))
    warnings.warn(
        f"fold(s) {list(missing)[:10]} of {len(splits)} validate no row"
        f"{' of positive weight' if weighted else ''} of class(es) {lacking[:10]}: their "
        "scores (fold_scores) for it are nan or 0 whatever the model. Use fewer folds, or a "
        "splitter that keeps every class in each validation part (StratifiedKFold; "
        "StratifiedGroupKFold with groups=).",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _lacking_class(
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    k: int,
    y: np.ndarray,
    held: np.ndarray,
    classes: Any,
    groups: np.ndarray | None = None,
) -> str:
    """Which classes fold ``k`` trains without, and a fix that fits how it splits: folds in
    time order train first on the earliest rows, which no stratifying splitter can change;
    a class whose rows all share one group no splitter by group can train on and validate."""
    n_classes = int(y.max()) + 1
    names = _names(n_classes, classes)
    codes = [c for c in range(n_classes) if c not in held]
    lacking = [names[c] for c in codes][:10]
    told = f"fold {k}'s training rows lack class(es) {lacking} ({len(held)} of {n_classes} held)"
    if any(train.max() >= valid.min() for train, valid in splits):  # not in time order
        if groups is None:
            return (
                f"{told}; use a splitter that stratifies, keeping every class in each training "
                "part (StratifiedKFold), or cv as a number of folds."
            )
        for c in codes:
            if (held_by := np.unique(groups[y == c])).size < 2:
                return (
                    f"{told}: every row of class {names[c]!r} is in group "
                    f"{plain(held_by[0])!r}, so the fold that validates that group trains "
                    "without it, whatever the splitter. Give finer groups, or leave out the groups "
                    "(groups=, --group on the command line) if its rows are independent."
                )
        return (
            f"{told}; use fewer folds, or a splitter that keeps every class in each training "
            "part where the groups allow (StratifiedGroupKFold)."
        )
    # Time order: the first training part must reach the first row of the last class to come.
    first_rows = [int(np.flatnonzero(y == c)[0]) for c in range(n_classes)]
    every, n = max(first_rows), len(y)
    last = names[int(np.argmax(first_rows))]
    where = f"in time order class {last!r} first comes at row {every + 1} of {n} (from 1)"

    def reaches(n_splits: int) -> bool:
        """TimeSeriesSplit(n_splits) first trains on the rows before n - s * (n // (s + 1))."""
        return n - n_splits * (n // (n_splits + 1)) > every

    if not reaches(2):  # the longest first training part of any TimeSeriesSplit
        return (
            f"{told}: {where}, too late for the first training part of TimeSeriesSplit(2). "
            "Give (train, valid) pairs of your own whose first training part reaches it, or "
            "folds that are not in time order if the rows do not depend on it."
        )
    fewer = [s for s in range(2, len(splits)) if reaches(s)]
    if not fewer:  # two splits already: only a smaller validation part or gap makes room
        return (
            f"{told}: {where}. Use a smaller test_size or gap (or, with pairs of your own, a "
            "first training part that reaches it)."
        )
    return (
        f"{told}: {where}. Use fewer splits, or a smaller test_size, so that the first "
        f"training part reaches it ({max(fewer)} splits of TimeSeriesSplit do)."
    )


def _check_groups(groups: Any, n_rows: int | None) -> np.ndarray | None:
    if groups is None:
        return None
    labels = np.asarray(groups)
    if labels.ndim != 1 or (n_rows is not None and len(labels) != n_rows):
        raise AutoImbError(
            f"groups must hold one label per row ({n_rows} rows); got shape {labels.shape}."
        )
    if labels.dtype.kind in "fcmMO" and pd.isna(labels).any():  # NaN, None, pd.NA, NaT
        raise AutoImbError("groups has missing values; give every row a group label.")
    kinds = {type(label) for label in labels} if labels.dtype.kind == "O" else set()
    if len(kinds) > 1 and any(issubclass(kind, str) for kind in kinds):
        # Labels only name groups, and ids of text and numbers (7 and "unknown") cannot be
        # sorted, as every splitter and np.unique does; compared as text they can. 7 and "7" are
        # then one group, as they are in a CSV's column and in np.asarray([7, "7"]). Numbers of
        # several types (1 and 1.0) sort as they are, one group as before.
        labels = labels.astype(str)
    return labels


def _check_pairs(pairs: Sequence[Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    checked = []
    for pair in pairs:
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise AutoImbError(_CV_HELP.format(got="a list that is not of (train, valid) pairs"))
        train, valid = np.asarray(pair[0]), np.asarray(pair[1])
        if train.dtype == bool or valid.dtype == bool:
            raise AutoImbError(
                "cv's (train, valid) pairs hold row indices, not masks: give "
                "(np.flatnonzero(train_mask), np.flatnonzero(valid_mask))."
            )
        checked.append((_row_numbers("train", train), _row_numbers("valid", valid)))
    if len(checked) < 2:
        raise AutoImbError("cv as a list of splits needs at least 2 (train, valid) pairs.")
    return checked


def _row_numbers(part: str, indices: np.ndarray) -> np.ndarray:
    """A fold's rows as whole numbers in one flat array: a column of them failed every trial
    ("Buffer has wrong number of dimensions"), and 2.7 was taken for row 2, in silence."""
    what = f"cv's {part} indices"
    if indices.ndim != 1:
        fix = "Give each fold's row numbers flat, as np.ravel(indices)."
        raise refuse(what, "one flat array of row numbers", f"shape {indices.shape}", fix)
    if indices.size and indices.dtype.kind not in "iuf":
        raise refuse(what, "row numbers", f"values of dtype {indices.dtype}")
    fractional = indices[~np.isfinite(indices) | (indices != np.round(indices))]
    if fractional.size:
        raise refuse(what, "whole row numbers", f"{fractional[0].item()!r} among them")
    return indices.astype(np.int64)


def _shuffles(splitter: Any) -> bool:
    """Whether a splitter draws its folds at random: one with a seed and ``shuffle=True``, or
    with a seed and no ``shuffle`` at all (ShuffleSplit, RepeatedStratifiedKFold). scikit-learn's
    splitters keep their settings as attributes (they have no get_params)."""
    return hasattr(splitter, "random_state") and bool(getattr(splitter, "shuffle", True))


def _unseeded(splitter: Any) -> bool:
    return _shuffles(splitter) and splitter.random_state is None


class _StateNamed:
    """A numpy RandomState named by its state, not by its memory address, which differs in
    every run: a study searched on it could never be resumed."""

    def __init__(self, state: np.random.RandomState) -> None:
        _, keys, position, *_ = state.get_state()
        digest = hashlib.sha1(np.asarray(keys).tobytes() + str(position).encode()).hexdigest()
        self.text = f"RandomState(state {digest[:12]})"

    def __repr__(self) -> str:
        return self.text


def _described(splitter: Any) -> str:
    """A splitter's repr on one line, a RandomState seed named by its state."""
    if isinstance(getattr(splitter, "random_state", None), np.random.RandomState):
        splitter = copy.copy(splitter)
        splitter.random_state = _StateNamed(splitter.random_state)
    return " ".join(repr(splitter).split())


_CV_HELP = (
    "cv must be a number of folds (5), a scikit-learn splitter (StratifiedGroupKFold(5), "
    "TimeSeriesSplit(5) …) or a list of (train, valid) index pairs; got {got}."
)


def recorded_folds(
    attrs: Mapping[str, Any], groups: Any = None, n_rows: int | None = None
) -> Folds:
    """The folds a study recorded, rebuilt for a worker or a stopped search's finish."""
    kind = attrs.get("split", "stratified")
    if kind not in KINDS:
        raise AutoImbError(f"{not_rebuilt(attrs)}.")
    return named_folds(int(attrs["cv"]), kind, groups, n_rows)


def not_rebuilt(attrs: Mapping[str, Any], study: str = "the study") -> str:
    """Why a study searched on a splitter of the user's cannot go on but from Python."""
    return (
        f"{study} was searched on {attrs.get('folds', 'a splitter of its own')}, which cannot "
        "be rebuilt from the study; continue it from Python with the same cv"
    )
