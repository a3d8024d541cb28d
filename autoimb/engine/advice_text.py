"""The learning-curve advice as a person reads it: numbers, one summary, and cautions.

Kept apart from the measuring in :mod:`autoimb.engine.advice` so the wording can change
without touching how the curve is measured or fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from autoimb.engine.curve_fit import C_BOUNDS, CurveFit, CurvePoint, CurveRun

__all__ = ["POOR_R2", "LearningCurveAdvice", "cautions", "floor_missed"]

POOR_R2 = 0.5
"""Below this share of the points' variance explained, the fit is called poor."""


@dataclass(repr=False)
class LearningCurveAdvice:
    """What :func:`~autoimb.engine.advice.minority_learning_curve` measured and what it predicts.

    Attributes
    ----------
    points
        Measured (minority count in the training folds, mean score, std), smallest first.
    current_count
        Minority rows in the whole data set, which the final refit trains on; 2x and 5x
        are multiples of it.
    predicted_current, predicted_2x, predicted_5x
        The fitted curve at 1x, 2x and 5x ``current_count``; NaN without a fit.
    gain_2x, gain_5x
        ``predicted_2x - predicted_current`` and the same for 5x, in the metric's units.
    notes
        What was done differently from what was asked (time limit, fallback fit).
    cautions
        Why the prediction may be unreliable; repeated in :meth:`summary`.
    measured_on
        Whose strategy the curve retrains, as the summary names it (a search's advice is
        on its best single trial).
    precision_floor
        For recall at a precision floor, the floor; below it a score is a precision
        shortfall, so no forecast is made when a subsample missed it.
    """

    metric: str
    greater_is_better: bool
    points: list[CurvePoint]
    runs: list[CurveRun]
    fit: CurveFit
    current_count: int
    predicted_current: float
    predicted_2x: float
    predicted_5x: float
    gain_2x: float
    gain_5x: float
    subsampled_classes: list[str]
    smallest_class: str
    multiclass: bool
    fold_ids: NDArray[np.int64] = field(repr=False)
    notes: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    measured_on: str = "the strategy given"
    precision_floor: float | None = None

    def predict(self, n: float | NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected score with ``n`` minority examples (capped at the metric's best)."""
        return self.fit.predict(n)

    def __repr__(self) -> str:
        return f"LearningCurveAdvice({self.summary()!r})"

    def summary(self) -> str:
        """One or two sentences for a person deciding whether to collect more data."""
        name = _display(self.metric)
        missed = _missed_floor(self.precision_floor, self.runs)
        if missed:
            return " ".join([missed, *self.notes])
        if self.fit.kind == "none" or not math.isfinite(self.predicted_2x):
            text = (
                f"Too few learning-curve points ({len(self.points)}) to predict how {name} "
                "would change with more minority examples."
            )
            return " ".join([text, *self.notes])
        n2, n5 = 2 * self.current_count, 5 * self.current_count
        if self.multiclass:
            what = "examples of every class but the largest"
            size2 = f"≈{n2:,} of class {self.smallest_class!r}"
        else:
            what, size2 = "minority examples", f"≈{n2:,}"
        small = self._negligible()
        if abs(self.gain_2x) < small and abs(self.gain_5x) < small:
            text = (
                f"With 2× more {what} ({size2}) or 5× (≈{n5:,}), {name} is expected to change "
                f"by less than {_num(small)}: more data of this kind is unlikely to help this "
                "strategy."
            )
        else:
            text = (
                f"With 2× more {what} ({size2}), {name} is expected to change by "
                f"{_signed(self.gain_2x)}; with 5× (≈{n5:,}), by {_signed(self.gain_5x)}."
            )
        parts = [text, self._measure()]
        if self.cautions:
            parts.append("Caution: " + "; ".join(self.cautions) + ".")
        return " ".join(parts)

    def _negligible(self) -> float:
        """A change too small to act on: 0.005 on a score's 0-to-1 scale; a cost has a scale
        of its own (per row, in the user's units), so 1% of today's."""
        if self.greater_is_better:
            return 0.005
        return max(1e-9, 0.01 * abs(self.predicted_current))

    def _measure(self) -> str:
        """Its scores are the curve's own, which differ from the headline score: say so, so
        that a reader takes the forecast as a change and not as a competing score."""
        folds = int(np.unique(self.fold_ids).shape[0])
        return (
            f"The learning curve scores {_display(self.metric)} its own way "
            f"({self.measured_on}, {folds}-fold, on subsamples: {_num(self.predicted_current)} "
            "at today's size), not as the headline score is measured: take these as changes, "
            "not as scores to expect."
        )

    def to_frame(self) -> pd.DataFrame:
        """Measured points and the curve's predictions, one row each, for a report or plot.

        ``fraction`` is ``minority_count`` over ``current_count`` on every row, so the rows
        share one axis: a measured point trains on a fold's share of the data (below 1 even
        at its full size), a prediction at 1 on the whole data, as the final refit does. The
        share of a fold's minority a point kept is its :class:`CurvePoint`'s own ``fraction``.
        """
        rows: list[dict[str, Any]] = []
        for point in self.points:
            rows.append(
                {
                    "kind": "measured",
                    "fraction": point.minority_count / self.current_count,
                    "minority_count": point.minority_count,
                    "score": point.score,
                    "std": point.std,
                    "n_runs": point.n_runs,
                    "fitted": float(self.predict(point.minority_count)),
                }
            )
        for factor, value in (
            (1, self.predicted_current),
            (2, self.predicted_2x),
            (5, self.predicted_5x),
        ):
            rows.append(
                {
                    "kind": "predicted",
                    "fraction": float(factor),
                    "minority_count": float(factor * self.current_count),
                    "score": value,
                    "std": np.nan,
                    "n_runs": 0,
                    "fitted": value,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain python types, for JSON."""
        return {
            "metric": self.metric,
            "points": [
                {
                    "fraction": p.fraction,
                    "minority_count": p.minority_count,
                    "score": p.score,
                    "std": p.std,
                    "n_runs": p.n_runs,
                }
                for p in self.points
            ],
            "fit": {"kind": self.fit.kind, "params": dict(self.fit.params), "r2": self.fit.r2},
            "current_count": self.current_count,
            "predicted": {
                "1x": self.predicted_current,
                "2x": self.predicted_2x,
                "5x": self.predicted_5x,
            },
            "gain": {"2x": self.gain_2x, "5x": self.gain_5x},
            "notes": list(self.notes),
            "cautions": list(self.cautions),
            "summary": self.summary(),
        }


def _display(name: str) -> str:
    special = {"f1": "F1", "mcc": "MCC", "roc_auc": "ROC AUC", "g_mean": "G-mean"}
    return special.get(name, name.replace("_", " "))


def _at_bound(fit: CurveFit, current: int) -> bool:
    """A power curve held flat (``b`` at 0) or with its exponent at an end of
    :data:`C_BOUNDS`: there the bound, not the points, chose its shape."""
    b, c = fit.params["b"], fit.params["c"]
    low, high = C_BOUNDS
    flat = abs(b) * float(current) ** -c < 1e-6  # no rise left to speak of at today's size
    return flat or c <= low * (1 + 1e-3) or c >= high * (1 - 1e-3)


def floor_missed(floor: float | None, runs: list[CurveRun]) -> bool:
    """Whether a subsample missed recall-at-precision's floor (its score is then negative)."""
    return floor is not None and any(run.score < 0 for run in runs)


def _missed_floor(floor: float | None, runs: list[CurveRun]) -> str | None:
    """For recall at a precision floor that some subsample missed, why there is no forecast:
    below the floor the score is how far precision fell short, not a recall."""
    if floor is None or not floor_missed(floor, runs):
        return None
    missed = sorted({run.minority_count for run in runs if run.score < 0})
    worst = floor + min(run.score for run in runs)
    sizes = len({run.minority_count for run in runs})
    return (
        f"The precision floor {floor:g} was not reached on the learning curve's "
        f"subsamples ({len(missed)} of {sizes} sizes; precision down to about {worst:.2f}): "
        "their scores are precision shortfalls, not recalls, so there is no forecast of "
        "recall with more minority examples."
    )


def _num(value: float) -> str:
    """Two decimals in the usual range; a cost of 150.3 reads 150, never 1.5e+02."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.2g}"


def _signed(value: float) -> str:
    size = abs(value)
    text = f"{size:.1g}" if size < 0.005 else f"{size:.2f}" if size < 100 else f"{size:,.0f}"
    return ("+" if value >= 0 else "−") + text


def cautions(advice: LearningCurveAdvice) -> list[str]:
    """Reasons not to take the numbers at face value, in plain words."""
    out: list[str] = []
    fit = advice.fit
    if fit.kind == "none":
        return out
    if any(note.startswith("The time limit") for note in advice.notes):
        out.append("the time limit cut the curve short")
    if any("could not be trained" in note for note in advice.notes):
        out.append("the strategy failed at some fractions, which are left out")
    sizes = len({round(p.minority_count, 9) for p in advice.points})
    if sizes < 4:
        # Fractions that kept the same minority rows (the MIN_KEPT floor) are one size.
        out.append(f"the curve rests on only {sizes} distinct minority sizes")
    if fit.kind == "log-linear":
        out.append("the saturating curve could not be fitted, so a log-linear one was used")
    if math.isfinite(fit.r2) and fit.r2 < POOR_R2:
        out.append(f"the curve fits the measured points poorly (R² = {round(fit.r2, 2) + 0.0:.2f})")
    sign = 1.0 if advice.greater_is_better else -1.0
    if sign * advice.gain_5x < 0:
        out.append("the measured scores do not improve with more minority examples")
    if fit.kind == "power" and abs(fit.params["a"] - fit.best) < 1e-6:
        out.append(
            "the measured scores show no levelling off yet, so the curve's ceiling is a guess "
            "and the 5× figure a rough extrapolation"
        )
    if fit.kind == "power" and _at_bound(fit, advice.current_count):
        out.append(
            "the fitted curve's shape sits at the limit the fit allows, so the points did not "
            "pin it down"
        )
    n_folds = int(np.unique(advice.fold_ids).shape[0])
    # Standard error of each point's mean, from the spread of its fold scores.
    errors = [p.std / math.sqrt(p.n_runs * n_folds) for p in advice.points if math.isfinite(p.std)]
    if errors and abs(advice.gain_2x) < float(np.mean(errors)):
        out.append("the expected gain at 2× is smaller than the noise between folds")
    return out
