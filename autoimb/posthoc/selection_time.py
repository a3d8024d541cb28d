"""How long an ensemble selection takes, and how much of it fits the time it is given.

The search keeps time back for the selection while trials run (``full_selection_calls`` times
``score_seconds``); the selection then plans its greedy steps, and whether to nest them, in
the time it is given.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import ArrayLike

from autoimb.metrics.metric import Metric
from autoimb.posthoc.fast_scores import honest_scorer
from autoimb.posthoc.greedy import plan_steps, planned_calls

__all__ = ["MAX_SIZE", "full_selection_calls", "plan", "score_seconds"]

MAX_SIZE = 20  # greedy steps of a selection, members counted with repeats


def full_selection_calls(n_candidates: int, n_folds: int, max_size: int = MAX_SIZE) -> int:
    """The scores a selection computes when no time limit shortens it: each candidate alone,
    the greedy steps (nested with 3 folds or more), the pruning and the final re-scoring."""
    return n_candidates + planned_calls(max_size, n_candidates, n_folds, n_folds >= 3)


def score_seconds(
    oof: ArrayLike,
    y: ArrayLike,
    fold_ids: ArrayLike,
    metric: Metric,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> float:
    """Seconds one of the selection's scores takes on these rows (the mean of three)."""
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    score = honest_scorer(np.asarray(y), w, np.asarray(fold_ids), metric, pos_label)
    proba = np.asarray(oof, dtype=np.float64)
    started = time.perf_counter()
    for _ in range(3):
        score(proba)
    return (time.perf_counter() - started) / 3


def plan(
    n_candidates: int,
    n_folds: int,
    per_call: float,
    deadline: float | None,
    max_size: int,
    nested: bool,
) -> tuple[int, bool, list[str]]:
    """Greedy steps and whether to nest, from the seconds a score takes; and notes on what
    the time limit cut."""
    notes: list[str] = []
    calls_left = None
    if deadline is not None:
        per_call = max(per_call, 1e-6)
        calls_left = max(0.0, (deadline - time.monotonic()) / per_call)
    steps, nest = plan_steps(
        int(max_size), n_candidates, n_folds, nested and n_folds >= 3, calls_left
    )
    if steps < max_size:
        notes.append(f"the time limit allowed {steps} of {max_size} greedy steps")
    if nested and n_folds >= 3 and not nest:
        notes.append("the time limit left no time for the nested comparison")
    return steps, nest, notes
