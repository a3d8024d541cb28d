"""Feature stage: extra columns computed in the fold, such as an anomaly score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.components.anomaly import AnomalyScoreFeatures
from autoimb.components.base import Component, FitContext, register

FEATURES: dict[str, Component] = {}


def _anomaly_score(params: Mapping[str, Any], ctx: FitContext) -> AnomalyScoreFeatures:
    return AnomalyScoreFeatures(
        n_estimators=int(params.get("n_estimators", 100)),
        fit_on=str(params.get("fit_on", "majority")),
        random_state=ctx.random_state,
        n_threads=ctx.n_threads,
    )


for _component in [
    Component("none", "features", lambda params, ctx: None, "The columns as they are."),
    Component(
        "anomaly_score",
        "features",
        _anomaly_score,
        "An isolation forest's anomaly score as one more column, for any model.",
        scales=False,
    ),
]:
    register(FEATURES, _component)
