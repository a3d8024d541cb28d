"""Which of the user's columns the winner leans on: permutation importance, out of fold.

Each fold's model predicts its validation rows again with one input column shuffled among them
(the raw column, before the preprocessing, so a categorical column is shuffled as categories);
how much a score that needs no threshold drops, against the same rows unshuffled, is the
column's importance in that fold and repeat. The table gives the mean over folds × repeats and
its standard deviation, the spread. No row is scored by a model that was trained on it.

The fold models come from work that fitted them anyway where there is one (the fresh-fold
measure, or a resumed study's winner cross-validated again); otherwise the winner is fitted on
each fold once more, only when the time budget has room for it. Large folds are subsampled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from autoimb import config
from autoimb.data.conform import date_sources
from autoimb.data.dataset import Dataset
from autoimb.engine.budget import cross_validation_seconds, remaining, row_budget
from autoimb.engine.evaluate import CrossValidation, FittedFold, fit_fold
from autoimb.engine.outcome import SearchOutcome
from autoimb.engine.settings import SearchSettings
from autoimb.exceptions import TrialTimeout
from autoimb.metrics.metric import Metric
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.fast_scores import ranking_scorer

__all__ = [
    "FoldModel",
    "OutOfTime",
    "capped_rows",
    "card_entry",
    "permutation_importance",
    "smooth_metric",
    "winner_importance",
]


class OutOfTime(Exception):
    """The budget ran out, or would, before every column of every fold was scored."""


@dataclass(frozen=True)
class FoldModel:
    """One fold's fitted winner: the rows it predicts out of fold, its members and weights."""

    valid: np.ndarray
    members: tuple[tuple[Any, float], ...]  # (fitted StrategyPipeline, weight)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The weighted blend of the members; members sharing a preprocessing share its work."""
        total = sum(weight for _, weight in self.members)
        matrices: dict[int, np.ndarray] = {}
        proba = np.zeros(0)
        for pipeline, weight in self.members:
            preprocessor = pipeline.preprocessor_
            if id(preprocessor) not in matrices:
                matrices[id(preprocessor)] = preprocessor.transform(frame)
            part = pipeline.predict_proba_transformed(matrices[id(preprocessor)]) * (weight / total)
            proba = part if proba.size == 0 else proba + part
        return proba


def smooth_metric(metric: Metric) -> Metric:
    """The metric if it ranks probabilities, else average precision: no threshold hides a loss."""
    return metric if metric.kind == "ranking" else get_metric("average_precision")


def capped_rows(
    valid: np.ndarray, y: np.ndarray, cap: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``cap`` of a fold's validation rows, and each row's weight factor.

    The rarer classes' rows come first (they move a ranking score most), the largest class
    fills the rest; the factors give each class its whole share of the fold again, so the score
    is on the fold's own class balance.
    """
    if len(valid) <= cap:
        return valid, np.ones(len(valid))
    labels = y[valid]
    largest = int(np.argmax(np.bincount(labels)))
    rare, common = valid[labels != largest], valid[labels == largest]
    kept_rare = rare if len(rare) <= cap // 2 else rng.choice(rare, cap // 2, replace=False)
    kept_common = rng.choice(common, cap - len(kept_rare), replace=False)
    rows = np.sort(np.concatenate([kept_rare, kept_common]))
    factor = np.where(y[rows] == largest, len(common) / len(kept_common), 1.0)
    if len(kept_rare) < len(rare):
        factor[y[rows] != largest] = len(rare) / len(kept_rare)
    return rows, factor


def permutation_importance(
    folds: Iterable[FoldModel],
    data: Dataset,
    metric: Metric,
    *,
    n_repeats: int = config.IMPORTANCE_REPEATS,
    max_rows: int = config.IMPORTANCE_ROWS,
    n_folds: int,
    seed: int = 0,
    deadline: float | None = None,
) -> pd.DataFrame | None:
    """``feature``, ``importance`` (mean drop of :func:`smooth_metric`) and ``std`` over the
    folds × repeats, most important first; None when the score is undefined on every fold.

    Raises :class:`OutOfTime` when a fold's predictions still to come would end past
    ``deadline`` (a ``time.monotonic`` instant), judged from the time the last one took, and
    after a fold when the folds still to come, at the mean time of those done, would: the time
    left then goes to the refit instead of to a table that cannot be finished.
    """
    scorer = smooth_metric(metric)
    sign = 1.0 if scorer.greater_is_better else -1.0
    columns = input_columns(data)
    drops: list[np.ndarray] = []  # per fold: (input columns, repeats)
    scored = 0
    begun = time.monotonic()  # fetching a fold may fit it: a fold's time counts its fit
    for k, fold in enumerate(folds):
        rng = np.random.default_rng([seed, k])
        rows, factor = capped_rows(fold.valid, data.y, max(max_rows // n_folds, 1), rng)
        weights = factor if data.sample_weight is None else factor * data.sample_weight[rows]
        score = ranking_scorer(data.y[rows], weights, scorer, data.pos_label)
        frame = data.X.iloc[rows].reset_index(drop=True)
        started = time.monotonic()
        base = score(fold.predict_proba(frame))
        clock = _Clock(deadline, time.monotonic() - started)
        if not np.isfinite(base):  # a class absent from the fold: nothing to measure
            continue
        shuffled = _Shuffles(frame, columns, n_repeats, rng)
        drops.append(shuffled.drops(fold, score, base, sign, clock))
        scored += len(rows)
        _rest_fits(deadline, begun, done=k + 1, n_folds=n_folds)
    if not drops:
        return None
    values = np.concatenate(drops, axis=1)
    spread = values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.zeros(len(columns))
    table = pd.DataFrame(
        {"feature": list(columns), "importance": values.mean(axis=1), "std": spread}
    )
    table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs.update(score=scorer.name, rows=scored, folds=len(drops), repeats=n_repeats)
    return table


def input_columns(data: Dataset) -> dict[str, list[str]]:
    """Each input column and the model's columns made of it: a date is its days and its parts
    (``name.month`` ...), shuffled together, as the user gave one column."""
    parts = date_sources(data.dates)
    columns: dict[str, list[str]] = {}
    for column in data.X.columns:
        columns.setdefault(parts.get(column, column), []).append(column)
    return columns


def _rest_fits(deadline: float | None, begun: float, *, done: int, n_folds: int) -> None:
    """Raises :class:`OutOfTime` when the folds left, each as long as the mean of the ``done``
    ones since ``begun``, would end past ``deadline``."""
    if deadline is None or done >= n_folds:
        return
    now = time.monotonic()
    needed = (now - begun) / done * (n_folds - done)
    if now + needed > deadline:
        raise OutOfTime(
            f"its {n_folds - done} remaining folds (≈{needed:.1f} s) would overrun the budget "
            f"({max(deadline - now, 0.0):.1f} s left before the refit)"
        )


@dataclass
class _Clock:
    """Whether a fold's predictions still to come end before the deadline, each as long as the
    last one (the first: the unshuffled rows' time, scaled to the call's rows)."""

    deadline: float | None
    last: float

    def check(self, calls: int) -> None:
        if self.deadline is None:
            return
        now = time.monotonic()
        if now + self.last * calls > self.deadline:
            raise OutOfTime(
                f"the {calls} prediction call(s) still to make on a fold (≈"
                f"{self.last * calls:.1f} s) would overrun the budget "
                f"({max(self.deadline - now, 0.0):.1f} s left before the refit)"
            )


@dataclass
class _Shuffles:
    """One fold's rows, each column shuffled ``n_repeats`` times; several columns' copies are
    predicted in one call, since on small folds a call's overhead outweighs its rows, up to
    ``IMPORTANCE_BATCH_CELLS`` values a call, so wide data is not copied a thousand-fold."""

    frame: pd.DataFrame
    columns: Mapping[str, list[str]]  # input column → the model's columns made of it
    n_repeats: int
    rng: np.random.Generator
    _tiled: dict[int, pd.DataFrame] = field(default_factory=dict)

    def drops(
        self,
        fold: FoldModel,
        score: Callable[[np.ndarray], float],
        base: float,
        sign: float,
        clock: _Clock,
    ) -> np.ndarray:
        """The score drop of each column (rows) and repeat (columns)."""
        n, repeats = len(self.frame), self.n_repeats
        cells = n * repeats * self.frame.shape[1]  # what one shuffled column's copies hold
        per_call = max(1, config.IMPORTANCE_BATCH_CELLS // cells)
        drops = np.empty((len(self.columns), repeats))
        starts = range(0, len(self.columns), per_call)
        clock.last *= repeats * min(per_call, len(self.columns))
        for done, first in enumerate(starts):
            batch = list(self.columns)[first : first + per_call]
            clock.check(len(starts) - done)
            started = time.monotonic()
            proba = fold.predict_proba(self._copies(batch))
            clock.last = time.monotonic() - started
            for b in range(len(batch)):
                for r in range(repeats):
                    part = proba[(b * repeats + r) * n : (b * repeats + r + 1) * n]
                    drops[first + b, r] = sign * (base - score(part))
        return drops

    def _copies(self, batch: Sequence[str]) -> pd.DataFrame:
        """``n_repeats`` copies of the rows per input column of ``batch``, that column (all
        the model's columns made of it, in the same order) shuffled in its own copies; each
        column is taken from the original, so its type is kept. The
        unshuffled copies are made once per batch size and copied whole: column by column,
        a thousand columns cost as much again for each one shuffled."""
        n, repeats = len(self.frame), self.n_repeats
        plain = np.tile(np.arange(n), repeats * len(batch))
        if len(batch) not in self._tiled:
            self._tiled[len(batch)] = self.frame.take(plain).reset_index(drop=True)
        copies = self._tiled[len(batch)].copy()
        for at, column in enumerate(batch):
            order = plain.copy()
            start = at * repeats * n
            order[start : start + repeats * n] = np.concatenate(
                [self.rng.permutation(n) for _ in range(repeats)]
            )
            for made in self.columns[column]:
                copies[made] = self.frame[made].take(order).reset_index(drop=True)
        return copies


def _fitted_folds(
    configs: Mapping[int, Mapping[str, Any]],
    weights: Mapping[int, float],
    cv: CrossValidation,
    settings: SearchSettings,
    seed: int,
    threads: int,
    deadline: float | None,
) -> Iterator[FoldModel]:
    """The winner fitted on each fold as the search measured it, one fold in memory at a time.

    A net trains until a time cap; like a trial's folds, each fit gets its share of the time
    left (the fits still to come, its own included), so the first cannot spend the others'."""
    n_members = len(weights)
    for k in range(cv.n_splits):
        fold = cv.fold(k)
        members = tuple(
            (
                fit_fold(
                    configs[n],
                    cv,
                    fold,
                    random_state=seed,
                    n_threads=threads,
                    max_rows=row_budget(len(cv.data.y)),
                    deadline=deadline,
                    pretrained=settings.pretrained,
                    member_share=config.SEARCH_MEMBER_SHARE,
                    folds_left=(cv.n_splits - k) * n_members - i,
                ),
                float(weight),
            )
            for i, (n, weight) in enumerate(weights.items())
        )
        yield FoldModel(fold.valid, members)


def winner_importance(
    configs: Mapping[int, Mapping[str, Any]],
    weights: Mapping[int, float],
    models: Sequence[FittedFold],
    outcome: SearchOutcome,
    settings: SearchSettings,
    data: Dataset,
    threads: int,
    *,
    after: float,
    notes: list[str],
) -> dict[str, Any] | None:
    """The model card's entry for the winner's permutation importance, or None with a note
    saying why there is none.

    ``models``: the winner already fitted on some folds (a single winner only), else it is
    fitted again on the search's folds; ``after``: seconds the refit still needs.
    """
    if not settings.importance:
        if settings.stopped:
            notes.append("No feature importance: the search was stopped before it was measured.")
        return None
    deadline = None if settings.deadline is None else settings.deadline - after
    capped = deadline is None  # a search bounded by trials: importance takes at most as long
    if capped:
        now = time.monotonic()
        took = now - settings.started
        deadline = now + max(took, config.IMPORTANCE_MIN_SECONDS)
    if models:
        folds: Iterable[FoldModel] = (FoldModel(m.valid, ((m.pipeline, 1.0),)) for m in models)
        n_folds = len(models)
    else:
        left = None if capped else remaining(deadline)
        cost = 0.0 if left is None else cross_validation_seconds(outcome.study.trials, configs)
        if left is not None and cost > left:
            notes.append(
                f"No feature importance: fitting the winner on each fold again (≈{cost:.0f} s) "
                f"would overrun the budget ({max(left, 0.0):.0f} s left before the refit)."
            )
            return None
        folds = _fitted_folds(
            configs, weights, outcome.cv, settings, outcome.random_state, threads, deadline
        )
        n_folds = outcome.cv.n_splits
    try:
        table = permutation_importance(
            folds,
            data,
            settings.metric,
            n_folds=n_folds,
            seed=outcome.random_state,
            deadline=deadline,
        )
    except (OutOfTime, TrialTimeout) as stop:
        if capped:
            notes.append(
                f"No feature importance: on {data.X.shape[1]} columns it would take longer "
                f"than the search itself ({took:.0f} s); give a time budget to measure it in "
                "what is left of it, or importance=False to skip it."
            )
            return None
        why = str(stop) if isinstance(stop, OutOfTime) else ""
        notes.append(
            f"No feature importance: {why or 'the time budget ran out while it was measured'}."
        )
        return None
    except Exception as exc:  # a strategy may fail on a fold; the model is still wanted
        notes.append(f"No feature importance: {type(exc).__name__}: {exc}"[:300])
        return None
    if table is None:
        notes.append("No feature importance: its score is undefined on every fold.")
    return card_entry(table)


def card_entry(table: pd.DataFrame | None) -> dict[str, Any] | None:
    """The table in plain types, with how it was measured, for a model card."""
    if table is None:
        return None
    return {**table.attrs, "features": table.to_dict(orient="records")}
