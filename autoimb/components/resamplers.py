"""Resampling stage: imbalanced-learn's over-, under- and combined samplers.

Targets are computed per fold from the fold's class counts, so a searched ``sampling_ratio``
means the same thing for binary and multi-class data, and neighbour counts are clipped to what
the fold's smallest oversampled class allows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from imblearn import combine, over_sampling, under_sampling
from sklearn.cluster import MiniBatchKMeans

from autoimb.components.base import Component, FitContext, register

logger = logging.getLogger("autoimb")

RESAMPLERS: dict[str, Component] = {}


def over_targets(ctx: FitContext, ratio: float) -> dict[int, int]:
    """Grow every class below ``ratio × majority`` up to it, within the row budget."""
    counts = ctx.class_counts
    majority = counts.max()
    targets = {c: max(int(n), round(ratio * majority)) for c, n in enumerate(counts)}
    if ctx.max_rows is not None:
        added = sum(targets.values()) - ctx.n_rows
        room = max(ctx.max_rows - ctx.n_rows, 0)
        if added > room:
            logger.info(
                "oversampling capped: %d synthetic rows asked, %d allowed by the row budget",
                added,
                room,
            )
            scale = room / added
            targets = {c: int(n) + int((targets[c] - n) * scale) for c, n in enumerate(counts)}
    return targets


def under_targets(ctx: FitContext, ratio: float) -> dict[int, int]:
    """Shrink every class above ``minority / ratio`` down to it."""
    counts = ctx.class_counts
    ceiling = int(np.ceil(counts.min() / ratio))
    return {c: min(int(n), ceiling) for c, n in enumerate(counts)}


def clipped_neighbors(ctx: FitContext, targets: Mapping[int, int], wanted: int) -> int:
    """The largest neighbour count the smallest class that gets new rows can support."""
    grown = [c for c, n in targets.items() if n > ctx.class_counts[c]]
    if not grown:
        return 0
    smallest = int(min(ctx.class_counts[c] for c in grown))
    return max(0, min(int(wanted), smallest - 1))


def _smote(targets: dict[int, int], k: int, ctx: FitContext) -> Any:
    """SMOTE, or SMOTE-NC / SMOTE-N when some columns are categorical."""
    if ctx.n_cat and ctx.n_cat == ctx.n_features:
        return over_sampling.SMOTEN(
            sampling_strategy=targets, k_neighbors=k, random_state=ctx.random_state
        )
    if ctx.n_cat:
        return over_sampling.SMOTENC(
            categorical_features=ctx.cat_indices,
            sampling_strategy=targets,
            k_neighbors=k,
            random_state=ctx.random_state,
        )
    return over_sampling.SMOTE(
        sampling_strategy=targets, k_neighbors=k, random_state=ctx.random_state
    )


def _oversampler(make: Any, neighbours_arg: str = "k_neighbors") -> Any:
    """Wrap a builder so it gets fold-sized targets and neighbours, or no-op when impossible."""

    def build(params: Mapping[str, Any], ctx: FitContext) -> Any:
        targets = over_targets(ctx, float(params.get("sampling_ratio", 1.0)))
        k = clipped_neighbors(ctx, targets, int(params.get(neighbours_arg, 5)))
        if k < 1:
            logger.debug("resampling skipped: the fold's minority is too small for neighbours")
            return None
        return make(params, ctx, targets, k)

    return build


def _numeric_only(make: Any) -> Any:
    """Samplers that interpolate every column fall back to SMOTE-NC / SMOTE-N with categories."""

    def build(params: Mapping[str, Any], ctx: FitContext, targets: dict, k: int) -> Any:
        if ctx.n_cat:
            return _smote(targets, k, ctx)
        return make(params, ctx, targets, k)

    return build


class KMeansSMOTEOrSMOTE(over_sampling.KMeansSMOTE):
    """K-means SMOTE that falls back to SMOTE when no cluster holds enough minority rows.

    Small or scattered minorities often leave K-means SMOTE without a usable cluster; plain
    SMOTE is then the nearest strategy, rather than a lost trial.
    """

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            return super()._fit_resample(X, y)
        except RuntimeError as exc:
            logger.debug("k-means SMOTE fell back to SMOTE: %s", exc)
            fallback = over_sampling.SMOTE(
                sampling_strategy=self.sampling_strategy,
                k_neighbors=self.k_neighbors,
                random_state=self.random_state,
            )
            return fallback.fit_resample(X, y)


def _with_smote(cls: type) -> Any:
    def make(params: Mapping[str, Any], ctx: FitContext, targets: dict, k: int) -> Any:
        return cls(smote=_smote(targets, k, ctx), random_state=ctx.random_state)

    return make


for _component in [
    Component("none", "resampler", lambda params, ctx: None, "No resampling."),
    Component(
        "random_over",
        "resampler",
        lambda params, ctx: over_sampling.RandomOverSampler(
            sampling_strategy=over_targets(ctx, float(params.get("sampling_ratio", 1.0))),
            random_state=ctx.random_state,
        ),
        "Duplicate random minority rows.",
    ),
    Component(
        "smote",
        "resampler",
        _oversampler(lambda params, ctx, targets, k: _smote(targets, k, ctx)),
        "SMOTE; SMOTE-NC or SMOTE-N when columns are categorical.",
    ),
    Component(
        "borderline_smote",
        "resampler",
        _oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: over_sampling.BorderlineSMOTE(
                    sampling_strategy=targets,
                    k_neighbors=k,
                    m_neighbors=int(params.get("m_neighbors", 10)),
                    kind=str(params.get("kind", "borderline-1")),
                    random_state=ctx.random_state,
                )
            )
        ),
        "SMOTE on the minority rows near the class border.",
        scales=False,
    ),
    Component(
        "svm_smote",
        "resampler",
        _oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: over_sampling.SVMSMOTE(
                    sampling_strategy=targets,
                    k_neighbors=k,
                    m_neighbors=int(params.get("m_neighbors", 10)),
                    random_state=ctx.random_state,
                )
            )
        ),
        "SMOTE along the support vectors of an SVM.",
        scales=False,
    ),
    Component(
        "adasyn",
        "resampler",
        _oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: over_sampling.ADASYN(
                    sampling_strategy=targets, n_neighbors=k, random_state=ctx.random_state
                )
            ),
            neighbours_arg="n_neighbors",
        ),
        "Adaptive synthetic sampling: more new rows where the minority is hard to learn.",
        scales=False,
    ),
    Component(
        "kmeans_smote",
        "resampler",
        _oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: KMeansSMOTEOrSMOTE(
                    sampling_strategy=targets,
                    k_neighbors=k,
                    kmeans_estimator=MiniBatchKMeans(
                        n_clusters=int(params.get("n_clusters", 8)),
                        n_init=3,
                        random_state=ctx.random_state,
                    ),
                    cluster_balance_threshold=float(params.get("cluster_balance_threshold", 0.1)),
                    random_state=ctx.random_state,
                )
            )
        ),
        "SMOTE inside k-means clusters where the minority is dense.",
    ),
    Component(
        "random_under",
        "resampler",
        lambda params, ctx: under_sampling.RandomUnderSampler(
            sampling_strategy=under_targets(ctx, float(params.get("sampling_ratio", 1.0))),
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
            n_neighbors=int(params.get("n_neighbors", 3))
        ),
        "Remove majority rows whose neighbours disagree with them.",
        scales=False,
    ),
    Component(
        "near_miss",
        "resampler",
        lambda params, ctx: under_sampling.NearMiss(
            sampling_strategy=under_targets(ctx, float(params.get("sampling_ratio", 1.0))),
            version=int(params.get("version", 1)),
        ),
        "Keep the majority rows closest to the minority.",
        scales=False,
    ),
    Component(
        "smote_tomek",
        "resampler",
        _oversampler(_with_smote(combine.SMOTETomek)),
        "SMOTE, then remove Tomek links.",
        scales=False,
    ),
    Component(
        "smote_enn",
        "resampler",
        _oversampler(_with_smote(combine.SMOTEENN)),
        "SMOTE, then edited nearest neighbours cleaning.",
        scales=False,
    ),
]:
    register(RESAMPLERS, _component)
