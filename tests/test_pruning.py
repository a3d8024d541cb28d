"""Fold-level pruning: the first look after fold 1, the median rule after, and a real search."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

import autoimb
from autoimb import config, datasets
from autoimb.engine.pruning import FoldPruner, pruner_for
from autoimb.leaderboard import flat_leaderboard

FIRST_FOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.2, 0.1]


def _study(
    pruner: optuna.pruners.BasePruner, first_folds: list[float], direction: str = "maximize"
) -> optuna.Study:
    """Finished trials whose running scores after folds 1 and 2 are the given value."""
    study = optuna.create_study(direction=direction, pruner=pruner)
    for value in first_folds:
        study.add_trial(
            create_trial(
                value=value,
                params={"x": 0.0},
                distributions={"x": FloatDistribution(0.0, 1.0)},
                intermediate_values={0: value, 1: value},
            )
        )
    return study


def _pruned_after(study: optuna.Study, scores: list[float]) -> int | None:
    """The fold after which a new trial with these running scores stops (None: it goes on)."""
    trial = study.ask()
    for step, score in enumerate(scores):
        trial.report(score, step)
        if trial.should_prune():
            return step + 1
    return None


@pytest.mark.parametrize(
    ("keep", "scores", "stops"),
    [
        (100.0, [0.1, 0.1], 2),  # no first look: the median rule stops it after fold 2
        (75.0, [0.1, 0.1], 1),  # below the best 75% of the first folds: stopped at once
        (75.0, [0.45, 0.45], None),  # within the best 75%, and above the median after
        (75.0, [0.35, 0.2], 2),  # through the first look, stopped by the median rule
        (50.0, [0.42, 0.6], 1),  # below the median of the first folds
    ],
)
def test_the_first_look_stops_a_trial_outside_the_kept_share(keep, scores, stops) -> None:
    study = _study(FoldPruner(keep, n_startup_trials=6), FIRST_FOLDS)
    assert _pruned_after(study, scores) == stops


def test_a_lower_score_is_better_for_a_cost_metric() -> None:
    study = _study(FoldPruner(75.0, n_startup_trials=6), FIRST_FOLDS, direction="minimize")
    assert _pruned_after(study, [0.9, 0.9]) == 1
    assert _pruned_after(study, [0.2, 0.2]) is None


def test_nothing_is_pruned_before_enough_trials_finished() -> None:
    study = _study(FoldPruner(75.0, n_startup_trials=6), [0.5, 0.6, 0.7])
    assert _pruned_after(study, [0.0, 0.0, 0.0]) is None


def test_large_data_climbs_fidelities_instead() -> None:
    assert isinstance(pruner_for(1_000), FoldPruner)
    assert isinstance(pruner_for(500_000), optuna.pruners.SuccessiveHalvingPruner)


def test_a_search_prunes_after_the_first_fold(small_binary, monkeypatch) -> None:
    monkeypatch.setattr(config, "FIRST_LOOK_KEEP", 50.0)
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="f1", n_trials=14, cv=3, space="fast", random_state=0, warm_start=None
    )
    pruned = [t for t in result.study.trials if t.state == TrialState.PRUNED]
    first = [t for t in pruned if t.user_attrs["stopped"].startswith("pruned after fold 1 of 3")]
    assert first
    assert all(list(t.intermediate_values) == [0] for t in first)
    # A pruned trial is never the winner, and the search still serves one.
    assert result.model_card()["trial"] not in {t.number for t in pruned}


@pytest.mark.slow
def test_a_pruned_trial_keeps_its_fold_scores_and_none_is_pruned_after_its_last_fold(
    small_binary,
) -> None:
    """Stopping a trial once every fold is scored saves nothing; the folds a pruned trial did
    score are its leaderboard's fold columns."""
    X, y = small_binary
    two = autoimb.search(
        X, y, metric="f1", n_trials=16, cv=2, space="fast", random_state=0, warm_start=None
    )
    assert not [t for t in two.study.trials if t.state == TrialState.PRUNED]
    three = autoimb.search(
        X, y, metric="f1", n_trials=16, cv=3, space="fast", random_state=0, warm_start=None
    )
    board = flat_leaderboard(three.study)
    pruned = board[board["state"] == "PRUNED"]
    assert len(pruned) > 0
    assert (
        pruned["stopped"]
        .eq("pruned after fold 2 of 3 (fold scores at each fold's best threshold)")
        .all()
    )
    assert pruned[["fold_0", "fold_1"]].notna().all().all() and pruned["fold_2"].isna().all()


@pytest.mark.slow
def test_a_multi_class_trial_pruned_says_its_fold_scores_take_class_factors() -> None:
    """More than two classes are decided by class factors, not a threshold."""
    frame = datasets.load("glass_multiclass")
    X, y = frame.drop(columns="target"), frame["target"]
    result = autoimb.search(
        X, y, metric="f1", n_trials=16, cv=3, space="fast", random_state=0, warm_start=None,
        ensemble=False, importance=False,  # the trials are the test; the winner's finish is not
    )  # fmt: skip
    board = flat_leaderboard(result.study)
    stopped = board.loc[board["state"] == "PRUNED", "stopped"]
    assert len(stopped) > 0
    assert stopped.str.endswith("(fold scores at each fold's best class factors)").all()
