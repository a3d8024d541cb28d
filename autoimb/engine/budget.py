"""How a search spends its budget: folds and fidelities by data size, threads, row and time caps.

The numbers are policy and live in :mod:`autoimb.config`; this module turns them into the
decisions of one search.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import joblib

from autoimb import config
from autoimb.engine.splits import Folds

logger = logging.getLogger("autoimb")


def folds_for_size(folds: Folds, n_rows: int) -> Folds:
    """At most 3 folds on large data: a third of the rows still validates each fold well, and
    every full-data trial costs two fits fewer. The user's own splitter is kept as it is."""
    if (
        n_rows > config.LARGE_DATA_ROWS
        and not folds.custom
        and folds.n_splits > config.LARGE_DATA_FOLDS
    ):
        logger.info(
            "%d rows: using %d folds instead of %d", n_rows, config.LARGE_DATA_FOLDS, folds.n_splits
        )
        return folds.with_splits(config.LARGE_DATA_FOLDS)
    return folds


def fidelities(n_rows: int) -> list[float]:
    """Training fractions of the majority class, smallest first, ending with all rows.

    Each step is ``FIDELITY_FACTOR`` times the last, and the smallest still trains on about
    ``FIDELITY_MIN_ROWS`` rows (both in :mod:`autoimb.config`); data under ``FIDELITY_FACTOR ×
    FIDELITY_MIN_ROWS`` rows gets one fidelity, so small searches are plain cross-validation.
    """
    fractions = [1.0]
    while n_rows * fractions[0] / config.FIDELITY_FACTOR >= config.FIDELITY_MIN_ROWS:
        fractions.insert(0, fractions[0] / config.FIDELITY_FACTOR)
    return fractions


def row_budget(n_rows: int) -> int:
    """Most rows a resampler may produce from a training fold, so oversampling cannot blow up."""
    return max(config.MAX_ROWS_FACTOR * n_rows, config.MIN_ROW_BUDGET)


def model_threads(n_jobs: int, n_rows: int) -> int:
    """Threads per model, so parallel trials together never use more than the machine's cores.

    Small data gets one thread: splitting a tiny fit across OpenMP threads costs more than it
    gains, and spinning threads slow down badly when the cores are busy.
    """
    if n_rows < config.SMALL_DATA_ROWS:
        return 1
    cores = joblib.cpu_count()  # those this process may use (a container's, a CPU mask's)
    return max(1, cores // max(1, n_jobs))


_POOLS = threading.Lock()  # held by the search that limits the pools


@contextlib.contextmanager
def held_threads(n_jobs: int, n_rows: int) -> Iterator[None]:
    """Hold numpy's and scikit-learn's BLAS and OpenMP pools to :func:`model_threads`, as
    LightGBM and XGBoost are told: the pools otherwise take every core in each parallel trial,
    and spin on a busy machine (a logistic regression on 13,000 rows took ten times as long).

    One search of a process holds them, in its own thread: a pool's size belongs to the process
    (OpenBLAS's) or to the thread that set it (OpenMP's, in some builds), so a search that
    overlaps another's leaves them as that one set them, and nothing is restored from a thread
    that did not set it."""
    from threadpoolctl import threadpool_limits

    if not _POOLS.acquire(blocking=False):
        yield
        return
    try:
        with threadpool_limits(limits=model_threads(n_jobs, n_rows)):
            yield
    finally:
        _POOLS.release()


class Folding(Protocol):
    """What the time estimates need of a cross-validation
    (:class:`~autoimb.engine.evaluate.CrossValidation`): its folds, and what preprocessing costs
    as it timed it (trials reuse their folds' matrices, so their own times leave it out)."""

    n_splits: int

    @property
    def rows_seconds(self) -> float: ...  # all rows once, as a refit does for each model

    @property
    def split_seconds(self) -> float: ...  # the folds of a fresh split


def refit_seconds(
    fit_seconds: Mapping[int, float],
    growth: Mapping[int, float],
    members: Iterable[int],
    k: int,
    prepare: float = 0.0,
) -> float:
    """The final fit on all rows, from the members' trial fits on k - 1 folds of them, each
    scaled by its ``growth`` (the refit grows every averaged ensemble whole), with some margin,
    plus ``prepare`` seconds of preprocessing all rows for each member.

    The one estimate of the refit: the trials' time reserve and the work after the trials both
    use it.
    """
    members = list(members)
    seconds = sum(fit_seconds.get(n, 0.0) * growth.get(n, 1.0) for n in members)
    refit = rows_scaled(seconds / k, k - 1, k)  # a fold's fit, on all rows
    return refit * config.REFIT_MARGIN + prepare * len(members)


def rows_scaled(seconds: float, rows: float, to_rows: float) -> float:
    """A fit of ``seconds`` on ``rows`` rows, as a fit on ``to_rows`` takes it: in proportion.

    The one rows model of the time estimates. The refit adds a margin to it; a trial that
    judges whether a larger sample's next fold can end in time (:mod:`autoimb.engine.evaluate`)
    adds none: most fits grow at least in proportion to their rows, though a strategy that
    undersamples the majority fits about as many rows at every size, which this overstates.
    """
    return seconds * to_rows / max(rows, 1)


def cross_validation_seconds(trials: Sequence[Any], members: Iterable[int]) -> float:
    """What cross-validating the members on all rows took in the search: the cost of doing it
    again, for the fresh-fold measure and the feature importance (a trial of an older version
    recorded only its whole time, ``seconds``)."""
    return sum(recorded_cv_seconds(trials[n].user_attrs) or 0.0 for n in members)


def recorded_cv_seconds(attrs: Mapping[str, Any]) -> float | None:
    """A finished trial's cross-validation time on all rows, as it recorded it (a trial of an
    older version, its whole time); None if it recorded neither."""
    seconds = attrs.get("cv_seconds", attrs.get("seconds"))
    return None if seconds is None else float(seconds)


def remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def ensemble_seconds(left: float) -> float:
    """Half of what is left of the budget."""
    return config.ENSEMBLE_TIME_SHARE * left


def fresh_split_plan(
    contenders: Sequence[int],
    seconds: Mapping[int, float],
    time_budget: float | None,
    prepare: float = 0.0,
) -> list[int]:
    """The contenders to cross-validate again on a fresh split, in order, while together they
    cost at most ``REMEASURE_MAX_SHARE`` of the budget, with ``prepare`` seconds of preparing
    that split's folds: on data where one cross-validation is a large share of it, trials are
    worth more. All of them when only trials bound the search.
    """
    if time_budget is None:
        return list(contenders)
    plan: list[int] = []
    total = prepare
    for number in contenders:
        total += seconds.get(number, 0.0)
        if total > config.REMEASURE_MAX_SHARE * time_budget:
            break
        plan.append(number)
    return plan


class TrialClock:
    """The time each trial may take, so that what must run after the trials still fits.

    ``reserve`` keeps back the ensemble selection (what ``selection`` says it takes over this
    many candidates, at most ``ENSEMBLE_SHARE`` of the budget or ``ENSEMBLE_MIN_SECONDS``;
    None: no ensemble), the advice's share (``share_after``), the final refit of the trial the
    search would choose now (from its fit time, scaled to all rows) and the fresh split of the
    contenders for the choice (``contenders``: that trial first), from what their
    cross-validation took (``cv_seconds``), as the fresh-fold measure itself counts it; a
    chosen trial of an earlier process (``earlier``) is cross-validated again before. With no
    ``final_model`` to make (a worker that writes none), nothing is kept back.
    """

    def __init__(
        self,
        time_budget: float | None,
        deadline: float | None,
        share_after: float,
        remeasure: bool,
        cv: Folding,
        fit_seconds: Mapping[int, float],
        growth: Mapping[int, float],
        contenders: Callable[[], list[int]],
        cv_seconds: Mapping[int, float],
        selection: Callable[[int], float | None] | None = None,
        earlier: Collection[int] = (),
        final_model: bool = True,
    ) -> None:
        self.time_budget, self.deadline = time_budget, deadline
        self.share_after, self.remeasure = share_after, remeasure
        self.cv, self.fit_seconds, self.growth = cv, fit_seconds, growth
        self.contenders, self.cv_seconds = contenders, cv_seconds
        self.selection = selection
        self.earlier = earlier  # trials of an earlier process, whose predictions are not held
        self.final_model = final_model

    def reserve(self) -> float:
        if not self.final_model:
            return 0.0
        return self.selection_seconds() + self.after_selection()

    def after_selection(self) -> float:
        """What the reserve keeps for the work that follows the ensemble selection: the
        advice's share, the refit of the trial the search would choose, and the race."""
        after = (self.time_budget or 0.0) * self.share_after
        if not self.fit_seconds:
            return after
        ranked = self.contenders()
        if not ranked:
            return after
        served = self.refitted_trial(ranked)
        refit = 0.0 if served is None else self.serve_seconds(served)
        split = self.cv.split_seconds
        again = 0.0
        chosen_among = len(self.fit_seconds) + 1  # if the trial this decides on finishes
        if self.remeasure and chosen_among >= config.MIN_CHOICE:
            plan = fresh_split_plan(ranked, self.cv_seconds, self.time_budget, split)
            if plan:
                again = split + sum(self.cv_seconds.get(n, 0.0) for n in plan)
            if len(plan) > 1:  # and the raced winner on a third split
                again += split + max(self.cv_seconds.get(n, 0.0) for n in plan)
        return after + refit + again + 0.5

    def refitted_trial(self, ranked: list[int] | None = None) -> int | None:
        """The trial whose refit the reserve keeps time for: the first contender (``ranked``)
        whose refit fits in the time left, else the cheapest to refit. A contender whose refit
        alone takes longer than all the time left cannot be served (the finish passes it
        over): keeping time for it ended searches half-way for nothing."""
        ranked = self.contenders() if ranked is None else ranked
        if not ranked or not self.fit_seconds:
            return None
        left = remaining(self.deadline)
        for best in ranked:
            if best not in self.fit_seconds:  # a trial another process finished meanwhile
                best = max(self.fit_seconds, key=self.fit_seconds.__getitem__)
            if left is None or self.serve_seconds(best) <= left:
                return best
        return min(self.fit_seconds, key=self.serve_seconds)  # the finish serves one it can refit

    def serve_seconds(self, number: int) -> float:
        """What serving the trial takes: its refit, after its cross-validation again if it
        ran in an earlier process."""
        cv = self.cv
        refit = refit_seconds(self.fit_seconds, self.growth, [number], cv.n_splits, cv.rows_seconds)
        if number in self.earlier:  # its out-of-fold predictions are made again first
            refit += self.cv_seconds.get(number, 0.0)
        return refit

    def selection_seconds(self) -> float:
        """What the reserve keeps for the ensemble selection."""
        if self.selection is None:
            return 0.0
        share = config.ENSEMBLE_SHARE * (self.time_budget or 0.0)
        most = max(share, min(config.ENSEMBLE_MIN_SECONDS, 2 * share))
        # The selection looks at the kept predictions of the trials finished by then (none of
        # an earlier process's).
        held = len(self.fit_seconds) - len(self.earlier)
        candidates = min(config.KEPT_PREDICTIONS, held + 1)
        estimate = self.selection(candidates)
        return most if estimate is None else min(most, estimate)

    def selection_limit(self, left: float) -> float:
        """The ensemble selection's time limit, ``left`` seconds before the deadline: half of
        them, but no more than leaves the refit and the race what was kept for them, unless
        the selection's own keep is more."""
        spare = max(self.selection_seconds(), left - self.after_selection())
        return max(min(ensemble_seconds(left), spare), 0.1)

    def trial_deadline(self, started: float) -> float | None:
        if self.deadline is None or self.time_budget is None:
            return self.deadline
        if not self.fit_seconds:
            return self.deadline
        longest = max(self.time_budget * config.TRIAL_SHARE, config.TRIAL_MIN_SECONDS)
        if len(self.cv_seconds) >= config.PACE_TRIALS:
            pace = config.PACE_FACTOR * statistics.median(self.cv_seconds.values())
            longest = min(longest, max(pace, config.PACE_FLOOR_SECONDS))
        return min(self.deadline - self.reserve(), started + longest)

    def spent(self) -> bool:
        return self.deadline is not None and time.monotonic() + self.reserve() >= self.deadline
