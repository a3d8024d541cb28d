"""The one call, :func:`search`, and the scikit-learn estimator :class:`AutoImbClassifier`."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from autoimb import config
from autoimb._checks import check_budget, check_n_jobs, check_seed
from autoimb._warnings import quiet_trials, user_stacklevel
from autoimb.data.conform import input_columns
from autoimb.data.dataset import validate
from autoimb.data.frames import has_feature_names
from autoimb.data.labels import plain
from autoimb.engine.finish import finish
from autoimb.engine.pretrained import check_pretrained
from autoimb.engine.run import run
from autoimb.engine.settings import SearchSettings, TrialCallback
from autoimb.engine.space import SearchSpace, load_space
from autoimb.engine.splits import as_folds
from autoimb.engine.storage import study_heartbeat
from autoimb.engine.study import available_components
from autoimb.engine.transfer import WarmStart, check_own_strategies
from autoimb.exceptions import AutoImbError, OtherDataError
from autoimb.metrics.registry import Metric, check_own_metric, get_metric
from autoimb.progress import SearchProgress, interactive
from autoimb.result import SearchResult

logger = logging.getLogger("autoimb")


def search(
    X: Any,
    y: Any,
    *,
    metric: str | Metric = config.DEFAULT_METRIC,
    time_budget: float | None = None,
    n_trials: int | None = None,
    cv: Any = config.DEFAULT_CV,
    groups: Any = None,
    space: str | Path | SearchSpace = config.DEFAULT_SPACE,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    n_jobs: int | None = 1,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
    categorical_features: str | Sequence[str | int | bool] | None = "auto",
    sample_weight: Any = None,
    callbacks: Sequence[TrialCallback] = (),
    warm_start: WarmStart = config.DEFAULT_WARM_START,
    pretrained: dict[str, Any] | None = None,
    ensemble: bool = True,
    advice: bool = False,
    importance: bool = True,
    pos_label: Any = None,
    allow_other_data: bool = False,
    verbose: bool | None = None,
    heartbeat: int | None = None,
) -> SearchResult:
    """Search resampling × weighting × model × threshold for the best honest ``metric``.

    Long by design: it is the reference of every parameter, and checks each before a study is
    opened.

    Parameters
    ----------
    X, y
        Training data: a DataFrame (numeric, categorical, text, boolean columns; NaN allowed)
        or an array, and labels of any type.
    metric
        What to optimise: ``"average_precision"``, ``"f1"``, ``"f2"``, ``"mcc"``, ``"g_mean"``,
        ``"balanced_accuracy"``, ``"recall@precision>=0.9"``, ``"cost:fn=10,fp=1"`` …
    time_budget
        Wall-clock seconds for the whole call, final refit included.
    cv, groups
        How rows are split into folds, for every step that validates: a number of stratified
        folds; with ``groups`` (one label per row: patient, customer, device) folds that never
        put a group on both sides (``StratifiedGroupKFold``); or any scikit-learn splitter
        (``GroupKFold(5)``, ``TimeSeriesSplit(5)``, …) or list of ``(train, valid)`` index
        pairs. Rows no fold validates (the first block of a time split) are left out of the
        scores. A splitter that cannot be drawn again (no shuffling, time order, given splits)
        leaves the winner's score measured on the folds that chose it, and says so.
    n_trials
        Trials to run in this call (a resumed study keeps its earlier ones).
    space
        The strategies searched: ``"default"`` (every resampler, weighting and model family),
        ``"fast"`` (few cheap, strong choices for budgets of seconds to a minute), ``"deep"``
        (the neural and hybrid models beside the strongest classic ones; needs the ``deep``
        extra), a YAML file of the same form, or a ``SearchSpace``.
    storage, study_name
        An Optuna storage (database URL or journal-file path) makes the search resumable and
        shareable by workers; ``None`` keeps it in memory.
    n_jobs
        Trials run at once; as in joblib, -1 is one per core, -2 all cores but one, and so on.
        A model gets one thread below 20,000 rows and the machine's cores divided by ``n_jobs``
        from there, so the search never runs more threads than there are cores; two searches
        side by side on large data share the cores and slow each other's models down many
        times over.
    random_state
        Seeds the sampler, the folds and the models: with ``n_trials`` and one job, the same
        seed and data give the same leaderboard (a time budget ends where the clock says). A
        numpy ``RandomState`` or ``Generator`` gives one seed drawn from it, as scikit-learn's
        estimators draw theirs.
    categorical_features
        ``"auto"``: columns whose values are text are categories, numbers and booleans are not;
        or the column names, positions or a mask of one boolean per column to treat as
        categories (text stays categories; ``None`` names none).
    sample_weight
        A weight per row (an amount, a cost): carried through resampling and used by the
        models and the metrics, in units of its mean.
    callbacks
        Called as ``callback(study, trial)`` after each trial, as Optuna calls them
        (``study.stop()`` in one stops the trials; the winner is chosen among those run).
    warm_start
        Strategies tried first, after the space's baselines: ``"portfolio"`` (strategies that did
        well across many data sets, in an order built for the metric's family), an earlier
        ``optuna.Study`` or ``(storage, study_name)`` (its best strategies, for related data), a
        list of strategy configs (``best_config``'s form; an ensemble's queues its members),
        or ``None``.
    pretrained
        Continue training instead of starting anew: ``{"lightgbm": booster or model file,
        "xgboost": booster or model file, "mlp": weights}`` from a model of related data.
    ensemble
        After the search, try a greedy ensemble of the best trials; it replaces the single
        winner only if it scores better honestly (cross-fitted, nested over folds).
    advice
        Also measure the winner's learning curve over the minority-class size and predict the
        score with 2× and 5× more minority examples (``result.advice``); costs a few trials.
    importance
        Measure the winner's permutation importance per input column out of fold
        (``result.feature_importance``) when the budget leaves room; False skips it.
    pos_label
        The class whose detection the binary metrics measure (two classes only). By default
        the smaller class; on a tie, the last in sorted order (1 over 0, "yes" over "no").
    allow_other_data
        Resume a stored study that was run on other data (a fingerprint of the rows, columns
        and labels is kept in the study); refused by default, since the old winner would be
        reported for the new data.
    verbose
        Show the search's progress on stderr (trials, best score, time left): a live line in
        a terminal or notebook, a line per trial elsewhere. ``None`` shows it only where a
        person is watching (a terminal or a notebook). Optuna's own INFO lines are kept quiet
        during the search either way; ``optuna.logging.set_verbosity(DEBUG)`` brings them back.
    heartbeat
        Seconds between the signs of life of the study's processes on a database storage: a
        trial of a process silent for three is failed and tried again. Set when the study is
        created (default 30) and shared by every process of it; another is refused.

    Returns
    -------
    SearchResult
        ``best_pipeline`` (predicts with the tuned threshold), ``best_score``, ``best_config``,
        ``leaderboard`` and ``report()``.
    """
    started = time.monotonic()
    time_budget, n_trials = check_budget(time_budget, n_trials)
    # Every setting is checked before the study is opened: a refused run leaves no trace.
    n_jobs = check_n_jobs("n_jobs", n_jobs)
    random_state = check_seed(random_state)
    the_metric = get_metric(metric)
    check_own_metric(the_metric)
    the_space = load_space(space)
    data = validate(
        X,
        y,
        sample_weight=sample_weight,
        categorical_features=categorical_features,
        pos_label=pos_label,
    )
    if (one_sided := _one_sided(the_metric.name, data.n_classes)) is not None:
        warnings.warn(one_sided, stacklevel=user_stacklevel())
    if data.n_classes > 2 and the_metric.kind == "threshold" and the_metric.multiclass_fn is None:
        raise AutoImbError(
            f"the metric {the_metric.name!r} is defined for two classes, and y has "
            f"{data.n_classes} classes; choose a macro metric such as 'f1' or 'mcc'."
        )
    available = available_components(the_space, data)
    warm_start = check_own_strategies(warm_start, the_space, available, the_metric.kind)
    pretrained = check_pretrained(pretrained, available, list(data.X.columns))
    folds = as_folds(cv, groups, n_rows=len(data.y))
    if advice and (folds.custom or folds.kind != "stratified"):
        raise AutoImbError(
            f"advice=True measures a learning curve on stratified folds of its own, which "
            f"{folds.describe()} are not meant to be replaced by; leave advice off for this data."
        )
    heartbeat = study_heartbeat(storage, study_name or config.DEFAULT_STUDY_NAME, heartbeat)
    settings = SearchSettings(
        heartbeat=heartbeat,
        metric=the_metric,
        space=the_space,
        time_budget=time_budget,
        n_trials=n_trials,
        cv=folds,
        storage=storage,
        study_name=study_name,
        n_jobs=n_jobs,
        random_state=random_state,
        callbacks=tuple(callbacks),
        started=started,
        warm_start=warm_start,
        pretrained=pretrained,
        ensemble=ensemble,
        advice=advice,
        importance=importance,
        allow_other_data=allow_other_data,
    )
    watched = interactive(sys.stderr)
    progress = None
    if watched if verbose is None else verbose:
        progress = SearchProgress(
            sys.stderr,
            metric_name=the_metric.name,
            greater_is_better=the_metric.greater_is_better,
            time_budget=time_budget,
            n_trials=n_trials,
            live=watched,
        )
        settings = dataclasses.replace(settings, callbacks=(*settings.callbacks, progress))
    with _quiet_optuna(), quiet_trials(), progress or contextlib.nullcontext():
        outcome = run(settings, data)
        return finish(outcome, settings, data)


# Metrics that one trivial rule maximises (where it is highest): a search for one finds it.
def _one_sided(name: str, n_classes: int) -> str | None:
    """A warning for a metric one trivial rule maximises. Over several classes, macro recall
    is balanced accuracy, and macro precision is highest when uncertain rows all go to one
    class."""
    if n_classes > 2:
        if name != "precision":
            return None
        return (
            "precision alone is highest when each class is predicted only for its surest rows "
            "and the others all go to one class, and the search will find that rule; optimise "
            "'f1' or 'balanced_accuracy' to weigh every class's rows."
        )
    rule = {
        "recall": "when every row is predicted positive",
        "precision": "when only the few surest rows are predicted positive",
    }.get(name)
    if rule is None:
        return None
    return (
        f"{name} alone is highest {rule}, and the search will find that rule; to weigh "
        "precision and recall together optimise 'f1', 'fbeta:2' or 'recall@precision>=0.5'."
    )


def _warm_start(value: Any) -> WarmStart:
    """scikit-learn's tools set ``warm_start`` to a bool (their meaning: reuse the last fit);
    here True is the portfolio and False no warm start."""
    if value is True:
        return config.DEFAULT_WARM_START
    return None if value is False else value


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines ("A new study created …") are not the user's business; a level
    set lower than Optuna's default (DEBUG) was asked for and is kept."""
    verbosity = optuna.logging.get_verbosity()
    if verbosity == optuna.logging.INFO:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


class AutoImbClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier whose ``fit`` runs :func:`search` and keeps the winner.

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
        space: str = config.DEFAULT_SPACE,
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
        by it. Not accuracy, which on imbalanced data a model that never flags wins."""
        pipeline = self._fitted(X)
        labels, proba = pipeline.predict_with_proba(X)
        code = {plain(c): i for i, c in enumerate(self.classes_)}
        truth = [plain(v) for v in np.asarray(y, dtype=object).ravel()]
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
        return float(value if metric.greater_is_better else -value)

    def _fitted(self, X: Any) -> Any:
        """The fitted pipeline, once ``X`` has the shape it was fitted on (in scikit-learn's
        words; a DataFrame's columns are checked by name in the pipeline)."""
        check_is_fitted(self, "best_pipeline_")
        shape = getattr(X, "shape", None)
        named = isinstance(X, pd.DataFrame)
        if not named and shape is not None and len(shape) == 2 and shape[1] != self.n_features_in_:
            raise AutoImbError(
                f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return self.best_pipeline_
