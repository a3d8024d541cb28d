"""A winner's strategy comes in two shapes: one trial's stages, or an ensemble of trials.

``best_config`` and a model card hold it as a plain mapping (readable, JSON-safe); code that
must tell the shapes apart parses it here once instead of testing for keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Keys a model card or ``best_config`` adds beside the strategy: the decision, not a stage.
DECISION_KEYS = ("threshold", "probability_threshold", "class_scale")


@dataclass(frozen=True)
class Single:
    """One trial's strategy: stage -> {"name": component, **its parameters}."""

    stages: dict[str, dict[str, Any]]

    def to_config(self) -> dict[str, Any]:
        return {stage: dict(choice) for stage, choice in self.stages.items()}


@dataclass(frozen=True)
class Ensemble:
    """Trials whose out-of-fold probabilities are blended with these weights."""

    weights: dict[int, float]
    members: dict[int, Single]

    def to_config(self) -> dict[str, Any]:
        return {
            "weights": {str(n): w for n, w in self.weights.items()},
            "members": {str(n): m.to_config() for n, m in self.members.items()},
        }


Strategy = Single | Ensemble


def parse_strategy(config: Mapping[str, Any]) -> Strategy:
    """Either shape, from ``best_config``, a model card's ``config`` or a trial's config."""
    if "members" in config:
        weights = {int(n): float(w) for n, w in (config.get("weights") or {}).items()}
        members = {int(n): parse_single(c) for n, c in config["members"].items()}
        return Ensemble(weights or {n: 1.0 / len(members) for n in members}, members)
    return parse_single(config)


def parse_single(config: Mapping[str, Any]) -> Single:
    return Single(
        {
            stage: dict(choice) if isinstance(choice, Mapping) else {"name": str(choice)}
            for stage, choice in config.items()
            if stage not in DECISION_KEYS
        }
    )


def strategy_stages(config: Mapping[str, Any]) -> dict[str, Any]:
    """The strategy without the decision fields a model card merges into it."""
    return parse_strategy(config).to_config()


def strategy_label(config: Mapping[str, Any] | None) -> str:
    """A short name for a strategy, model first, leaving out the stages that do nothing."""
    if not config:
        return "?"
    strategy = parse_strategy(config)
    if isinstance(strategy, Ensemble):
        return "ensemble of trials " + ", ".join(str(n) for n in strategy.members)
    names = {stage: str(choice.get("name", "none")) for stage, choice in strategy.stages.items()}
    parts = [names.pop("model", "?")]
    for stage, name in names.items():
        if name not in ("none", "None"):
            parts.append(f"{name} weights" if stage == "weighting" else name)
    return " + ".join(parts)
