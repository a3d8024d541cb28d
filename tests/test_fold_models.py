"""A first trial that leaves no time for its refit is served as the mean of its fold models.

Until a trial has finished nothing is known of what a refit costs, so the first trial runs to
the deadline with no time kept for one. A callback that holds the search past its budget once
the first trial has finished stands in for a first trial as slow as the budget.
"""

from __future__ import annotations

import time

import numpy as np
import optuna
import pytest

import autoimb
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.engine.space import parse_space
from autoimb.posthoc.ensemble import EnsembleClassifier

BUDGET = 4.0


class PastTheBudget:
    """Sleeps through the rest of the budget after the first finished trial."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.slept = seconds, False

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE and not self.slept:
            self.slept = True
            time.sleep(self.seconds)


def _search(X, y, model: str, **options) -> autoimb.SearchResult:
    space = parse_space(f"model: {{{model}: {{n_estimators: 20}}}}")
    return autoimb.search(
        X,
        y,
        metric="f1",
        time_budget=BUDGET,
        space=space,
        cv=3,
        warm_start=None,
        random_state=0,
        verbose=False,
        **options,
    )


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_a_first_trial_past_the_budget_serves_its_fold_models(model, hepatitis, tmp_path) -> None:
    X, y = hepatitis
    # A second past the deadline: a refit of next to no time is still made within the slack
    # (2% of the budget), and a first trial quicker than that ended within it by the sleep alone.
    result = _search(X, y, model, callbacks=[PastTheBudget(BUDGET + 1.0)])
    served = result.best_pipeline.estimator
    assert isinstance(served, EnsembleClassifier), result.notes
    assert len(served.estimators) == 3 and served.weights == [1.0, 1.0, 1.0]
    assert all(isinstance(member, StrategyPipeline) for member in served.estimators)
    assert any("mean of its 3 fold models" in note for note in result.notes)
    # The members are the models whose out-of-fold predictions chose the winner and its
    # threshold: each predicts its own validation fold as the search recorded it.
    evidence = result.evidence
    for k, member in enumerate(served.estimators):
        rows = np.flatnonzero(evidence.fold_ids == k)
        np.testing.assert_allclose(
            member.predict_proba(X.iloc[rows]), evidence.oof[rows], rtol=1e-5, atol=1e-6
        )
    # It predicts with the tuned threshold, and saves and loads with trusted types only.
    labels = result.best_pipeline.predict(X)
    assert set(labels) <= set(y)
    loaded = autoimb.load(result.save(tmp_path / "model.skops"))
    np.testing.assert_array_equal(loaded.predict_proba(X), result.best_pipeline.predict_proba(X))


def test_a_first_trial_whose_refit_fits_is_refitted(hepatitis) -> None:
    X, y = hepatitis
    result = _search(X, y, "lightgbm", n_trials=1)
    assert isinstance(result.best_pipeline.estimator, StrategyPipeline)
    assert not any("fold models" in note for note in result.notes)


def test_a_refit_of_next_to_no_time_is_made_even_a_hair_past_the_deadline() -> None:
    """After a search that ran its trials to the deadline, a refit of a hundredth of a second
    overruns by nothing worth serving the fold models' mean for; one of seconds does."""
    from types import SimpleNamespace

    from autoimb.engine.finish import _fold_models_served
    from autoimb.engine.settings import SearchSettings
    from autoimb.engine.space import load_space
    from autoimb.metrics.registry import get_metric

    settings = SearchSettings(
        get_metric("f1"), load_space("fast"), time_budget=10.0, started=time.monotonic() - 10.05
    )
    outcome = SimpleNamespace(fold_models={3: ["fold model"] * 3})
    assert _fold_models_served(outcome, settings, {3: 1.0}, after=0.01, notes=[]) is None
    notes: list[str] = []
    assert _fold_models_served(outcome, settings, {3: 1.0}, after=2.0, notes=notes) is not None
    assert "mean of its 3 fold models" in notes[0]
