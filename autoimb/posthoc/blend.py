"""Weighted means of candidates' probabilities: what an ensemble predicts out of fold.

The selection, the final threshold and the remeasurement all blend the same way, so the
arithmetic and the checks on the candidates' arrays live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from autoimb.exceptions import AutoImbError

__all__ = ["FloatArray", "blend", "stack_candidates", "weighted"]

FloatArray = NDArray[np.float64]


def blend(candidates: Mapping[int, ArrayLike], weights: Mapping[int, float]) -> FloatArray:
    """Weighted mean of the named candidates' probabilities, the ensemble's OOF prediction."""
    if not weights:
        raise AutoImbError("weights is empty; name at least one trial to blend.")
    missing = sorted(set(weights) - set(candidates))
    if missing:
        raise AutoImbError(f"weights name trials {missing} that have no out-of-fold predictions.")
    w = np.asarray([float(weights[k]) for k in weights], dtype=np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise AutoImbError("ensemble weights must be finite, non-negative and not all zero.")
    total: FloatArray | None = None
    for key, weight in zip(weights, w, strict=True):
        part = np.asarray(candidates[key], dtype=np.float64) * weight
        total = part if total is None else total + part
    assert total is not None
    return total / w.sum()


def stack_candidates(
    candidates: Mapping[int, ArrayLike], n: int
) -> tuple[list[int], NDArray[np.float64]]:
    """Trial numbers in order and their probabilities as one array, checked to share a shape."""
    if not isinstance(candidates, Mapping) or not candidates:
        raise AutoImbError(
            "candidates must be a non-empty dict of trial number -> out-of-fold probabilities."
        )
    keys = sorted(candidates)
    arrays = [np.asarray(candidates[k], dtype=np.float64) for k in keys]
    shape = arrays[0].shape
    for key, arr in zip(keys, arrays, strict=True):
        if arr.ndim != 2 or arr.shape != shape or arr.shape[0] != n or arr.shape[1] < 2:
            raise AutoImbError(
                f"the out-of-fold probabilities of trial {key} have shape {arr.shape}; every "
                f"candidate needs the same (n_samples={n}, n_classes) shape."
            )
        if not np.all(np.isfinite(arr)):
            raise AutoImbError(f"the out-of-fold probabilities of trial {key} hold NaN or inf.")
    return keys, np.stack(arrays)


def weighted(stack: NDArray[np.float64], counts: NDArray[np.int64]) -> FloatArray:
    """Blend of the stacked candidates with greedy repeat counts as weights."""
    return np.tensordot(counts / counts.sum(), stack, axes=1)
