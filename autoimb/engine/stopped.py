"""The best so far of a study whose search was stopped (the command line's Ctrl-C), refitted
as a finished search would refit it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from autoimb.config import STUDY_ATTR
from autoimb.engine.budget import folds_for_size
from autoimb.engine.evaluate import CrossValidation
from autoimb.engine.finish import finish
from autoimb.engine.outcome import Predictions, SearchOutcome
from autoimb.engine.settings import SearchSettings
from autoimb.engine.splits import recorded_folds

if TYPE_CHECKING:
    import optuna

    from autoimb.data.dataset import Dataset
    from autoimb.engine.space import SearchSpace
    from autoimb.metrics.registry import Metric
    from autoimb.result import SearchResult


def finish_study(
    study: optuna.Study,
    data: Dataset,
    metric: Metric,
    space: SearchSpace,
    groups: Any = None,
    predictions: Predictions | None = None,
) -> SearchResult | None:
    """The best so far of a study whose search was stopped, refitted as a finished one would be.

    The model is asked for now: no ensemble, fresh-fold measure or feature importance. The
    winner's out-of-fold predictions are taken from ``predictions`` (what the stopped search
    held in memory) where they are there, else computed again. None when no trial has
    finished.
    """
    if not any(t.state == TrialState.COMPLETE for t in study.trials):
        return None
    attrs = study.user_attrs[STUDY_ATTR]
    seed = int(attrs["seed"])
    folds = folds_for_size(recorded_folds(attrs, groups, len(data.y)), len(data.y))
    settings = SearchSettings(
        metric=metric,
        space=space,
        cv=folds,
        study_name=study.study_name,
        random_state=seed,
        remeasure=False,
        importance=False,
        ensemble=False,
        stopped=True,
    )
    outcome = SearchOutcome(
        study,
        CrossValidation(data, folds, random_state=seed),
        predictions or Predictions(metric.greater_is_better),
        seed,
        {},
        {},
    )
    return finish(outcome, settings, data)
