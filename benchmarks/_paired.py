"""The paired comparison over data sets that the per-set benchmark tables print."""

from __future__ import annotations

import pandas as pd
from scipy.stats import wilcoxon


def paired_cells(diff: pd.Series, tie: float) -> list[str]:
    """The sets better / tied / worse by more than ``tie``, and the Wilcoxon p over those that
    moved ("-" with five or fewer: too few for the test)."""
    moved = diff[diff.abs() > tie]
    return [
        f"{(diff > tie).sum()}/{(diff.abs() <= tie).sum()}/{(diff < -tie).sum()}",
        f"{wilcoxon(moved).pvalue:.2g}" if len(moved) > 5 else "-",
    ]
