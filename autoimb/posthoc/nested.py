"""The selection's procedures rerun without each fold: their honest scores, to choose between.

"Pick the best trial", "select a greedy ensemble" and "blend the best few" are each rerun
without fold ``k`` (their inner scores cross-fitted on the remaining folds), and fold ``k`` is
predicted with the weights and threshold they chose. No row's label is then used to choose
anything applied to that row, so the comparison carries the selection's optimism on every side
instead of on the ensembles' only.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from autoimb.metrics.metric import Metric
from autoimb.posthoc.blend import FloatArray, weighted
from autoimb.posthoc.candidates import choose_decision
from autoimb.posthoc.fast_scores import fold_scorer, honest_scorer
from autoimb.posthoc.greedy import greedy, prune
from autoimb.posthoc.top_blend import TOP_BLEND, top_counts

__all__ = ["NestedScores", "OutOfTime", "nested_scores"]


class OutOfTime(Exception):
    """The selection's time limit passed in the middle of a nested selection."""


class NestedScores(NamedTuple):
    ensemble: float
    single: float
    blend: float


def nested_scores(
    stack: NDArray[np.float64],
    y: NDArray[np.int64],
    w: FloatArray | None,
    folds: NDArray[Any],
    metric: Metric,
    pos: int,
    max_size: int,
    sign: float,
    deadline: float | None,
    costs: NDArray[np.float64] | None = None,
    max_cost: float = np.inf,
    top: int = TOP_BLEND,
) -> NestedScores:
    """Honest scores of the greedy ensemble, the best single trial and the blend of the ``top``
    best. The ensemble is pruned as the served one is (:func:`~autoimb.posthoc.greedy.prune`);
    the ensemble and the blend are bound by the same refit ``costs`` as the served ones."""
    n, n_classes = stack.shape[1], stack.shape[2]
    weights = np.ones(n) if w is None else w
    preds = np.empty((3, n), dtype=np.int64)
    probas = np.empty((3, n, n_classes))
    for k in np.unique(folds):
        inside = folds == k
        out = ~inside
        inner = honest_scorer(y[out], weights[out], folds[out], metric, pos)
        sub = stack[:, out]
        singles = np.array([inner(sub[j]) for j in range(stack.shape[0])])
        start = int(np.argmax(sign * singles))
        counts, _, _ = greedy(sub, inner, start, max_size, sign, None, costs, max_cost)
        scores = fold_scorer(y[out], weights[out], folds[out], metric, pos)
        counts, _ = prune(sub, counts, scores, sign)
        if deadline is not None and time.monotonic() > deadline:
            raise OutOfTime
        top_blend = top_counts(singles, sign, top, costs, max_cost)
        sources = (
            weighted(stack, counts),
            stack[start],
            weighted(stack, top_blend) if top_blend.any() else stack[start],
        )
        for i, source in enumerate(sources):
            probas[i][inside] = source[inside]
            if metric.kind == "threshold":
                decision, _ = choose_decision(
                    y[out], source[out], metric, sample_weight=weights[out], pos_label=pos
                )
                preds[i][inside] = decision.apply(source[inside])
    if metric.kind == "ranking":
        return NestedScores(
            *(metric.score_proba(y, p, sample_weight=weights, pos_label=pos) for p in probas)
        )
    return NestedScores(
        *(
            metric.score_labels(y, p, sample_weight=weights, pos_label=pos, n_classes=n_classes)
            for p in preds
        )
    )
