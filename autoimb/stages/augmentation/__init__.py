"""Augmentation stage: new minority rows made from the minority itself, before resampling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.stages.augmentation.minority import CAT_MODES, MinorityJitter, MinorityMixup
from autoimb.stages.base import Component, FitContext, register


def _jitter(params: Mapping[str, Any], ctx: FitContext) -> MinorityJitter:
    return MinorityJitter(
        ratio=float(params["ratio"]),
        noise_scale=float(params["noise_scale"]),
        n_cat=ctx.n_cat,
        cat_mode=str(params["cat_mode"]),
        random_state=ctx.random_state,
    )


def _mixup(params: Mapping[str, Any], ctx: FitContext) -> MinorityMixup:
    return MinorityMixup(
        ratio=float(params["ratio"]),
        alpha=float(params["alpha"]),
        n_cat=ctx.n_cat,
        cat_mode=str(params["cat_mode"]),
        random_state=ctx.random_state,
    )


register(
    Component(
        "jitter",
        "augmenter",
        _jitter,
        "Minority copies with Gaussian noise scaled per feature.",
        values={"cat_mode": CAT_MODES},
    ),
    Component(
        "mixup",
        "augmenter",
        _mixup,
        "Convex mixes of two rows of the same minority class.",
        values={"cat_mode": CAT_MODES},
    ),
)
