"""The formulas behind the metrics: weighted confusion counts, ratios, input checks.

Kept apart from the registry in :mod:`autoimb.metrics.registry` so that the threshold scan and the
ensemble selection can reuse the vectorised pieces without the parsing around them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import average_precision_score, roc_auc_score

from autoimb.exceptions import AutoImbError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CountsFn = Callable[[FloatArray, FloatArray, FloatArray, FloatArray], FloatArray]
ConfusionFn = Callable[[FloatArray], float]
RankingFn = Callable[[NDArray[np.bool_], FloatArray, FloatArray], float]

# Precision computed from weighted sums can land a hair under an exact floor such as 0.9.
_FLOOR_TOL = 1e-12


# --------------------------------------------------------------------------- validation


def as_labels(y: ArrayLike, what: str) -> IntArray:
    """Integer class codes, refused early so a string label never reaches ``bincount``."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise AutoImbError(
            f"{what} must be a 1-D array of class codes, got shape {arr.shape}; "
            "pass one label per row."
        )
    if arr.dtype == np.bool_:
        return arr.astype(np.int64)
    if (
        np.issubdtype(arr.dtype, np.floating)
        and np.all(np.isfinite(arr))
        and np.all(arr == np.round(arr))
    ):
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise AutoImbError(
            f"{what} must hold integer class codes 0..C-1, got dtype {arr.dtype}; "
            "encode the labels first (e.g. with sklearn's LabelEncoder)."
        )
    if arr.size and arr.min() < 0:
        raise AutoImbError(f"{what} holds negative class codes; encode the labels as 0..C-1 first.")
    return arr.astype(np.int64, copy=False)


def as_weights(sample_weight: ArrayLike | None, n: int) -> FloatArray | None:
    """Weights checked once here, so every metric can trust them."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise AutoImbError(
            f"sample_weight must be a 1-D array with one weight per row ({n}), got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise AutoImbError(
            "sample_weight must hold finite, non-negative numbers; "
            "drop or fix the rows with negative, NaN or infinite weights."
        )
    return w


def as_proba(proba: ArrayLike, n: int) -> FloatArray:
    """An (n, C) probability array; a 1-D score vector is refused to keep ``pos_label`` exact."""
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != n or p.shape[1] < 2:
        raise AutoImbError(
            f"proba must be an (n_samples, n_classes) array with n_samples={n} and at "
            f"least 2 columns, got shape {p.shape}; pass the full predict_proba output."
        )
    if not np.all(np.isfinite(p)):
        raise AutoImbError("proba holds NaN or infinite values; check the model that produced it.")
    return p


def check_pos_label(pos_label: int, n_classes: int) -> int:
    if isinstance(pos_label, bool) or not isinstance(pos_label, int | np.integer):
        raise AutoImbError(
            f"pos_label must be an integer class code, got {pos_label!r}; "
            "pass the encoded index of the minority class."
        )
    if not 0 <= int(pos_label) < n_classes:
        raise AutoImbError(
            f"pos_label={pos_label} is outside the class codes 0..{n_classes - 1}; "
            "pass the encoded index of the minority class."
        )
    return int(pos_label)


def check_codes(codes: IntArray, n_classes: int, what: str) -> None:
    if codes.size and int(codes.max()) >= n_classes:
        raise AutoImbError(
            f"{what} holds class code {int(codes.max())} but only {n_classes} classes "
            f"are expected (codes 0..{n_classes - 1}); pass the right n_classes or "
            "re-encode the labels."
        )


def confusion_matrix(
    y: ArrayLike,
    y_pred: ArrayLike,
    n_classes: int,
    sample_weight: ArrayLike | None = None,
) -> FloatArray:
    """Weighted confusion matrix (rows = true class), sized by ``n_classes`` not by the data.

    Fixing the size keeps folds that miss a class comparable with the others.
    """
    yt = as_labels(y, "y")
    yp = as_labels(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise AutoImbError(
            f"y and y_pred have different lengths ({yt.shape[0]} and {yp.shape[0]}); "
            "pass one prediction per row."
        )
    if int(n_classes) < 2:
        raise AutoImbError(f"n_classes must be at least 2, got {n_classes}.")
    c = int(n_classes)
    check_codes(yt, c, "y")
    check_codes(yp, c, "y_pred")
    w = as_weights(sample_weight, yt.shape[0])
    flat = np.bincount(yt * c + yp, weights=w, minlength=c * c)
    return flat.astype(np.float64).reshape(c, c)


# ------------------------------------------------------------------ count-level formulas


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    """0/0 -> 0.0, so a degenerate threshold scores low instead of poisoning argmax with NaN."""
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _precision(tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray) -> FloatArray:
    return _safe_div(tp, tp + fp)


def _recall(tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray) -> FloatArray:
    return _safe_div(tp, tp + fn)


def _f1(tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray) -> FloatArray:
    return _safe_div(2.0 * tp, 2.0 * tp + fp + fn)


def _fbeta(
    tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray, *, beta: float
) -> FloatArray:
    # Divided through by 1 + beta²: a beta of 1e200 (beta² overflows) weighs misses fully.
    with np.errstate(over="ignore"):
        share = 1.0 / (1.0 + float(beta) * float(beta))  # of the false positives
    return _safe_div(tp, tp + (1.0 - share) * fn + share * fp)


def _mcc(tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray) -> FloatArray:
    # Two square roots instead of one of the product keep large weighted counts in range.
    den = np.sqrt((tp + fp) * (tp + fn)) * np.sqrt((tn + fp) * (tn + fn))
    return _safe_div(tp * tn - fp * fn, den)


def _balanced_accuracy(
    tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray
) -> FloatArray:
    # As sklearn: a class absent from y is left out of the mean rather than counted as 0.
    pos, neg = tp + fn, tn + fp
    n_present = (pos > 0).astype(np.float64) + (neg > 0)
    return _safe_div(_safe_div(tp, pos) + _safe_div(tn, neg), n_present)


def _g_mean(tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray) -> FloatArray:
    # As balanced_accuracy (and scikit-learn's): a class absent from y is left out, not
    # counted as a recall of 0 because it was predicted; present means with some weight.
    tpr, tnr = _safe_div(tp, tp + fn), _safe_div(tn, tn + fp)
    pos_seen = (tp + fn) > 0
    neg_seen = (tn + fp) > 0
    both = np.sqrt(tpr * tnr)
    return np.where(pos_seen & neg_seen, both, np.where(pos_seen, tpr, tnr))


def _recall_at_precision(
    tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray, *, floor: float
) -> FloatArray:
    # Below the floor the score is the (negative) precision shortfall, so an optimiser
    # still sees which infeasible trial came closest instead of a flat zero.
    precision = _precision(tp, fp, fn, tn)
    recall = _recall(tp, fp, fn, tn)
    return np.where(precision >= floor - _FLOOR_TOL, recall, -(floor - precision))


def _cost(
    tp: FloatArray, fp: FloatArray, fn: FloatArray, tn: FloatArray, *, c_fn: float, c_fp: float
) -> FloatArray:
    return _safe_div(fn * c_fn + fp * c_fp, tp + fp + fn + tn)


# ------------------------------------------------------------- multi-class from matrices


# Each takes one matrix (a float back) or a stack of them, (..., K, K) (an array back): the
# multi-class decision search scores a whole grid of rules in one call.


def _scalar_or_stack(values: FloatArray, cm: FloatArray) -> Any:
    return float(values) if np.ndim(cm) == 2 else values


def _per_class_counts(cm: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    fp = cm.sum(axis=-2) - tp
    fn = cm.sum(axis=-1) - tp
    tn = cm.sum(axis=(-2, -1))[..., None] - tp - fp - fn
    return tp, fp, fn, tn


def _mean_over(values: FloatArray, chosen: np.ndarray) -> FloatArray:
    """The mean of ``values`` over the ``chosen`` classes; 0 where none is."""
    count = chosen.sum(axis=-1)
    total = np.where(chosen, values, 0.0).sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _macro_ovr(cm: FloatArray, *, counts_fn: CountsFn) -> Any:
    # Average over classes seen in y or in the predictions, as sklearn's macro average; seen
    # means with some weight (a row of weight 0 counts nowhere, so neither does its class).
    cm = np.asarray(cm, dtype=np.float64)
    seen = (cm.sum(axis=-2) > 0) | (cm.sum(axis=-1) > 0)
    return _scalar_or_stack(_mean_over(counts_fn(*_per_class_counts(cm)), seen), cm)


def _multiclass_balanced_accuracy(cm: FloatArray) -> Any:
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=-1)
    recalls = _safe_div(np.diagonal(cm, axis1=-2, axis2=-1), support)
    return _scalar_or_stack(_mean_over(recalls, support > 0), cm)


def _multiclass_g_mean(cm: FloatArray) -> Any:
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=-1)
    # A class absent from y is left out, as balanced_accuracy leaves it: rows held out of
    # some classes scored 0 wherever one of those was predicted.
    seen = support > 0
    recalls = _safe_div(np.diagonal(cm, axis1=-2, axis2=-1), support)
    missed = (seen & (recalls <= 0)).any(axis=-1)
    with np.errstate(divide="ignore"):
        logs = _mean_over(np.log(np.where(seen, recalls, 1.0)), seen)
    return _scalar_or_stack(np.where(missed | ~seen.any(axis=-1), 0.0, np.exp(logs)), cm)


def _multiclass_mcc(cm: FloatArray) -> Any:
    # Gorodkin's R_K, the formula sklearn's matthews_corrcoef uses.
    cm = np.asarray(cm, dtype=np.float64)
    t_sum = cm.sum(axis=-1)
    p_sum = cm.sum(axis=-2)
    n_correct = np.trace(cm, axis1=-2, axis2=-1)
    n = cm.sum(axis=(-2, -1))
    cov_ytyp = n_correct * n - (t_sum * p_sum).sum(axis=-1)
    cov_ypyp = n * n - (p_sum * p_sum).sum(axis=-1)
    cov_ytyt = n * n - (t_sum * t_sum).sum(axis=-1)
    # One predicted (or true) class leaves no variance; with float weights rounding can make
    # that zero a tiny negative number, so the test is <= 0, not == 0.
    flat = (cov_ypyp <= 1e-12 * n * n) | (cov_ytyt <= 1e-12 * n * n)
    den = np.sqrt(np.where(flat, 1.0, cov_ytyt)) * np.sqrt(np.where(flat, 1.0, cov_ypyp))
    return _scalar_or_stack(np.where(flat, 0.0, cov_ytyp / den), cm)


for _batched in (_macro_ovr, _multiclass_balanced_accuracy, _multiclass_g_mean, _multiclass_mcc):
    _batched.batched = True  # type: ignore[attr-defined]


# ---------------------------------------------------------------- ranking (probabilities)


def _average_precision(y_true: NDArray[np.bool_], score: FloatArray, w: FloatArray) -> float:
    # sklearn answers 0.0 with a warning when there is no positive; NaN lets callers see it.
    if not np.sum(w[y_true]) > 0:
        return math.nan
    return float(average_precision_score(y_true, score, sample_weight=w))


def _roc_auc(y_true: NDArray[np.bool_], score: FloatArray, w: FloatArray) -> float:
    if not (np.sum(w[y_true]) > 0 and np.sum(w[~y_true]) > 0):
        return math.nan
    return float(roc_auc_score(y_true, score, sample_weight=w))


# --------------------------------------------------------------------------- the metric
