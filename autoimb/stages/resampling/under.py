"""Under-sampling: random, Tomek links, edited nearest neighbours, NearMiss."""

from __future__ import annotations

from imblearn import under_sampling

from autoimb.stages.base import Component, register
from autoimb.stages.resampling.targets import under_targets

register(
    Component(
        "random_under",
        "resampler",
        lambda params, ctx: under_sampling.RandomUnderSampler(
            sampling_strategy=under_targets(ctx, float(params["sampling_ratio"])),
            random_state=ctx.random_state,
        ),
        "Drop random majority rows.",
    ),
    Component(
        "tomek_links",
        "resampler",
        lambda params, ctx: under_sampling.TomekLinks(),
        "Remove majority rows of Tomek links (cross-class nearest pairs).",
        scales=False,
    ),
    Component(
        "edited_nearest_neighbours",
        "resampler",
        lambda params, ctx: under_sampling.EditedNearestNeighbours(
            n_neighbors=int(params["n_neighbors"])
        ),
        "Remove majority rows whose neighbours disagree with them.",
        scales=False,
    ),
    Component(
        "near_miss",
        "resampler",
        lambda params, ctx: under_sampling.NearMiss(
            sampling_strategy=under_targets(ctx, float(params["sampling_ratio"])),
            version=int(params["version"]),
        ),
        "Keep the majority rows closest to the minority.",
        scales=False,
    ),
)
