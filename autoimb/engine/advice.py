"""Data-collection advice: how much would more minority examples help the winning strategy?

The winner is retrained on growing fractions of the minority class (every class but the
largest), the majority fixed, and scored on the same validation rows each time. A saturating
curve ``score(n) = a - b * n**(-c)`` fitted on those points says what the metric is expected
to be with 2x and 5x more minority examples. This module measures; the fit is in
:mod:`autoimb.engine.curve_fit` and the wording in :mod:`autoimb.engine.advice_text`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from autoimb.data.dataset import Dataset
from autoimb.data.preprocess import Preprocessor
from autoimb.engine.advice_text import LearningCurveAdvice, cautions, floor_missed
from autoimb.engine.curve_fit import CurveFit, CurvePoint, CurveRun, fit_curve, summarise
from autoimb.engine.evaluate import CrossValidation, Fold
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.exceptions import AutoImbError
from autoimb.metrics.own import check_for_classes
from autoimb.metrics.registry import Metric, get_metric, precision_floor
from autoimb.posthoc.threshold import honest_score

__all__ = ["CurveFit", "CurvePoint", "CurveRun", "LearningCurveAdvice", "minority_learning_curve"]

DEFAULT_FRACTIONS: tuple[float, ...] = (0.2, 0.35, 0.5, 0.75, 1.0)
MIN_KEPT = 3
"""Rows of a subsampled class kept in a training fold at least: resamplers need neighbours."""


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


@dataclass(frozen=True)
class _Setup:
    """What every run of one learning curve shares: the strategy, data, folds and metric."""

    config: Mapping[str, Any]
    data: Dataset
    folds: CrossValidation
    metric: Metric
    schema: dict[str, Any]
    weights: NDArray[np.float64] | None
    subsampled: list[int]
    smallest: int
    random_state: int | None
    n_threads: int
    digest: str


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
    m, values = _checked(config, data, metric, fractions, repeats, time_limit)
    started = time.monotonic()
    folds = CrossValidation(data, cv, random_state=random_state)
    setup = _setup(config, data, folds, m, random_state, n_threads)
    runs, notes = _measure(setup, values, repeats, time_limit, started)
    return _advise(setup, runs, notes)


def _checked(
    config: Mapping[str, Any],
    data: Dataset,
    metric: Metric | str,
    fractions: Sequence[float],
    repeats: int,
    time_limit: float | None,
) -> tuple[Metric, list[float]]:
    """The metric and sorted fractions, after every argument check, before any training."""
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
    check_for_classes(m, data.n_classes)
    values = _check_fractions(fractions)
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise AutoImbError(f"repeats must be a positive integer, got {repeats!r}.")
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float)
        or not time_limit > 0
    ):
        raise AutoImbError(f"time_limit must be a positive number of seconds, got {time_limit!r}.")
    return m, values


def _setup(
    config: Mapping[str, Any],
    data: Dataset,
    folds: CrossValidation,
    metric: Metric,
    random_state: int | None,
    n_threads: int,
) -> _Setup:
    """Subsample every class but the largest; the smallest is the one counted (whichever
    class the metric calls positive)."""
    largest = int(np.argmax(data.class_counts))
    subsampled = [c for c in range(data.n_classes) if c != largest]
    return _Setup(
        config=config,
        data=data,
        folds=folds,
        metric=metric,
        schema=data.schema(),
        weights=data.sample_weight,
        subsampled=subsampled,
        smallest=min(subsampled, key=lambda c: data.class_counts[c]),
        random_state=random_state,
        n_threads=n_threads,
        digest=_digest(folds),
    )


def _measure(
    setup: _Setup,
    values: list[float],
    repeats: int,
    time_limit: float | None,
    started: float,
) -> tuple[list[CurveRun], list[str]]:
    """Every planned run that fits in the time, and notes on what was skipped or failed.

    A fraction that fails once is not retried; a failure at the full size is an error,
    since the curve has no anchor without it.
    """
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
            run = _one_run(setup, fraction, repeat)
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
    return runs, notes


def _advise(setup: _Setup, runs: list[CurveRun], notes: list[str]) -> LearningCurveAdvice:
    """Points, fit and predictions at 1x, 2x and 5x the data's minority count."""
    data, m, smallest = setup.data, setup.metric, setup.smallest
    points = summarise(runs)
    current = int(data.class_counts[smallest])
    floor = precision_floor(m)
    if floor_missed(floor, runs):
        # Below its floor the score is a precision shortfall: a curve through it mixes units.
        fit = CurveFit("none", {}, math.nan, 1.0, m.greater_is_better)
    else:
        fit, fit_notes = fit_curve(points, m, float(current))
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
        subsampled_classes=[str(data.classes[c]) for c in setup.subsampled],
        smallest_class=str(data.classes[smallest]),
        multiclass=data.n_classes > 2,
        fold_ids=setup.folds.fold_ids.copy(),
        notes=notes,
        precision_floor=floor,
    )
    advice.cautions = cautions(advice)
    return advice


def _one_run(setup: _Setup, fraction: float, repeat: int) -> CurveRun:
    """Cross-validate the strategy with the training folds reduced to ``fraction``."""
    data, folds, state = setup.data, setup.folds, setup.random_state
    began = time.perf_counter()
    oof = np.zeros((data.y.shape[0], data.n_classes))
    kept_minority: list[float] = []
    train_rows = 0
    seed = None if state is None else int(state) + repeat
    for k in range(folds.n_splits):
        fold = folds.fold(k)
        rows = _subsample(
            fold.train,
            data.y,
            setup.subsampled,
            fraction,
            None if state is None else [int(state), repeat, k],
        )
        preprocessor, X_train, X_valid = _features(setup, fold, rows)
        pipeline = StrategyPipeline(
            setup.config, setup.schema, random_state=seed, n_threads=setup.n_threads
        )
        pipeline.fit_transformed(
            preprocessor,
            X_train,
            data.y[rows],
            None if setup.weights is None else setup.weights[rows],
            n_classes=data.n_classes,
        )
        oof[fold.valid] = pipeline.predict_proba_transformed(X_valid)
        kept_minority.append(_kept_minority(setup, fold.train, rows))
        train_rows += int(rows.shape[0])
    value, fold_scores = honest_score(
        data.y,
        oof,
        folds.fold_ids,
        setup.metric,
        sample_weight=setup.weights,
        pos_label=data.pos_label,
    )
    return CurveRun(
        fraction=float(fraction),
        repeat=int(repeat),
        minority_count=float(np.mean(kept_minority)),
        score=float(value),
        fold_scores=tuple(float(s) for s in fold_scores),
        train_rows=train_rows,
        validation_digest=setup.digest,
        seconds=time.perf_counter() - began,
    )


def _features(setup: _Setup, fold: Fold, rows: NDArray[np.int64]) -> tuple[Preprocessor, Any, Any]:
    """The fold's own features when no row was dropped; else preprocessing refitted without them.

    Refitting makes the imputation and category codes what they would be had the dropped
    rows never existed.
    """
    if rows.shape[0] == fold.train.shape[0]:
        return fold.preprocessor, fold.X_train, fold.X_valid
    schema, X = setup.schema, setup.data.X
    preprocessor = Preprocessor(tuple(schema["categorical"]), tuple(schema["numeric"]))
    preprocessor.fit(X.iloc[rows])
    X_train = preprocessor.transform(X.iloc[rows])
    X_valid = preprocessor.transform(X.iloc[fold.valid])
    return preprocessor, X_train, X_valid


def _kept_minority(setup: _Setup, train: NDArray[np.int64], rows: NDArray[np.int64]) -> float:
    """The share kept of all subsampled classes, in units of the smallest class.

    Equal to its count for two classes, and still increasing with the fraction when a small
    class of a multi-class target is held at ``MIN_KEPT``.
    """
    y = setup.data.y
    available = np.isin(y[train], setup.subsampled).sum()
    share = np.isin(y[rows], setup.subsampled).sum() / available
    return share * np.count_nonzero(y[train] == setup.smallest)
