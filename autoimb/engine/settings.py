"""Everything a search needs besides the data: one object instead of many arguments."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from autoimb import config
from autoimb.engine.space import SearchSpace
from autoimb.engine.splits import Folds, as_folds
from autoimb.engine.transfer import WarmStart
from autoimb.metrics.registry import Metric

TrialCallback = Callable[[optuna.Study, FrozenTrial], None]


@dataclass
class SearchSettings:
    """Everything a search needs besides the data; one object instead of many arguments."""

    metric: Metric
    space: SearchSpace
    time_budget: float | None = None
    n_trials: int | None = None
    cv: Folds = field(default_factory=Folds)  # a number of folds is taken as stratified folds
    storage: str | optuna.storages.BaseStorage | None = None
    study_name: str | None = None
    n_jobs: int = 1
    random_state: int | None = None
    callbacks: Sequence[TrialCallback] = field(default_factory=tuple)
    warm_start: WarmStart = config.DEFAULT_WARM_START
    data_source: dict[str, Any] | None = None
    heartbeat: int | None = None  # asked; None takes the study's, else the default
    pretrained: dict[str, Any] = field(default_factory=dict)
    ensemble: bool = True
    advice: bool = False
    remeasure: bool = True
    importance: bool = True  # the winner's permutation importance, when the budget has room
    # The search was stopped (Ctrl-C, SIGTERM) and its best so far is saved: the steps skipped
    # for that say so, not that the user switched them off.
    stopped: bool = False
    allow_other_data: bool = False  # resume a study created on other data (its scores mix)
    # False: the trials are all there is (a worker that writes no model), and take the whole
    # budget; no time is kept back for a final model.
    final_model: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.cv, Folds):
            self.cv = as_folds(self.cv)

    @property
    def advice_share(self) -> float:
        """Share of the budget kept after the trials for the learning-curve advice."""
        return config.ADVICE_SHARE if self.advice else 0.0

    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float | None:
        return None if self.time_budget is None else self.started + self.time_budget
