"""The portfolio's scores table, and the orders measured on it leave-one-family-out.

``portfolio.py score`` cross-validates every candidate strategy on every KEEL dev set; this
table holds their normalised scores with each set's meta-features. :meth:`Portfolio.order`
orders the strategies greedily on a chosen set of columns: all sets (one global order, what
``autoimb`` ships) or the dev sets nearest to some data in meta-feature space (as auto-sklearn
1.0 does), which ``portfolio_lofo.py`` measured and found no better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autoimb.data.dataset import Dataset

META_FEATURES = ("rows", "columns", "minority", "imbalance", "categorical", "missing")
"""Counts enter as log10, shares as they are; each is scaled by its spread over the dev sets."""

NEIGHBOURS = 10
SIZE = 8
TIE = 0.002
"""Gains within this much of the best count as a tie, which the cheaper strategy wins."""

Config = dict[str, dict[str, Any]]


def meta_features(data: Dataset) -> np.ndarray:
    """What tells data sets apart for the choice of strategy, in ``META_FEATURES`` order."""
    counts = data.class_counts
    rows, columns = data.X.shape
    missing = float(data.X.isna().to_numpy().mean()) if rows and columns else 0.0
    return describe(
        rows=rows,
        columns=columns,
        minority=int(counts.min()),
        imbalance=float(counts.max() / max(counts.min(), 1)),
        categorical=len(data.categorical) / max(columns, 1),
        missing=missing,
    )


def describe(
    rows: int, columns: int, minority: int, imbalance: float, categorical: float, missing: float
) -> np.ndarray:
    return np.array(
        [
            np.log10(max(rows, 1)),
            np.log10(max(columns, 1)),
            np.log10(max(minority, 1)),
            np.log10(max(imbalance, 1.0)),
            categorical,
            missing,
        ]
    )


@dataclass(frozen=True)
class Portfolio:
    """Strategies, their cost, and their normalised scores on each dev set per metric kind."""

    strategies: list[Config]
    cost: np.ndarray  # mean fit seconds per strategy
    names: list[str]  # dev sets
    families: list[str]  # the source data set each dev set was cut from
    meta: np.ndarray  # dev set × META_FEATURES
    scores: dict[str, np.ndarray]  # kind → strategy × dev set, min-max normalised per set
    start: dict[str, np.ndarray]  # kind → dev set: the best baseline's normalised score

    def order(
        self,
        meta: np.ndarray | None,
        kind: str,
        size: int = SIZE,
        neighbours: int = NEIGHBOURS,
        exclude_families: Sequence[str] = (),
        exclude_strategies: Sequence[int] = (),
    ) -> list[int]:
        """Strategy indices, best first, for data described by ``meta``.

        ``exclude_*`` leave out dev sets of some families and some strategies: a measurement
        on a dev set must not use what its own family taught.
        """
        allowed = [i for i in range(len(self.strategies)) if i not in set(exclude_strategies)]
        if kind not in self.scores or not self.names:
            return allowed[:size]
        keep = np.array([f not in set(exclude_families) for f in self.families])
        columns = np.flatnonzero(keep)
        if meta is not None and len(columns) > neighbours:
            spread = self.meta[columns].std(axis=0)
            spread[spread == 0] = 1.0
            distance = np.abs((self.meta[columns] - meta) / spread).sum(axis=1)
            columns = columns[np.argsort(distance, kind="stable")[:neighbours]]
        return greedy(
            self.scores[kind][:, columns], self.start[kind][columns], self.cost, allowed, size
        )


def greedy(
    scores: np.ndarray, start: np.ndarray, cost: np.ndarray, allowed: Sequence[int], size: int
) -> list[int]:
    """Forward selection on the mean best normalised score (auto-sklearn 2.0's portfolio).

    Once nothing adds more than a tie, the rest follow by mean score, so the order is complete.
    """
    current = start.copy()
    chosen: list[int] = []
    pool = list(allowed)
    while pool and len(chosen) < size:
        gains = np.array([np.maximum(current, scores[i]).mean() for i in pool]) - current.mean()
        if gains.max() <= TIE:
            rest = sorted(pool, key=lambda i: (-scores[i].mean(), cost[i]))
            return (chosen + rest)[:size]
        near = [i for i, g in zip(pool, gains, strict=True) if g >= gains.max() - TIE]
        pick = min(near, key=lambda i: cost[i])
        current = np.maximum(current, scores[pick])
        chosen.append(pick)
        pool.remove(pick)
    return chosen
