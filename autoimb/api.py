"""The one call, :func:`search`, and the scikit-learn estimator :class:`AutoImbClassifier`."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from autoimb import __version__
from autoimb.advice import LearningCurveAdvice, minority_learning_curve
from autoimb.data import Dataset, validate
from autoimb.ensemble import (
    EnsembleClassifier,
    EnsembleSelection,
    blend,
    members_of,
    select_ensemble,
)
from autoimb.evaluate import evaluate
from autoimb.exceptions import AutoImbError
from autoimb.metrics import Metric, get_metric
from autoimb.pipeline import StrategyPipeline
from autoimb.remeasure import Remeasured, remeasure
from autoimb.result import Evidence, SearchResult
from autoimb.space import SearchSpace, load_space
from autoimb.study import SearchOutcome, SearchSettings, TrialCallback, model_threads, run
from autoimb.threshold import Decision, ThresholdedClassifier, choose_decision
from autoimb.warmstart import WarmStart

logger = logging.getLogger("autoimb")


def check_budget(time_budget: float | None, n_trials: int | None) -> None:
    if time_budget is None and n_trials is None:
        raise AutoImbError(
            "give a time_budget (seconds) or n_trials (or both); without either the search "
            "would never end."
        )
    if time_budget is not None and (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, int | float)
        or not np.isfinite(time_budget)
        or time_budget <= 0
    ):
        raise AutoImbError(
            f"time_budget must be a positive number of seconds; got {time_budget!r}."
        )
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials <= 0
    ):
        raise AutoImbError(f"n_trials must be a positive integer; got {n_trials!r}.")


def search(
    X: Any,
    y: Any,
    *,
    metric: str | Metric = "average_precision",
    time_budget: float | None = None,
    n_trials: int | None = None,
    cv: int = 5,
    space: str | Path | SearchSpace = "default",
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    n_jobs: int = 1,
    random_state: int | None = None,
    categorical_features: str | Sequence[str | int] = "auto",
    sample_weight: Any = None,
    callbacks: Sequence[TrialCallback] = (),
    warm_start: WarmStart = "portfolio",
    pretrained: dict[str, Any] | None = None,
    ensemble: bool = True,
    advice: bool = False,
) -> SearchResult:
    """Search resampling × weighting × model × threshold for the best honest ``metric``.

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
    n_trials
        Trials to run in this call (a resumed study keeps its earlier ones).
    storage, study_name
        An Optuna storage (database URL or journal-file path) makes the search resumable and
        shareable by workers; ``None`` keeps it in memory.
    warm_start
        Strategies tried first, after the space's baselines: ``"portfolio"`` (strategies that did
        well across many data sets), an earlier ``optuna.Study`` or ``(storage, study_name)``
        (its best strategies, for related data), or ``None``.
    pretrained
        Continue training instead of starting anew: ``{"lightgbm": booster or model file,
        "xgboost": booster or model file, "mlp": weights}`` from a model of related data.
    ensemble
        After the search, try a greedy ensemble of the best trials; it replaces the single
        winner only if it scores better honestly (cross-fitted, nested over folds).
    advice
        Also measure the winner's learning curve over the minority-class size and predict the
        score with 2× and 5× more minority examples (``result.advice``); costs a few trials.

    Returns
    -------
    SearchResult
        ``best_pipeline`` (predicts with the tuned threshold), ``best_score``, ``best_config``,
        ``leaderboard`` and ``report()``.
    """
    started = time.monotonic()
    check_budget(time_budget, n_trials)
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise AutoImbError(f"n_jobs must be a positive integer; got {n_jobs!r}.")
    the_metric = get_metric(metric)
    the_space = load_space(space)
    data = validate(X, y, sample_weight=sample_weight, categorical_features=categorical_features)
    if data.n_classes > 2 and the_metric.kind == "threshold" and the_metric.multiclass_fn is None:
        raise AutoImbError(
            f"the metric {the_metric.name!r} is defined for two classes, and y has "
            f"{data.n_classes}; choose a macro metric such as 'f1' or 'mcc'."
        )
    settings = SearchSettings(
        metric=the_metric,
        space=the_space,
        time_budget=time_budget,
        n_trials=n_trials,
        cv=cv,
        storage=storage,
        study_name=study_name,
        n_jobs=n_jobs,
        random_state=random_state,
        callbacks=tuple(callbacks),
        started=started,
        warm_start=warm_start,
        pretrained=dict(pretrained or {}),
        ensemble=ensemble,
        advice=advice,
    )
    outcome = run(settings, data)
    return finish(outcome, settings, data)


def finish(outcome: SearchOutcome, settings: SearchSettings, data: Dataset) -> SearchResult:
    """Ensemble or single winner, threshold on its out-of-fold predictions, refit, describe."""
    study = outcome.study
    best = study.best_trial
    threads = model_threads(1, len(data.y))
    notes: list[str] = []
    oof = outcome.predictions.get(best.number)
    if oof is None:
        # A resumed study: its winner's predictions were made in an earlier process.
        oof = evaluate(
            best.user_attrs["config"],
            outcome.cv,
            settings.metric,
            random_state=outcome.random_state,
            n_threads=threads,
            pretrained=settings.pretrained,
        ).oof
    selection, used = _select_ensemble(outcome, settings, data, best.number, notes)
    members = selection.final_weights if used else {best.number: 1.0}
    configs = {n: dict(study.trials[n].user_attrs["config"]) for n in members}
    if len(members) > 1:
        oof = blend({n: outcome.predictions.get(n) for n in members}, members)
    decision, _ = choose_decision(
        data.y, oof, settings.metric, sample_weight=data.sample_weight, pos_label=data.pos_label
    )
    score = float(selection.score) if len(members) > 1 else float(best.value)
    measured = remeasure(
        configs,
        members,
        score,
        outcome,
        settings,
        data,
        threads,
        after=_refit_seconds(outcome, members),
    )
    notes.append(measured.note)
    # The folds' cached matrices are not needed by the refit; on large data they are the
    # biggest thing in memory besides the data itself.
    outcome.cv.release()
    fitted = {
        n: StrategyPipeline(
            config,
            data.schema(),
            random_state=outcome.random_state,
            n_threads=threads,
            pretrained=settings.pretrained or None,
        ).fit(data.X, data.y, data.sample_weight)
        for n, config in configs.items()
    }
    if len(members) > 1:
        estimator: Any = EnsembleClassifier(*members_of(selection, fitted))
        config: dict[str, Any] = {
            "weights": {str(n): w for n, w in members.items()},
            "members": {str(n): c for n, c in configs.items()},
        }
    else:
        estimator, config = fitted[best.number], configs[best.number]
    pipeline = ThresholdedClassifier(
        estimator,
        decision_threshold=decision.threshold,
        class_scale=decision.class_scale,
        pos_label=data.pos_label,
        classes=data.classes,
    )
    best_config = {**config, **_decision_fields(decision)}
    pipeline.model_card_ = _model_card(settings, data, measured, best_config, decision)
    evidence = Evidence(
        data.y, oof, outcome.cv.fold_ids, data.sample_weight, data.pos_label, data.summary()
    )
    result = SearchResult(
        pipeline,
        measured.score,
        best_config,
        settings.metric,
        study,
        evidence,
        decision,
        notes,
        search_score=measured.search_score,
    )
    result.ensemble = selection
    if settings.advice:
        result.advice = _advice(configs[best.number], outcome, settings, data, notes)
    return result


def _remaining(settings: SearchSettings) -> float | None:
    return None if settings.deadline is None else settings.deadline - time.monotonic()


def _select_ensemble(
    outcome: SearchOutcome,
    settings: SearchSettings,
    data: Dataset,
    best: int,
    notes: list[str],
) -> tuple[EnsembleSelection | None, bool]:
    """Caruana selection over the kept trials, used only if it beats the winner honestly."""
    candidates = {n: outcome.predictions.get(n) for n in outcome.predictions.items}
    if not settings.ensemble or len(candidates) < 2 or best not in candidates:
        return None, False
    remaining = _remaining(settings)
    if remaining is not None and remaining < 1.0:
        notes.append("No ensemble was tried: the time budget was spent.")
        return None, False
    selection = select_ensemble(
        candidates,
        data.y,
        outcome.cv.fold_ids,
        settings.metric,
        sample_weight=data.sample_weight,
        pos_label=data.pos_label,
        single_best=best,
        time_limit=_ensemble_time(settings, remaining),
    )
    notes.append(selection.reason)
    if selection.chosen and remaining is not None:
        refit = _refit_seconds(outcome, selection.final_weights)
        left = _remaining(settings) or 0.0
        if refit > left:
            notes.append(
                f"The ensemble was not used: refitting its members (≈{refit:.0f} s) would "
                f"overrun the budget ({left:.0f} s left); the single best trial was refitted."
            )
            return selection, False
    return selection, selection.chosen


def _refit_seconds(outcome: SearchOutcome, members: Mapping[int, float]) -> float:
    """A fit on all rows, from the members' fits on k - 1 folds of them, with some margin."""
    seconds = sum(outcome.fit_seconds.get(n, 0.0) for n in members)
    return seconds * 1.3 / max(outcome.cv.n_splits - 1, 1)


def _ensemble_time(settings: SearchSettings, remaining: float | None) -> float:
    """Half of what is left of a budget; without one, a fifth of the time the search took."""
    if remaining is not None:
        return 0.5 * remaining
    return max(2.0, 0.2 * (time.monotonic() - settings.started))


def _advice(
    config: dict[str, Any],
    outcome: SearchOutcome,
    settings: SearchSettings,
    data: Dataset,
    notes: list[str],
) -> LearningCurveAdvice | None:
    remaining = _remaining(settings)
    if remaining is not None and remaining < 2.0:
        notes.append("No data-collection advice: the time budget was spent.")
        return None
    return minority_learning_curve(
        config,
        data,
        settings.metric,
        cv=3,
        random_state=outcome.random_state,
        n_threads=model_threads(1, len(data.y)),
        time_limit=remaining,
    )


def _decision_fields(decision: Decision) -> dict[str, Any]:
    if decision.threshold is not None:
        return {"threshold": float(decision.threshold)}
    return {"class_scale": [float(s) for s in decision.class_scale or ()]}


def _model_card(
    settings: SearchSettings,
    data: Dataset,
    measured: Remeasured,
    config: dict,
    decision: Decision,
) -> dict[str, Any]:
    import imblearn
    import lightgbm
    import sklearn
    import xgboost

    return {
        "autoimb_version": __version__,
        "metric": settings.metric.name,
        "cv_score": float(measured.score),
        "search_score": float(measured.search_score),
        "config": config,
        "decision": decision.to_dict(),
        "classes": [c.item() if hasattr(c, "item") else c for c in data.classes],
        "positive_class": str(data.classes[data.pos_label]),
        "schema": data.schema(),
        "data": data.summary(),
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "imbalanced-learn": imblearn.__version__,
            "lightgbm": lightgbm.__version__,
            "xgboost": xgboost.__version__,
            "optuna": optuna.__version__,
            "numpy": np.__version__,
        },
    }


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
        metric: str = "average_precision",
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        cv: int = 5,
        space: str = "default",
        storage: str | None = None,
        study_name: str | None = None,
        n_jobs: int = 1,
        random_state: int | None = None,
        categorical_features: str | Sequence[str | int] = "auto",
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

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AutoImbClassifier:
        budget = self.time_budget
        if budget is None and self.n_trials is None:
            budget = 60.0
        self.result_ = search(
            X,
            y,
            metric=self.metric,
            time_budget=budget,
            n_trials=self.n_trials,
            cv=self.cv,
            space=self.space,
            storage=self.storage,
            study_name=self.study_name,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            categorical_features=self.categorical_features,
            sample_weight=sample_weight,
        )
        self.best_pipeline_ = self.result_.best_pipeline
        self.classes_ = self.best_pipeline_.classes_
        self.best_score_ = self.result_.best_score
        self.best_config_ = self.result_.best_config
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_pipeline_")
        return self.best_pipeline_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_pipeline_")
        return self.best_pipeline_.predict_proba(X)
