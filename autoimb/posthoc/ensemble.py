"""Ensembles of the search's best trials, served as one classifier.

:class:`EnsembleClassifier` lives here because saved models name it by this path. How the
members are chosen (:func:`select_ensemble`, greedy selection on out-of-fold probabilities)
and blended (:func:`blend`) live in their own modules and are importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from autoimb.exceptions import AutoImbError
from autoimb.posthoc.blend import FloatArray, blend
from autoimb.posthoc.fast_scores import honest_scorer
from autoimb.posthoc.selection import EnsembleSelection, select_ensemble

__all__ = ["EnsembleClassifier", "EnsembleSelection", "blend", "members_of", "select_ensemble"]

_honest_scorer = honest_scorer  # kept importable here under the name the tests use


class EnsembleClassifier(ClassifierMixin, BaseEstimator):
    """Weighted mean of fitted members' probabilities, served as one classifier.

    Parameters
    ----------
    estimators : list
        Fitted classifiers on the same encoded classes 0..C-1 (autoimb's
        :class:`~autoimb.engine.pipeline.StrategyPipeline`); the decision rule lives in the
        :class:`~autoimb.posthoc.threshold.ThresholdedClassifier` that wraps this one.
    weights : list of float
        One non-negative weight per member; normalised at prediction time.

    Attributes are plain lists and numbers so the object saves with skops.
    """

    def __init__(self, estimators: list[Any], weights: list[float]) -> None:
        self.estimators = estimators
        self.weights = weights

    def _checked_weights(self) -> FloatArray:
        members = list(self.estimators)
        w = np.asarray(self.weights, dtype=np.float64)
        if not members:
            raise AutoImbError("an EnsembleClassifier needs at least one estimator.")
        if w.ndim != 1 or w.shape[0] != len(members):
            raise AutoImbError(
                f"weights must give one number per estimator ({len(members)}), got "
                f"{list(np.ravel(w))}."
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise AutoImbError("ensemble weights must be finite, non-negative and not all zero.")
        return w / w.sum()

    @property
    def classes_(self) -> NDArray[Any]:
        """The members' encoded classes; read from them so it cannot disagree after a refit."""
        if not self.estimators:
            raise AttributeError("classes_")
        return np.asarray(self.estimators[0].classes_)

    def __sklearn_is_fitted__(self) -> bool:
        try:
            for member in self.estimators:
                check_is_fitted(member)
        except NotFittedError:
            return False
        return bool(self.estimators)

    def fit(
        self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> EnsembleClassifier:
        """Refit every member on encoded ``y``; the weights stay as selected."""
        self._checked_weights()
        for member in self.estimators:
            if sample_weight is None:
                member.fit(X, y)
            else:
                member.fit(X, y, sample_weight=np.asarray(sample_weight))
        return self

    def predict_proba(self, X: Any) -> FloatArray:
        """Weighted mean of the members' ``predict_proba``."""
        check_is_fitted(self)
        w = self._checked_weights()
        total: FloatArray | None = None
        conformed: list[tuple[Any, Any]] = []
        for member, weight in zip(self.estimators, w, strict=True):
            if weight == 0:
                continue
            proba = np.asarray(_member_proba(member, X, conformed), dtype=np.float64)
            if total is not None and proba.shape != total.shape:
                raise AutoImbError(
                    f"ensemble members disagree on the probability shape ({proba.shape} vs "
                    f"{total.shape}); fit them on the same encoded classes."
                )
            total = proba * weight if total is None else total + proba * weight
        assert total is not None
        return total

    def predict(self, X: Any) -> NDArray[np.int64]:
        """Most probable encoded class; the tuned rule is applied by the wrapping classifier."""
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)


def _member_proba(member: Any, X: Any, conformed: list[tuple[Any, Any]]) -> Any:
    """A member's probabilities. Members trained on the same columns (a search's trials, a
    trial's fold models) share one copy of ``X`` brought to those columns: on wide data
    conforming it once per member costs more than the members' predictions."""
    if not hasattr(member, "predict_proba_conformed"):
        return member.predict_proba(X)
    for schema, frame in conformed:
        if schema == member.schema:
            return member.predict_proba_conformed(frame)
    frame = member.conform(X)
    conformed.append((member.schema, frame))
    return member.predict_proba_conformed(frame)


def members_of(
    selection: EnsembleSelection, estimators: Mapping[int, Any]
) -> tuple[list[Any], list[float]]:
    """Fitted members and weights for :class:`EnsembleClassifier`, in trial-number order."""
    chosen = selection.final_weights
    missing = sorted(set(chosen) - set(estimators))
    if missing:
        raise AutoImbError(f"no fitted estimator for trial(s) {missing}; refit them first.")
    keys: Sequence[int] = sorted(chosen)
    return [estimators[k] for k in keys], [float(chosen[k]) for k in keys]
