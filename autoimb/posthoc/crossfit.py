"""Honest scores: the rule applied to a row is never chosen with that row's label.

Tuning and scoring on the same rows would flatter every trial, so scores are
cross-fitted: the rule applied to fold ``k`` is chosen on the other folds only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from autoimb.exceptions import AutoImbError
from autoimb.metrics.metric import Metric
from autoimb.posthoc.candidates import checked_inputs, choose_decision, tuning_metric
from autoimb.posthoc.decision import Decision, FloatArray, IntArray

__all__ = ["cross_fitted_predictions", "honest_score", "threshold_curve"]


def _folds(fold_ids: ArrayLike, n: int) -> tuple[NDArray[Any], NDArray[Any]]:
    folds = np.asarray(fold_ids)
    if folds.ndim != 1 or folds.shape[0] != n:
        raise AutoImbError(
            f"fold_ids must be a 1-D array with one fold id per row ({n}), got shape {folds.shape}."
        )
    unique = np.unique(folds)
    if unique.shape[0] < 2:
        raise AutoImbError(
            "Cross-fitting needs at least 2 folds, got "
            f"{unique.shape[0]}; pass the fold id of each row from a K-fold split."
        )
    return folds, unique


def cross_fitted_predictions(
    y: ArrayLike,
    proba: ArrayLike,
    fold_ids: ArrayLike,
    metric: Metric,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> tuple[IntArray, list[Decision]]:
    """Predictions where fold ``k`` uses a rule chosen on all rows outside fold ``k``.

    Returns the predicted codes and one decision per fold, in sorted fold-id order.
    """
    yt, p, w, pos = checked_inputs(y, proba, sample_weight, pos_label)
    folds, unique = _folds(fold_ids, yt.shape[0])
    pred = np.empty(yt.shape[0], dtype=np.int64)
    decisions: list[Decision] = []
    for k in unique:
        inside = folds == k
        outside = ~inside
        decision, _ = choose_decision(
            yt[outside], p[outside], metric, sample_weight=w[outside], pos_label=pos
        )
        pred[inside] = decision.apply(p[inside])
        decisions.append(decision)
    return pred, decisions


def _nan_reason(yt: IntArray, w: FloatArray, folds: NDArray[Any], n_classes: int) -> str:
    per_class = np.bincount(yt, weights=w, minlength=n_classes)
    missing = [c for c in range(n_classes) if not per_class[c] > 0]
    if missing:
        return f"class code(s) {missing} have no rows with positive weight in y"
    thin = [
        k.item()
        for k in np.unique(folds)
        if np.count_nonzero(np.bincount(yt[folds == k], weights=w[folds == k]) > 0) < 2
    ]
    if thin:
        return f"fold(s) {thin} hold a single class"
    return "the metric returned NaN on these rows"


def honest_score(
    y: ArrayLike,
    proba: ArrayLike,
    fold_ids: ArrayLike,
    metric: Metric,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> tuple[float, list[float]]:
    """Score that never used a row's label to pick the rule applied to that row.

    Ranking metric: scored on the pooled out-of-fold probabilities. Threshold metric:
    cross-fitted predictions scored pooled. Also returns the score of each fold (sorted
    fold-id order); a fold score may be NaN, the pooled value never is.
    """
    yt, p, w, pos = checked_inputs(y, proba, sample_weight, pos_label)
    folds, unique = _folds(fold_ids, yt.shape[0])
    n_classes = p.shape[1]
    if metric.kind == "ranking":
        value = metric.score_proba(yt, p, sample_weight=w, pos_label=pos)
        per_fold = [
            metric.score_proba(
                yt[folds == k], p[folds == k], sample_weight=w[folds == k], pos_label=pos
            )
            for k in unique
        ]
    else:
        pred, _ = cross_fitted_predictions(yt, p, folds, metric, sample_weight=w, pos_label=pos)
        value = metric.score_labels(yt, pred, sample_weight=w, pos_label=pos, n_classes=n_classes)
        per_fold = [
            metric.score_labels(
                yt[folds == k],
                pred[folds == k],
                sample_weight=w[folds == k],
                pos_label=pos,
                n_classes=n_classes,
            )
            for k in unique
        ]
    if math.isnan(value):
        raise AutoImbError(
            f"{metric.name} is undefined (NaN) on the out-of-fold predictions: "
            f"{_nan_reason(yt, w, folds, n_classes)}; use stratified folds and make sure "
            "every class has rows with positive weight."
        )
    return float(value), [float(v) for v in per_fold]


def threshold_curve(
    y: ArrayLike,
    proba: ArrayLike,
    metric: Metric,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
    n_points: int = 200,
) -> tuple[FloatArray, FloatArray]:
    """Metric value at evenly spaced thresholds (binary), to plot how sensitive it is."""
    yt, p, w, pos = checked_inputs(y, proba, sample_weight, pos_label)
    if p.shape[1] != 2:
        raise AutoImbError(
            f"threshold_curve is for binary targets, but proba has {p.shape[1]} columns."
        )
    if int(n_points) < 2:
        raise AutoImbError(f"n_points must be at least 2, got {n_points}.")
    m = tuning_metric(metric)
    score = p[:, pos]
    is_pos = yt == pos
    order = np.argsort(score, kind="stable")
    s = score[order]
    below_pos = np.r_[0.0, np.cumsum(np.where(is_pos, w, 0.0)[order])]
    below_neg = np.r_[0.0, np.cumsum(np.where(is_pos, 0.0, w)[order])]
    thresholds = np.linspace(min(0.0, float(s[0])), max(1.0, float(s[-1])), int(n_points))
    k = np.searchsorted(s, thresholds, side="left")  # rows below k are predicted negative
    fn, tn = below_pos[k], below_neg[k]
    tp, fp = below_pos[-1] - fn, below_neg[-1] - tn
    return thresholds, m.from_counts(tp, fp, fn, tn)
