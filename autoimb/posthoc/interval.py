"""How far to trust a score: an interval for what the winner will score on a new set of rows.

Three kinds of noise separate ``best_score`` from a score on new data: the estimate itself rests
on the training rows (another sample of the same size would give another estimate); a new set
of ``n_rows`` rows scores the same model differently by chance, more so the smaller it is; and
a model fitted on other rows is another model. The first two are drawn by the bootstrap over
the out-of-fold rows (their cross-fitted predictions for a threshold metric, their
probabilities for a ranking metric), which holds the models fixed; the third is what the
spread of the fold scores shows beyond the sampling noise of a fold of their size, added as a
normal deviation. The interval is ``center`` plus the quantiles of the three added together.
No model is refitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

from autoimb.exceptions import AutoImbError
from autoimb.metrics.metric import Metric
from autoimb.metrics.registry import METRICS, precision_floor
from autoimb.posthoc.candidates import checked_inputs
from autoimb.posthoc.crossfit import cross_fitted_predictions

__all__ = ["Drawn", "floor_miss_chance", "score_interval"]

N_BOOT = 300
# Resamples larger than this are drawn at this size and their deviation scaled by
# sqrt(size / n), the rate at which a mean's noise shrinks; it keeps large data cheap.
MAX_BOOT_ROWS = 20_000


def score_interval(
    y: ArrayLike,
    proba: ArrayLike,
    fold_ids: ArrayLike,
    metric: Metric,
    *,
    center: float,
    n_rows: int,
    level: float = 0.8,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
    seed: int = 0,
) -> tuple[float, float]:
    """``(low, high)``: where the score on ``n_rows`` new rows falls with probability ``level``.

    The interval always holds ``center``; it widens as ``n_rows`` shrinks. Recall at a
    precision floor jumps at the floor (a recall above it, minus precision's shortfall
    below): bootstrapped as one number its two sides mix into bounds that are neither, so its
    interval is the side ``center`` is on, recall's or the shortfall's; how likely new rows
    are to fall on the other side is :func:`floor_miss_chance`.
    """
    drawn = Drawn.of(y, proba, fold_ids, metric, n_rows, level, sample_weight, pos_label)
    return drawn.score_interval(metric, center, level, seed)


def floor_miss_chance(
    y: ArrayLike,
    proba: ArrayLike,
    fold_ids: ArrayLike,
    metric: Metric,
    *,
    n_rows: int,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
    seed: int = 0,
) -> float | None:
    """For recall at a precision floor: the chance that precision on ``n_rows`` new rows falls
    below the floor (the bootstrap of :func:`score_interval`); None for another metric."""
    if precision_floor(metric) is None:
        return None
    drawn = Drawn.of(y, proba, fold_ids, metric, n_rows, 0.5, sample_weight, pos_label)
    return drawn.floor_miss(metric, seed)


@dataclass
class Drawn:
    """The out-of-fold rows, their cross-fitted labels (threshold metrics) and the size of a
    new set, ready to be resampled for one metric or another."""

    yt: np.ndarray
    p: np.ndarray
    w: np.ndarray
    pos: int
    folds: np.ndarray
    labels: np.ndarray | None
    n_rows: int

    @classmethod
    def of(
        cls,
        y: ArrayLike,
        proba: ArrayLike,
        fold_ids: ArrayLike,
        metric: Metric,
        n_rows: int,
        level: float,
        sample_weight: ArrayLike | None,
        pos_label: int,
    ) -> Drawn:
        if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 1:
            raise AutoImbError(f"n_rows must be a positive integer; got {n_rows!r}.")
        # Any real number (a NumPy float from an array too), but not True, which reads as 1.
        if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < float(level) < 1.0:
            raise AutoImbError(
                f"level must be a number between 0 and 1, such as 0.8; got {level!r}."
            )
        yt, p, w, pos = checked_inputs(y, proba, sample_weight, pos_label)
        folds = np.asarray(fold_ids)
        # Cross-fitted once, with the threshold tuned for the metric searched for: the
        # resamples and the fold scores use the same predictions.
        labels = (
            cross_fitted_predictions(yt, p, folds, metric, sample_weight=w, pos_label=pos)[0]
            if metric.kind == "threshold"
            else None
        )
        return cls(yt, p, w, pos, folds, labels, int(n_rows))

    def draws(self, metric: Metric, seed: int) -> tuple[float, np.ndarray]:
        """The metric on the rows, and what resampling them (the estimate's noise and a new
        set's) and refitting (the folds' spread) add to it: finite draws only."""
        yt, p, labels, w, pos = self.yt, self.p, self.labels, self.w, self.pos
        rng = np.random.default_rng(seed)
        score_with = _weighted_scorer(yt, p, labels, w, pos, metric, rng)
        full = score_with(np.ones(score_with.rows))
        estimate = _deviations(score_with, yt.shape[0], full, rng)
        new_data = _deviations(score_with, self.n_rows, full, rng)
        spread = _refit_spread(yt, p, labels, self.folds, w, pos, metric, estimate)
        unseen = _classes_without_error(yt, p, labels)
        if not np.nanmax(np.abs(estimate), initial=0.0) > 1e-9:
            unseen = np.unique(yt)
        if unseen.size:
            # The bootstrap cannot draw an error the rows do not hold: with no missed positive
            # it is as sure as if the model could never miss one (a cost of 50 per miss then
            # reads far too low; with no error at all the interval has zero width). Half a
            # mistake per such class stands for those not seen.
            extended = _with_an_unseen_error(yt, p, labels, w, unseen)
            score_with = _weighted_scorer(*extended, pos, metric, rng)
            full = score_with(np.ones(score_with.rows))
            estimate = _deviations(score_with, yt.shape[0], full, rng)
            new_data = _deviations(score_with, self.n_rows, full, rng)
        total = estimate + new_data + rng.normal(0.0, spread, N_BOOT)
        return full, total[np.isfinite(total)]

    def score_interval(
        self, metric: Metric, center: float, level: float, seed: int
    ) -> tuple[float, float]:
        floor = precision_floor(metric)
        if floor is None:
            return self.interval(metric, center, level, seed)
        if center >= 0:
            return self.interval(METRICS["recall"], center, level, seed)
        low, high = self.interval(METRICS["precision"], center + floor, level, seed)
        return low - floor, min(high - floor, 0.0)

    def how_sure(
        self, metric: Metric, center: float, level: float, seed: int = 0
    ) -> tuple[tuple[float, float], float | None]:
        """:meth:`score_interval` and :meth:`floor_miss` together: the interval of a precision
        floor's score holds only on its side of the floor, so the two are read as one."""
        interval = self.score_interval(metric, center, level, seed)
        return interval, self.floor_miss(metric, seed, center)

    def floor_miss(self, metric: Metric, seed: int, center: float | None = None) -> float | None:
        """How often precision falls below the floor on such a new set: around the precision
        ``center`` (the score reported) implies where it is given, else these rows'. A score
        measured again on fresh folds below the floor, beside these folds' precision above
        it, was said to hold the floor "about 63% of the time" under an interval wholly
        below it."""
        floor = precision_floor(metric)
        if floor is None:
            return None
        full, total = self.draws(METRICS["precision"], seed)
        if center is not None:  # below the floor, by how much; above it, at least on it
            full = center + floor if center < 0 else max(full, floor)
        return float(np.mean(full + total < floor)) if total.size else None

    def interval(
        self, metric: Metric, center: float, level: float, seed: int
    ) -> tuple[float, float]:
        _, total = self.draws(metric, seed)
        if total.size == 0:
            return float(center), float(center)
        tail = (1.0 - float(level)) / 2.0
        low, high = center + np.quantile(total, [tail, 1.0 - tail])
        # The sum of deviations can step past what the metric can be (an F1 below 0, above 1).
        hard = self.labels is not None
        worst, best = _attainable(self.yt, self.p.shape[1], hard, self.w, self.pos, metric, seed)
        low, high = max(low, worst), min(high, best)
        return float(min(low, center)), float(max(high, center))


def _attainable(
    yt: np.ndarray, n_classes: int, hard: bool, w: np.ndarray, pos: int, metric: Metric, seed: int
) -> tuple[float, float]:
    """The metric's range on these rows: every row predicted (or ranked) wrong, and right."""
    scores = []
    for labels in ((yt + 1) % n_classes, yt):
        proba = np.eye(n_classes)[labels]
        score_with = _weighted_scorer(
            yt, proba, labels if hard else None, w, pos, metric, np.random.default_rng(seed)
        )
        scores.append(score_with(np.ones(score_with.rows)))
    if not all(math.isfinite(s) for s in scores):
        return -math.inf, math.inf
    return min(scores), max(scores)


def _classes_without_error(yt: np.ndarray, p: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """The classes none of whose rows is predicted wrong (threshold metrics), or whose rows
    all score above every other row on their own probability (ranking metrics)."""
    classes = np.unique(yt)
    if labels is not None:
        return np.asarray([c for c in classes if np.all(labels[yt == c] == c)], dtype=yt.dtype)
    clean = []
    for c in classes:
        own, others = p[yt == c, c], p[yt != c, c]
        if not others.size or own.min() > others.max():
            clean.append(c)
    return np.asarray(clean, dtype=yt.dtype)


def _with_an_unseen_error(
    yt: np.ndarray, p: np.ndarray, labels: np.ndarray | None, w: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The rows plus, for each of ``classes``, one row of it predicted (and scored) as the
    next class, at half a row's mean weight."""
    n_classes = p.shape[1]
    wrong = (classes + 1) % n_classes
    extra_p = np.eye(n_classes)[wrong]
    return (
        np.r_[yt, classes],
        np.r_[p, extra_p],
        None if labels is None else np.r_[labels, wrong],
        np.r_[w, np.full(classes.shape[0], 0.5 * float(np.mean(w)))],
    )


class _Scorer:
    """The metric on the rows weighted by how often a resample drew them.

    Predictions are made once (cross-fitted for a threshold metric) and, for a binary ranking
    metric, the rows are sorted once; each resample then costs one pass over the rows.
    """

    def __init__(self, score: Callable[[np.ndarray], float], rows: int) -> None:
        self.score, self.rows = score, rows

    def __call__(self, counts: np.ndarray) -> float:
        return self.score(counts)


def _weighted_scorer(
    yt: np.ndarray,
    p: np.ndarray,
    labels: np.ndarray | None,
    w: np.ndarray,
    pos: int,
    metric: Metric,
    rng: np.random.Generator,
) -> _Scorer:
    """``labels``: the cross-fitted predictions of a threshold metric (None for ranking)."""
    n_classes = p.shape[1]
    rows = np.arange(yt.shape[0])
    if rows.shape[0] > MAX_BOOT_ROWS:  # a fixed sample stands for the rows
        rows = np.sort(rng.choice(rows, MAX_BOOT_ROWS, replace=False))
    y_, p_, w_ = yt[rows], p[rows], w[rows]
    if labels is not None:
        pred = labels[rows]

        def threshold(counts: np.ndarray) -> float:
            return metric.score_labels(
                y_, pred, sample_weight=w_ * counts, pos_label=pos, n_classes=n_classes
            )

        return _Scorer(threshold, rows.shape[0])
    # A binary score ranks the positive class; a multi-class one is the mean over the classes,
    # one against the rest (as Metric.score_proba), each class's rows sorted once.
    scored = [pos] if n_classes == 2 else list(range(n_classes))
    curves = []
    for c in scored:
        order = np.argsort(p_[:, c], kind="mergesort")[::-1]
        s = p_[order, c]
        ends = np.r_[np.flatnonzero(np.diff(s)), s.shape[0] - 1]
        curve = _curve_scorer(metric.name, (y_ == c)[order], ends)
        if curve is not None:
            curves.append((order, curve))
    if len(curves) == len(scored):

        def by_curves(counts: np.ndarray) -> float:
            # Over the classes a draw holds, as the macro threshold metrics average: a small
            # new set of many classes misses a rare one in almost every draw, and the interval
            # collapsed onto its centre.
            weights = w_ * counts
            per_class = [curve(weights[order]) for order, curve in curves]
            return float(np.nanmean(per_class)) if np.isfinite(per_class).any() else math.nan

        return _Scorer(by_curves, rows.shape[0])
    if n_classes == 2 and metric.ranking_fn is not None:
        rank_fn = metric.ranking_fn
        return _Scorer(
            lambda counts: float(rank_fn(y_ == pos, p_[:, pos], w_ * counts)), rows.shape[0]
        )

    def ranking(counts: np.ndarray) -> float:
        return metric.score_proba(y_, p_, sample_weight=w_ * counts, pos_label=pos)

    return _Scorer(ranking, rows.shape[0])


def _curve_scorer(
    name: str, is_pos: np.ndarray, ends: np.ndarray
) -> Callable[[np.ndarray], float] | None:
    """PR-AUC and ROC-AUC from rows already sorted by score: one cumulative sum per resample."""
    if name not in ("average_precision", "roc_auc"):
        return None

    def curve(weights: np.ndarray) -> float:
        tps = np.cumsum(np.where(is_pos, weights, 0.0))[ends]
        fps = np.cumsum(np.where(is_pos, 0.0, weights))[ends]
        if not tps[-1] > 0 or (name == "roc_auc" and not fps[-1] > 0):
            return math.nan
        if name == "average_precision":
            with np.errstate(invalid="ignore", divide="ignore"):
                precision = np.where(tps + fps > 0, tps / np.maximum(tps + fps, 1e-300), 0.0)
            return float(np.sum(np.diff(np.r_[0.0, tps / tps[-1]]) * precision))
        tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))

    return curve


def _refit_spread(
    yt: np.ndarray,
    p: np.ndarray,
    labels: np.ndarray | None,
    folds: np.ndarray,
    w: np.ndarray,
    pos: int,
    metric: Metric,
    estimate: np.ndarray,
) -> float:
    """Standard deviation the refitting adds: the fold scores' variance beyond a fold's
    sampling variance (``k`` times that of the whole, ``estimate``'s)."""

    def score(rows: np.ndarray) -> float:
        if labels is None:
            return metric.score_proba(yt[rows], p[rows], sample_weight=w[rows], pos_label=pos)
        return metric.score_labels(
            yt[rows], labels[rows], sample_weight=w[rows], pos_label=pos, n_classes=p.shape[1]
        )

    unique = np.unique(folds)
    if math.isnan(score(np.ones(yt.shape[0], dtype=bool))):  # undefined on these rows
        return 0.0
    scores = np.asarray([s for s in (score(folds == k) for k in unique) if math.isfinite(s)])
    sampling = np.nanvar(estimate) * unique.shape[0]
    if scores.size < 3 or not math.isfinite(sampling):
        return 0.0
    return math.sqrt(max(0.0, float(np.var(scores, ddof=1)) - sampling))


def _deviations(
    score_with: _Scorer, size: int, full: float, rng: np.random.Generator
) -> np.ndarray:
    """Score minus ``full`` for resamples of ``size`` rows (drawn at most MAX_BOOT_ROWS)."""
    drawn = min(size, MAX_BOOT_ROWS)
    scale = math.sqrt(drawn / size)
    out = np.empty(N_BOOT)
    for b in range(N_BOOT):
        counts = np.bincount(rng.integers(0, score_with.rows, drawn), minlength=score_with.rows)
        out[b] = (score_with(counts.astype(np.float64) * (score_with.rows / drawn)) - full) * scale
    return out
