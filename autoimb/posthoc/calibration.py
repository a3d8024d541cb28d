"""Probabilities that mean something: the winner's scores mapped to class frequencies.

Resampling, class weights, augmentation and focal losses train a model on another class
balance than the data's, so its ``predict_proba`` is no longer a probability. The winner's
out-of-fold probabilities come from the same kind of fits as the exported model, so a map fitted
on them carries over: a sigmoid on the log-odds (whose intercept is the prior correction for the
changed balance) or an isotonic step function. Which one, or none, is chosen by cross-validated
log-loss over the search's folds. The map is strictly increasing, so the ranking (PR-AUC,
ROC-AUC) is the model's, and it only changes the probabilities;
``predict`` keeps applying the tuned threshold to the model's own scores, so its labels are
unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["apply_calibration", "calibrated_threshold", "choose_calibration"]

METHODS = ("none", "sigmoid", "isotonic")
# A step function fitted on few positives follows their noise; below this, no isotonic map.
MIN_POSITIVES_ISOTONIC = 50
_EPS = 1e-4  # calibrated probabilities stay inside (eps, 1 - eps): a log-loss never infinite


def choose_calibration(
    y: ArrayLike,
    proba: ArrayLike,
    fold_ids: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> dict[str, Any]:
    """The map with the lowest cross-validated log-loss, fitted on every row (binary only).

    Returns plain values (``method`` and its parameters, the log-loss of each method) so that a
    saved model holds no new type.
    """
    is_pos = np.asarray(y) == pos_label
    p = np.asarray(proba, dtype=np.float64)[:, pos_label]
    w = np.ones(p.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    folds = np.asarray(fold_ids)
    methods = METHODS if is_pos.sum() >= MIN_POSITIVES_ISOTONIC else METHODS[:2]
    losses = {method: _cross_validated_loss(method, p, is_pos, w, folds) for method in methods}
    best = min(methods, key=lambda m: (losses[m], METHODS.index(m)))
    return {**_fit(best, p, is_pos, w), "log_loss": {m: float(v) for m, v in losses.items()}}


def apply_calibration(
    calibration: dict[str, Any] | None, proba: np.ndarray, pos_label: int
) -> np.ndarray:
    """Binary probabilities with the positive column mapped; other shapes pass unchanged."""
    if not calibration or calibration.get("method", "none") == "none" or proba.shape[1] != 2:
        return proba
    positive = _map(calibration, proba[:, pos_label])
    out = np.empty_like(proba)
    out[:, pos_label] = positive
    out[:, 1 - pos_label] = 1.0 - positive
    return out


def calibrated_threshold(calibration: dict[str, Any] | None, threshold: float) -> float:
    """The threshold on the calibrated scale: the map is strictly increasing, so a calibrated
    probability at or above it is a score at or above ``threshold``, the same label."""
    if not calibration or calibration.get("method", "none") == "none" or threshold > 1.0:
        return float(threshold)  # above 1, the rule predicts the class for no row at all
    return float(_map(calibration, np.array([float(threshold)]))[0])


def _cross_validated_loss(
    method: str, p: np.ndarray, is_pos: np.ndarray, w: np.ndarray, folds: np.ndarray
) -> float:
    out = np.empty_like(p)
    for k in np.unique(folds):
        inside = folds == k
        out[inside] = _map(_fit(method, p[~inside], is_pos[~inside], w[~inside]), p[inside])
    return _log_loss(is_pos, out, w)


def _fit(method: str, p: np.ndarray, is_pos: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    if method == "none" or is_pos.all() or not is_pos.any():
        return {"method": "none"}
    if method == "sigmoid":
        model = LogisticRegression(C=1e4, max_iter=1000)
        model.fit(_logit(p)[:, None], is_pos, sample_weight=w)
        slope = float(model.coef_[0, 0])
        if not slope > 0:  # a map that reverses the ranking is no calibration of it
            return {"method": "none"}
        return {"method": "sigmoid", "a": slope, "b": float(model.intercept_[0])}
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(p, is_pos.astype(float), sample_weight=w)
    return {
        "method": "isotonic",
        "x": [float(v) for v in iso.X_thresholds_],
        "y": [float(v) for v in iso.y_thresholds_],
    }


def _map(calibration: dict[str, Any], p: np.ndarray) -> np.ndarray:
    method = calibration["method"]
    if method == "sigmoid":
        z = calibration["a"] * _logit(p) + calibration["b"]
        return _strictly_increasing(1.0 / (1.0 + np.exp(-z)), p)
    if method == "isotonic":
        return _strictly_increasing(np.interp(p, calibration["x"], calibration["y"]), p)
    return np.clip(p, _EPS, 1.0 - _EPS)


def _strictly_increasing(mapped: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Inside (eps, 1 - eps), with a tiny share of the model's own score added: the map's
    flat steps and saturated ends then tie no rows the model ranks apart, so the ranking
    (PR-AUC, ROC-AUC) stays the model's."""
    return _EPS + (1.0 - 3.0 * _EPS) * np.clip(mapped, 0.0, 1.0) + _EPS * np.clip(p, 0.0, 1.0)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.log(q / (1.0 - q))


def _log_loss(is_pos: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    losses = -np.where(is_pos, np.log(q), np.log(1.0 - q))
    return float(np.sum(w * losses) / np.sum(w))
