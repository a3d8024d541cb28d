"""Combined: SMOTE, then cleaning (Tomek links or edited nearest neighbours)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imblearn import combine
from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks

from autoimb.stages.base import Component, FitContext, register
from autoimb.stages.resampling.over import oversampler, smote
from autoimb.stages.resampling.targets import large_classes


def _with_smote(cls: type, cleaner: type, keyword: str) -> Any:
    def make(params: Mapping[str, Any], ctx: FitContext, targets: dict, k: int) -> Any:
        cleaning = {}
        if len(ctx.class_counts) > 2:
            # imbalanced-learn's cleaner thins every class: a class of one or two rows in a
            # fold, which SMOTE cannot grow, was emptied, and the fold's model never saw it.
            cleaning[keyword] = cleaner(sampling_strategy=large_classes(ctx))
        return cls(smote=smote(targets, k, ctx), random_state=ctx.random_state, **cleaning)

    return make


def _combined(cls: type, cleaner: type, keyword: str) -> Any:
    """SMOTE then cleaning; where the sampling ratio asks for no new rows, the cleaning alone
    (it was dropped with SMOTE, and the strategy did nothing). Alone it thins the large classes
    only, as the plain cleaners do: with no synthetic rows around it, a minority is cleaned
    hard (ecoli1 lost 40 of its 77 rows to every-class ENN), and a fold's one-row minority,
    whose neighbours are all of the other class, would be emptied."""
    return oversampler(
        _with_smote(cls, cleaner, keyword),
        otherwise=lambda params, ctx: cleaner(sampling_strategy=large_classes(ctx)),
    )


register(
    Component(
        "smote_tomek",
        "resampler",
        _combined(combine.SMOTETomek, TomekLinks, "tomek"),
        "SMOTE, then remove Tomek links.",
        scales=False,
    ),
    Component(
        "smote_enn",
        "resampler",
        _combined(combine.SMOTEENN, EditedNearestNeighbours, "enn"),
        "SMOTE, then edited nearest neighbours cleaning.",
        scales=False,
    ),
)
