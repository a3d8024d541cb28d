"""Random forests and extremely randomised trees, grown in chunks so the time cap can stop them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from autoimb.stages.base import (
    FOREST_CHUNK,
    MAX_FEATURES,
    Component,
    FitContext,
    grow_in_chunks,
    register,
)


def _forest(cls: type) -> Any:
    def build(params: Mapping[str, Any], ctx: FitContext) -> Any:
        return cls(
            n_estimators=int(params["n_estimators"]),
            min_samples_leaf=int(params["min_samples_leaf"]),
            max_features=params["max_features"],
            n_jobs=ctx.n_threads,
            random_state=ctx.random_state,
        )

    return build


register(
    Component(
        "random_forest",
        "model",
        _forest(RandomForestClassifier),
        "Random forest.",
        scales=False,
        fit=grow_in_chunks,
        members="n_estimators",
        fewest_members=FOREST_CHUNK,
        values={"max_features": MAX_FEATURES},
    ),
    Component(
        "extra_trees",
        "model",
        _forest(ExtraTreesClassifier),
        "Extremely randomised trees.",
        scales=False,
        fit=grow_in_chunks,
        members="n_estimators",
        fewest_members=FOREST_CHUNK,
        values={"max_features": MAX_FEATURES},
    ),
)
