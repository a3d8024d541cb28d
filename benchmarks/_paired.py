"""The paired comparison over data sets that the per-set benchmark tables print."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy.stats import wilcoxon

TIE = 1e-3
"""Two held-out scores closer than this are a tie: a set that moved by less did not move."""

FEWEST = 6
"""The fewest sets that moved for a Wilcoxon p: with five, no outcome reaches p < 0.05."""


@dataclass(frozen=True)
class Tally:
    """How many sets were better, tied and worse, and the Wilcoxon p over those that moved
    (NaN with fewer than :data:`FEWEST`)."""

    better: int
    tied: int
    worse: int
    p: float

    def counts(self, sep: str = "/") -> str:
        return sep.join(str(n) for n in (self.better, self.tied, self.worse))


def tally(diff: pd.Series, tie: float = TIE) -> Tally:
    """The paired comparison of ``diff`` (one difference per set), ties within ``tie`` left out."""
    moved = diff[diff.abs() > tie]
    p = float(wilcoxon(moved).pvalue) if len(moved) >= FEWEST else math.nan
    return Tally(
        int((diff > tie).sum()), int((diff.abs() <= tie).sum()), int((diff < -tie).sum()), p
    )


def paired_cells(diff: pd.Series, tie: float = TIE) -> list[str]:
    """Better/tied/worse and the p value as table cells ("-" where too few moved)."""
    result = tally(diff, tie)
    return [result.counts(), "-" if math.isnan(result.p) else f"{result.p:.2g}"]


MINORITY_BANDS = ((0, 20), (20, 60), (60, None))
"""Sets by their training part's minority rows: where one fold holds a handful, a choice
among strategies is partly luck."""


def by_minority(diff: pd.Series, minority: pd.Series) -> str:
    """The mean of ``diff`` in each band of :data:`MINORITY_BANDS` (``minority``: each set's
    minority rows, on the same index), with how many sets: "0–19: +0.040 (31); ..."."""
    bands = []
    for low, high in MINORITY_BANDS:
        inside = (minority >= low) & (minority < (high or math.inf))
        label = f"{low}+" if high is None else f"{low}–{high - 1}"
        bands.append(f"{label}: {diff[inside].mean():+.3f} ({int(inside.sum())})")
    return "; ".join(bands)
