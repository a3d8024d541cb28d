"""Weighting stage (cost-sensitive learning): class weights as per-row sample weights.

Per-row weights serve every model the same way (LightGBM, XGBoost, scikit-learn), also for
multi-class data where ``scale_pos_weight`` has no meaning, and they combine with the user's own
``sample_weight`` by multiplication. The deep models' cost-sensitive losses (weighted
cross-entropy, focal, class-balanced) use the same weight formulas (``stages/class_weights.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoimb.stages.base import Component, FitContext, register
from autoimb.stages.class_weights import balanced_weights


def _explicit(params: Mapping[str, Any], ctx: FitContext) -> np.ndarray:
    # The one default a builder keeps: equal weights depend on the number of classes, which
    # only the data knows, so no YAML space can hold them.
    weights = np.asarray(params.get("weights", [1.0] * ctx.n_classes), dtype=float)
    if weights.shape != (ctx.n_classes,):
        raise ValueError(
            f"explicit class weights need one weight per class ({ctx.n_classes}); got {weights}"
        )
    return weights


register(
    Component(
        "balanced",
        "weighting",
        lambda params, ctx: balanced_weights(ctx.class_totals),
        "Weights inversely proportional to class frequency.",
    ),
    Component(
        "tempered",
        "weighting",
        lambda params, ctx: balanced_weights(ctx.class_totals, float(params["power"])),
        "Balanced weights to a power in (0, 1]: part-way between none and balanced.",
    ),
    Component(
        "explicit",
        "weighting",
        _explicit,
        "Per-class weights given by the user (weights: one per class, in label order).",
        data_params=("weights",),
    ),
)
