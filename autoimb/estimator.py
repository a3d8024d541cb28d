"""The scikit-learn estimator :class:`AutoImbClassifier`: ``fit`` runs :func:`search`."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import _num_samples, check_is_fitted

from autoimb import config
from autoimb._checks import check_rows_paired
from autoimb.api import search
from autoimb.data.conform import input_columns
from autoimb.data.frames import as_pandas, has_feature_names, is_other_frame
from autoimb.data.labels import check_one_column, plain
from autoimb.engine.settings import TrialCallback
from autoimb.engine.splits import splits_by_group
from autoimb.engine.transfer import WarmStart
from autoimb.exceptions import AutoImbError, OtherDataError
from autoimb.result import SearchResult


class AutoImbClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier whose ``fit`` runs :func:`search` and keeps the winner.

    Parameters
    ----------
    metric, time_budget, n_trials, cv, storage, study_name, n_jobs, random_state, \
categorical_features, ensemble, advice, importance, pos_label, callbacks, pretrained, \
allow_other_data, heartbeat
        As in :func:`search` (``sample_weight`` and ``groups`` go to ``fit``), except that
        with neither ``time_budget`` nor ``n_trials`` the search runs for 60 seconds, where
        :func:`search` asks for one of them.
    space
        As in :func:`search`: a built-in space's name, a YAML file, or the space itself as a
        dict of the file's form or a string of its YAML text (``clone`` copies a dict, and
        ``fit`` checks it as a file is checked).
    warm_start
        As in :func:`search`; scikit-learn's tools set it to a bool: ``True`` is
        ``"portfolio"`` (the default) and ``False`` no warm start.
    verbose
        ``False`` (the default) shows nothing, as scikit-learn's estimators; ``True`` shows the
        search's progress on stderr.

    Attributes
    ----------
    result_ : SearchResult
        Everything the search returned: ``notes``, ``leaderboard``, ``report()`` …
    best_pipeline_
        The winner, refitted on all rows; ``predict`` uses its tuned decision rule.
    best_score_, best_config_
        The winner's score for ``metric`` and its strategy, as in :class:`SearchResult`.
    classes_, n_features_in_, feature_names_in_
        As in scikit-learn (``feature_names_in_`` only when ``X`` was a DataFrame).

    >>> from autoimb import AutoImbClassifier, datasets
    >>> X, y = datasets.load("ecoli1", return_X_y=True)
    >>> clf = AutoImbClassifier(metric="f1", n_trials=2, space="fast", random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        metric: str = config.DEFAULT_METRIC,
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        cv: Any = config.DEFAULT_CV,
        space: str | Mapping[str, Any] = config.DEFAULT_SPACE,
        storage: str | None = None,
        study_name: str | None = None,
        n_jobs: int | None = 1,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        categorical_features: str | Sequence[str | int | bool] | None = "auto",
        warm_start: WarmStart = config.DEFAULT_WARM_START,
        ensemble: bool = True,
        advice: bool = False,
        importance: bool = True,
        pos_label: Any = None,
        callbacks: Sequence[TrialCallback] = (),
        verbose: bool = False,
        pretrained: dict[str, Any] | None = None,
        allow_other_data: bool = False,
        heartbeat: int | None = None,
    ) -> None:
        self.metric = metric
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.cv = cv
        self.space = space
        self.storage = storage
        self.study_name = study_name
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.warm_start = warm_start
        self.ensemble = ensemble
        self.advice = advice
        self.importance = importance
        self.pos_label = pos_label
        self.callbacks = callbacks
        self.verbose = verbose
        self.pretrained = pretrained
        self.allow_other_data = allow_other_data
        self.heartbeat = heartbeat

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None
    ) -> AutoImbClassifier:
        """Search on ``X, y``; ``groups`` (one label per row) keep a group on one side of
        every fold (see :func:`search`)."""
        _check_reusable(self.cv)
        _check_groups_given(self.cv, groups)
        X = as_pandas(X)  # a polars or pyarrow table's names are feature_names_in_
        budget = self.time_budget
        if budget is None and self.n_trials is None:
            budget = config.DEFAULT_TIME_BUDGET
        try:
            self.result_ = self._search(X, y, budget, sample_weight, groups)
        except OtherDataError as exc:
            # scikit-learn's tools fit copies on other rows, and the copies share a study.
            raise OtherDataError(
                f"{exc} With storage=, each fit resumes the stored study: copies fitted by "
                "scikit-learn's tools (cross_val_score, GridSearchCV) fit other rows each, so "
                "leave storage out there, or give each fit a study_name of its own."
            ) from None
        self.best_pipeline_ = self.result_.best_pipeline
        self.classes_ = self.best_pipeline_.classes_
        schema = self.best_pipeline_.model_card_["schema"]
        self.n_features_in_ = len(input_columns(schema))
        if has_feature_names(X):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):  # a fit on an array after one on a frame
            del self.feature_names_in_
        self.best_score_ = self.result_.best_score
        self.best_config_ = self.result_.best_config
        return self

    def _search(
        self, X: Any, y: Any, budget: float | None, sample_weight: Any, groups: Any
    ) -> SearchResult:
        return search(
            X,
            y,
            metric=self.metric,
            time_budget=budget,
            n_trials=self.n_trials,
            cv=self.cv,
            groups=groups,
            space=self.space,
            storage=self.storage,
            study_name=self.study_name,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            categorical_features=self.categorical_features,
            sample_weight=sample_weight,
            warm_start=_warm_start(self.warm_start),
            ensemble=self.ensemble,
            advice=self.advice,
            importance=self.importance,
            pos_label=self.pos_label,
            callbacks=self.callbacks,
            verbose=self.verbose,
            pretrained=self.pretrained,
            allow_other_data=self.allow_other_data,
            heartbeat=self.heartbeat,
        )

    def __sklearn_clone__(self) -> AutoImbClassifier:
        _check_reusable(self.cv)  # else: "cannot pickle 'generator' object"
        return super().__sklearn_clone__()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed inside the pipeline
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Labels from the decision rule tuned for the metric, so not
        ``argmax(predict_proba)``: two classes, the positive one where its probability reaches
        ``best_pipeline_.probability_threshold``; more, ``argmax(predict_proba * class_scale)``
        with the factors in ``best_config_["class_scale"]``."""
        return self._fitted(X).predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order (calibrated for two classes)."""
        return self._fitted(X).predict_proba(X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The metric searched for, on these rows, greater is better (a cost is negated, as
        scikit-learn's ``neg_`` scorers are): ``cross_val_score`` and ``GridSearchCV`` then rank
        by it. Not accuracy, which on imbalanced data a model that never flags wins. A grid
        over ``metric`` itself needs a ``scoring=`` of its own: each candidate scores in its
        own metric's units."""
        pipeline = self._fitted(X)
        check_rows_paired(X, y=y, sample_weight=sample_weight)
        check_one_column(y)
        truth = [plain(v) for v in np.asarray(y, dtype=object).ravel()]
        given = {"y": len(truth)}
        if sample_weight is not None and np.ndim(sample_weight) > 0:
            given["sample_weight"] = len(np.ravel(sample_weight))
        for name, count in given.items():  # else the metric names its own arguments
            if count != _num_samples(X):
                raise AutoImbError(
                    f"score: X has {_num_samples(X)} rows and {name} {count}; give one "
                    f"{'label' if name == 'y' else 'weight'} per row of X."
                )
        labels, proba = pipeline.predict_with_proba(X)
        code = {plain(c): i for i, c in enumerate(self.classes_)}
        unknown = sorted({v for v in truth if v not in code}, key=str)
        if unknown:
            raise AutoImbError(
                f"y holds labels the model was not fitted on: {unknown[:5]}; it knows "
                f"{[plain(c) for c in self.classes_]}."
            )
        if sample_weight is not None and np.ndim(sample_weight) == 0:  # as fit takes one
            sample_weight = np.full(len(truth), float(sample_weight))
        metric = self.result_.metric
        value = metric.score(
            np.asarray([code[v] for v in truth]),
            proba,
            np.asarray([code[plain(v)] for v in labels]),
            sample_weight=sample_weight,
            pos_label=self.result_.decision.pos_label,
        )
        if np.isnan(value):
            warnings.warn(
                f"score: {metric.name} is undefined on these rows (NaN): "
                f"{_absent_classes(self.classes_, truth, sample_weight)}.",
                UserWarning,
                stacklevel=2,
            )
        return float(value if metric.greater_is_better else -value)

    def _fitted(self, X: Any) -> Any:
        """The fitted pipeline, once ``X`` has the shape it was fitted on (in scikit-learn's
        words; a DataFrame's columns are checked by name in the pipeline)."""
        check_is_fitted(self, "best_pipeline_")
        shape = getattr(X, "shape", None)
        named = isinstance(X, pd.DataFrame) or is_other_frame(X)
        if not named and shape is not None and len(shape) == 2 and shape[1] != self.n_features_in_:
            raise AutoImbError(
                f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return self.best_pipeline_


def _warm_start(value: Any) -> WarmStart:
    """scikit-learn's tools set ``warm_start`` to a bool (their meaning: reuse the last fit);
    here True is the portfolio and False no warm start. A grid's values come as NumPy's."""
    if isinstance(value, bool | np.bool_):
        return config.DEFAULT_WARM_START if value else None
    return value


def _absent_classes(classes: Any, truth: list[Any], sample_weight: Any) -> str:
    """Why a score came out undefined: a class with no row here, or none of weight above 0."""
    missing = [plain(c) for c in classes if plain(c) not in set(truth)]
    if missing:
        return (
            f"they hold no row of class {', '.join(map(repr, missing))}. Score on rows that "
            "hold every class (stratified folds)"
        )
    weights = np.broadcast_to(np.asarray(sample_weight, dtype=float), (len(truth),))
    weighed = {v for v, w in zip(truth, weights, strict=True) if w > 0}
    unweighed = [plain(c) for c in classes if plain(c) not in weighed]
    return (
        f"no row of class {', '.join(map(repr, unweighed))} has a weight above 0. Give every "
        "class some weight"
    )


def _check_groups_given(cv: Any, groups: Any) -> None:
    """``cross_val_score(..., groups=g)`` and ``GridSearchCV.fit(X, y, groups=g)`` hand ``g``
    to their own splitter only: each fit gets none, though the user passed them."""
    if groups is None and splits_by_group(cv):
        raise AutoImbError(
            f"cv={type(cv).__name__} splits by group, and fit was given no groups: "
            "clf.fit(X, y, groups=...). cross_val_score's and GridSearchCV's own groups= reach "
            "only their splitter: to hand them to each fit too, turn on "
            "sklearn.set_config(enable_metadata_routing=True), ask for them with "
            "clf.set_fit_request(groups=True), and pass params={'groups': groups} (to "
            "GridSearchCV.fit: groups=groups)."
        )


def _check_reusable(cv: Any) -> None:
    """A generator of splits (``KFold(5).split(X)``) is used up by one pass: a second fit, or
    a copy made by ``clone`` (``cross_val_score``, ``GridSearchCV``), would find it empty."""
    if isinstance(cv, Iterator):
        raise AutoImbError(
            f"cv is a {type(cv).__name__}, which one fit would use up, leaving the next fit "
            "(and copies made by clone, cross_val_score or GridSearchCV) no splits. Pass a "
            "list of (train, valid) index pairs: cv=list(...)."
        )
