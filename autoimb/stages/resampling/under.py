"""Under-sampling: random, Tomek links, edited nearest neighbours, NearMiss."""

from __future__ import annotations

from imblearn import under_sampling

from autoimb.stages.base import Component, register
from autoimb.stages.resampling.targets import large_classes, under_targets

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
        lambda params, ctx: under_sampling.TomekLinks(sampling_strategy=large_classes(ctx)),
        "Remove majority rows of Tomek links (cross-class nearest pairs).",
        scales=False,
    ),
    Component(
        "edited_nearest_neighbours",
        "resampler",
        lambda params, ctx: under_sampling.EditedNearestNeighbours(
            sampling_strategy=large_classes(ctx), n_neighbors=int(params["n_neighbors"])
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
            # its neighbours are minority rows: never more than the fold's smallest class has
            n_neighbors=min(3, int(ctx.class_counts.min())),
            n_neighbors_ver3=min(3, int(ctx.class_counts.min())),
        ),
        "Keep the majority rows closest to the minority.",
        scales=False,
        values={"version": (1, 2, 3)},
    ),
)
