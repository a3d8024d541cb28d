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

import numpy as np
import optuna
from optuna.pruners import BasePruner, MedianPruner, SuccessiveHalvingPruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from autoimb import config
from autoimb.engine.budget import fidelities


class FoldPruner(BasePruner):
    """After fold 1, a trial goes on only when it scores among the best ``first_look`` percent
    of the finished trials' first folds (100: always); from fold 2 on, the median rule."""

    def __init__(self, first_look: float, n_startup_trials: int) -> None:
        self.first_look, self.n_startup_trials = first_look, n_startup_trials
        self._later = MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=1)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if trial.last_step != 0:
            return self._later.prune(study, trial)
        if self.first_look >= 100:
            return False
        finished = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if 0 in t.intermediate_values
        ]
        if len(finished) < self.n_startup_trials:
            return False
        scores = np.array([t.intermediate_values[0] for t in finished])
        mine = trial.intermediate_values[0]
        if study.direction == StudyDirection.MAXIMIZE:
            return bool(mine < np.percentile(scores, 100 - self.first_look))
        return bool(mine > np.percentile(scores, self.first_look))


def pruner_for(n_rows: int) -> BasePruner:
    if len(fidelities(n_rows)) > 1:
        # Successive halving over data size: a trial climbs to the next, larger training
        # sample only if it is among the best third at its current one.
        return SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=config.FIDELITY_FACTOR, min_early_stopping_rate=0
        )
    return FoldPruner(config.FIRST_LOOK_KEEP, config.PRUNE_AFTER_TRIALS)
