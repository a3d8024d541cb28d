"""Weighting stage: class weights, handed to every model as per-row sample weights.

Per-row weights serve every model the same way (LightGBM, XGBoost, scikit-learn), also for
multi-class data where ``scale_pos_weight`` has no meaning, and they combine with the user's own
``sample_weight`` by multiplication.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoimb.components.base import Component, FitContext, register

WEIGHTINGS: dict[str, Component] = {}


def balanced_weights(counts: np.ndarray, power: float = 1.0) -> np.ndarray:
    """``n / (C · count)`` to the given power, renormalised so the total weight stays ``n``."""
    counts = np.asarray(counts, dtype=float)
    present = counts > 0
    weights = np.ones_like(counts)
    weights[present] = (counts.sum() / (present.sum() * counts[present])) ** power
    return weights * counts.sum() / max(float((weights * counts).sum()), 1e-12)


def _explicit(params: Mapping[str, Any], ctx: FitContext) -> np.ndarray:
    weights = np.asarray(params.get("weights", [1.0] * ctx.n_classes), dtype=float)
    if weights.shape != (ctx.n_classes,):
        raise ValueError(
            f"explicit class weights need one weight per class ({ctx.n_classes}); got {weights}"
        )
    return weights


for _component in [
    Component("none", "weighting", lambda params, ctx: None, "Every row weighs the same."),
    Component(
        "balanced",
        "weighting",
        lambda params, ctx: balanced_weights(ctx.class_counts),
        "Weights inversely proportional to class frequency.",
    ),
    Component(
        "tempered",
        "weighting",
        lambda params, ctx: balanced_weights(ctx.class_counts, float(params.get("power", 0.5))),
        "Balanced weights to a power in (0, 1]: part-way between none and balanced.",
    ),
    Component("explicit", "weighting", _explicit, "Per-class weights given by the user."),
]:
    register(WEIGHTINGS, _component)
