"""From measured learning-curve runs to a saturating curve, in the metric's own units.

A curve ``score(n) = a - b * n**(-c)`` levels off as real learning curves do, so it says
how much more minority data could still help; a log-linear fit stands in when it fails.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import OptimizeWarning, curve_fit

from autoimb.metrics.metric import Metric

__all__ = ["C_BOUNDS", "CurveFit", "CurvePoint", "CurveRun", "FitKind", "fit_curve", "summarise"]

FitKind = Literal["power", "log-linear", "none"]
C_BOUNDS = (0.05, 3.0)
"""The power curve's exponent is fitted within these: a curve's shape, not a step."""


@dataclass(frozen=True)
class CurveRun:
    """One training of the strategy at one minority fraction, cross-validated."""

    fraction: float
    repeat: int
    minority_count: float
    score: float
    fold_scores: tuple[float, ...]
    train_rows: int
    validation_digest: str
    seconds: float


@dataclass(frozen=True)
class CurvePoint:
    """Runs at one minority count summarised: mean score and spread over folds and repeats.

    ``minority_count`` is the smallest class's rows in a training fold (mean over folds);
    for more than two classes it is the share kept of all subsampled classes times the
    smallest class's full count, so it grows with the fraction even where that class is
    held at :data:`~autoimb.engine.advice.MIN_KEPT` rows.
    """

    fraction: float
    minority_count: float
    score: float
    std: float
    n_runs: int


@dataclass(frozen=True)
class CurveFit:
    """The fitted curve, in the metric's own units.

    ``power``: ``score(n) = a - b * n**(-c)``; ``log-linear``: ``score(n) = alpha + beta *
    log(n)``; ``none``: too few points to fit anything.
    """

    kind: FitKind
    params: dict[str, float]
    r2: float
    best: float
    greater_is_better: bool

    def predict(self, n: float | NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected score at ``n`` minority examples, never past the metric's best value."""
        x = np.asarray(n, dtype=np.float64)
        p = self.params
        if self.kind == "power":
            raw = p["a"] - p["b"] * x ** (-p["c"])
        elif self.kind == "log-linear":
            raw = p["alpha"] + p["beta"] * np.log(x)
        else:
            return np.full(x.shape, np.nan)
        return np.minimum(raw, self.best) if self.greater_is_better else np.maximum(raw, self.best)


def _metric_best(metric: Metric) -> float:
    """The best value a registered metric can take: 1 for scores, 0 for costs."""
    return 1.0 if metric.greater_is_better else 0.0


def _fit_power(
    x: NDArray[np.float64], g: NDArray[np.float64], g_best: float
) -> tuple[float, float, float] | None:
    """Least squares ``g = a - b * x**(-c)`` within the bounds that keep it saturating.

    ``a <= g_best`` (no score past the metric's best), ``b >= 0`` (rising), ``c`` in
    :data:`C_BOUNDS`; None when the optimiser fails.
    """
    if x.shape[0] < 3:
        return None

    def curve(x: NDArray[np.float64], a: float, b: float, c: float) -> NDArray[np.float64]:
        return a - b * x ** (-c)

    a0 = min(float(np.max(g)) + 0.05 * (float(np.ptp(g)) + 1e-3), g_best - 1e-9)
    c0 = 0.5
    b0 = max((a0 - float(np.min(g))) * float(np.min(x)) ** c0, 1e-6)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", OptimizeWarning)
            params, _ = curve_fit(
                curve,
                x,
                g,
                p0=(a0, b0, c0),
                bounds=((-np.inf, 0.0, C_BOUNDS[0]), (g_best, np.inf, C_BOUNDS[1])),
                maxfev=5000,
            )
    except (RuntimeError, ValueError, OptimizeWarning):
        return None
    if not np.all(np.isfinite(params)):
        return None
    return float(params[0]), float(params[1]), float(params[2])


def _r2(observed: NDArray[np.float64], fitted: NDArray[np.float64]) -> float:
    total = float(np.sum((observed - observed.mean()) ** 2))
    if total <= 1e-12:
        return math.nan
    return 1.0 - float(np.sum((observed - fitted) ** 2)) / total


def fit_curve(points: list[CurvePoint], metric: Metric, scale: float) -> tuple[CurveFit, list[str]]:
    """Power curve when it converges, else log-linear; both in the metric's units.

    The fit runs on the "goodness" ``sign * score`` and on ``n / scale`` so that one code
    path serves costs and scores and the optimiser sees numbers near 1.
    """
    best = _metric_best(metric)
    sign = 1.0 if metric.greater_is_better else -1.0
    notes: list[str] = []
    x = np.asarray([p.minority_count for p in points], dtype=np.float64)
    y = np.asarray([p.score for p in points], dtype=np.float64)
    if np.unique(x).shape[0] < 2:
        return CurveFit("none", {}, math.nan, best, metric.greater_is_better), notes
    g = sign * y
    power = _fit_power(x / scale, g, sign * best)
    if power is not None:
        a, b, c = power
        params = {"a": sign * a, "b": sign * b * scale**c, "c": c}
        fit = CurveFit("power", params, math.nan, best, metric.greater_is_better)
    else:
        beta, alpha = np.polyfit(np.log(x), y, 1)
        fit = CurveFit(
            "log-linear",
            {"alpha": float(alpha), "beta": float(beta)},
            math.nan,
            best,
            metric.greater_is_better,
        )
        why = "too few points" if len(points) < 3 else "it did not converge"
        notes.append(
            f"The saturating curve a − b·n^(−c) could not be fitted ({why}); a log-linear "
            "curve was used instead, which does not level off and may overstate large gains."
        )
    r2 = _r2(y, fit.predict(x))
    return (
        CurveFit(fit.kind, fit.params, r2, best, metric.greater_is_better),
        notes,
    )


def summarise(runs: list[CurveRun]) -> list[CurvePoint]:
    """One point per minority count kept: runs of every repeat pooled, so noise shows as
    ``std``.

    Fractions that keep the same count (a small class held at ``MIN_KEPT`` rows) trained on
    the same rows, so they are one measurement, not several: merged, with a run repeated
    word for word counted once, so the fit does not weigh it more or read its copies as
    agreement.
    """
    points = []
    for count in sorted({round(run.minority_count, 9) for run in runs}):
        same = [run for run in runs if round(run.minority_count, 9) == count]
        distinct = list({(run.repeat, run.fold_scores): run for run in same}.values())
        spread = np.asarray([s for run in distinct for s in run.fold_scores], dtype=np.float64)
        spread = spread[np.isfinite(spread)]
        points.append(
            CurvePoint(
                fraction=max(run.fraction for run in same),
                minority_count=float(np.mean([run.minority_count for run in distinct])),
                score=float(np.mean([run.score for run in distinct])),
                std=float(np.std(spread, ddof=1)) if spread.shape[0] > 1 else math.nan,
                n_runs=len(distinct),
            )
        )
    return points
