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
from optuna.trial import TrialState

from autoimb.engine.space import SearchSpace
from autoimb.engine.space_initial import takes_no_weights
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
    parameter is drawn from a continuous range. Counted by sample's own rules: the model
    first, and no weighting for a model that takes none, no features stage for one that
    reads the columns as given."""
    usable = {"n_classes": n_classes, "sample_weight": sample_weight, "n_rows": n_rows}
    total = 0.0
    for model in space.available("model", **usable):
        ways = _settings(space, "model", model)
        for stage in STAGES:
            if stage == "model":
                continue
            names = space.available(stage, **usable)
            if stage == "weighting" and takes_no_weights(model):
                names = ["none"]
            if stage == "features" and model in read_as_given:
                names = ["none"]
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


def _key(strategy: Mapping[str, Any] | None) -> str:
    return json.dumps(strategy, sort_keys=True, default=str)


def repeated_trial(study: optuna.Study, strategy: Mapping[str, Any]) -> int | None:
    """The first complete trial that drew ``strategy``, if any."""
    key = _key(strategy)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if _key(trial.user_attrs.get("config")) == key:
            return trial.number
    return None


def tried_every_strategy(study: optuna.Study, strategies: int) -> bool:
    """Whether each of a finite space's ``strategies`` has a trial that ran to an end: done,
    failed with its error, or stopped by the pruner or its time cap (run again, it would be
    stopped again)."""
    finished = ran_to_an_end(study.get_trials(deepcopy=False))
    if len(finished) < strategies:
        return False
    drawn = {_key(t.user_attrs["config"]) for t in finished if "config" in t.user_attrs}
    return len(drawn) >= strategies
