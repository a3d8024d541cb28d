"""The in-trial ensembles: members fitted on the same rows, probabilities combined.

The combined estimators fit their members themselves, so that each member gets the sample
weights and fit options its own component asks for; scikit-learn's bagging, voting and stacking
would drop them or route them to the wrong step. Members are fitted one after the other, and
the trial's time cap is checked between them, and inside each where its own component's fit
checks it (a forest between chunks of trees, a boosted model between rounds).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from autoimb.exceptions import AutoImbError, TrialTimeout
from autoimb.stages.base import REGISTRY, fit_keywords

# An unfitted estimator, and the model component it is of (which says how it is fitted).
Member = tuple[Any, str]


class CombinedClassifier(ClassifierMixin, BaseEstimator):
    """Members fitted on the same rows, their class probabilities combined.

    ``fit`` takes, besides the rows, each member's own fit options (in ``options``, one mapping
    per member) and the trial's ``deadline``; they are used during fit and not kept.
    """

    def __init__(self, members: Sequence[Member] = ()) -> None:
        self.members = members

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        options: Sequence[Mapping[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> CombinedClassifier:
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise AutoImbError("an ensemble needs rows of at least two classes to fit on.")
        options = list(options) if options is not None else [{} for _ in self.members]
        self.member_seconds_ = [0.0] * len(self.members)  # a refit grows each by its own share
        self._fit_members(np.asarray(X), y, sample_weight, options, deadline)
        return self

    def _fit_member(
        self,
        m: int,
        X: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
        options: Mapping[str, Any],
        deadline: float | None,
    ) -> Any:
        if deadline is not None and time.monotonic() > deadline:
            raise TrialTimeout(
                "an ensemble was stopped between members: the trial ran past its time cap"
            )
        started = time.perf_counter()
        estimator, name = self.members[m]
        component = REGISTRY["model"][name]
        fitted = clone(estimator)
        keywords = fit_keywords(fitted, weights if component.sample_weight else None, options)
        fitted = component.fit(fitted, X, y, keywords, deadline)
        self.member_seconds_[m] += time.perf_counter() - started
        return fitted

    def _fit_members(
        self,
        X: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
        options: list[Mapping[str, Any]],
        deadline: float | None,
    ) -> None:
        self.estimators_ = [
            self._fit_member(m, X, y, weights, opts, deadline) for m, opts in enumerate(options)
        ]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return np.mean([self._aligned(e, X) for e in self.estimators_], axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _aligned(self, estimator: Any, X: np.ndarray) -> np.ndarray:
        """A member's probabilities in the columns of ``classes_`` (a bag may miss a class)."""
        raw = estimator.predict_proba(X)
        out = np.zeros((len(X), len(self.classes_)))
        out[:, np.searchsorted(self.classes_, estimator.classes_)] = raw
        return out


class BaggedClassifier(CombinedClassifier):
    """The trial's model fitted on ``n_estimators`` bootstraps drawn within each class.

    Drawing per class keeps every bag's class counts, so a bag never loses the rare class and
    the searched weighting keeps its meaning; averaging the bags smooths the probabilities
    that the threshold is tuned on.
    """

    def __init__(
        self, members: Sequence[Member] = (), n_estimators: int = 5, random_state: int | None = None
    ) -> None:
        super().__init__(members)
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _fit_members(self, X, y, weights, options, deadline) -> None:
        rng = np.random.default_rng(self.random_state)
        by_class = [np.flatnonzero(y == label) for label in self.classes_]
        self.estimators_ = []
        for _ in range(int(self.n_estimators)):
            rows = np.concatenate([rng.choice(idx, size=len(idx)) for idx in by_class])
            part = None if weights is None else weights[rows]
            self.estimators_.append(
                self._fit_member(0, X[rows], y[rows], part, options[0], deadline)
            )


class StackedClassifier(CombinedClassifier):
    """A logistic regression on the members' out-of-fold probabilities.

    Fitted on predictions each member made for rows it did not train on, the meta-learner
    learns how far to trust each member on new data; the members are then refitted on all rows.
    """

    def __init__(
        self,
        members: Sequence[Member] = (),
        n_folds: int = 3,
        C: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        super().__init__(members)
        self.n_folds = n_folds
        self.C = C
        self.random_state = random_state

    def _fit_members(self, X, y, weights, options, deadline) -> None:
        smallest = int(np.bincount(np.searchsorted(self.classes_, y)).min())
        if smallest < 2:
            raise AutoImbError(
                "stacking needs at least 2 rows of every class for its inner folds; "
                "use another ensemble choice on data this small."
            )
        folds = StratifiedKFold(
            min(int(self.n_folds), smallest), shuffle=True, random_state=self.random_state
        )
        oof = np.zeros((len(y), len(self.members) * len(self.classes_)))
        for train, test in folds.split(X, y):
            part = None if weights is None else weights[train]
            for m, opts in enumerate(options):
                fitted = self._fit_member(m, X[train], y[train], part, opts, deadline)
                columns = slice(m * len(self.classes_), (m + 1) * len(self.classes_))
                oof[test, columns] = self._aligned(fitted, X[test])
        meta = LogisticRegression(C=float(self.C), max_iter=2000)
        self.meta_ = meta.fit(oof, y, sample_weight=weights)  # the class weights, the user's
        super()._fit_members(X, y, weights, options, deadline)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "meta_")
        stacked = np.hstack([self._aligned(e, X) for e in self.estimators_])
        return self._aligned(self.meta_, stacked)
