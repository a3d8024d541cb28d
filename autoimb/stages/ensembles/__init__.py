"""Ensemble stage: the trial's model alone, bagged within each class, or soft-voted / stacked
with a partner model of another family.

The partner is looked up in the registry by name and built at its defaults (the YAML spaces'
``default:`` values, handed in as ``FitContext.defaults``), so this stage imports no other
stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from autoimb.exceptions import AutoImbError
from autoimb.stages.base import REGISTRY, Component, FitContext, register
from autoimb.stages.ensembles.combined import (
    BaggedClassifier,
    CombinedClassifier,
    Member,
    StackedClassifier,
)

# The partner a voting or stacking ensemble adds: a model of another family than most trials'.
PARTNERS = ("logistic_regression", "lightgbm", "extra_trees")

# Given the trial's model and its fit options: the ensemble, and every member's fit options.
Combine = Callable[[Member, dict[str, Any]], tuple[CombinedClassifier, list[dict[str, Any]]]]


def partner(name: str, ctx: FitContext) -> tuple[Member, dict[str, Any]]:
    """The partner model at its defaults (``ctx.defaults``), and its fit options. It starts
    afresh: a pretrained model is where the trial's own model starts, and it reads the columns
    as given, where the partner may read those a features stage added."""
    ctx = dataclasses.replace(ctx, pretrained={})
    component = REGISTRY["model"][name]
    return (component.make({}, ctx), name), component.fit_params(ctx)


def _partner_name(params: Mapping[str, Any]) -> str:
    name = str(params["partner"])
    if name not in PARTNERS:
        raise AutoImbError(f"ensemble partner must be one of {list(PARTNERS)}, got {name!r}.")
    return name


# Each builder reads its parameters when it is called, so a missing one fails at build time.
def _bagging(params: Mapping[str, Any], ctx: FitContext) -> Combine:
    n_estimators = int(params["n_estimators"])

    def combine(model: Member, options: dict[str, Any]) -> tuple[CombinedClassifier, list]:
        return BaggedClassifier([model], n_estimators, ctx.random_state), [options]

    return combine


def _voting(params: Mapping[str, Any], ctx: FitContext) -> Combine:
    name = _partner_name(params)

    def combine(model: Member, options: dict[str, Any]) -> tuple[CombinedClassifier, list]:
        other, other_options = partner(name, ctx)
        return CombinedClassifier([model, other]), [options, other_options]

    return combine


def _stacking(params: Mapping[str, Any], ctx: FitContext) -> Combine:
    name, n_folds, C = _partner_name(params), int(params["n_folds"]), float(params["C"])

    def combine(model: Member, options: dict[str, Any]) -> tuple[CombinedClassifier, list]:
        other, other_options = partner(name, ctx)
        stacked = StackedClassifier(
            [model, other], n_folds=n_folds, C=C, random_state=ctx.random_state
        )
        return stacked, [options, other_options]

    return combine


register(
    Component(
        "bagging",
        "ensemble",
        _bagging,
        "The model fitted on bootstraps drawn within each class, probabilities averaged.",
        members="n_estimators",
        fewest_members=3,
    ),
    Component(
        "soft_voting",
        "ensemble",
        _voting,
        "The model and a partner of another family, probabilities averaged.",
        values={"partner": PARTNERS},
    ),
    Component(
        "stacking",
        "ensemble",
        _stacking,
        "The model and a partner, combined by a logistic regression on out-of-fold outputs.",
        values={"partner": PARTNERS},
    ),
)
