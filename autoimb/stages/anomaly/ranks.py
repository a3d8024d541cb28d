"""A detector's anomaly score read as its rank among calibration scores.

Ranks, not sizes, are calibrated: the local outlier factor scores rows near 1e8 where values
repeat, and a sigmoid of such a score calls it certain. A new score beyond every calibration
score still ranks above (or below) the last one, ever closer to 1 (or 0), so that the most
extreme rows keep their order instead of tying at the end of the scale.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rank_of", "rank_scale"]

# Quantiles of the calibration scores that new scores are ranked on: a fine enough scale, and
# a saved model holds these rather than one score per training row.
RANK_KNOTS = 257


def rank_scale(scores: np.ndarray) -> np.ndarray:
    """Knots (row 0) and their mid-ranks in ``scores`` (row 1, in (0, 1)): the scores' empirical
    distribution, at most ``RANK_KNOTS`` points of it, to interpolate new scores on."""
    ordered = np.sort(scores)
    grid = np.linspace(0.0, 1.0, RANK_KNOTS)
    knots = np.unique(np.quantile(ordered, grid, method="inverted_cdf"))  # scores, not between
    below = np.searchsorted(ordered, knots, side="left")
    through = np.searchsorted(ordered, knots, side="right")
    return np.vstack([knots, (below + through) / (2.0 * len(ordered))])


def rank_of(scores: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Each score's rank on the scale ``ranks`` (from :func:`rank_scale`), strictly increasing
    in the score beyond the scale's ends too, and strictly inside (0, 1)."""
    knots, mid_ranks = ranks
    inside = np.interp(scores, knots, mid_ranks)
    unit = _spread(knots, mid_ranks)
    above = scores > knots[-1]
    below = scores < knots[0]
    top, bottom = mid_ranks[-1], mid_ranks[0]
    inside[above] = top + (1.0 - top) * _toward_one((scores[above] - knots[-1]) / unit)
    inside[below] = bottom * (1.0 - _toward_one((knots[0] - scores[below]) / unit))
    return inside


def _spread(knots: np.ndarray, mid_ranks: np.ndarray) -> float:
    """How far beyond an end a score is measured in: the calibration scores' interquartile
    range, robust to the few huge scores that made ranks necessary; else their span, else 1."""
    quartiles = np.interp([0.25, 0.75], mid_ranks, knots)
    for width in (quartiles[1] - quartiles[0], knots[-1] - knots[0]):
        if np.isfinite(width) and width > 0:
            return float(width)
    return 1.0


def _toward_one(distance: np.ndarray) -> np.ndarray:
    """0 at distance 0, rising to (never reaching) 1; the logarithm keeps distances of 1e8 and
    2e8 apart where a plain ``d / (1 + d)`` would round both to 1."""
    grown = np.log1p(distance)
    return grown / (1.0 + grown)
