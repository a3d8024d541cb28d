"""Cross-validation with out-of-fold probabilities, and the honest score of a strategy.

Folds are fixed per study, and each fold's preprocessing (imputation, category codes) is
computed once and shared by every trial, since it does not depend on the strategy.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoimb import config
from autoimb.data.dataset import Dataset
from autoimb.data.preprocess import Preprocessor
from autoimb.engine.budget import rows_scaled
from autoimb.engine.fold_counts import group_splits, n_folds_for, strata, weighed_rows
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.engine.splits import Folds, check_splits
from autoimb.exceptions import TrialTimeout
from autoimb.metrics.registry import Metric
from autoimb.posthoc.steady import Candidate, steady_score
from autoimb.posthoc.threshold import Decision, choose_decision, honest_score
from autoimb.stages.base import PACE_MARGIN, PACE_MIN_SECONDS, Pace, stop_at

logger = logging.getLogger("autoimb")


@dataclass(frozen=True)
class Fold:
    train: np.ndarray
    valid: np.ndarray
    preprocessor: Preprocessor
    X_train: np.ndarray
    X_valid: np.ndarray


# Above this many rows, one preprocessing of all rows is shared by every fold instead of one
# copy of the matrix per fold: it learns only medians and category lists (never labels), and it
# keeps a million-row search within a few GB.


def _parts(splits: list[tuple[np.ndarray, np.ndarray]]) -> set[frozenset[int]]:
    """The rows each fold validates, in any fold order."""
    return {frozenset(valid.tolist()) for _, valid in splits}


class CrossValidation:
    """The folds of one data set (:class:`autoimb.engine.splits.Folds`), with their
    preprocessing computed once.

    ``scored`` are the rows some fold validates (every row, unless the splitter leaves some
    out, as time order does its first block); every score, threshold and ensemble is computed
    on them only, and ``fold_ids`` is -1 elsewhere.
    """

    def __init__(self, data: Dataset, cv: int | Folds = 5, random_state: int | None = None) -> None:
        self.data = data
        folds = cv if isinstance(cv, Folds) else Folds(cv)
        if not folds.custom and folds.kind == "group":
            folds, splits = group_splits(folds, data, random_state)
        else:
            if not folds.custom and folds.kind != "time":
                weighed, which = weighed_rows(data)
                counts = np.bincount(data.y[weighed], minlength=data.n_classes)
                folds = folds.with_splits(n_folds_for(counts, folds.n_splits, f"rows{which}"))
                splits = folds.split(strata(data, weighed, folds), random_state)
            else:
                splits = folds.split(data.y, random_state)
        self.folds, self.splits = folds, splits
        check_splits(self.splits, data.y, folds.groups, data.classes, data.sample_weight)
        self.n_splits = len(self.splits)
        self.fold_ids = np.full(len(data.y), -1, dtype=np.int64)
        for k, (_, valid) in enumerate(self.splits):
            self.fold_ids[valid] = k
        validated = self.fold_ids >= 0
        self.scored: np.ndarray | slice = (
            slice(None) if validated.all() else np.flatnonzero(validated)
        )
        self.shared = len(data.y) > config.SHARED_MATRIX_ROWS
        self._cache: dict[int, Fold] = {}
        self._matrix: tuple[Preprocessor, np.ndarray] | None = None
        # Time spent preprocessing: folds prepared and the seconds they took, the shared matrix.
        self._prepared, self._prepared_seconds, self._matrix_seconds = 0, 0.0, 0.0

    def resplit(self, random_state: int) -> CrossValidation | None:
        """The same rows in new folds of the same kind, or None where the folds cannot be
        drawn anew (:meth:`Folds.redrawn`) or are drawn the same again (one group per fold:
        a score on them is the very score that chose); a preprocessing shared by all folds is
        kept."""
        folds = self.folds.redrawn(random_state)
        if folds is None:
            return None
        with warnings.catch_warnings():  # the folds' warnings were given for the first split
            warnings.simplefilter("ignore", UserWarning)
            cv = CrossValidation(self.data, folds, random_state=random_state)
        if _parts(cv.splits) == _parts(self.splits):
            return None
        cv._matrix, cv._matrix_seconds = self._matrix, self._matrix_seconds
        return cv

    @property
    def rows_seconds(self) -> float:
        """What preprocessing all rows once takes, as a refit does for each model it fits: one
        fold's preparation learns on most rows and transforms them all."""
        if self.shared:
            return self._matrix_seconds
        return self._prepared_seconds / self._prepared if self._prepared else 0.0

    @property
    def split_seconds(self) -> float:
        """What preparing the folds of a fresh split takes; trials reuse theirs, so a trial's
        own time leaves it out. Nothing where every split shares one preprocessed matrix."""
        return 0.0 if self.shared else self.rows_seconds * self.n_splits

    def scores(self, *arrays: np.ndarray | None) -> list[Any]:
        """Each array's scored rows (None stays None)."""
        return [None if a is None else a[self.scored] for a in arrays]

    def release(self) -> None:
        """Drop the cached fold matrices; a later :meth:`fold` computes them again."""
        self._matrix = None
        self._cache.clear()

    def _preprocessor(self) -> Preprocessor:
        schema = self.data.schema()
        return Preprocessor(tuple(schema["categorical"]), tuple(schema["numeric"]))

    def fold(self, k: int, train_rows: np.ndarray | None = None) -> Fold:
        """Fold ``k``; ``train_rows`` (a subset of its training rows) for lower fidelity."""
        train, valid = self.splits[k]
        if self.shared:
            if self._matrix is None:
                started = time.perf_counter()
                preprocessor = self._preprocessor().fit(self.data.X)
                self._matrix = (preprocessor, preprocessor.transform(self.data.X))
                self._matrix_seconds = time.perf_counter() - started
            preprocessor, matrix = self._matrix
            rows = train if train_rows is None else train_rows
            return Fold(rows, valid, preprocessor, matrix[rows], matrix[valid])
        if k not in self._cache:
            started = time.perf_counter()
            preprocessor = self._preprocessor().fit(self.data.X.iloc[train])
            self._cache[k] = Fold(
                train,
                valid,
                preprocessor,
                preprocessor.transform(self.data.X.iloc[train]),
                preprocessor.transform(self.data.X.iloc[valid]),
            )
            self._prepared += 1
            self._prepared_seconds += time.perf_counter() - started
        fold = self._cache[k]
        if train_rows is None:
            return fold
        # By value: a user's folds (index pairs, ShuffleSplit) list their rows in any order.
        order = np.argsort(train, kind="stable")
        position = order[np.searchsorted(train, train_rows, sorter=order)]
        return Fold(train_rows, valid, fold.preprocessor, fold.X_train[position], fold.X_valid)

    def subsample(self, k: int, fraction: float, seed: int) -> np.ndarray | None:
        """Fold ``k``'s training rows with the largest class cut to ``fraction``.

        Every row of the other classes is kept: at low fidelity the minority is what the model
        can least afford to lose.
        """
        if fraction >= 1.0:
            return None
        train = self.splits[k][0]
        y = self.data.y[train]
        largest = int(np.argmax(np.bincount(y)))
        majority = train[y == largest]
        rng = np.random.default_rng([seed, k])
        kept = rng.choice(majority, size=max(1, int(len(majority) * fraction)), replace=False)
        return np.sort(np.concatenate([train[y != largest], kept]))


@dataclass(frozen=True)
class FoldTime:
    """What one fold took: its fit on ``rows`` training rows, then predicting its validation
    rows, which a larger training sample leaves as they are."""

    fit: float
    rows: int
    predict: float

    def at(self, rows: int) -> float:
        """This fold's time with ``rows`` training rows, the fit scaled by
        :func:`~autoimb.engine.budget.rows_scaled`."""
        return rows_scaled(self.fit, self.rows, rows) + self.predict


@dataclass(frozen=True)
class FittedFold:
    """A strategy fitted on one fold's training rows, and the rows it predicts out of fold."""

    valid: np.ndarray
    pipeline: StrategyPipeline


@dataclass
class Evaluation:
    """What one strategy did under cross-validation; ``models`` when asked to keep them."""

    oof: np.ndarray
    value: float
    fold_scores: list[float]
    decision: Decision
    fit_seconds: float
    models: list[FittedFold] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # of fit_seconds, by part
    fold_times: list[FoldTime] = field(default_factory=list)

    def candidate(self, number: int, cv: CrossValidation, seconds: float = 0.0) -> Candidate:
        """This evaluation as the winner's choice sees it (:mod:`autoimb.posthoc.steady`): its
        scores and the steady score of its probabilities on the rows some fold validated."""
        data = cv.data
        y, oof, weights = cv.scores(data.y, self.oof, data.sample_weight)
        steady = steady_score(y, oof, sample_weight=weights, pos_label=data.pos_label)
        finite = float(steady) if np.isfinite(steady) else None
        return Candidate(number, self.value, self.fold_scores, finite, seconds)


def fit_fold(
    config: Mapping[str, Any],
    cv: CrossValidation,
    fold: Fold,
    *,
    random_state: int | None = None,
    n_threads: int = 1,
    max_rows: int | None = None,
    deadline: float | None = None,
    pretrained: Mapping[str, Any] | None = None,
    member_share: float = 1.0,
    folds_left: int = 1,
) -> StrategyPipeline:
    """The strategy fitted on one fold's training rows (see :func:`evaluate`); ``folds_left``
    (this one included) share the time before ``deadline`` between the nets."""
    data = cv.data
    weights = data.sample_weight
    pipeline = StrategyPipeline(
        config,
        data.schema(),
        random_state=random_state,
        n_threads=n_threads,
        max_rows=max_rows,
        pretrained=pretrained,
        member_share=member_share,
    )
    return pipeline.fit_transformed(
        fold.preprocessor,
        fold.X_train,
        data.y[fold.train],
        None if weights is None else weights[fold.train],
        n_classes=data.n_classes,
        deadline=deadline,
        folds_left=folds_left,
    )


def evaluate(
    config: Mapping[str, Any],
    cv: CrossValidation,
    metric: Metric,
    *,
    random_state: int | None = None,
    n_threads: int = 1,
    max_rows: int | None = None,
    report: Callable[[int, float, float], None] | None = None,
    deadline: float | None = None,
    fraction: float = 1.0,
    pretrained: Mapping[str, Any] | None = None,
    member_share: float = 1.0,
    keep_models: bool = False,
    measured: Sequence[FoldTime] = (),
) -> Evaluation:
    """Fit the strategy on each fold's training rows and predict its validation rows.

    ``report(step, running_score, fold_score)`` is called after each fold (for pruning; it may
    raise). Its scores pick each fold's threshold on that fold itself — optimistic, but the same
    for every trial, which is all a pruner needs. The returned value is honest: each fold's
    threshold is chosen on the other folds' predictions only. ``fraction`` < 1 fits on a
    subsample of each training fold (every minority row kept) and predicts all validation rows,
    for multi-fidelity searches on large data; ``member_share`` < 1 fits that share of each
    averaged ensemble's members (:class:`autoimb.engine.pipeline.StrategyPipeline`).
    ``keep_models`` keeps each fold's fitted pipeline, for work that needs the fold models
    themselves (the winner's permutation importance), not only their predictions.
    ``measured`` are the same strategy's fold times on a smaller sample: before its first fold,
    they say whether this evaluation can end before ``deadline`` (:func:`_can_end`).
    """
    data = cv.data
    oof = np.zeros((len(data.y), data.n_classes))
    weights = data.sample_weight
    running: list[float] = []
    fit_seconds = 0.0
    stage_seconds: dict[str, float] = {}
    models: list[FittedFold] = []
    times: list[FoldTime] = []
    begun = time.monotonic()
    pace = None if deadline is None else Pace(deadline, "stopped between folds", begun)
    for k in range(cv.n_splits):
        fold = cv.fold(k, cv.subsample(k, fraction, seed=random_state or 0))
        if deadline is not None:
            _can_end(times or measured, len(fold.train), k, cv.n_splits, deadline)
        started = time.perf_counter()
        pipeline = fit_fold(
            config,
            cv,
            fold,
            random_state=random_state,
            n_threads=n_threads,
            max_rows=max_rows,
            deadline=deadline,
            pretrained=pretrained,
            member_share=member_share,
            folds_left=cv.n_splits - k,
        )
        fitted = time.perf_counter()
        oof[fold.valid] = pipeline.predict_proba_transformed(fold.X_valid)
        ended = time.perf_counter()
        fit_seconds += ended - started
        times.append(FoldTime(fitted - started, len(fold.train), ended - fitted))
        for stage, seconds in pipeline.stage_seconds_.items():
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
        if keep_models:
            models.append(FittedFold(fold.valid, pipeline))
        if report is not None and np.isfinite(
            fold_score := _fold_score(metric, data, oof, fold.valid)
        ):
            # A fold that gives a class no weight (rare rows weighted 0) has no ranking score of
            # its own; the pooled score below is still defined, and the pruner waits a fold.
            running.append(fold_score)
            report(k, float(np.mean(running)), running[-1])
        if pace is not None and k + 1 < cv.n_splits:
            pace(k + 1, cv.n_splits)
    y, scored, fold_ids, weights = cv.scores(data.y, oof, cv.fold_ids, weights)
    value, fold_scores = honest_score(
        y, scored, fold_ids, metric, sample_weight=weights, pos_label=data.pos_label
    )
    decision, _ = choose_decision(
        y, scored, metric, sample_weight=weights, pos_label=data.pos_label
    )
    fold_values = [float(s) for s in fold_scores]
    return Evaluation(
        oof, float(value), fold_values, decision, fit_seconds, models, stage_seconds, times
    )


def _can_end(times: Sequence[FoldTime], rows: int, k: int, n_folds: int, deadline: float) -> None:
    """Stop before a fold that cannot end in time, judged by the fastest fold measured: this
    evaluation's, else the smaller sample's scaled to this fold's rows. A fit of a resampler
    or a linear model never looks at the clock, so a fold started too late overran the deadline
    by all its length (Tomek links on 60k rows: up to 7 s past a 15 s budget).

    It stops where the fold would end more than ``PACE_MIN_SECONDS`` past the deadline, or,
    judged by this evaluation's own folds, where the folds left need more than ``PACE_MARGIN``
    times the time left, as the pace between folds judges (:class:`autoimb.stages.base.Pace`).
    A smaller sample's folds judge only the next fold: scaled by rows, they overstate a
    strategy that undersamples the majority (the sample keeps every minority row, so its
    model fits about as many rows at every size). With nothing measured the fold runs, and
    the pace judges it after.
    """
    if not times:
        return
    what = f"stopped before fold {k + 1} of {n_folds}"
    stop_at(deadline, what)
    needed, left = min(t.at(rows) for t in times), deadline - time.monotonic()
    folds_left = n_folds - k
    if needed - left > PACE_MIN_SECONDS or (
        k and left > PACE_MIN_SECONDS and needed * folds_left > PACE_MARGIN * left
    ):
        basis = "its fastest yet" if k else "a smaller sample's fastest, scaled by rows"
        raise TrialTimeout(
            f"{what}: at ≈{needed:.1f} s a fold ({basis}), the {folds_left} left cannot end in "
            f"the {max(left, 0.0):.1f} s before its time cap"
        )


def _fold_score(metric: Metric, data: Dataset, oof: np.ndarray, rows: np.ndarray) -> float:
    y, proba = data.y[rows], oof[rows]
    weights = None if data.sample_weight is None else data.sample_weight[rows]
    if metric.kind == "ranking":
        score = metric.score_proba(y, proba, sample_weight=weights, pos_label=data.pos_label)
    else:
        _, score = choose_decision(
            y, proba, metric, sample_weight=weights, pos_label=data.pos_label
        )
    return float(score)
