"""How many strategies a space holds, and which a study has tried.

A strategy drawn again is fitted on the same folds with the same seed, so it scores as it did:
a space of two strategies searched for 6 s ran 145 trials of them. A trial that draws a
finished trial's strategy is pruned before it fits anything, and a search whose space is
finite stops once every one of its strategies has run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from autoimb.engine.space import SearchSpace
from autoimb.engine.space_params import Param
from autoimb.leaderboard import ran_to_an_end
from autoimb.stages import STAGES


def strategy_count(
    space: SearchSpace,
    *,
    n_classes: int = 2,
    sample_weight: bool = False,
    n_rows: int = 0,
    read_as_given: tuple[str, ...] = (),
) -> int | None:
    """How many strategies :meth:`SearchSpace.sample` can draw on this data; None where a
    parameter is drawn from a continuous range. Counted by sample's own rules
    (:meth:`SearchSpace.choices`): the model first, the other stages beside it."""
    usable = {"n_classes": n_classes, "sample_weight": sample_weight, "n_rows": n_rows}
    total = 0.0
    for model in space.choices("model", None, **usable):
        ways = _settings(space, "model", model)
        for stage in [s for s in STAGES if s != "model"]:
            names = space.choices(stage, model, read_as_given=read_as_given, **usable)
            ways *= sum(_settings(space, stage, name) for name in names)
        total += ways
    return None if math.isinf(total) else int(total)


def _settings(space: SearchSpace, stage: str, name: str) -> float:
    params = space.stages.get(stage, {}).get(name, {})
    return math.prod(_values(param) for param in params.values())


def _values(param: Param) -> float:
    """How many values a parameter can be drawn with (infinity for a continuous range)."""
    dist = param.distribution
    if dist is None:
        return 1
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return len(dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return (dist.high - dist.low) // dist.step + 1
    if isinstance(dist, optuna.distributions.FloatDistribution) and dist.step is not None:
        return round((dist.high - dist.low) / dist.step) + 1
    return 1 if dist.low == dist.high else math.inf


# A trial its time cap or the budget's end cut: its strategy may finish with more time, so it
# is neither tried for good nor a strategy a later trial must not fit again.
CUT_BY_TIME = "cut_by_time"


def _key(strategy: Mapping[str, Any] | None) -> str:
    return json.dumps(strategy, sort_keys=True, default=str)


def _settled(trial: FrozenTrial) -> bool:
    """Whether the trial's strategy, fitted again on the same folds, would end the same: done,
    failed with its error, or pruned against the other trials' scores."""
    if trial.state == TrialState.PRUNED:
        return not trial.user_attrs.get(CUT_BY_TIME)
    return trial.state in (TrialState.COMPLETE, TrialState.FAIL)


def _on_grid(trial: FrozenTrial) -> bool:
    """Whether the sampler could draw the trial's settings: a strategy queued off the space's
    grid (a default between its steps, a warm start's value) is none of its strategies."""
    for name, value in trial.params.items():
        dist = trial.distributions.get(name)
        try:
            if dist is not None and not dist._contains(dist.to_internal_repr(value)):
                return False
        except (TypeError, ValueError, AttributeError):  # a form Optuna does not know
            return False
    return True


class SettledStrategies:
    """The strategies a study's trials settled, each trial's key made once: the study is read
    at every trial, and a search of thousands of trials would write every key again."""

    def __init__(self, count: int | None) -> None:
        self.count = count  # the space's strategies; None: no end
        self._keys: dict[int, str | None] = {}

    def _key_of(self, trial: FrozenTrial) -> str | None:
        if trial.number not in self._keys:
            config = trial.user_attrs.get("config")
            self._keys[trial.number] = None if config is None else _key(config)
        return self._keys[trial.number]

    def _settled_trials(self, study: optuna.Study) -> list[FrozenTrial]:
        return [t for t in ran_to_an_end(study.get_trials(deepcopy=False)) if _settled(t)]

    def repeated(self, study: optuna.Study, strategy: Mapping[str, Any]) -> int | None:
        """The first trial that settled ``strategy``, if any."""
        key = _key(strategy)
        return next((t.number for t in self._settled_trials(study) if self._key_of(t) == key), None)

    def every_one(self, study: optuna.Study) -> bool:
        """Whether each strategy of a finite space has settled (a trial of each ran to an end
        that another would repeat), counting only the strategies the space can draw."""
        if self.count is None:
            return False
        settled = [t for t in self._settled_trials(study) if _on_grid(t)]
        if len(settled) < self.count:
            return False
        return len({self._key_of(t) for t in settled} - {None}) >= self.count
