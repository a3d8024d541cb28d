"""The decision rule that turns predicted probabilities into a class code.

A value object on its own, so the search for a rule, the cross-fitting and the served
classifier all share one definition of how a rule is applied and stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from autoimb.data.labels import plain
from autoimb.exceptions import AutoImbError
from autoimb.metrics.formulas import check_pos_label

__all__ = ["Decision", "FloatArray", "IntArray"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Decision:
    """How probabilities become a class code.

    Parameters
    ----------
    threshold : float, optional
        Binary: predict ``pos_label`` where ``proba[:, pos_label] >= threshold``.
    class_scale : tuple of float, optional
        Multi-class: predict ``argmax(proba * class_scale)``.
    pos_label : int
        Encoded positive (minority) class.

    With neither set the rule is plain ``argmax``.
    """

    threshold: float | None = None
    class_scale: tuple[float, ...] | None = None
    pos_label: int = 1

    def __post_init__(self) -> None:
        if self.threshold is not None and self.class_scale is not None:
            raise AutoImbError(
                "A decision takes either a threshold (binary) or a class_scale "
                "(multi-class), not both; drop one of them."
            )
        if self.threshold is not None and not math.isfinite(float(self.threshold)):
            raise AutoImbError(f"threshold must be a finite number, got {self.threshold!r}.")
        if self.class_scale is not None:
            scale = np.asarray(self.class_scale, dtype=np.float64)
            if scale.ndim != 1 or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                raise AutoImbError(
                    f"class_scale must be positive finite numbers, one per class, got "
                    f"{self.class_scale!r}."
                )
        if isinstance(self.pos_label, bool) or not isinstance(self.pos_label, int | np.integer):
            raise AutoImbError(f"pos_label must be an integer class code, got {self.pos_label!r}.")

    def apply(self, proba: ArrayLike) -> IntArray:
        """Class codes for each row of ``proba`` (n, C)."""
        p = np.asarray(proba, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] < 2:
            raise AutoImbError(
                f"proba must be an (n_samples, n_classes) array, got shape {p.shape}; "
                "pass the full predict_proba output."
            )
        n_classes = p.shape[1]
        if self.threshold is not None:
            if n_classes != 2:
                raise AutoImbError(
                    f"A threshold decision is for binary targets, but proba has {n_classes} "
                    "columns; use a class_scale decision for multi-class targets."
                )
            pos = check_pos_label(self.pos_label, 2)
            hit = p[:, pos] >= self.threshold
            return np.where(hit, pos, 1 - pos).astype(np.int64)
        if self.class_scale is not None:
            if len(self.class_scale) != n_classes:
                raise AutoImbError(
                    f"class_scale has {len(self.class_scale)} factors but proba has "
                    f"{n_classes} columns; the decision was made for another target."
                )
            p = p * np.asarray(self.class_scale, dtype=np.float64)
        return np.argmax(p, axis=1).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """Plain python types only, so the decision can go into JSON or a study's attributes."""
        return {
            "threshold": None if self.threshold is None else float(self.threshold),
            "class_scale": (
                None if self.class_scale is None else [float(s) for s in self.class_scale]
            ),
            "pos_label": int(self.pos_label),
        }

    def labelled(self, classes: Sequence[Any]) -> dict[str, Any]:
        """:meth:`to_dict` as a person reads it (a model card, a report): the positive class
        by its label for two classes, and None for more, where no class is the positive one."""
        positive = classes[self.pos_label] if len(classes) == 2 else None
        return {**self.to_dict(), "pos_label": plain(positive)}

    @classmethod
    def from_labelled(
        cls, data: Mapping[str, Any], classes: Sequence[Any], positive: Any = None
    ) -> Decision:
        """Inverse of :meth:`labelled`, with the card's ``positive`` class (its text). A card
        written before labels were kept holds the class code, which is read as one."""
        fields = dict(data)
        code = fields.pop("pos_label", None)
        names = [str(c) for c in classes]
        if positive is not None and str(positive) in names:
            fields["pos_label"] = names.index(str(positive))
        elif isinstance(code, int) and not isinstance(code, bool):
            fields["pos_label"] = code
        return cls.from_dict(fields)  # multi-class: no positive class, the default code

    def describe(self, classes: Sequence[Any], probability_threshold: float | None = None) -> str:
        """The rule in words, its threshold on the scale of the probabilities the user gets
        (``probability_threshold``, calibrated) where it is known."""
        names = [str(c) for c in classes]
        if self.threshold is not None:
            positive = names[self.pos_label] if self.pos_label < len(names) else self.pos_label
            if self.threshold > 1.0:  # above every score: the metric is best served by no alarm
                return f"never predict {positive} (no score reaches the tuned threshold)"
            if probability_threshold is None:  # a study alone: its models' own scores
                return (
                    f"predict {positive} when the model's score for {positive} >= "
                    f"{self.threshold:.4g} (before the calibration of predict_proba)"
                )
            return f"predict {positive} when P({positive}) >= {probability_threshold:.4g}"
        if self.class_scale is not None:
            scales = ", ".join(
                f"{c}: {s:.3g}" for c, s in zip(names, self.class_scale, strict=False)
            )
            return f"argmax of the probabilities scaled per class ({scales})"
        return "argmax of the probabilities"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of :meth:`to_dict`; unknown keys are refused to catch a wrong payload."""
        unknown = set(data) - {"threshold", "class_scale", "pos_label"}
        if unknown:
            raise AutoImbError(
                f"Unknown decision keys {sorted(unknown)}; expected threshold, class_scale "
                "and pos_label."
            )
        threshold = data.get("threshold")
        scale = data.get("class_scale")
        return cls(
            threshold=None if threshold is None else float(threshold),
            class_scale=None if scale is None else tuple(float(s) for s in scale),
            pos_label=int(data.get("pos_label", 1)),
        )
