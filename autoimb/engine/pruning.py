"""When a trial stops early: successive halving over data size on large data, fold-level
pruning otherwise.

Fold-level pruning can take a first look after the first fold: a trial that scores there below
what most finished trials scored on that fold stops. A strategy that bad on one fold is rarely
the winner, and stopping it after one fold instead of three is most of what a pruned trial
costs. From the second fold on, a trial below the median of the others stops. The first look
is off by default: on 67 small dev sets it ran more trials per minute at no better held-out
score (benchmarks/RESULTS.md, "Pruning from the first fold").
"""

from __future__ import annotations

import optuna
from optuna.pruners import BasePruner, MedianPruner, PercentilePruner, SuccessiveHalvingPruner
from optuna.trial import FrozenTrial

from autoimb import config
from autoimb.engine.budget import fidelities


class FoldPruner(BasePruner):
    """After fold 1, a trial goes on only when it scores among the best ``first_look`` percent
    of the finished trials' first folds (100: always); from fold 2 on, the median rule."""

    def __init__(self, first_look: float, n_startup_trials: int) -> None:
        self.first_look = first_look
        self._first = (
            PercentilePruner(first_look, n_startup_trials=n_startup_trials, n_warmup_steps=0)
            if first_look < 100
            else None
        )
        self._later = MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=1)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if trial.last_step != 0:
            return self._later.prune(study, trial)
        return self._first is not None and self._first.prune(study, trial)


def pruner_for(n_rows: int) -> BasePruner:
    if len(fidelities(n_rows)) > 1:
        # Successive halving over data size: a trial climbs to the next, larger training
        # sample only if it is among the best third at its current one.
        return SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=config.FIDELITY_FACTOR, min_early_stopping_rate=0
        )
    return FoldPruner(config.FIRST_LOOK_KEEP, config.PRUNE_AFTER_TRIALS)
