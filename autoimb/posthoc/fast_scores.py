"""Scorers for the ensemble selection, equal to :func:`honest_score` but cheaper.

The selection scores hundreds of blends, so per-call overhead dominates its cost: ranking
metrics skip the per-fold scores and, for the common ones, sklearn's input checks; binary
threshold metrics sort the rows once for all folds and count instead of predicting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from autoimb.exceptions import AutoImbError
from autoimb.metrics.metric import Metric
from autoimb.posthoc.blend import FloatArray
from autoimb.posthoc.candidates import MAX_CANDIDATES, best_candidate, sorted_candidates
from autoimb.posthoc.crossfit import honest_score

__all__ = ["FoldScorer", "Scorer", "fold_scorer", "honest_scorer", "ranking_scorer"]

Scorer = Callable[[FloatArray], float]
FoldScorer = Callable[[FloatArray], tuple[float, list[float]]]
"""A blend's honest score and its score on each fold, as :func:`honest_score` returns them."""


def _ranking_curve(
    is_pos: NDArray[np.bool_], score: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Weighted true and false positives at each distinct score, highest first (as sklearn)."""
    order = np.argsort(score, kind="mergesort")[::-1]
    s = score[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), s.shape[0] - 1]
    tps = np.cumsum(np.where(is_pos[order], w[order], 0.0))[ends]
    fps = np.cumsum(np.where(is_pos[order], 0.0, w[order]))[ends]
    return tps, fps


def _fast_average_precision(is_pos: NDArray[np.bool_], score: FloatArray, w: FloatArray) -> float:
    tps, fps = _ranking_curve(is_pos, score, w)
    if not tps[-1] > 0:
        return math.nan
    # Rows of weight 0 at the top leave no weight to divide by: precision 0 there, as sklearn
    # (recall does not move at them, so they add nothing either way).
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted > 0)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _fast_roc_auc(is_pos: NDArray[np.bool_], score: FloatArray, w: FloatArray) -> float:
    tps, fps = _ranking_curve(is_pos, score, w)
    if not (tps[-1] > 0 and fps[-1] > 0):
        return math.nan
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.trapezoid(tpr, fpr))


# The selection scores hundreds of blends; sklearn's input checks would dominate its cost.
_FAST_RANKING: dict[str, Callable[[NDArray[np.bool_], FloatArray, FloatArray], float]] = {
    "average_precision": _fast_average_precision,
    "roc_auc": _fast_roc_auc,
}


def honest_scorer(
    y: NDArray[np.int64], w: FloatArray | None, folds: NDArray[Any], metric: Metric, pos: int
) -> Scorer:
    """The value :func:`honest_score` gives, computed with less overhead where possible.

    For a ranking metric the honest score is the pooled score of the OOF probabilities, so
    the per-fold scores ``honest_score`` also computes are skipped.
    """
    if metric.kind == "threshold":
        exact = fold_scorer(y, w, folds, metric, pos)

        def score(proba: FloatArray) -> float:
            return exact(proba)[0]

        return score
    return ranking_scorer(y, w, metric, pos)


def ranking_scorer(y: NDArray[np.int64], w: FloatArray | None, metric: Metric, pos: int) -> Scorer:
    """A ranking metric's score of probabilities for these rows, without sklearn's checks for
    the common ones: scoring many blends or shuffles, the checks would dominate."""
    weights = np.ones(y.shape[0]) if w is None else w
    fast = _FAST_RANKING.get(metric.name)
    if fast is None:

        def pooled(proba: FloatArray) -> float:
            return metric.score_proba(y, proba, sample_weight=weights, pos_label=pos)

        return pooled
    n_classes = int(y.max()) + 1
    masks = [y == c for c in range(max(n_classes, 2))]

    def ranking(proba: FloatArray) -> float:
        if proba.shape[1] == 2:
            return fast(masks[pos], proba[:, pos], weights)
        return float(np.mean([fast(y == c, proba[:, c], weights) for c in range(proba.shape[1])]))

    return ranking


def fold_scorer(
    y: NDArray[np.int64], w: FloatArray | None, folds: NDArray[Any], metric: Metric, pos: int
) -> FoldScorer:
    """What :func:`honest_score` returns, fold scores included, with less overhead where possible.

    The fold scores are what tells a blend's gain from noise (ensemble pruning).
    """

    def exact(proba: FloatArray) -> tuple[float, list[float]]:
        return honest_score(y, proba, folds, metric, sample_weight=w, pos_label=pos)

    binary = int(y.max()) + 1 <= 2
    if metric.kind == "threshold":
        return _cross_fitted_counts(y, w, folds, metric, pos, exact) if binary else exact
    fast = _FAST_RANKING.get(metric.name)
    if fast is None or not binary:
        return exact
    weights = np.ones(y.shape[0]) if w is None else w
    is_pos = y == pos
    parts = [folds == k for k in np.unique(folds)]

    def ranking(proba: FloatArray) -> tuple[float, list[float]]:
        score = proba[:, pos]
        per_fold = [fast(is_pos[part], score[part], weights[part]) for part in parts]
        return fast(is_pos, score, weights), per_fold

    return ranking


def _cross_fitted_counts(
    y: NDArray[np.int64],
    w: FloatArray | None,
    folds: NDArray[Any],
    metric: Metric,
    pos: int,
    exact: FoldScorer,
) -> FoldScorer:
    """:func:`honest_score` of a binary threshold metric from one sort of all rows.

    Each fold's threshold is chosen on the other folds' rows, taken from the one sort (the
    same candidates as sorting them alone), and the fold's rows at or above it are counted
    rather than predicted. Where a score is undefined, the exact path says why.
    """
    weights = np.ones(y.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    is_pos = y == pos
    fold_ids = np.unique(folds)
    if fold_ids.shape[0] < 2:
        return exact  # which says why one fold cannot cross-fit

    def scores(proba: FloatArray) -> tuple[float, list[float]]:
        score = proba[:, pos]
        if not np.isfinite(score).all():
            return exact(proba)  # which says what is wrong with them
        order = np.argsort(-score, kind="stable")
        s, hit_pos, ws, fs = score[order], is_pos[order], weights[order], folds[order]
        counts = np.empty((fold_ids.shape[0], 4))
        for i, k in enumerate(fold_ids):
            inside = fs == k
            out = ~inside
            thresholds, tp, fp, fn, tn = sorted_candidates(
                s[out], hit_pos[out], ws[out], MAX_CANDIDATES
            )
            try:
                values = metric.from_counts(tp, fp, fn, tn)
                best = best_candidate(metric, values, tp, fp, fn, tn)
            except AutoImbError:
                return exact(proba)
            cells = 2 * (s[inside] >= thresholds[best]) + hit_pos[inside]
            tn_k, fn_k, fp_k, tp_k = np.bincount(cells, weights=ws[inside], minlength=4)
            counts[i] = tp_k, fp_k, fn_k, tn_k
        tp, fp, fn, tn = counts.sum(axis=0)
        value = float(metric.from_counts(tp, fp, fn, tn))
        if math.isnan(value):
            return exact(proba)
        per_fold = metric.from_counts(counts[:, 0], counts[:, 1], counts[:, 2], counts[:, 3])
        return value, [float(v) for v in per_fold]

    return scores
