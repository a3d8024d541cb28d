"""Balanced ensembles (imbalanced-learn): each member sees a rebalanced sample of the rows.

Balanced random forest, EasyEnsemble, balanced bagging and RUSBoost rebalance inside their own
fit, so the search gives them no class weights on top (``balances_itself``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
from imblearn import ensemble
from sklearn.tree import DecisionTreeClassifier

from autoimb.stages.base import (
    FOREST_CHUNK,
    MAX_FEATURES,
    Component,
    FitContext,
    grow_in_chunks,
    register,
)


def _balanced_random_forest(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.BalancedRandomForestClassifier(
        n_estimators=int(params["n_estimators"]),
        min_samples_leaf=int(params["min_samples_leaf"]),
        max_features=params["max_features"],
        sampling_strategy="all",
        replacement=True,
        bootstrap=False,
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _easy_ensemble(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.EasyEnsembleClassifier(
        n_estimators=int(params["n_estimators"]),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _balanced_bagging(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.BalancedBaggingClassifier(
        estimator=DecisionTreeClassifier(min_samples_leaf=int(params["min_samples_leaf"])),
        n_estimators=int(params["n_estimators"]),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _rusboost(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.RUSBoostClassifier(
        estimator=DecisionTreeClassifier(max_depth=int(params["max_depth"])),
        n_estimators=int(params["n_estimators"]),
        learning_rate=float(params["learning_rate"]),
        random_state=ctx.random_state,
    )


_REDRAWS = 3


def _fit_redrawing(
    model: Any, X: np.ndarray, y: np.ndarray, keywords: dict[str, Any], deadline: float | None
) -> Any:
    """Fit RUSBoost, drawing its undersample again where the first round's tree errs on half
    the weight of all rows: imbalanced-learn refuses such an ensemble, and a tree of depth 2
    on car_good does that on one draw in ten, then fits on the next."""
    for _ in range(_REDRAWS):
        try:
            return model.fit(X, y, **keywords)
        except ValueError as exc:
            if "worse than random" not in str(exc):
                raise
            seed = model.random_state
            model.set_params(random_state=None if seed is None else seed + 1)
    return model.fit(X, y, **keywords)


register(
    Component(
        "balanced_random_forest",
        "model",
        _balanced_random_forest,
        "Random forest whose trees each see a balanced bootstrap.",
        balances_itself=True,
        scales=False,
        fit=partial(grow_in_chunks, sized_by_time=False),
        members="n_estimators",
        fewest_members=FOREST_CHUNK,
        values={"max_features": MAX_FEATURES},
    ),
    Component(
        "easy_ensemble",
        "model",
        _easy_ensemble,
        "AdaBoost learners on balanced random subsets of the majority.",
        sample_weight=False,
        balances_itself=True,
        members="n_estimators",
        fewest_members=3,
    ),
    Component(
        "balanced_bagging",
        "model",
        _balanced_bagging,
        "Bagged trees, each bag undersampled to balance.",
        sample_weight=False,
        balances_itself=True,
        members="n_estimators",
        fewest_members=10,
    ),
    Component(
        "rusboost",
        "model",
        _rusboost,
        "AdaBoost with random undersampling at each round.",
        balances_itself=True,
        fit=_fit_redrawing,
    ),
)
