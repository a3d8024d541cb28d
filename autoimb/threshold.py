"""Decision rules on top of predicted probabilities, and honest scores for them.

On imbalanced data the default ``argmax`` rule is rarely the best one, so the pipeline
tunes a threshold (binary) or per-class scale factors (multi-class) for the chosen
metric. Tuning and scoring on the same rows would flatter every trial, so scores are
cross-fitted: the rule applied to fold ``k`` is chosen on the other folds only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from autoimb.exceptions import AutoImbError
from autoimb.formulas import as_labels, as_proba, as_weights, check_codes, check_pos_label
from autoimb.metrics import Metric, get_metric

__all__ = [
    "Decision",
    "ThresholdedClassifier",
    "choose_decision",
    "cross_fitted_predictions",
    "honest_score",
    "threshold_curve",
    "tuning_metric",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_CANDIDATES = 1024
"""Most thresholds scanned per binary search; score quantiles beyond that keep 1M rows fast."""

# Per-class factors 10**-3 .. 10**3 in steps of 10**0.1; 1.0 is on the grid exactly, so
# coordinate ascent starts from plain argmax and can only improve on it.
_SCALE_GRID: FloatArray = 10.0 ** (np.arange(-30, 31) / 10.0)
_MAX_PASSES = 4


@dataclass(frozen=True)
class Decision:
    """How probabilities become a class code.

    Parameters
    ----------
    threshold : float, optional
        Binary: predict ``pos_label`` where ``proba[:, pos_label] >= threshold``.
    class_scale : tuple of float, optional
        Multi-class: predict ``argmax(proba * class_scale)``.
    pos_label : int
        Encoded positive (minority) class.

    With neither set the rule is plain ``argmax``.
    """

    threshold: float | None = None
    class_scale: tuple[float, ...] | None = None
    pos_label: int = 1

    def __post_init__(self) -> None:
        if self.threshold is not None and self.class_scale is not None:
            raise AutoImbError(
                "A decision takes either a threshold (binary) or a class_scale "
                "(multi-class), not both; drop one of them."
            )
        if self.threshold is not None and not math.isfinite(float(self.threshold)):
            raise AutoImbError(f"threshold must be a finite number, got {self.threshold!r}.")
        if self.class_scale is not None:
            scale = np.asarray(self.class_scale, dtype=np.float64)
            if scale.ndim != 1 or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                raise AutoImbError(
                    f"class_scale must be positive finite numbers, one per class, got "
                    f"{self.class_scale!r}."
                )
        if isinstance(self.pos_label, bool) or not isinstance(self.pos_label, int | np.integer):
            raise AutoImbError(f"pos_label must be an integer class code, got {self.pos_label!r}.")

    def apply(self, proba: ArrayLike) -> IntArray:
        """Class codes for each row of ``proba`` (n, C)."""
        p = np.asarray(proba, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] < 2:
            raise AutoImbError(
                f"proba must be an (n_samples, n_classes) array, got shape {p.shape}; "
                "pass the full predict_proba output."
            )
        n_classes = p.shape[1]
        if self.threshold is not None:
            if n_classes != 2:
                raise AutoImbError(
                    f"A threshold decision is for binary targets, but proba has {n_classes} "
                    "columns; use a class_scale decision for multi-class targets."
                )
            pos = check_pos_label(self.pos_label, 2)
            hit = p[:, pos] >= self.threshold
            return np.where(hit, pos, 1 - pos).astype(np.int64)
        if self.class_scale is not None:
            if len(self.class_scale) != n_classes:
                raise AutoImbError(
                    f"class_scale has {len(self.class_scale)} factors but proba has "
                    f"{n_classes} columns; the decision was made for another target."
                )
            p = p * np.asarray(self.class_scale, dtype=np.float64)
        return np.argmax(p, axis=1).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """Plain python types only, so the decision can go into JSON or a study's attributes."""
        return {
            "threshold": None if self.threshold is None else float(self.threshold),
            "class_scale": (
                None if self.class_scale is None else [float(s) for s in self.class_scale]
            ),
            "pos_label": int(self.pos_label),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of :meth:`to_dict`; unknown keys are refused to catch a wrong payload."""
        unknown = set(data) - {"threshold", "class_scale", "pos_label"}
        if unknown:
            raise AutoImbError(
                f"Unknown decision keys {sorted(unknown)}; expected threshold, class_scale "
                "and pos_label."
            )
        threshold = data.get("threshold")
        scale = data.get("class_scale")
        return cls(
            threshold=None if threshold is None else float(threshold),
            class_scale=None if scale is None else tuple(float(s) for s in scale),
            pos_label=int(data.get("pos_label", 1)),
        )


# ------------------------------------------------------------------------------ helpers


def _inputs(
    y: ArrayLike, proba: ArrayLike, sample_weight: ArrayLike | None, pos_label: int
) -> tuple[IntArray, FloatArray, FloatArray, int]:
    yt = as_labels(y, "y")
    if yt.shape[0] == 0:
        raise AutoImbError("y is empty; a decision needs at least one labelled row.")
    p = as_proba(proba, yt.shape[0])
    check_codes(yt, p.shape[1], "y")
    pos = check_pos_label(pos_label, p.shape[1])
    w = as_weights(sample_weight, yt.shape[0])
    if w is None:
        w = np.ones(yt.shape[0], dtype=np.float64)
    return yt, p, w, pos


def tuning_metric(metric: Metric | str) -> Metric:
    """The metric a decision is tuned for; ranking metrics ignore the rule, so use F1."""
    m = get_metric(metric)
    return get_metric("f1") if m.kind == "ranking" else m


def _middle_of_best(values: FloatArray, greater_is_better: bool) -> int:
    """Index in the middle of the longest run of best values.

    The middle of a plateau sits farthest from where the score drops, so it is the
    choice least likely to fall off the plateau on new data.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v if greater_is_better else -v
    v = np.where(np.isnan(v), -np.inf, v)
    best = float(np.max(v))
    if best == -np.inf:
        raise AutoImbError(
            "The metric is undefined (NaN) for every candidate decision; check that both "
            "classes are present with positive weight."
        )
    on = np.flatnonzero(v >= best - 1e-12 * max(1.0, abs(best)))
    breaks = np.flatnonzero(np.diff(on) > 1)
    starts = np.r_[on[0], on[breaks + 1]]
    ends = np.r_[on[breaks], on[-1]]
    k = int(np.argmax(ends - starts))
    return int((starts[k] + ends[k]) // 2)


def _binary_candidates(
    score: FloatArray, is_pos: NDArray[np.bool_], w: FloatArray, max_candidates: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Candidate thresholds (descending) with their weighted tp, fp, fn, tn, in one sort.

    Each candidate lies strictly between two adjacent distinct scores, so it is as far
    as the data allows from flipping any row. The first candidate predicts nothing
    positive; the last predicts everything positive.
    """
    n = score.shape[0]
    order = np.argsort(-score, kind="stable")
    s = score[order]
    cum_pos = np.cumsum(np.where(is_pos, w, 0.0)[order])
    cum_neg = np.cumsum(np.where(is_pos, 0.0, w)[order])
    total_pos, total_neg = cum_pos[-1], cum_neg[-1]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last row of each tied group
    values = s[ends]  # distinct scores, descending
    n_groups = ends.shape[0]
    if n_groups + 1 > max_candidates:
        rows = np.round(np.linspace(0, n - 1, max(max_candidates - 1, 1))).astype(np.int64)
        keep = np.unique(np.searchsorted(ends, rows))
    else:
        keep = np.arange(n_groups)
    upper = values[keep]
    floor = 0.0 if values[-1] > 0 else float(values[-1])
    lower = np.where(keep + 1 < n_groups, values[np.minimum(keep + 1, n_groups - 1)], floor)
    mid = upper * 0.5 + lower * 0.5
    thresholds = np.where(mid > lower, mid, upper)  # rounding may land on `lower`
    top = float(values[0])
    none = (top + 1.0) * 0.5 if top < 1.0 else top
    if none <= top:
        none = float(np.nextafter(top, np.inf))
    tp = np.r_[0.0, cum_pos[ends[keep]]]
    fp = np.r_[0.0, cum_neg[ends[keep]]]
    return np.r_[none, thresholds], tp, fp, total_pos - tp, total_neg - fp


def _choose_threshold(
    yt: IntArray, p: FloatArray, w: FloatArray, pos: int, metric: Metric, max_candidates: int
) -> tuple[Decision, float]:
    thresholds, tp, fp, fn, tn = _binary_candidates(p[:, pos], yt == pos, w, max_candidates)
    values = metric.from_counts(tp, fp, fn, tn)
    i = _middle_of_best(values, metric.greater_is_better)
    return Decision(threshold=float(thresholds[i]), pos_label=pos), float(values[i])


def _choose_scale(
    yt: IntArray, p: FloatArray, w: FloatArray, pos: int, metric: Metric
) -> tuple[Decision, float]:
    n_classes = p.shape[1]
    codes = yt * n_classes
    flat = n_classes * n_classes

    def score_of(pred: IntArray) -> float:
        cm = np.bincount(codes + pred, weights=w, minlength=flat).reshape(n_classes, n_classes)
        return metric.score_confusion(cm, pos_label=pos)

    # The heaviest class stays at 1: argmax ignores a common factor, so one is free.
    anchor = int(np.argmax(np.bincount(yt, weights=w, minlength=n_classes)))
    scale = np.ones(n_classes, dtype=np.float64)
    for _ in range(_MAX_PASSES):
        changed = False
        for c in range(n_classes):
            if c == anchor:
                continue
            others = p * scale
            others[:, c] = -np.inf
            other_arg = np.argmax(others, axis=1)
            other_best = others[np.arange(p.shape[0]), other_arg]
            values = np.empty(_SCALE_GRID.shape[0], dtype=np.float64)
            for j, factor in enumerate(_SCALE_GRID):
                mine = p[:, c] * factor
                # argmax breaks ties towards the lower index; mirror it exactly.
                wins = (mine > other_best) | ((mine == other_best) & (c < other_arg))
                values[j] = score_of(np.where(wins, c, other_arg))
            j = _middle_of_best(values, metric.greater_is_better)
            if _SCALE_GRID[j] != scale[c]:
                scale[c] = _SCALE_GRID[j]
                changed = True
        if not changed:
            break
    decision = Decision(class_scale=tuple(float(s) for s in scale), pos_label=pos)
    return decision, score_of(decision.apply(p))


# --------------------------------------------------------------------------- public API


def choose_decision(
    y: ArrayLike,
    proba: ArrayLike,
    metric: Metric | str,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
    max_candidates: int = MAX_CANDIDATES,
) -> tuple[Decision, float]:
    """Best decision rule for ``metric`` on these rows, and its (in-sample) score.

    Binary: one vectorised scan over at most ``max_candidates`` thresholds, taking the
    middle of the best plateau. Multi-class: coordinate ascent over a log grid of
    per-class factors. A ranking metric does not depend on the rule, so F1 is tuned.
    """
    yt, p, w, pos = _inputs(y, proba, sample_weight, pos_label)
    tuned = tuning_metric(metric)
    if int(max_candidates) < 2:
        raise AutoImbError(f"max_candidates must be at least 2, got {max_candidates}.")
    if p.shape[1] == 2:
        return _choose_threshold(yt, p, w, pos, tuned, int(max_candidates))
    return _choose_scale(yt, p, w, pos, tuned)


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
    metric: Metric | str,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> tuple[IntArray, list[Decision]]:
    """Predictions where fold ``k`` uses a rule chosen on all rows outside fold ``k``.

    Returns the predicted codes and one decision per fold, in sorted fold-id order.
    """
    yt, p, w, pos = _inputs(y, proba, sample_weight, pos_label)
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
    metric: Metric | str,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> tuple[float, list[float]]:
    """Score that never used a row's label to pick the rule applied to that row.

    Ranking metric: scored on the pooled out-of-fold probabilities. Threshold metric:
    cross-fitted predictions scored pooled. Also returns the score of each fold (sorted
    fold-id order); a fold score may be NaN, the pooled value never is.
    """
    m = get_metric(metric)
    yt, p, w, pos = _inputs(y, proba, sample_weight, pos_label)
    folds, unique = _folds(fold_ids, yt.shape[0])
    n_classes = p.shape[1]
    if m.kind == "ranking":
        value = m.score_proba(yt, p, sample_weight=w, pos_label=pos)
        per_fold = [
            m.score_proba(yt[folds == k], p[folds == k], sample_weight=w[folds == k], pos_label=pos)
            for k in unique
        ]
    else:
        pred, _ = cross_fitted_predictions(yt, p, folds, m, sample_weight=w, pos_label=pos)
        value = m.score_labels(yt, pred, sample_weight=w, pos_label=pos, n_classes=n_classes)
        per_fold = [
            m.score_labels(
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
            f"{m.name} is undefined (NaN) on the out-of-fold predictions: "
            f"{_nan_reason(yt, w, folds, n_classes)}; use stratified folds and make sure "
            "every class has rows with positive weight."
        )
    return float(value), [float(v) for v in per_fold]


def threshold_curve(
    y: ArrayLike,
    proba: ArrayLike,
    metric: Metric | str,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
    n_points: int = 200,
) -> tuple[FloatArray, FloatArray]:
    """Metric value at evenly spaced thresholds (binary), to plot how sensitive it is."""
    yt, p, w, pos = _inputs(y, proba, sample_weight, pos_label)
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


# ------------------------------------------------------------------------- the estimator


class ThresholdedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted classifier plus its tuned decision rule, speaking the user's labels.

    Parameters
    ----------
    estimator : classifier
        Fitted on label codes 0..C-1, with ``predict_proba``.
    decision_threshold : float, optional
        Binary threshold on ``proba[:, pos_label]``.
    class_scale : tuple of float, optional
        Multi-class factors for ``argmax(proba * class_scale)``.
    pos_label : int
        Encoded positive class.
    classes : array-like, optional
        The user's labels, in code order; ``predict`` maps codes back through them.

    Every attribute is a plain python or numpy value, so the object can be saved with
    skops and loaded with a short list of trusted types.
    """

    def __init__(
        self,
        estimator: Any,
        decision_threshold: float | None = None,
        class_scale: tuple[float, ...] | None = None,
        pos_label: int = 1,
        classes: ArrayLike | None = None,
    ) -> None:
        self.estimator = estimator
        self.decision_threshold = decision_threshold
        self.class_scale = class_scale
        self.pos_label = pos_label
        self.classes = classes
        if classes is not None:
            self.classes_ = np.asarray(classes)

    @property
    def decision(self) -> Decision:
        """The rule as a :class:`Decision`, rebuilt on demand so it is never stale."""
        scale = self.class_scale
        return Decision(
            threshold=None if self.decision_threshold is None else float(self.decision_threshold),
            class_scale=None if scale is None else tuple(float(s) for s in scale),
            pos_label=int(self.pos_label),
        )

    def fit(
        self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> ThresholdedClassifier:
        """Refit the inner estimator on label-encoded ``y``; the decision rule is kept."""
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise AutoImbError(f"y must be 1-D with one label per row, got shape {labels.shape}.")
        classes, codes = np.unique(labels, return_inverse=True)
        if classes.shape[0] < 2:
            raise AutoImbError("y holds a single class; a classifier needs at least two.")
        if sample_weight is None:
            self.estimator.fit(X, codes)
        else:
            self.estimator.fit(X, codes, sample_weight=np.asarray(sample_weight))
        self.classes_ = classes
        return self

    def __sklearn_is_fitted__(self) -> bool:
        if not hasattr(self, "classes_"):
            return False
        try:
            check_is_fitted(self.estimator)
        except NotFittedError:
            return False
        return True

    def predict_proba(self, X: Any) -> FloatArray:
        """Probabilities of the inner estimator, columns in ``classes_`` order."""
        return np.asarray(self.estimator.predict_proba(X), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        """Labels from the tuned rule, in the user's original label values."""
        check_is_fitted(self)
        proba = self.predict_proba(X)
        if proba.shape[1] != len(self.classes_):
            raise AutoImbError(
                f"The estimator gives {proba.shape[1]} probability columns but classes_ "
                f"holds {len(self.classes_)} labels; pass the classes it was fitted on."
            )
        return self.classes_[self.decision.apply(proba)]
