"""Data-collection advice: how much would more minority examples help the winning strategy?

The winner is retrained on growing fractions of the minority class (every class but the
largest), the majority fixed, and scored on the same validation rows each time. A saturating
curve ``score(n) = a - b * n**(-c)`` fitted on those points says what the metric is expected
to be with 2x and 5x more minority examples.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import OptimizeWarning, curve_fit

from autoimb.data.dataset import Dataset
from autoimb.data.preprocess import Preprocessor
from autoimb.engine.evaluate import CrossValidation
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import Metric, get_metric
from autoimb.posthoc.threshold import honest_score

__all__ = ["CurveFit", "CurvePoint", "CurveRun", "LearningCurveAdvice", "minority_learning_curve"]

FitKind = Literal["power", "log-linear", "none"]

DEFAULT_FRACTIONS: tuple[float, ...] = (0.2, 0.35, 0.5, 0.75, 1.0)
MIN_KEPT = 3
"""Rows of a subsampled class kept in a training fold at least: resamplers need neighbours."""

POOR_R2 = 0.5
"""Below this share of the points' variance explained, the fit is called poor."""


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
    """Runs at one fraction summarised: mean score and spread over folds and repeats.

    ``minority_count`` is the smallest class's rows in a training fold (mean over folds);
    for more than two classes it is the share kept of all subsampled classes times the
    smallest class's full count, so it grows with the fraction even where that class is
    held at ``MIN_KEPT`` rows.
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


@dataclass
class LearningCurveAdvice:
    """What :func:`minority_learning_curve` measured and what it predicts.

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

    def predict(self, n: float | NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected score with ``n`` minority examples (capped at the metric's best)."""
        return self.fit.predict(n)

    def summary(self) -> str:
        """One or two sentences for a person deciding whether to collect more data."""
        name = _display(self.metric)
        if self.fit.kind == "none" or not math.isfinite(self.predicted_2x):
            text = (
                f"Too few learning-curve points ({len(self.points)}) to predict how {name} "
                "would change with more minority examples."
            )
            return " ".join([text, *self.notes])
        n2, n5 = 2 * self.current_count, 5 * self.current_count
        if self.multiclass:
            what = "examples of every class but the largest"
            size2 = f"≈{n2} of class {self.smallest_class!r}"
        else:
            what, size2 = "minority examples", f"≈{n2}"
        now, two, five = self.predicted_current, self.predicted_2x, self.predicted_5x
        if abs(self.gain_2x) < 0.005 and abs(self.gain_5x) < 0.005:
            text = (
                f"With 2× more {what} ({size2}), {name} is expected to stay at about "
                f"{_num(now)}; with 5× (≈{n5}), ≈{_num(five)}: more data of this kind is "
                "unlikely to help this strategy."
            )
        else:
            verb = "rise" if two >= now else "fall"
            text = (
                f"With 2× more {what} ({size2}), {name} is expected to {verb} from "
                f"{_num(now)} to ≈{_num(two)} ({_signed(self.gain_2x)}); with 5× (≈{n5}), "
                f"≈{_num(five)}."
            )
        parts = [text]
        if self.cautions:
            parts.append("Caution: " + "; ".join(self.cautions) + ".")
        return " ".join(parts)

    def to_frame(self) -> pd.DataFrame:
        """Measured points and the curve's predictions, one row each, for a report or plot."""
        rows: list[dict[str, Any]] = []
        for point in self.points:
            rows.append(
                {
                    "kind": "measured",
                    "fraction": point.fraction,
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


# --------------------------------------------------------------------------- helpers


def _display(name: str) -> str:
    special = {"f1": "F1", "mcc": "MCC", "roc_auc": "ROC AUC", "g_mean": "G-mean"}
    return special.get(name, name.replace("_", " "))


def _num(value: float) -> str:
    return f"{value:.2f}" if 0.1 <= abs(value) < 100 else f"{value:.2g}"


def _signed(value: float) -> str:
    size = abs(value)
    return ("+" if value >= 0 else "−") + (f"{size:.2f}" if size >= 0.005 else f"{size:.1g}")


def _metric_best(metric: Metric) -> float:
    """The best value a registered metric can take: 1 for scores, 0 for costs."""
    return 1.0 if metric.greater_is_better else 0.0


def _check_fractions(fractions: Sequence[float]) -> list[float]:
    try:
        values = sorted({float(f) for f in fractions})
    except (TypeError, ValueError):
        raise AutoImbError(
            f"fractions must be numbers in (0, 1], got {fractions!r}; e.g. (0.2, 0.5, 1.0)."
        ) from None
    if not values or not all(0.0 < f <= 1.0 for f in values):
        raise AutoImbError(
            f"fractions must be numbers in (0, 1], got {list(fractions)!r}; e.g. (0.2, 0.5, 1.0)."
        )
    if values[-1] != 1.0:
        values.append(1.0)  # the full size anchors "the current" score
    return values


def _run_order(fractions: list[float]) -> list[float]:
    """Full size and smallest first, then each next the farthest (in log size) from those done.

    A time limit then still leaves points spread over the whole range.
    """
    order = [fractions[-1]]
    if len(fractions) > 1:
        order.append(fractions[0])
    rest = [f for f in fractions if f not in order]
    while rest:
        far = max(rest, key=lambda f: min(abs(math.log(f / g)) for g in order))
        order.append(far)
        rest.remove(far)
    return order


def _digest(cv: CrossValidation) -> str:
    """Fingerprint of the validation rows, fold by fold, so a reader can check they never change."""
    h = hashlib.sha1(usedforsecurity=False)
    for k in range(cv.n_splits):
        h.update(np.asarray(cv.splits[k][1], dtype=np.int64).tobytes())
        h.update(b"|")
    return h.hexdigest()


def _fit_power(
    x: NDArray[np.float64], g: NDArray[np.float64], g_best: float
) -> tuple[float, float, float] | None:
    """Least squares ``g = a - b * x**(-c)`` within the bounds that keep it saturating.

    ``a <= g_best`` (no score past the metric's best), ``b >= 0`` (rising), ``c`` in
    [0.05, 3]; None when the optimiser fails.
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
                bounds=((-np.inf, 0.0, 0.05), (g_best, np.inf, 3.0)),
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


def _fit_curve(
    points: list[CurvePoint], metric: Metric, scale: float
) -> tuple[CurveFit, list[str]]:
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


# ----------------------------------------------------------------------- the learning curve


def _subsample(
    train: NDArray[np.int64],
    y: NDArray[np.int64],
    classes: list[int],
    fraction: float,
    rng_seed: list[int] | None,
) -> NDArray[np.int64]:
    """Training rows with ``fraction`` of each listed class kept (nested across fractions).

    The permutation depends on the seed, not on the fraction, so a smaller fraction keeps a
    subset of a larger one's rows and the curve's points differ only by the rows added.
    """
    if fraction >= 1.0:
        return train
    keep = [train[~np.isin(y[train], classes)]]
    for c in classes:
        rows = train[y[train] == c]
        rng = np.random.default_rng(None if rng_seed is None else [*rng_seed, c])
        order = rng.permutation(rows.shape[0])
        n_keep = min(rows.shape[0], max(MIN_KEPT, round(fraction * rows.shape[0])))
        keep.append(rows[order[:n_keep]])
    return np.sort(np.concatenate(keep))


def minority_learning_curve(
    config: Mapping[str, Any],
    data: Dataset,
    metric: Metric | str,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    cv: int = 3,
    random_state: int | None = 0,
    n_threads: int = 1,
    time_limit: float | None = None,
    repeats: int = 2,
) -> LearningCurveAdvice:
    """Learning curve of ``config`` over the minority size, and what 2x and 5x would give.

    Parameters
    ----------
    config
        The winning strategy, e.g. ``SearchResult.best_config``; its decision fields are
        ignored, since each fold's threshold is tuned anew.
    data
        The validated training data (:func:`autoimb.data.dataset.validate`).
    fractions
        Shares of each non-largest class kept in every training fold; 1.0 is always added,
        since it anchors the current score. At least ``MIN_KEPT`` rows of a class are kept.
    cv
        Folds. Validation folds are never subsampled, so every point is scored on the same
        rows and the points differ only by the training data.
    repeats
        Subsampling seeds; the second and later run only while ``time_limit`` allows.
    time_limit
        Seconds; runs that would not finish in time are skipped (fewer points), and the
        notes say so. The first run always happens.

    Notes
    -----
    Threshold metrics are scored with :func:`autoimb.posthoc.threshold.honest_score`, so each
    fold's threshold is chosen on the other folds. The preprocessing (imputation, category
    codes) is refitted on each reduced training fold, as if the dropped rows did not exist.
    The curve's x axis is the minority count of the training folds, about ``(cv-1)/cv`` of
    the data's, and the predictions are read at multiples of the whole data's count, the
    size the final refit trains on.
    """
    if not isinstance(data, Dataset):
        raise AutoImbError(
            "data must be an autoimb Dataset; pass autoimb.data.dataset.validate(X, y) instead of "
            f"{type(data).__name__}."
        )
    if not isinstance(config, Mapping) or "model" not in config:
        raise AutoImbError(
            "config must be a strategy mapping with at least a 'model' entry, e.g. "
            "{'model': {'name': 'lightgbm'}}."
        )
    m = get_metric(metric)
    if data.n_classes > 2 and m.kind == "threshold" and m.multiclass_fn is None:
        raise AutoImbError(
            f"the metric {m.name!r} is defined for two classes, and y has {data.n_classes}; "
            "choose a macro metric such as 'f1' or 'mcc'."
        )
    values = _check_fractions(fractions)
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise AutoImbError(f"repeats must be a positive integer, got {repeats!r}.")
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float)
        or not time_limit > 0
    ):
        raise AutoImbError(f"time_limit must be a positive number of seconds, got {time_limit!r}.")

    started = time.monotonic()
    folds = CrossValidation(data, cv, random_state=random_state)
    digest = _digest(folds)
    counts = data.class_counts
    largest = int(np.argmax(counts))
    subsampled = [c for c in range(data.n_classes) if c != largest]
    smallest = data.pos_label
    schema = data.schema()
    weights = data.sample_weight

    runs: list[CurveRun] = []
    notes: list[str] = []
    planned = [(r, f) for r in range(int(repeats)) for f in _run_order(values)]
    failed: set[float] = set()
    elapsed: list[float] = []
    for done, (repeat, fraction) in enumerate(planned):
        late = time_limit is not None and elapsed
        if late and time.monotonic() - started + max(elapsed) > time_limit:
            notes.append(
                f"The time limit ({time_limit:g} s) stopped the learning curve after "
                f"{done} of {len(planned)} runs, so it has fewer points than asked."
            )
            break
        if fraction in failed:
            continue
        began = time.monotonic()
        try:
            run = _one_run(
                config,
                data,
                folds,
                m,
                schema=schema,
                weights=weights,
                subsampled=subsampled,
                smallest=smallest,
                fraction=fraction,
                repeat=repeat,
                random_state=random_state,
                n_threads=n_threads,
                digest=digest,
            )
        except Exception as exc:  # a strategy may not fit a class cut to a few rows
            if fraction == 1.0:
                raise AutoImbError(
                    f"the strategy could not be trained on the full training folds "
                    f"({type(exc).__name__}: {exc}); pass a config that cross-validates."
                ) from exc
            failed.add(fraction)
            notes.append(
                f"With {fraction:.0%} of the minority rows the strategy could not be trained "
                f"({type(exc).__name__}: {exc}); that point is left out."
            )
        else:
            runs.append(run)
        elapsed.append(time.monotonic() - began)

    points = _summarise(runs)
    current = int(counts[smallest])
    fit, fit_notes = _fit_curve(points, m, float(current))
    notes.extend(fit_notes)
    now, two, five = (float(v) for v in fit.predict(np.array([1.0, 2.0, 5.0]) * current))
    advice = LearningCurveAdvice(
        metric=m.name,
        greater_is_better=m.greater_is_better,
        points=points,
        runs=runs,
        fit=fit,
        current_count=current,
        predicted_current=now,
        predicted_2x=two,
        predicted_5x=five,
        gain_2x=two - now,
        gain_5x=five - now,
        subsampled_classes=[str(data.classes[c]) for c in subsampled],
        smallest_class=str(data.classes[smallest]),
        multiclass=data.n_classes > 2,
        fold_ids=folds.fold_ids.copy(),
        notes=notes,
    )
    advice.cautions = _cautions(advice)
    return advice


def _one_run(
    config: Mapping[str, Any],
    data: Dataset,
    folds: CrossValidation,
    metric: Metric,
    *,
    schema: dict[str, Any],
    weights: NDArray[np.float64] | None,
    subsampled: list[int],
    smallest: int,
    fraction: float,
    repeat: int,
    random_state: int | None,
    n_threads: int,
    digest: str,
) -> CurveRun:
    """Cross-validate the strategy with the training folds reduced to ``fraction``."""
    began = time.perf_counter()
    oof = np.zeros((data.y.shape[0], data.n_classes))
    kept_minority: list[float] = []
    train_rows = 0
    seed = None if random_state is None else int(random_state) + repeat
    for k in range(folds.n_splits):
        fold = folds.fold(k)
        rows = _subsample(
            fold.train,
            data.y,
            subsampled,
            fraction,
            None if random_state is None else [int(random_state), repeat, k],
        )
        if rows.shape[0] == fold.train.shape[0]:
            preprocessor, X_train, X_valid = fold.preprocessor, fold.X_train, fold.X_valid
        else:
            preprocessor = Preprocessor(tuple(schema["categorical"]), tuple(schema["numeric"]))
            preprocessor.fit(data.X.iloc[rows])
            X_train = preprocessor.transform(data.X.iloc[rows])
            X_valid = preprocessor.transform(data.X.iloc[fold.valid])
        pipeline = StrategyPipeline(config, schema, random_state=seed, n_threads=n_threads)
        pipeline.fit_transformed(
            preprocessor,
            X_train,
            data.y[rows],
            None if weights is None else weights[rows],
            n_classes=data.n_classes,
        )
        oof[fold.valid] = pipeline.predict_proba_transformed(X_valid)
        # The share kept of all subsampled classes, in units of the smallest class: equal to
        # its count for two classes, and still increasing with the fraction when a small
        # class of a multi-class target is held at MIN_KEPT.
        available = np.isin(data.y[fold.train], subsampled).sum()
        share = np.isin(data.y[rows], subsampled).sum() / available
        kept_minority.append(share * np.count_nonzero(data.y[fold.train] == smallest))
        train_rows += int(rows.shape[0])
    value, fold_scores = honest_score(
        data.y, oof, folds.fold_ids, metric, sample_weight=weights, pos_label=data.pos_label
    )
    return CurveRun(
        fraction=float(fraction),
        repeat=int(repeat),
        minority_count=float(np.mean(kept_minority)),
        score=float(value),
        fold_scores=tuple(float(s) for s in fold_scores),
        train_rows=train_rows,
        validation_digest=digest,
        seconds=time.perf_counter() - began,
    )


def _summarise(runs: list[CurveRun]) -> list[CurvePoint]:
    points = []
    for fraction in sorted({run.fraction for run in runs}):
        same = [run for run in runs if run.fraction == fraction]
        spread = np.asarray([s for run in same for s in run.fold_scores], dtype=np.float64)
        spread = spread[np.isfinite(spread)]
        points.append(
            CurvePoint(
                fraction=fraction,
                minority_count=float(np.mean([run.minority_count for run in same])),
                score=float(np.mean([run.score for run in same])),
                std=float(np.std(spread, ddof=1)) if spread.shape[0] > 1 else math.nan,
                n_runs=len(same),
            )
        )
    return points


def _cautions(advice: LearningCurveAdvice) -> list[str]:
    """Reasons not to take the numbers at face value, in plain words."""
    out: list[str] = []
    fit = advice.fit
    if fit.kind == "none":
        return out
    if any(note.startswith("The time limit") for note in advice.notes):
        out.append("the time limit cut the curve short")
    if any("could not be trained" in note for note in advice.notes):
        out.append("the strategy failed at some fractions, which are left out")
    if len(advice.points) < 4:
        out.append(f"the curve rests on only {len(advice.points)} points")
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
    n_folds = int(np.unique(advice.fold_ids).shape[0])
    # Standard error of each point's mean, from the spread of its fold scores.
    errors = [p.std / math.sqrt(p.n_runs * n_folds) for p in advice.points if math.isfinite(p.std)]
    if errors and abs(advice.gain_2x) < float(np.mean(errors)):
        out.append("the expected gain at 2× is smaller than the noise between folds")
    return out
