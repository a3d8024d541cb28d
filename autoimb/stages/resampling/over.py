"""Over-sampling: random duplicates and the SMOTE family (SMOTE, SMOTE-NC / SMOTE-N,
Borderline-SMOTE, SVM-SMOTE, ADASYN, K-means SMOTE)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from imblearn import over_sampling
from sklearn.cluster import MiniBatchKMeans

from autoimb.stages.base import Component, FitContext, register
from autoimb.stages.resampling.blocked_smote import BlockedSMOTENC
from autoimb.stages.resampling.targets import clipped_neighbors, over_targets

logger = logging.getLogger("autoimb")


def smote(targets: dict[int, int], k: int, ctx: FitContext) -> Any:
    """SMOTE, or SMOTE-NC / SMOTE-N when some columns are categorical."""
    if ctx.n_cat and ctx.n_cat == ctx.n_features:
        return over_sampling.SMOTEN(
            sampling_strategy=targets, k_neighbors=k, random_state=ctx.random_state
        )
    if ctx.n_cat:
        return BlockedSMOTENC(
            categorical_features=ctx.cat_indices,
            sampling_strategy=targets,
            k_neighbors=k,
            random_state=ctx.random_state,
        )
    return over_sampling.SMOTE(
        sampling_strategy=targets, k_neighbors=k, random_state=ctx.random_state
    )


def said_instead(sampler: Any, what: str) -> Any:
    """Mark ``sampler`` as doing ``what`` otherwise than its strategy asked (a sentence that
    follows the component's name); the fitted pipeline keeps it, and a served model's notes
    say it (:attr:`autoimb.engine.pipeline.StrategyPipeline.fallbacks_`)."""
    sampler.instead_ = [*getattr(sampler, "instead_", ()), what]
    return sampler


def oversampler(make: Any, neighbours_arg: str = "k_neighbors", otherwise: Any = None) -> Any:
    """Wrap a builder so it gets fold-sized targets and neighbours. Where no class gets new
    rows, ``otherwise`` builds what is left of the strategy (a combined sampler's cleaning),
    or nothing is done."""

    def build(params: Mapping[str, Any], ctx: FitContext) -> Any:
        targets = over_targets(ctx, float(params["sampling_ratio"]))
        # Only the classes that grow are named (ADASYN refuses a class given no new rows), and
        # a class of one row has no neighbour to interpolate with: it keeps its row while the
        # others grow (it used to turn the sampler off for every class).
        counts = ctx.class_counts
        targets = {c: n for c, n in targets.items() if n > counts[c] and counts[c] > 1}
        wanted = int(params[neighbours_arg])
        k = clipped_neighbors(ctx, targets, wanted)
        if k < 1:
            # k < 1 only where no class grows: none of two rows or more is below the ratio, or
            # the row budget (over_targets logs it) leaves no room
            logger.debug(
                "no rows added: at sampling_ratio=%s no class of two rows or more in this fold "
                "gets new rows",
                params["sampling_ratio"],
            )
            return None if otherwise is None else otherwise(params, ctx)
        sampler = make(params, ctx, targets, k)
        if k < wanted and sampler is not None:  # a searched count above it scores as k does
            held = "the minority" if len(counts) == 2 else "the smallest class it grew"
            neighbours = "neighbour" if k == 1 else "neighbours"
            said_instead(sampler, f"used {k} {neighbours}, not {wanted}: {held} held {k + 1} rows")
        return sampler

    return build


def _numeric_only(make: Any) -> Any:
    """Samplers that interpolate every column fall back to SMOTE-NC / SMOTE-N with categories."""

    def build(params: Mapping[str, Any], ctx: FitContext, targets: dict, k: int) -> Any:
        if ctx.n_cat:
            kind = "SMOTE-N" if ctx.n_cat == ctx.n_features else "SMOTE-NC"
            return said_instead(
                smote(targets, k, ctx),
                f"ran as {kind}: the data has category columns, and it interpolates every "
                "column as a number",
            )
        return make(params, ctx, targets, k)

    return build


class _OrSMOTE:
    """A SMOTE variant that falls back to plain SMOTE where its own rule finds no rows to work
    from: a minority with no cluster dense enough (K-means SMOTE), with no majority neighbour
    (ADASYN), or whose support vectors are all noise (SVM-SMOTE). Small or cleanly separated
    minorities do that often; plain SMOTE is then the nearest strategy, rather than a lost
    trial."""

    _gives_up: tuple[type[Exception], ...] = (RuntimeError,)  # how the variant says it

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            return super()._fit_resample(X, y)  # type: ignore[misc]
        except self._gives_up as exc:
            logger.debug("%s fell back to SMOTE: %s", type(self).__name__, exc)
            # Said on a served model: the library's first sentence, not its advice on settings.
            reason = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
            said_instead(self, f"fell back to plain SMOTE on all rows ({reason})")
            k = getattr(self, "k_neighbors", None) or self.n_neighbors  # type: ignore[attr-defined]
            fallback = over_sampling.SMOTE(
                sampling_strategy=self.sampling_strategy,  # type: ignore[attr-defined]
                k_neighbors=k,
                random_state=self.random_state,  # type: ignore[attr-defined]
            )
            return fallback.fit_resample(X, y)


class KMeansSMOTEOrSMOTE(_OrSMOTE, over_sampling.KMeansSMOTE):
    pass


class ADASYNOrSMOTE(_OrSMOTE, over_sampling.ADASYN):
    # ValueError: a class's few new rows, spread by difficulty, round to none
    _gives_up = (RuntimeError, ValueError)


class SVMSMOTEOrSMOTE(_OrSMOTE, over_sampling.SVMSMOTE):
    _gives_up = (ValueError,)  # "All support vectors are considered as noise"


register(
    Component(
        "random_over",
        "resampler",
        lambda params, ctx: over_sampling.RandomOverSampler(
            sampling_strategy=over_targets(ctx, float(params["sampling_ratio"])),
            random_state=ctx.random_state,
        ),
        "Duplicate random minority rows.",
    ),
    Component(
        "smote",
        "resampler",
        oversampler(lambda params, ctx, targets, k: smote(targets, k, ctx)),
        "SMOTE; SMOTE-NC or SMOTE-N when columns are categorical.",
    ),
    Component(
        "borderline_smote",
        "resampler",
        oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: over_sampling.BorderlineSMOTE(
                    sampling_strategy=targets,
                    k_neighbors=k,
                    m_neighbors=int(params["m_neighbors"]),
                    kind=str(params["kind"]),
                    random_state=ctx.random_state,
                )
            )
        ),
        "SMOTE on the minority rows near the class border.",
        numeric_only=True,
        scales=False,
        values={"kind": ("borderline-1", "borderline-2")},
    ),
    Component(
        "svm_smote",
        "resampler",
        oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: SVMSMOTEOrSMOTE(
                    sampling_strategy=targets,
                    k_neighbors=k,
                    m_neighbors=int(params["m_neighbors"]),
                    random_state=ctx.random_state,
                )
            )
        ),
        "SMOTE along the support vectors of an SVM.",
        numeric_only=True,
        scales=False,
    ),
    Component(
        "adasyn",
        "resampler",
        oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: ADASYNOrSMOTE(
                    sampling_strategy=targets, n_neighbors=k, random_state=ctx.random_state
                )
            ),
            neighbours_arg="n_neighbors",
        ),
        "Adaptive synthetic sampling: more new rows where the minority is hard to learn.",
        numeric_only=True,
        scales=False,
    ),
    Component(
        "kmeans_smote",
        "resampler",
        oversampler(
            _numeric_only(
                lambda params, ctx, targets, k: KMeansSMOTEOrSMOTE(
                    sampling_strategy=targets,
                    k_neighbors=k,
                    kmeans_estimator=MiniBatchKMeans(
                        n_clusters=int(params["n_clusters"]),
                        n_init=3,
                        random_state=ctx.random_state,
                    ),
                    cluster_balance_threshold=float(params["cluster_balance_threshold"]),
                    random_state=ctx.random_state,
                )
            )
        ),
        "SMOTE inside k-means clusters where the minority is dense.",
        numeric_only=True,
    ),
)
