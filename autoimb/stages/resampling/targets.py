"""How many rows each class should have after resampling, from the fold's class counts."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from autoimb.stages.base import FitContext

logger = logging.getLogger("autoimb")


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


def large_classes(ctx: FitContext) -> list[int]:
    """The classes a cleaning step may thin: those above the mean class size. With two
    classes, the majority; with more, never a minority class (imbalanced-learn's default
    cleans every class but the smallest, and can empty one)."""
    counts = ctx.class_counts
    return [c for c, n in enumerate(counts) if n > counts.mean()] or [int(np.argmax(counts))]


def clipped_neighbors(ctx: FitContext, targets: Mapping[int, int], wanted: int) -> int:
    """The largest neighbour count the smallest class that gets new rows can support."""
    grown = [c for c, n in targets.items() if n > ctx.class_counts[c]]
    if not grown:
        return 0
    smallest = int(min(ctx.class_counts[c] for c in grown))
    return max(0, min(int(wanted), smallest - 1))
