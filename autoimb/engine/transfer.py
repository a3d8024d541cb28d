"""Transfer between searches: start from strategies that did well elsewhere.

``warm_start="portfolio"`` enqueues the shipped portfolio (strategies that did well across
all KEEL dev sets, built by ``benchmarks/portfolio.py``), in the order built for the metric's
family (threshold or ranking metrics); an Optuna study, or a ``(storage, study_name)`` pair,
enqueues that earlier study's best strategies; a list of strategy configs enqueues those. Only
strategies that fit the current space — every component in it, every value inside its range —
are used.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import optuna
import yaml
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from autoimb._warnings import user_stacklevel
from autoimb.config import STUDY_ATTR
from autoimb.engine.space import SearchSpace, component_defaults, shipped_space_file
from autoimb.engine.space_initial import takes_no_weights
from autoimb.engine.storage import existing_study
from autoimb.exceptions import AutoImbError, did_you_mean
from autoimb.redact import shown
from autoimb.stages import REGISTRY, STAGES
from autoimb.strategy import DECISION_KEYS

logger = logging.getLogger("autoimb")

PORTFOLIO = "portfolio"
FROM_STUDY = 5

WarmStart = str | optuna.Study | tuple[str, str] | list[dict[str, Any]] | None


def portfolio(kind: str = "threshold") -> list[dict[str, Any]]:
    """The shipped portfolio's strategies, best first for a metric of ``kind``."""
    text = shipped_space_file(PORTFOLIO).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    strategies = list(document["strategies"])
    order = (document.get("order") or {}).get(kind, range(len(strategies)))
    return [strategies[i] for i in order]


def earlier_best(study: optuna.Study, n: int = FROM_STUDY) -> list[dict[str, dict[str, Any]]]:
    if len(study.directions) > 1:
        raise AutoImbError(
            f"warm_start: study {study.study_name!r} has {len(study.directions)} objectives; "
            "give a study of one, as autoimb's are."
        )
    ours = [t for t in study.trials if "config" in t.user_attrs]
    if not ours and STUDY_ATTR not in study.user_attrs:  # another's study: nothing to queue
        raise AutoImbError(
            f"warm_start: study {study.study_name!r} holds no autoimb trial (none of its "
            f"{len(study.trials)} trials has a strategy config); give a study an autoimb search "
            "ran, or a list of strategy configs."
        )
    done = [t for t in ours if t.state == TrialState.COMPLETE]
    if not done:
        warnings.warn(
            f"warm_start: study {study.study_name!r} has no finished trial to start from; the "
            "search starts without it.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    done.sort(key=lambda t: t.value, reverse=maximize)
    return [dict(t.user_attrs["config"]) for t in done[:n]]


def _singles(config: dict[str, Any]) -> list[dict[str, Any]]:
    """A strategy config, or an ensemble's (``best_config`` of one) members, each a trial; a
    stage given by its name alone (``"model": "lightgbm"``) is that component at its defaults."""
    members = config["members"].values() if "members" in config else [config]
    return [
        {key: {"name": c} if isinstance(c, str) else c for key, c in member.items()}
        for member in members
    ]


def check_own_strategies(
    warm_start: WarmStart, space: SearchSpace, available: dict[str, list[str]], kind: str
) -> WarmStart:
    """The user's own strategies: a stage, component or parameter no one has is refused (a
    typo), and one the space cannot run is named with the reason, not skipped in silence. An
    earlier study's are read now, before this search's study is written: a misspelt name must
    leave nothing behind. Returns the warm start to search with."""
    if isinstance(warm_start, optuna.Study | tuple):
        warm_start = strategies(warm_start, kind)
    if not isinstance(warm_start, list):
        strategies(warm_start, kind)  # every form refused now, before the study is written
        return warm_start
    for number, strategy in enumerate(strategies(warm_start), start=1):
        where = f"warm_start strategy {number}"
        for key, choice in strategy.items():
            if key in DECISION_KEYS:  # best_config's; the search tunes its own
                continue
            if key not in STAGES:
                raise AutoImbError(
                    f"{where} has {key!r}, which is no stage"
                    f"{did_you_mean(key, STAGES, aside=True)}; the stages are {list(STAGES)}."
                )
            if not isinstance(choice, dict) or not isinstance(choice.get("name"), str):
                raise AutoImbError(
                    f"{where}: give its {key} as a component's name or as "
                    f"{{'name': ..., parameter: value}}; got {choice!r}."
                )
            name = choice["name"]
            if name not in REGISTRY[key]:
                raise AutoImbError(
                    f"{where}: unknown {key} {name!r}"
                    f"{did_you_mean(name, REGISTRY[key], aside=True)}. "
                    f"Known: {sorted(REGISTRY[key])}."
                )
            params = [*component_defaults()[key].get(name, {}), *REGISTRY[key][name].data_params]
            for param in choice:
                if param != "name" and param not in params:
                    raise AutoImbError(
                        f"{where}: {key} {name!r} has no parameter {param!r}"
                        f"{did_you_mean(param, params, aside=True)}; "
                        f"its parameters: {sorted(params)}."
                    )
        _, reason = fitted(strategy, space, available)
        if reason is not None:
            warnings.warn(
                f"{where} is left out: {reason}; pass a space that holds it (space=...), or "
                "change the strategy.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
    return warm_start


def strategies(warm_start: WarmStart, kind: str = "threshold") -> list[dict[str, Any]]:
    if warm_start is None or warm_start == "none":
        return []
    if warm_start == PORTFOLIO:
        return portfolio(kind)
    if isinstance(warm_start, list) and all(isinstance(s, dict) for s in warm_start):
        return [single for s in warm_start for single in _singles(s)]
    if isinstance(warm_start, optuna.Study):
        return [single for s in earlier_best(warm_start) for single in _singles(s)]
    if isinstance(warm_start, tuple) and len(warm_start) == 2:
        storage, name = warm_start
        study = existing_study(storage, name)  # a journal file is not made just to look
        if study is None:
            raise AutoImbError(f"warm_start: no study {name!r} in {shown(storage)!r}.")
        return [single for s in earlier_best(study) for single in _singles(s)]
    if isinstance(warm_start, dict):
        raise AutoImbError(
            "warm_start takes a list of strategy configs, and got one config, a dict: wrap it in "
            f"a list, warm_start=[{warm_start!r}]."
        )
    raise AutoImbError(
        "warm_start must be 'portfolio', None, an optuna.Study, a (storage, study_name) pair or "
        "a list of strategy configs; "
        f"got {warm_start!r}."
    )


def as_trial_params(
    config: dict[str, dict[str, Any]], space: SearchSpace, available: dict[str, list[str]]
) -> dict[str, Any] | None:
    """Flat Optuna parameters for ``config``, or None when it does not fit the space."""
    return fitted(config, space, available)[0]


def fitted(
    config: dict[str, dict[str, Any]], space: SearchSpace, available: dict[str, list[str]]
) -> tuple[dict[str, Any] | None, str | None]:
    """Flat Optuna parameters for ``config``, or None and why it does not fit the space."""
    flat: dict[str, Any] = {}
    model = (config.get("model") or {}).get("name")
    weightless = model in REGISTRY["model"] and takes_no_weights(model)
    for stage in STAGES:
        choice = config.get(stage) or {"name": "none"}
        name = choice["name"]
        if stage == "weighting" and weightless:
            if name != "none":
                return None, f"its model {model!r} takes no class weights, and it has {name!r}"
            continue  # drawn as none for it, whatever the stage offers
        if name not in available[stage]:
            return None, (
                f"its {stage} {name!r} is not in space {space.name!r} for this data (it offers "
                f"{available[stage]})"
            )
        if len(available[stage]) > 1:
            flat[stage] = name
        searched = space.stages.get(stage, {}).get(name, {})
        defaults = component_defaults()[stage].get(name, {})
        for key, value in choice.items():  # one the space does not name runs at its default
            if key != "name" and key not in searched and value != defaults.get(key, value):
                return None, (
                    f"its {stage} {name!r} has {key}={value!r}, and space {space.name!r} runs "
                    f"it at {defaults[key]!r}"
                )
        for param in searched.values():
            dist = param.distribution
            value = choice.get(param.name, param.default)
            where = f"its {stage} {name!r} has {param.name}={value!r}, and space {space.name!r}"
            if dist is None:
                if value != param.default:
                    return None, f"{where} holds it at {param.default!r}"
                continue
            if isinstance(dist, CategoricalDistribution):
                if value not in dist.choices:
                    return None, f"{where} offers {list(dist.choices)}"
            elif isinstance(value, bool) or not isinstance(value, int | float):
                return None, f"{where} searches numbers"
            elif not dist.low <= value <= dist.high:
                return None, f"{where} searches {dist.low} to {dist.high}"
            elif isinstance(dist, IntDistribution) and not float(value).is_integer():
                return None, f"{where} searches whole numbers"
            flat[f"{stage}.{name}.{param.name}"] = value
    return flat, None
