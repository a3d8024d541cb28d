"""The winner's score measured again, on folds that played no part in choosing it.

The best of many trials is the one whose folds happened to suit it: its own cross-validated score
is the maximum of noisy estimates and promises more than new data gives (the winner's curse).
Cross-validating the chosen strategy once more on a fresh split of the same rows removes the
luck of the fold assignment. It cannot remove the luck of the rows themselves: a strategy that
suits these particular rows still looks better here than on new data, most of all on small
data; ``SearchResult.score_interval`` is how far to trust the number.

An ensemble's weights were chosen on the out-of-fold predictions, so their score on those
predictions is a selection score; its honest score is the nested one, with the weights chosen
again without each fold (:mod:`autoimb.posthoc.selection`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import TrialState

from autoimb import config
from autoimb.data.dataset import Dataset
from autoimb.engine.budget import cross_validation_seconds, row_budget
from autoimb.engine.evaluate import FittedFold, evaluate
from autoimb.engine.run import SearchOutcome
from autoimb.engine.settings import SearchSettings
from autoimb.exceptions import TrialTimeout
from autoimb.posthoc.ensemble import blend
from autoimb.posthoc.threshold import honest_score

__all__ = ["Remeasured", "ensemble_score", "remeasure"]


# How ``best_score`` was measured; the words the CLI, the report and the model card show.
FRESH = "cross-validated on fresh folds"
NESTED = "nested: ensemble weights chosen again without each fold"
FEW = "cross-validated"  # chosen among so few trials that there is little luck to remove
CHOSEN_ON = "on the folds that chose it: optimistic"
SELECTED_ON = "the ensemble's selection score: optimistic"


@dataclass
class Remeasured:
    """``best_score`` (``score``), how it was measured (``basis``), and the score that chose;
    ``models``: the fresh folds' fitted winner, when asked to keep them."""

    search_score: float
    score: float
    basis: str
    note: str
    models: list[FittedFold] = field(default_factory=list)

    @property
    def honest(self) -> bool:
        return self.basis in (FRESH, NESTED, FEW)


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
    configs: Mapping[int, Mapping[str, Any]],
    weights: Mapping[int, float],
    search_score: float,
    outcome: SearchOutcome,
    settings: SearchSettings,
    data: Dataset,
    n_threads: int,
    *,
    after: float = 0.0,
    keep_models: bool = False,
) -> Remeasured:
    """Cross-validate the single winner on a split with another seed.

    ``after``: seconds of the budget that work after this one still needs (the refit).
    ``keep_models``: keep the fresh folds' fitted winner, so its permutation importance costs
    predictions only.

    Long by design: each reason not to measure again returns its own note.
    """
    name = settings.metric.name
    skipped = (
        f"best_score is the {name} of the folds that chose the winner ({search_score:.4f}); "
        "it was not measured again on fresh folds ({why}), so expect it to be optimistic."
    )
    if not settings.remeasure:
        return Remeasured(search_score, search_score, CHOSEN_ON, skipped.format(why="switched off"))
    trials = outcome.study.trials  # one read: on a database storage it fetches every trial
    finished = sum(t.state == TrialState.COMPLETE for t in trials)
    if finished < config.MIN_CHOICE:
        # With so few to choose from there is little luck in the choice to take out.
        return Remeasured(
            search_score,
            search_score,
            FEW,
            f"best_score is the winner's cross-validated "
            f"{name}, chosen among {finished} finished trial(s).",
        )
    cost = cross_validation_seconds(trials, configs)
    if settings.deadline is not None and time.monotonic() + cost + after > settings.deadline:
        why = f"≈{cost:.0f} s, more than the budget left"
        return Remeasured(search_score, search_score, CHOSEN_ON, skipped.format(why=why))
    cv = outcome.cv.resplit(outcome.random_state + 1)
    if cv is None:
        why = f"{outcome.cv.folds.describe()} cannot be drawn anew"
        return Remeasured(search_score, search_score, CHOSEN_ON, skipped.format(why=why))
    try:
        measured = {
            n: evaluate(
                strategy,
                cv,
                settings.metric,
                random_state=outcome.random_state,
                n_threads=n_threads,
                max_rows=row_budget(len(data.y)),
                deadline=settings.deadline,
                pretrained=settings.pretrained,
                member_share=config.SEARCH_MEMBER_SHARE,
                keep_models=keep_models and len(configs) == 1,
            )
            for n, strategy in configs.items()
        }
        oof = {n: m.oof for n, m in measured.items()}
        proba = blend(oof, weights) if len(oof) > 1 else next(iter(oof.values()))
        y, proba, fold_ids, rows = cv.scores(data.y, proba, cv.fold_ids, data.sample_weight)
        fresh, _ = honest_score(
            y, proba, fold_ids, settings.metric, sample_weight=rows, pos_label=data.pos_label
        )
    except (Exception, TrialTimeout) as exc:  # a strategy may fail on another split
        why = f"that failed: {type(exc).__name__}: {exc}"[:300]
        return Remeasured(search_score, search_score, CHOSEN_ON, skipped.format(why=why))
    return Remeasured(
        search_score,
        fresh,
        FRESH,
        f"best_score is the winner's {name} on a fresh split into {cv.n_splits} folds "
        f"({fresh:.4f}); on the folds that chose it, it scored {search_score:.4f}.",
        [fitted for m in measured.values() for fitted in m.models],
    )
