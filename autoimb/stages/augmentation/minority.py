"""Minority-class augmenters: add perturbed or interpolated copies of minority rows.

Unlike SMOTE they make no neighbourhood assumption, so they stay cheap and safe on tiny
classes; they are samplers (``fit_resample``) so that they slot into imbalanced-learn pipelines.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from imblearn.base import BaseSampler
from scipy.sparse import issparse
from sklearn.utils import check_random_state

from autoimb._checks import check_number
from autoimb.exceptions import AutoImbError

__all__ = ["MinorityJitter", "MinorityMixup"]

CatMode = Literal["keep", "sample"]
CAT_MODES: tuple[str, ...] = ("keep", "sample")


class _MinorityAugmenter(BaseSampler):
    """Shared loop: every class but the largest gets ``ratio * its count`` new rows, up to the
    largest class's count.

    Subclasses only say how to make the new rows of one class; the categorical columns are
    then settled here. ``source_indices_`` maps each output row to an input row so that
    sample weights can follow the rows through augmentation.
    """

    _sampling_type = "over-sampling"
    # Parameters are checked by ``_check_params`` so that refusals are AutoImbErrors.
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    # imbalanced-learn reads this in fit_resample; the amount of new rows is ``ratio`` instead.
    sampling_strategy = "auto"

    ratio: float
    n_cat: int
    cat_mode: CatMode
    random_state: int | np.random.RandomState | None

    def _check_params(self) -> None:
        check_number("ratio", self.ratio, low=0.0, strict=False)
        if (
            isinstance(self.n_cat, bool)
            or not isinstance(self.n_cat, int | np.integer)
            or self.n_cat < 0
        ):
            raise AutoImbError(f"n_cat must be an integer >= 0, got {self.n_cat!r}")
        if self.cat_mode not in CAT_MODES:
            raise AutoImbError(f"cat_mode must be one of {CAT_MODES}, got {self.cat_mode!r}")

    def fit_resample(self, X: Any, y: Any, **params: Any) -> Any:
        """Return the original rows followed by the synthetic minority rows."""
        self._check_params()
        if issparse(X):
            raise AutoImbError(f"{type(self).__name__} needs a dense X")
        try:
            return super().fit_resample(X, y, **params)
        except AutoImbError:
            raise
        except ValueError as err:
            raise AutoImbError(f"{type(self).__name__}: {err}") from err

    def _synthesize(
        self, X_class: np.ndarray, X_all: np.ndarray, n_new: int, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        """New rows for one class and, for each, the position in ``X_class`` of its source."""
        raise NotImplementedError

    def _fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        n_cat = int(self.n_cat)
        if n_cat > X.shape[1]:
            raise AutoImbError(f"n_cat={n_cat} but X has only {X.shape[1]} columns")
        rng = check_random_state(self.random_state)
        labels, counts = np.unique(y, return_counts=True)
        majority = labels[np.argmax(counts)]

        parts_X, parts_y, parts_src = [X], [y], [np.arange(X.shape[0])]
        for label, count in zip(labels, counts, strict=True):
            # Never past the largest class: the stages after would take the classes swapped.
            n_new = min(round(self.ratio * count), int(counts.max() - count))
            if label == majority or n_new <= 0:
                continue
            rows = np.flatnonzero(y == label)
            X_class = X[rows]
            X_new, source = self._synthesize(X_class, X, n_new, rng)
            if n_cat and self.cat_mode == "sample":
                # Each categorical column drawn from the class's own empirical distribution.
                picks = rng.randint(len(rows), size=(n_new, n_cat))
                X_new[:, :n_cat] = X_class[picks, np.arange(n_cat)]
            parts_X.append(X_new)
            parts_y.append(np.full(n_new, label, dtype=y.dtype))
            parts_src.append(rows[source])

        self.source_indices_ = np.concatenate(parts_src)
        return np.vstack(parts_X), np.concatenate(parts_y)


class MinorityJitter(_MinorityAugmenter):
    """Copies of random minority rows with small Gaussian noise on the numeric columns.

    Parameters
    ----------
    ratio
        New rows per class, as a fraction of the class's count.
    noise_scale
        Noise std as a fraction of each feature's std within the class (the overall std
        where the class's is zero, e.g. a one-row class).
    n_cat
        The first ``n_cat`` columns are categorical codes and receive no noise.
    cat_mode
        ``"keep"`` the source row's codes, or ``"sample"`` them from the class's rows.
    random_state
        Seed of the draws.
    """

    def __init__(
        self,
        ratio: float = 0.5,
        noise_scale: float = 0.05,
        n_cat: int = 0,
        cat_mode: CatMode = "keep",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.ratio = ratio
        self.noise_scale = noise_scale
        self.n_cat = n_cat
        self.cat_mode = cat_mode
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        check_number("noise_scale", self.noise_scale, low=0.0, strict=False)

    def _synthesize(
        self, X_class: np.ndarray, X_all: np.ndarray, n_new: int, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        n_cat = int(self.n_cat)
        source = rng.randint(X_class.shape[0], size=n_new)
        X_new = X_class[source].copy()
        std = X_class[:, n_cat:].std(axis=0)
        std = np.where(std > 0, std, X_all[:, n_cat:].std(axis=0))
        noise = rng.normal(size=(n_new, X_class.shape[1] - n_cat))
        X_new[:, n_cat:] += noise * (self.noise_scale * std)
        return X_new, source


class MinorityMixup(_MinorityAugmenter):
    """Convex combinations of random pairs of rows of the same minority class.

    The weight λ ~ Beta(alpha, alpha) is folded onto [0.5, 1] (the same set of points, as the
    law is symmetric), so the first row of a pair is always the dominant one: it gives the
    categorical codes in ``"keep"`` mode and is the row reported in ``source_indices_``.

    Parameters
    ----------
    ratio
        New rows per class, as a fraction of the class's count.
    alpha
        Beta parameter; small values keep new rows near existing ones, 1 spreads them
        uniformly along the segment.
    n_cat
        The first ``n_cat`` columns are categorical codes and are not interpolated.
    cat_mode
        ``"keep"`` the dominant row's codes, or ``"sample"`` them from the class's rows.
    random_state
        Seed of the draws.
    """

    def __init__(
        self,
        ratio: float = 0.5,
        alpha: float = 0.4,
        n_cat: int = 0,
        cat_mode: CatMode = "keep",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.ratio = ratio
        self.alpha = alpha
        self.n_cat = n_cat
        self.cat_mode = cat_mode
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        check_number("alpha", self.alpha, low=0.0, strict=True)

    def _synthesize(
        self, X_class: np.ndarray, X_all: np.ndarray, n_new: int, rng: np.random.RandomState
    ) -> tuple[np.ndarray, np.ndarray]:
        n_cat = int(self.n_cat)
        first = rng.randint(X_class.shape[0], size=n_new)
        second = rng.randint(X_class.shape[0], size=n_new)
        lam = rng.beta(self.alpha, self.alpha, size=n_new)
        lam = np.maximum(lam, 1.0 - lam)[:, None]
        X_new = X_class[first].copy()
        X_new[:, n_cat:] = lam * X_class[first, n_cat:] + (1.0 - lam) * X_class[second, n_cat:]
        return X_new, first
