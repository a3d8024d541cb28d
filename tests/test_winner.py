"""The single winner is one the budget can still refit."""

from __future__ import annotations

import numpy as np
import optuna

from autoimb.engine.outcome import Predictions, SearchOutcome
from autoimb.engine.winner import choose_winner
from autoimb.metrics.registry import get_metric

F1 = get_metric("f1")


def _outcome(held: tuple[int, ...] = (0, 1, 2)) -> SearchOutcome:
    """Trial 0 tops the folds, trial 1 is close behind, trial 2 is far behind; the trials not
    ``held`` ran in an earlier process, which kept their predictions."""
    study = optuna.create_study(direction="maximize")
    predictions = Predictions(True)
    for number, (value, folds, steady) in enumerate(
        [
            (0.90, [0.9, 0.9, 0.9], 0.80),
            (0.85, [0.8, 0.9, 0.85], 0.70),
            (0.50, [0.5, 0.5, 0.5], 0.40),
        ]
    ):
        attrs = {"fold_scores": folds, "steady": steady, "seconds": 9.0, "cv_seconds": 8.0}
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs=attrs))
        if number in held:
            predictions.add(number, value, np.full(4, value))
    return SearchOutcome(study, None, predictions, 0, {}, {})  # type: ignore[arg-type]


def test_a_winner_too_dear_to_refit_in_the_time_left_is_passed_over() -> None:
    notes: list[str] = []
    refit = {0: 45.0, 1: 2.0, 2: 1.0}.__getitem__
    chosen, ranked = choose_winner(_outcome(), F1, notes, refit=refit, left=16.0)
    assert chosen.number == 1
    assert 0 not in ranked  # nor raced on a fresh split
    assert "could not be the winner" in notes[0] and "trial 0: ≈45.0 s for refitting" in notes[0]


def test_an_earlier_runs_trial_must_fit_its_cross_validation_again_too() -> None:
    """Its out-of-fold predictions are not held: they are made again before its refit."""
    notes: list[str] = []
    refit = {0: 10.0, 1: 2.0, 2: 1.0}.__getitem__
    chosen, _ = choose_winner(_outcome(held=(1, 2)), F1, notes, refit=refit, left=16.0)
    assert chosen.number == 1
    assert "trial 0: ≈18.0 s for cross-validating it again, then refitting it" in notes[0]
    chosen, _ = choose_winner(_outcome(held=(1, 2)), F1, [], refit=refit, left=19.0)
    assert chosen.number == 0


def test_the_time_left_does_not_decide_without_a_time_budget_or_when_nothing_fits() -> None:
    refit = {0: 45.0, 1: 2.0, 2: 1.0}.__getitem__
    for left in (None, 0.5):
        notes: list[str] = []
        chosen, ranked = choose_winner(_outcome(), F1, notes, refit=refit, left=left)
        assert chosen.number == 0 and ranked[0] == 0
        assert not notes
