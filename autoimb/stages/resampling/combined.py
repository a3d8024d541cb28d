"""Combined: SMOTE, then cleaning (Tomek links or edited nearest neighbours)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imblearn import combine

from autoimb.stages.base import Component, FitContext, register
from autoimb.stages.resampling.over import oversampler, smote


def _with_smote(cls: type) -> Any:
    def make(params: Mapping[str, Any], ctx: FitContext, targets: dict, k: int) -> Any:
        return cls(smote=smote(targets, k, ctx), random_state=ctx.random_state)

    return make


register(
    Component(
        "smote_tomek",
        "resampler",
        oversampler(_with_smote(combine.SMOTETomek)),
        "SMOTE, then remove Tomek links.",
        scales=False,
    ),
    Component(
        "smote_enn",
        "resampler",
        oversampler(_with_smote(combine.SMOTEENN)),
        "SMOTE, then edited nearest neighbours cleaning.",
        scales=False,
    ),
)
