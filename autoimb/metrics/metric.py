"""The :class:`Metric` type: one definition of a score that every caller shares.

Threshold metrics are defined once, on (weighted) confusion counts of the positive class,
and that single definition serves the vectorised threshold scan, the scoring of hard
labels and the final report. Ranking metrics score probabilities and need no threshold.
Kept apart from the name parsing in :mod:`autoimb.metrics.registry` so that code which
only scores never loads the registry's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from autoimb._checks import check_flag, refuse
from autoimb.exceptions import AutoImbError
from autoimb.metrics.formulas import (
    ConfusionFn,
    CountsFn,
    FloatArray,
    RankingFn,
    as_labels,
    as_proba,
    as_weights,
    check_codes,
    check_pos_label,
    confusion_matrix,
)

__all__ = ["Metric", "MetricKind"]

MetricKind = Literal["threshold", "ranking"]


@dataclass(frozen=True)
class Metric:
    """One scoring rule; the canonical ``name`` identifies it (equality and hashing).

    Parameters
    ----------
    name : str
        Canonical name, as :func:`get_metric` returns it.
    kind : {"threshold", "ranking"}
        Threshold metrics score hard labels and drive the decision threshold; ranking
        metrics score probabilities.
    greater_is_better : bool
        Direction for optimisers.
    counts_fn, multiclass_fn, ranking_fn : callable, optional
        The implementation: vectorised formula on binary confusion counts, score of a
        multi-class confusion matrix (None = binary only), and binary ranking score on
        ``(y_is_positive, score, weights)``.
    """

    name: str
    kind: MetricKind
    greater_is_better: bool
    counts_fn: CountsFn | None = field(default=None, repr=False, compare=False)
    multiclass_fn: ConfusionFn | None = field(default=None, repr=False, compare=False)
    ranking_fn: RankingFn | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checked here, not in a trial: a name of None failed every trial, and a text
        # greater_is_better="False", true by Python's truth, optimised the wrong way in silence.
        if not isinstance(self.name, str) or not self.name.strip():
            raise refuse("Metric name", "a non-empty text", repr(self.name))
        object.__setattr__(
            self,
            "greater_is_better",
            check_flag("Metric greater_is_better", self.greater_is_better),
        )
        if self.kind not in ("threshold", "ranking"):
            raise refuse("Metric kind", "'threshold' or 'ranking'", repr(self.kind))
        if self.kind == "threshold" and self.counts_fn is None:
            raise AutoImbError(f"Threshold metric {self.name!r} needs a counts_fn.")
        if self.kind == "ranking" and self.ranking_fn is None:
            raise AutoImbError(f"Ranking metric {self.name!r} needs a ranking_fn.")

    # -- threshold metrics -------------------------------------------------------------

    def _need_threshold(self, method: str) -> None:
        if self.kind != "threshold":
            raise AutoImbError(
                f"{self.name!r} is a ranking metric and scores probabilities; "
                f"call score_proba (or score) instead of {method}."
            )

    @property
    def unit(self) -> str:
        """Words after a score: a cost is per row (per unit of weight) and lower is better;
        said, or 0.79 reads as a score."""
        return "" if self.greater_is_better else " per row, lower is better"

    def from_counts(self, tp: ArrayLike, fp: ArrayLike, fn: ArrayLike, tn: ArrayLike) -> FloatArray:
        """Metric for arrays of weighted counts of the positive class, one per threshold.

        Vectorised so a threshold scan evaluates every candidate in one pass; 0/0 gives 0.0.
        """
        self._need_threshold("from_counts")
        counts_fn = self.counts_fn
        if counts_fn is None:  # unreachable after __post_init__; keeps the type exact
            raise AutoImbError(f"Threshold metric {self.name!r} has no counts_fn.")
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (tp, fp, fn, tn)))
        return np.asarray(counts_fn(*arrays), dtype=np.float64)

    def score_confusion(self, cm: ArrayLike, *, pos_label: int = 1) -> float:
        """Score of a (weighted) confusion matrix; 2x2 uses ``pos_label``, larger is multi-class.

        Shared by label scoring and the multi-class decision search, which builds
        matrices directly to skip per-call validation.
        """
        self._need_threshold("score_confusion")
        m = np.asarray(cm, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
            raise AutoImbError(
                f"a confusion matrix must be square with at least 2 classes, got {m.shape}."
            )
        n_classes = m.shape[0]
        if n_classes == 2:
            p = check_pos_label(pos_label, 2)
            o = 1 - p
            return float(self.from_counts(m[p, p], m[o, p], m[p, o], m[o, o]))
        if self.multiclass_fn is None:
            raise AutoImbError(
                f"{self.name!r} is defined for binary targets only, but the target has "
                f"{n_classes} classes; choose a multi-class metric such as 'f1', 'mcc', "
                "'balanced_accuracy' or 'g_mean'."
            )
        return float(self.multiclass_fn(m))

    def score_confusions(self, cms: ArrayLike, *, pos_label: int = 1) -> NDArray[np.float64]:
        """Scores of a stack of multi-class confusion matrices, (G, K, K): in one call where
        the metric's formula takes a stack (the built-in ones do), else one by one."""
        stack = np.asarray(cms, dtype=np.float64)
        fn = self.multiclass_fn
        if stack.shape[-1] > 2 and fn is not None and _takes_stacks(fn):
            return np.asarray(fn(stack), dtype=np.float64)
        return np.array([self.score_confusion(cm, pos_label=pos_label) for cm in stack])

    def score_labels(
        self,
        y: ArrayLike,
        y_pred: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
        pos_label: int = 1,
        n_classes: int = 2,
    ) -> float:
        """Score hard predictions; binary uses ``pos_label``, multi-class macro-averages.

        Multi-class: f1/fbeta/precision/recall are the macro one-vs-rest mean,
        balanced_accuracy the mean per-class recall, g_mean their geometric mean, mcc the
        multi-class MCC.
        """
        self._need_threshold("score_labels")
        cm = confusion_matrix(y, y_pred, n_classes, sample_weight)
        return self.score_confusion(cm, pos_label=pos_label)

    # -- ranking metrics ---------------------------------------------------------------

    def score_proba(
        self,
        y: ArrayLike,
        proba: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
        pos_label: int = 1,
    ) -> float:
        """Ranking score of probabilities; NaN when a class needed for it has no weight.

        Binary scores ``proba[:, pos_label]``; multi-class is the macro one-vs-rest mean,
        NaN if any class is missing, so callers can detect an undefined score.
        """
        if self.kind != "ranking":
            raise AutoImbError(
                f"{self.name!r} is a threshold metric and scores hard labels; "
                "call score_labels (or score with y_pred) instead of score_proba."
            )
        ranking_fn = self.ranking_fn
        if ranking_fn is None:  # unreachable after __post_init__; keeps the type exact
            raise AutoImbError(f"Ranking metric {self.name!r} has no ranking_fn.")
        yt = as_labels(y, "y")
        p = as_proba(proba, yt.shape[0])
        n_classes = p.shape[1]
        check_codes(yt, n_classes, "y")
        w = as_weights(sample_weight, yt.shape[0])
        if w is None:
            w = np.ones(yt.shape[0], dtype=np.float64)
        if n_classes == 2:
            pl = check_pos_label(pos_label, 2)
            return float(ranking_fn(yt == pl, p[:, pl], w))
        per_class = [ranking_fn(yt == c, p[:, c], w) for c in range(n_classes)]
        return float(np.mean(per_class))

    def score(
        self,
        y: ArrayLike,
        proba: ArrayLike | None,
        y_pred: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        pos_label: int = 1,
    ) -> float:
        """Score by kind, so callers holding both probabilities and labels need not branch."""
        if self.kind == "ranking":
            if proba is None:
                raise AutoImbError(
                    f"{self.name!r} is a ranking metric and needs proba; "
                    "pass the predict_proba output."
                )
            return self.score_proba(y, proba, sample_weight=sample_weight, pos_label=pos_label)
        if y_pred is None:
            raise AutoImbError(
                f"{self.name!r} is a threshold metric and needs y_pred (hard labels); "
                "pass the thresholded predictions."
            )
        if proba is not None:
            n_classes = int(np.shape(proba)[1]) if np.ndim(proba) == 2 else 2
        else:
            yt, yp = as_labels(y, "y"), as_labels(y_pred, "y_pred")
            top = max(int(yt.max(initial=0)), int(yp.max(initial=0)))
            n_classes = max(2, top + 1)
        return self.score_labels(
            y, y_pred, sample_weight=sample_weight, pos_label=pos_label, n_classes=n_classes
        )


def _takes_stacks(fn: Any) -> bool:
    """Whether a confusion-matrix formula scores a stack of matrices (a partial of one does)."""
    return bool(
        getattr(fn, "batched", False) or getattr(getattr(fn, "func", None), "batched", False)
    )
