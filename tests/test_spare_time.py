"""An ensemble winner's unused race time goes to more trials (autoimb.engine.spare_time)."""

from __future__ import annotations

import time

import pytest
from optuna.trial import TrialState

from autoimb import config
from autoimb.data.dataset import validate
from autoimb.engine.finish import _select_ensemble
from autoimb.engine.run import run
from autoimb.engine.settings import SearchSettings
from autoimb.engine.space import load_space
from autoimb.engine.spare_time import (
    _spare_seconds,
    _typical_trial_seconds,
    more_trials_for_ensemble,
)
from autoimb.leaderboard import finished_among
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.ensemble import select_ensemble


def _stop_after(number: int):
    def callback(study, trial) -> None:
        if trial.number == number:
            study.stop()

    return callback


@pytest.fixture
def searched(small_binary):
    """Six trials of a search with a time budget, and an ensemble selected from them."""
    X, y = small_binary
    data = validate(X, y)
    settings = SearchSettings(
        metric=get_metric("average_precision"), space=load_space("fast"), cv=3,
        random_state=0, warm_start=None, time_budget=600.0, callbacks=[_stop_after(5)],
    )  # fmt: skip
    outcome = run(settings, data)
    # The stop kept this first run short; the spare time under test may run trials again,
    # which a user's own stop forbids.
    outcome.more_trials.__self__.stopped_by_user = False
    cv = outcome.cv
    candidates = {n: cv.scores(outcome.predictions.get(n))[0] for n in outcome.predictions.items}
    y_scored, fold_ids, _ = cv.scores(data.y, cv.fold_ids, None)
    selection = select_ensemble(
        candidates, y_scored, fold_ids, settings.metric, pos_label=data.pos_label
    )
    return data, settings, outcome, selection


def _leave(settings: SearchSettings, seconds: float) -> None:
    """Move the search's start so that ``seconds`` of its budget are left."""
    settings.started = time.monotonic() - settings.time_budget + seconds


def _leave_room_for_trials(settings, outcome, selection, seconds: float) -> None:
    """Leave ``seconds``, or more when a busy machine has made trials slow: enough for the
    spare time to run trials, which is what these tests are about."""
    _leave(settings, seconds)
    wanted = config.SPARE_TIME_TRIALS * _typical_trial_seconds(outcome)
    short = wanted - _spare_seconds(outcome, settings, selection, 0.1)
    if short > 0:
        _leave(settings, seconds + short + 1.0)


def _complete(outcome) -> int:
    return sum(t.state == TrialState.COMPLETE for t in outcome.study.trials)


@pytest.mark.slow
def test_the_spare_time_runs_trials_and_the_ensemble_is_selected_again(searched):
    data, settings, outcome, selection = searched
    before = _complete(outcome)
    outcome.finished_seen = finished_among(outcome.study.trials)  # as the winner's choice sets
    _leave_room_for_trials(settings, outcome, selection, 6.0)

    def reselect(notes):
        best = outcome.study.best_trial.number
        return _select_ensemble(outcome, settings, data, best, notes)

    chosen, notes = more_trials_for_ensemble(outcome, settings, selection, 0.1, reselect, ["x"])
    ran = _complete(outcome) - before
    assert ran > 0
    spent = [note for note in notes if "went to more trials" in note]
    assert len(spent) == 1 and f"({ran} finished)" in spent[0]
    assert time.monotonic() <= settings.deadline  # the trials stopped in time for the rest
    if chosen is selection:  # selected again, no ensemble: the first one stands
        assert notes[0] == "x" and notes[-1].endswith("the ensemble chosen before them stands.")
    else:
        assert notes[0].endswith("the ensemble was selected again with them.")
    assert all(outcome.predictions.get(n) is not None for n in chosen.final_weights)
    # The model saw every trial, pruned ones too: its report must not say the study went on.
    assert outcome.finished_seen == finished_among(outcome.study.trials)


@pytest.mark.slow
def test_when_the_new_selection_chooses_no_ensemble_the_first_one_stands(searched):
    _, settings, outcome, selection = searched
    outcome.finished_seen = finished_among(outcome.study.trials)
    outcome.predictions.keep = 1  # the new trials push the members' predictions out ...
    _leave_room_for_trials(settings, outcome, selection, 4.0)
    chosen, notes = more_trials_for_ensemble(
        outcome, settings, selection, 0.1, lambda notes: (None, False), ["first"]
    )
    assert chosen is selection
    assert notes[0] == "first" and notes[-1].endswith("the ensemble chosen before them stands.")
    # ... and they are put back: the ensemble that stands needs them.
    assert all(outcome.predictions.get(n) is not None for n in selection.final_weights)
    assert outcome.finished_seen == finished_among(outcome.study.trials)  # it looked at them


def test_no_trials_without_time_for_one_or_under_a_trial_count(searched, small_binary):
    _, settings, outcome, selection = searched
    before = len(outcome.study.trials)
    _leave(settings, 0.5)
    chosen, notes = more_trials_for_ensemble(outcome, settings, selection, 0.1, None, ["n"])
    assert chosen is selection and notes == ["n"]
    assert len(outcome.study.trials) == before
    counted = SearchSettings(
        metric=settings.metric, space=load_space("fast"), n_trials=3, cv=3, random_state=0,
        warm_start=None, time_budget=600.0,
    )  # fmt: skip
    assert run(counted, validate(*small_binary)).more_trials is None


def test_a_users_stop_is_kept_by_the_spare_time(small_binary) -> None:
    """study.stop() in a callback stops the trials: an ensemble winner's spare time must not
    start them again (a fresh study.optimize forgets the stop)."""
    X, y = small_binary
    settings = SearchSettings(
        metric=get_metric("average_precision"), space=load_space("fast"), cv=3,
        random_state=0, warm_start=None, time_budget=600.0, callbacks=[_stop_after(2)],
    )  # fmt: skip
    outcome = run(settings, validate(X, y))
    assert len(outcome.study.trials) == 3
    assert outcome.more_trials(time.monotonic() + 30) == 0
    assert len(outcome.study.trials) == 3
