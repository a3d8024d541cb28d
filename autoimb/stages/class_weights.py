"""Class-weight formulas shared by the weighting stage and the deep models' losses."""

from __future__ import annotations

import numpy as np


def balanced_weights(counts: np.ndarray, power: float = 1.0) -> np.ndarray:
    """``n / (C · count)`` to the given power, renormalised so the total weight stays ``n``."""
    counts = np.asarray(counts, dtype=float)
    present = counts > 0
    weights = np.ones_like(counts)
    weights[present] = (counts.sum() / (present.sum() * counts[present])) ** power
    return weights * counts.sum() / max(float((weights * counts).sum()), 1e-12)


def class_balanced_weights(counts: np.ndarray, beta: float) -> np.ndarray:
    """Weights by the effective number of samples ``(1 - beta^n) / (1 - beta)``.

    Cui et al. (2019) argue that extra samples of a class add ever less information, so
    plain inverse frequency over-weights the minority; ``beta`` -> 1 recovers it, and
    ``beta = 0`` gives equal weights. Weights are scaled to sum to the number of classes.
    """
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights * len(counts) / weights.sum()
