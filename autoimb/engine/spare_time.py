"""When an ensemble wins, the time kept back for racing close trials goes to more trials.

While trials run, the search keeps back what a single winner needs after them: its refit and
the race of the close trials on a fresh split. Which kind wins is known only once the ensemble
is selected, after the trials; an ensemble needs no race, so that time would go unused. It goes
to more trials instead, and the ensemble is selected again with them. If the new selection
does not choose an ensemble, the one chosen before them stands: the result is then the one the
search would have returned without the extra trials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from statistics import mean

from autoimb import config
from autoimb.engine.budget import cross_validation_seconds, remaining
from autoimb.engine.outcome import SearchOutcome
from autoimb.engine.settings import SearchSettings
from autoimb.leaderboard import finished_among
from autoimb.posthoc.selection import EnsembleSelection

Reselect = Callable[[list[str]], tuple[EnsembleSelection | None, bool]]


def more_trials_for_ensemble(
    outcome: SearchOutcome,
    settings: SearchSettings,
    selection: EnsembleSelection,
    selection_seconds: float,
    reselect: Reselect,
    notes: list[str],
) -> tuple[EnsembleSelection, list[str]]:
    """The ensemble to use and the notes on its selection, after more trials if there is time
    for at least ``SPARE_TIME_TRIALS`` of them besides the refit, the feature importance, the
    advice and a second selection."""
    if outcome.more_trials is None or settings.deadline is None:
        return selection, notes
    spare = _spare_seconds(outcome, settings, selection, selection_seconds)
    typical = _typical_trial_seconds(outcome)
    if typical is None or spare < config.SPARE_TIME_TRIALS * typical:
        return selection, notes
    kept = outcome.predictions.kept(selection.final_weights)
    ran = outcome.more_trials(time.monotonic() + spare)
    spent = (
        "The time kept for racing close trials on a fresh split, which an ensemble does not "
        "need, went to more trials"
    ) + (f" ({ran} finished)" if ran else ", but none finished in time")
    if ran:
        again_notes: list[str] = []
        again, used = reselect(again_notes)
        _seen(outcome)
        if used and again is not None:
            return again, [f"{spent}; the ensemble was selected again with them.", *again_notes]
    _seen(outcome)  # trials that ended without a score too
    outcome.predictions.put_back(kept)
    return selection, [*notes, f"{spent}; the ensemble chosen before them stands."]


def _spare_seconds(
    outcome: SearchOutcome,
    settings: SearchSettings,
    selection: EnsembleSelection,
    selection_seconds: float,
) -> float:
    """What is left of the budget after all that still follows the ensemble's selection."""
    members = selection.final_weights
    after = outcome.refit_seconds(members)
    after += settings.advice_share * (settings.time_budget or 0.0)
    # The second selection looks at as many kept predictions as the first, with a margin.
    after += 1.5 * selection_seconds + 0.5
    left = (remaining(settings.deadline) or 0.0) - after
    # The feature importance keeps its time when it has it; when it has not, it is skipped
    # anyway, so it keeps nothing.
    importance = cross_validation_seconds(outcome.study.trials, members)
    if settings.importance and importance <= left:
        left -= importance
    return left


def _typical_trial_seconds(outcome: SearchOutcome) -> float | None:
    """The mean time of this process's finished trials: the dear ones weigh in, as the
    sampler draws them more often late in a search."""
    trials = outcome.study.trials
    seconds = [
        float(trials[n].user_attrs["seconds"])
        for n in outcome.fit_seconds
        if n < len(trials) and "seconds" in trials[n].user_attrs
    ]
    return mean(seconds) if seconds else None


def _seen(outcome: SearchOutcome) -> None:
    """The second selection looked at every trial the study holds now, whichever ensemble
    stands: the model saved saw them (counted as when the winner was chosen, pruned and
    failed ones too, or its report says the study went on after it)."""
    sign, values = outcome.predictions.sign, [v for v, _ in outcome.predictions.items.values()]
    if outcome.best_seen is not None:
        values.append(outcome.best_seen)
    outcome.best_seen = max(values, key=lambda v: sign * v, default=outcome.best_seen)
    if outcome.finished_seen is not None:
        outcome.finished_seen = finished_among(outcome.study.get_trials(deepcopy=False))
