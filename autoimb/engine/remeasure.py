"""The winner's score measured again, on folds that played no part in choosing it.

The best of many trials is the one whose folds happened to suit it: its own cross-validated score
is the maximum of noisy estimates and promises more than new data gives (the winner's curse).
Cross-validating the chosen strategy once more on a fresh split of the same rows removes the
luck of the fold assignment. It cannot remove the luck of the rows themselves: a strategy that
suits these particular rows still looks better here than on new data, most of all on small
data; ``SearchResult.score_interval`` is how far to trust the number.

The fresh split also settles close calls: the few best-scoring trials are measured on it too,
and the choice is made again on both splits (:mod:`autoimb.posthoc.steady`). Its scores then
helped choose, so the winner's score comes from a third split when the budget allows.

An ensemble's weights were chosen on the out-of-fold predictions, so their score on those
predictions is a selection score; its honest score is the nested one, with the weights chosen
again without each fold (:mod:`autoimb.posthoc.selection`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import TrialState

from autoimb import config
from autoimb.engine.budget import cross_validation_seconds, fresh_split_plan, row_budget
from autoimb.engine.evaluate import CrossValidation, Evaluation, FittedFold, evaluate
from autoimb.engine.outcome import SearchOutcome
from autoimb.engine.settings import SearchSettings
from autoimb.exceptions import TrialTimeout
from autoimb.leaderboard import REPEATS
from autoimb.metrics.metric import Metric
from autoimb.posthoc.steady import Candidate, choose_pooled

__all__ = ["Remeasured", "ensemble_score", "remeasure"]


# How ``best_score`` was measured; the words the CLI, the report and the model card show.
FRESH = "cross-validated on fresh folds"
NESTED = "nested: ensemble weights chosen again without each fold"
FEW = "cross-validated"  # chosen among so few trials that there is little luck to remove
CHOSEN_ON = "on the folds that chose it: optimistic"
RACED = "on fresh folds that also chose among close trials: somewhat optimistic"
SELECTED_ON = "the ensemble's selection score: optimistic"
HONEST = (FRESH, NESTED, FEW)  # measured on folds that did not choose the model
# The same in a word or two, where a line has no room for more (``repr(result)``).
SHORT = {
    FRESH: "fresh folds",
    NESTED: "nested",
    FEW: "cross-validated",
    CHOSEN_ON: "optimistic",
    RACED: "somewhat optimistic",
    SELECTED_ON: "optimistic",
}


@dataclass
class Remeasured:
    """``best_score`` (``score``), how it was measured (``basis``), and the score that chose;
    ``models``: the fresh folds' fitted winner, when asked to keep them."""

    search_score: float
    score: float
    basis: str
    note: str
    models: list[FittedFold] = field(default_factory=list)
    winner: int | None = None  # the single trial that won (the fresh split may change it)

    @property
    def honest(self) -> bool:
        return self.basis in HONEST


def ensemble_score(selection_score: float, nested_score: float | None) -> Remeasured:
    """An ensemble's score: the nested one when the selection could be rerun without each fold."""
    if nested_score is None:
        return Remeasured(
            selection_score,
            selection_score,
            SELECTED_ON,
            f"best_score is the ensemble's selection score ({selection_score:.4f}): its weights "
            "were chosen on the same predictions, and there was no time or no fold structure to "
            "choose them again without each fold, so expect it to be optimistic.",
        )
    return Remeasured(
        selection_score,
        nested_score,
        NESTED,
        f"best_score is the ensemble's nested score ({nested_score:.4f}): its weights chosen "
        f"again without each fold and scored on that fold; on the predictions that chose the "
        f"weights it scored {selection_score:.4f}.",
    )


def remeasure(
    ranked: Sequence[int],
    outcome: SearchOutcome,
    settings: SearchSettings,
    n_threads: int,
    *,
    after: Callable[[int], float] = lambda number: 0.0,
    keep_models: bool = False,
) -> Remeasured:
    """Cross-validate the chosen trial (``ranked[0]``) again on a split with another seed, and
    the other contenders in ``ranked`` while the budget allows (:func:`fresh_split_plan`); the
    choice is then made again on both splits' folds
    (:func:`autoimb.posthoc.steady.choose_pooled`), and ``winner`` says which trial won.

    ``after(trial)``: seconds of the budget that work after this one still needs if that trial
    wins (its refit). ``keep_models``: keep the fresh folds' fitted winner, so its permutation
    importance costs predictions only.

    Long by design: each reason not to measure again returns its own note.
    """
    name = settings.metric.name
    trials = outcome.study.trials  # one read: on a database storage it fetches every trial
    chosen = ranked[0]
    search_score = float(trials[chosen].value)
    skipped = (
        f"best_score is the {name} of the folds that chose the winner ({search_score:.4f}); "
        "it was not measured again on fresh folds ({why}), so expect it to be optimistic."
    )

    def not_measured(basis: str, note: str) -> Remeasured:
        return Remeasured(search_score, search_score, basis, note, winner=chosen)

    if not settings.remeasure:
        why = "the search was stopped before this step" if settings.stopped else "switched off"
        return not_measured(CHOSEN_ON, skipped.format(why=why))
    finished = sum(t.state == TrialState.COMPLETE for t in trials)
    # They lost on the same folds; a repeat of another trial's strategy fitted nothing.
    pruned = sum(t.state == TrialState.PRUNED and REPEATS not in t.user_attrs for t in trials)
    if finished + pruned < config.MIN_CHOICE:
        # With so few to choose from there is little luck in the choice to take out.
        return not_measured(
            FEW,
            f"best_score is the winner's cross-validated "
            f"{name}, chosen among {finished} finished trial(s)"
            + (f" and {pruned} pruned." if pruned else "."),
        )
    cv = outcome.cv.resplit(outcome.cv.folds.fresh_seeds(outcome.random_state)[0])
    if cv is None:
        drawn = outcome.cv.folds.redrawn(0) is not None  # drawn anew, they came out the same
        how = "come out the same when drawn anew" if drawn else "cannot be drawn anew"
        why = f"{outcome.cv.folds.describe()} {how}"
        return not_measured(CHOSEN_ON, skipped.format(why=why))
    seconds = {n: cross_validation_seconds(trials, [n]) for n in ranked}
    prepare = outcome.cv.split_seconds  # the first one measured prepares the fresh folds
    measured: dict[int, Evaluation] = {}
    for number in fresh_split_plan(ranked, seconds, settings.time_budget, prepare) or [chosen]:
        cost = seconds[number] + (0.0 if measured else prepare)
        if settings.deadline is not None and (
            time.monotonic() + cost + after(number) > settings.deadline
        ):
            if number == chosen:
                why = f"≈{cost:.0f} s, more than the budget left"
                return not_measured(CHOSEN_ON, skipped.format(why=why))
            break
        try:
            # Fold models are kept for the chosen trial only: a raced winner's come from its
            # third split, and four contenders' fold models on large data are a lot of memory.
            keep = keep_models and number == chosen
            measured[number] = _again(trials[number], cv, outcome, settings, n_threads, keep)
        except (Exception, TrialTimeout) as exc:  # a strategy may fail on another split
            if number == chosen:
                # A time cap's own words say what happened; another error is named by type.
                said = str(exc) if isinstance(exc, TrialTimeout) else f"{type(exc).__name__}: {exc}"
                why = f"that failed: {said}"[:300]
                return not_measured(CHOSEN_ON, skipped.format(why=why))
    if len(measured) == 1:
        fresh = measured[chosen].value
        return Remeasured(
            search_score,
            fresh,
            FRESH,
            f"best_score is the winner's {name} on a fresh split into {cv.n_splits} folds "
            f"({fresh:.4f}); on the folds that chose it, it scored {search_score:.4f}.",
            measured[chosen].models,
            chosen,
        )
    winner = _race(measured, trials, cv, settings.metric)
    # The third split costs what the winner's cross-validation cost; the refit must still fit.
    needs = seconds[winner] + prepare + after(winner)
    return _measured_apart(
        winner, measured, trials, outcome, settings, n_threads, needs, keep_models
    )


def _measured_apart(
    winner: int,
    measured: Mapping[int, Evaluation],
    trials: Sequence[Any],
    outcome: SearchOutcome,
    settings: SearchSettings,
    n_threads: int,
    needs: float,
    keep_models: bool,
) -> Remeasured:
    """The raced winner's score on a third split, which chose nothing; where there is no time
    for it, its fresh-split score, which helped choose and so is somewhat optimistic (on small
    dev sets +0.063 against held-out rows, where an unraced winner's fresh score was +0.046)."""
    name, search_score = settings.metric.name, float(trials[winner].value)
    raced = f"a fresh split decided among {len(measured)} close trials"
    third = outcome.cv.resplit(outcome.cv.folds.fresh_seeds(outcome.random_state)[1])
    late = settings.deadline is not None and time.monotonic() + needs > settings.deadline
    if third is not None and not late:
        try:
            again = _again(trials[winner], third, outcome, settings, n_threads, keep_models)
        except (Exception, TrialTimeout):
            again = None
        if again is not None:
            return Remeasured(
                search_score,
                again.value,
                FRESH,
                f"best_score is the winner's {name} on a third split into {third.n_splits} "
                f"folds, which chose nothing ({again.value:.4f}); {raced}, and on the search's "
                f"folds it scored {search_score:.4f}.",
                again.models,
                winner,
            )
    fresh = measured[winner].value
    return Remeasured(
        search_score,
        fresh,
        RACED,
        f"best_score is the winner's {name} on a fresh split ({fresh:.4f}); {raced} on it and "
        "there was no time to measure the winner on a third, so expect it to be somewhat "
        f"optimistic. On the search's folds it scored {search_score:.4f}.",
        measured[winner].models,
        winner,
    )


def _again(
    trial: Any,
    cv: CrossValidation,
    outcome: SearchOutcome,
    settings: SearchSettings,
    n_threads: int,
    keep_models: bool,
) -> Evaluation:
    """A trial's strategy cross-validated on another split, as the search measured trials."""
    return evaluate(
        trial.user_attrs["config"],
        cv,
        settings.metric,
        random_state=outcome.random_state,
        n_threads=n_threads,
        max_rows=row_budget(len(cv.data.y)),
        deadline=settings.deadline,
        pretrained=settings.pretrained,
        member_share=config.SEARCH_MEMBER_SHARE,
        keep_models=keep_models,
    )


def _race(
    measured: Mapping[int, Evaluation], trials: Sequence[Any], cv: CrossValidation, metric: Metric
) -> int:
    """The choice made again on both splits' folds pooled."""
    first = {number: Candidate.of(trials[number]) for number in measured}
    again = {number: evaluation.candidate(number, cv) for number, evaluation in measured.items()}
    return choose_pooled([first, again], metric, standard_errors=config.NOISE_STANDARD_ERRORS)
