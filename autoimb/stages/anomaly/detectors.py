"""Anomaly detection for imbalanced data: a detector as a classifier, and its score as a feature.

When the minority class is rare and scattered, a model of the majority class alone can find
it better than a discriminative classifier that has seen only a handful of minority rows.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import IsolationForest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from autoimb._checks import check_int, weights_or_ones
from autoimb.exceptions import AutoImbError, SchemaError
from autoimb.stages.anomaly.ranks import rank_of, rank_scale

__all__ = ["AnomalyDetectorClassifier", "AnomalyScoreFeatures"]

DetectorName = Literal["isolation_forest", "one_class_svm", "local_outlier_factor"]
_DETECTORS: tuple[str, ...] = ("isolation_forest", "one_class_svm", "local_outlier_factor")
CALIBRATIONS: tuple[str, ...] = ("sigmoid", "isotonic")
FIT_ON: tuple[str, ...] = ("majority", "all")
_N_CROSS_FOLDS = 3
# Each cross-fitting fold must leave the detector a few rows to learn from.
_MIN_MAJORITY_ROWS = 2 * _N_CROSS_FOLDS


def _check_X(estimator: BaseEstimator, X: Any, *, reset: bool) -> np.ndarray:
    """Validate X as a finite float64 matrix, turning sklearn's ValueErrors into ours."""
    if not reset:
        n_cols = np.shape(X)[1] if np.ndim(X) == 2 else None
        if n_cols is not None and n_cols != estimator.n_features_in_:
            raise SchemaError(
                f"X has {n_cols} columns but {type(estimator).__name__} was fitted on "
                f"{estimator.n_features_in_}"
            )
    try:
        return validate_data(estimator, X, reset=reset, dtype=np.float64)
    except ValueError as err:
        raise AutoImbError(f"{type(estimator).__name__}: bad X: {err}") from err


def _check_y(y: Any, n_rows: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_rows:
        raise AutoImbError(f"y must be 1-D with {n_rows} labels, got shape {y.shape}")
    if type_of_target(y) not in ("binary", "multiclass"):
        raise AutoImbError(f"y must hold class labels, got target type {type_of_target(y)!r}")
    return y


def _check_weights(sample_weight: Any, n_rows: int) -> np.ndarray:
    """Weights normalised to mean 1, so that regularisation strength does not depend on them."""
    w = weights_or_ones(sample_weight, n_rows)
    return w * (n_rows / w.sum())


def _weighted_rows(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows that count: one weighted 0 is no evidence of what is normal (and an isolation
    forest cannot draw its 256-row samples from fewer rows of positive weight)."""
    counted = w > 0
    return (X[counted], w[counted]) if counted.any() else (X, np.ones(len(w)))


def _majority_label(y: np.ndarray) -> Any:
    labels, counts = np.unique(y, return_counts=True)
    return labels[np.argmax(counts)]


def _minority_index(labels: np.ndarray, counts: np.ndarray, minority_class: Any) -> int:
    if minority_class is None:
        return int(np.flatnonzero(counts == counts.min())[-1])
    named = np.flatnonzero(labels == minority_class)
    if not named.size:
        raise AutoImbError(
            f"minority_class must be one of the labels of y {labels.tolist()}, "
            f"got {minority_class!r}"
        )
    return int(named[0])


class _FittedDetector:
    """A scaler plus detector whose ``score`` is higher for more anomalous rows.

    The one-class SVM's decision values grow with the number of rows it was fitted on (its dual
    coefficients sum to ``nu * n``), so they are divided by that number; otherwise the scores of
    the cross-fitted detectors, fitted on fewer rows, would not match those of the final one.
    """

    def __init__(self, scaler: StandardScaler, detector: Any, divisor: float) -> None:
        self.scaler = scaler
        self.detector = detector
        self.divisor = divisor

    def score(self, X: np.ndarray) -> np.ndarray:
        return -self.detector.score_samples(self.scaler.transform(X)) / self.divisor


class AnomalyDetectorClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier that models the majority class only and calls outliers minority.

    The detector is fitted on the (standardised) majority rows; its anomaly scores are mapped
    to minority-class probabilities by a monotone calibration fitted on all training rows. The
    calibration scores come from inner cross-fitting over the majority rows, because a
    detector scores the rows it was fitted on as more normal than new ones. The calibration
    reads a score's rank among the calibration scores, not its size: where values repeat, the
    local outlier factor divides by zero distances and scores ordinary rows near 1e8, which a
    sigmoid of the raw score called certain minority.

    Parameters
    ----------
    detector
        ``"isolation_forest"``, ``"one_class_svm"`` or ``"local_outlier_factor"``
        (the latter with ``novelty=True`` so that it can score new rows).
    n_estimators
        Trees of the isolation forest.
    nu, gamma
        One-class SVM bounds on the outlier fraction and RBF kernel width.
    n_neighbors
        Neighbours of the local outlier factor, capped by the rows available.
    max_samples_svm
        The one-class SVM is quadratic in rows, so it is fitted on at most this many random
        majority rows.
    calibration
        ``"sigmoid"`` (Platt; keeps the detector's ranking and suits few minority rows) or
        ``"isotonic"`` (more flexible, coarser steps).
    random_state
        Seed for the forest, the SVM subsample and the cross-fitting folds.
    n_threads
        Threads of the forest and the neighbour search.
    minority_class
        The label called outlier. ``None``: the smaller class of ``y``, and on a tie the last
        in sorted order (the class scikit-learn's binary metrics call positive). autoimb names
        the fold's smaller class before resampling: oversampling to a ratio of 1 evens the
        classes, and the detector would otherwise model whichever comes first, which can be
        the minority.
    """

    # Models saved before the parameter existed load without it; they named no class.
    minority_class: Any = None

    def __init__(
        self,
        detector: DetectorName = "isolation_forest",
        n_estimators: int = 200,
        nu: float = 0.1,
        gamma: str | float = "scale",
        n_neighbors: int = 50,
        max_samples_svm: int = 2000,
        calibration: Literal["sigmoid", "isotonic"] = "sigmoid",
        random_state: int | np.random.RandomState | None = None,
        n_threads: int = 1,
        minority_class: Any = None,
    ) -> None:
        self.detector = detector
        self.n_estimators = n_estimators
        self.nu = nu
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.max_samples_svm = max_samples_svm
        self.calibration = calibration
        self.random_state = random_state
        self.n_threads = n_threads
        self.minority_class = minority_class

    def _check_params(self) -> None:
        if self.detector not in _DETECTORS:
            raise AutoImbError(f"detector must be one of {_DETECTORS}, got {self.detector!r}")
        if self.calibration not in CALIBRATIONS:
            raise AutoImbError(
                f"calibration must be one of {CALIBRATIONS}, got {self.calibration!r}"
            )
        check_int("n_estimators", self.n_estimators, low=1)
        check_int("n_neighbors", self.n_neighbors, low=1)
        check_int("max_samples_svm", self.max_samples_svm, low=_MIN_MAJORITY_ROWS)
        check_int("n_threads", self.n_threads, low=1)
        if not isinstance(self.nu, int | float) or not 0.0 < self.nu <= 1.0:
            raise AutoImbError(f"nu must be in (0, 1], got {self.nu!r}")
        gamma_ok = self.gamma in ("scale", "auto") or (
            isinstance(self.gamma, int | float)
            and not isinstance(self.gamma, bool)
            and self.gamma > 0
        )
        if not gamma_ok:
            raise AutoImbError(
                f"gamma must be 'scale', 'auto' or a positive number, got {self.gamma!r}"
            )

    def _fit_detector(
        self, X: np.ndarray, w: np.ndarray, rng: np.random.RandomState
    ) -> _FittedDetector:
        seed = int(rng.randint(np.iinfo(np.int32).max))
        X, w = _weighted_rows(X, w)
        if self.detector == "one_class_svm" and X.shape[0] > self.max_samples_svm:
            keep = np.sort(rng.choice(X.shape[0], self.max_samples_svm, replace=False))
            X, w = X[keep], w[keep]
        scaler = StandardScaler().fit(X)
        Xs = scaler.transform(X)
        w = w * (len(w) / w.sum()) if w.sum() > 0 else np.ones(len(w))
        divisor = 1.0
        if self.detector == "isolation_forest":
            det: Any = IsolationForest(
                n_estimators=self.n_estimators, random_state=seed, n_jobs=self.n_threads
            ).fit(Xs, sample_weight=w)
        elif self.detector == "one_class_svm":
            det = OneClassSVM(nu=self.nu, gamma=self.gamma).fit(Xs, sample_weight=w)
            divisor = float(Xs.shape[0])
        else:
            det = LocalOutlierFactor(
                n_neighbors=min(self.n_neighbors, Xs.shape[0] - 1),
                novelty=True,
                n_jobs=self.n_threads,
            ).fit(Xs)
        return _FittedDetector(scaler, det, divisor)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AnomalyDetectorClassifier:
        """Fit the detector on the majority rows and the calibration on all rows."""
        self._check_params()
        X = _check_X(self, X, reset=True)
        y = _check_y(y, X.shape[0])
        w = _check_weights(sample_weight, X.shape[0])
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) != 2:
            raise AutoImbError(
                f"AnomalyDetectorClassifier is binary only and y has {len(labels)} classes; "
                "use another model for multi-class targets"
            )
        self.classes_ = labels
        self.minority_index_ = _minority_index(labels, counts, self.minority_class)
        is_min = y == labels[self.minority_index_]
        maj_idx, min_idx = np.flatnonzero(~is_min), np.flatnonzero(is_min)
        if len(maj_idx) < _MIN_MAJORITY_ROWS:
            raise AutoImbError(
                f"the majority class has {len(maj_idx)} rows; at least {_MIN_MAJORITY_ROWS} "
                "are needed to fit and cross-fit a detector"
            )
        rng = check_random_state(self.random_state)

        # Out-of-fold scores: each majority row is scored by a detector that never saw it, and
        # each minority row by one of the same fold detectors, so both classes' scores match.
        cal_scores = np.empty(X.shape[0])
        folds = KFold(_N_CROSS_FOLDS, shuffle=True, random_state=rng.randint(2**31 - 1))
        min_fold = rng.permutation(len(min_idx)) % _N_CROSS_FOLDS
        for k, (train, test) in enumerate(folds.split(maj_idx)):
            fold_det = self._fit_detector(X[maj_idx[train]], w[maj_idx[train]], rng)
            cal_scores[maj_idx[test]] = fold_det.score(X[maj_idx[test]])
            rows = min_idx[min_fold == k]
            if rows.size:
                cal_scores[rows] = fold_det.score(X[rows])

        final = self._fit_detector(X[maj_idx], w[maj_idx], rng)
        self.scaler_, self.detector_ = final.scaler, final.detector
        self.score_divisor_ = final.divisor
        self.n_detector_rows_ = int(final.scaler.n_samples_seen_)
        self.score_ranks_ = rank_scale(cal_scores)
        self._fit_calibration(self._ranked(cal_scores), is_min.astype(np.float64), w)
        return self

    def _ranked(self, scores: np.ndarray) -> np.ndarray:
        """Scores as their rank among the calibration scores, still in order beyond them."""
        ranks = getattr(self, "score_ranks_", None)  # absent: saved before, calibrated raw scores
        return scores if ranks is None else rank_of(scores, ranks)

    def _fit_calibration(self, scores: np.ndarray, target: np.ndarray, w: np.ndarray) -> None:
        if self.calibration == "isotonic":
            self.calibrator_: Any = IsotonicRegression(
                y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip"
            ).fit(scores, target, sample_weight=w)
            return
        center = float(scores.mean())
        spread = float(scores.std()) or 1.0
        z = ((scores - center) / spread)[:, None]
        lr = LogisticRegression(C=1.0).fit(z, target.astype(int), sample_weight=w)
        slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        if slope < 0:
            # A detector ranking minority rows as *more* normal carries no usable signal here;
            # fall back to the base rate rather than invert the anomaly score.
            rate = float(np.clip(np.average(target, weights=w), 1e-6, 1 - 1e-6))
            slope, intercept = 0.0, float(np.log(rate / (1 - rate)))
        self.calibrator_ = (center, spread, slope, intercept)

    def anomaly_score(self, X: Any) -> np.ndarray:
        """Detector score of each row, higher for rows less like the majority class."""
        check_is_fitted(self, "detector_")
        X = _check_X(self, X, reset=False)
        return -self.detector_.score_samples(self.scaler_.transform(X)) / self.score_divisor_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, a monotone function of the anomaly score, shape (n, 2)."""
        scores = self._ranked(self.anomaly_score(X))
        if isinstance(self.calibrator_, IsotonicRegression):
            p_min = self.calibrator_.predict(scores)
        else:
            center, spread, slope, intercept = self.calibrator_
            p_min = expit(slope * (scores - center) / spread + intercept)
        p_min = np.clip(p_min, 0.0, 1.0)
        proba = np.empty((len(scores), 2))
        proba[:, self.minority_index_] = p_min
        proba[:, 1 - self.minority_index_] = 1.0 - p_min
        return proba

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class AnomalyScoreFeatures(TransformerMixin, BaseEstimator):
    """Append an isolation-forest anomaly score as a last, numeric column.

    Lets any model use "how unusual is this row" as evidence; the column goes at the end so
    that the categorical codes keep their leading positions.

    Parameters
    ----------
    n_estimators
        Trees of the isolation forest.
    fit_on
        ``"majority"`` models normality from the largest class only (so minority rows stand
        out; needs y), ``"all"`` from every row.
    encoder
        An unfitted transformer the forest reads the rows through (one-hot categories, whose
        codes split as numbers would group values by their alphabetical order); ``None``: the
        columns as they are. The output keeps the columns as given either way.
    random_state
        Seed of the forest.
    n_threads
        Threads of the forest.
    """

    # Models saved before the parameter existed load without it; they scored the columns as given.
    encoder: Any = None

    def __init__(
        self,
        n_estimators: int = 200,
        fit_on: Literal["majority", "all"] = "majority",
        encoder: Any = None,
        random_state: int | np.random.RandomState | None = None,
        n_threads: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.fit_on = fit_on
        self.encoder = encoder
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> AnomalyScoreFeatures:
        """Fit the forest on the rows chosen by ``fit_on``."""
        if self.fit_on not in FIT_ON:
            raise AutoImbError(f"fit_on must be 'majority' or 'all', got {self.fit_on!r}")
        check_int("n_estimators", self.n_estimators, low=1)
        check_int("n_threads", self.n_threads, low=1)
        X = _check_X(self, X, reset=True)
        w = _check_weights(sample_weight, X.shape[0])
        self.encoder_ = None if self.encoder is None else clone(self.encoder).fit(X)
        X = self._scored_columns(X)
        if self.fit_on == "majority":
            if y is None:
                raise AutoImbError("fit_on='majority' needs y to know the majority class")
            y = _check_y(y, X.shape[0])
            rows = y == _majority_label(y)
            X, w = X[rows], w[rows]
        X, w = _weighted_rows(X, w)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            random_state=self.random_state,
            n_jobs=self.n_threads,
        ).fit(X, sample_weight=w)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``[X, score]`` with the score higher for more anomalous rows."""
        check_is_fitted(self, "forest_")
        X = _check_X(self, X, reset=False)
        return np.column_stack([X, -self.forest_.score_samples(self._scored_columns(X))])

    def _scored_columns(self, X: np.ndarray) -> np.ndarray:
        encoder = getattr(self, "encoder_", None)  # absent from models saved before it
        return X if encoder is None else encoder.transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "forest_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        names = [str(name) for name in input_features]
        if len(names) != self.n_features_in_:
            raise AutoImbError(f"expected {self.n_features_in_} input feature names")
        return np.asarray([*names, "anomaly_score"], dtype=object)
