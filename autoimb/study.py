"""The Optuna study: storage, sampler, budget, pruning and failures.

Optuna is the engine and its storages are the persistence: an in-memory study by default, a
journal file or a database URL to make a search resumable or shared by several workers. A
failing strategy becomes a FAIL trial with its error kept; the search goes on.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from autoimb import warmstart
from autoimb.components import STAGES
from autoimb.data import Dataset
from autoimb.evaluate import CrossValidation, Evaluation, evaluate
from autoimb.exceptions import AutoImbError, TrialTimeout
from autoimb.metrics import Metric
from autoimb.space import LARGE_DATA_ROWS, SearchSpace

logger = logging.getLogger("autoimb")

STUDY_ATTR = "autoimb"
DEFAULT_STUDY_NAME = "autoimb"
KEPT_PREDICTIONS = 20
MAX_ROWS_FACTOR = 3
# Fewest finished trials for a winner to be measured again on fresh folds (remeasure.py).
MIN_CHOICE = 3

TrialCallback = Callable[[optuna.Study, FrozenTrial], None]

# Multi-fidelity: on data larger than this, trials start on a subsample of the majority class.
FIDELITY_MIN_ROWS = 20_000
FIDELITY_FACTOR = 3


LARGE_DATA_FOLDS = 3


def folds_for_size(cv: int, n_rows: int) -> int:
    """At most 3 folds on large data: a third of the rows still validates each fold well, and
    every full-data trial costs two fits fewer."""
    if n_rows > LARGE_DATA_ROWS and isinstance(cv, int) and cv > LARGE_DATA_FOLDS:
        logger.info("%d rows: using %d folds instead of %d", n_rows, LARGE_DATA_FOLDS, cv)
        return LARGE_DATA_FOLDS
    return cv


def fidelities(n_rows: int) -> list[float]:
    """Training fractions of the majority class, smallest first, ending with all rows.

    Each step is ``FIDELITY_FACTOR`` times the last, and the smallest still trains on about
    ``FIDELITY_MIN_ROWS`` rows; data under ``FIDELITY_FACTOR × FIDELITY_MIN_ROWS`` rows gets one
    fidelity, so small searches are plain cross-validation.
    """
    fractions = [1.0]
    while n_rows * fractions[0] / FIDELITY_FACTOR >= FIDELITY_MIN_ROWS:
        fractions.insert(0, fractions[0] / FIDELITY_FACTOR)
    return fractions


@dataclass
class SearchSettings:
    """Everything a search needs besides the data; one object instead of many arguments."""

    metric: Metric
    space: SearchSpace
    time_budget: float | None = None
    n_trials: int | None = None
    cv: int = 5
    storage: str | optuna.storages.BaseStorage | None = None
    study_name: str | None = None
    n_jobs: int = 1
    random_state: int | None = None
    callbacks: Sequence[TrialCallback] = field(default_factory=tuple)
    warm_start: warmstart.WarmStart = "portfolio"
    data_source: dict[str, Any] | None = None
    heartbeat: int = 30
    pretrained: dict[str, Any] = field(default_factory=dict)
    ensemble: bool = True
    advice: bool = False
    remeasure: bool = True

    @property
    def after_search_share(self) -> float:
        """Share of the budget kept for the work after the trials: ensemble and advice."""
        return 0.05 * self.ensemble + 0.2 * self.advice

    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float | None:
        return None if self.time_budget is None else self.started + self.time_budget


def _retry_once() -> RetryHeartbeatStaleTrialCallback:
    """Queue a trial whose worker stopped once more, with the same parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback(max_retry=1)


def make_storage(storage: str | optuna.storages.BaseStorage | None, heartbeat: int = 30) -> Any:
    """A database URL → RDB storage with heartbeats; any other string → a journal file.

    With heartbeats, a trial whose worker died is marked failed after ``3 × heartbeat``
    seconds and retried once, so it cannot keep steering the sampler as a RUNNING trial.

    A journal file, not SQLite, is the embedded default: Optuna advises against SQLite for
    several processes writing at once (lock errors), while its journal file takes appends from
    many processes safely through a file lock.
    """
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    text = str(storage)
    if "://" in text:
        return RDBStorage(
            text,
            heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=_retry_once(),
            engine_kwargs={"pool_pre_ping": True} if not text.startswith("sqlite") else None,
        )
    return JournalStorage(JournalFileBackend(text))


SMALL_DATA_ROWS = 20_000


def row_budget(n_rows: int) -> int:
    """Most rows a resampler may produce from a training fold, so oversampling cannot blow up."""
    return max(MAX_ROWS_FACTOR * n_rows, 100_000)


def model_threads(n_jobs: int, n_rows: int) -> int:
    """Threads per model, so parallel trials together never use more than the machine's cores.

    Small data gets one thread: splitting a tiny fit across OpenMP threads costs more than it
    gains, and spinning threads slow down badly when the cores are busy.
    """
    if n_rows < SMALL_DATA_ROWS:
        return 1
    cores = os.cpu_count() or 1
    return max(1, cores // max(1, n_jobs))


class Predictions:
    """Out-of-fold probabilities of the best trials, kept in memory for thresholds and ensembles."""

    def __init__(self, greater_is_better: bool, keep: int = KEPT_PREDICTIONS) -> None:
        self.sign = 1.0 if greater_is_better else -1.0
        self.keep = keep
        self.items: dict[int, tuple[float, np.ndarray]] = {}
        self.lock = threading.Lock()

    def add(self, number: int, value: float, oof: np.ndarray) -> None:
        with self.lock:
            self.items[number] = (value, oof.astype(np.float32))
            if len(self.items) > self.keep:
                worst = min(self.items, key=lambda n: self.sign * self.items[n][0])
                del self.items[worst]

    def get(self, number: int) -> np.ndarray | None:
        item = self.items.get(number)
        return None if item is None else item[1].astype(np.float64)


@dataclass
class SearchOutcome:
    study: optuna.Study
    cv: CrossValidation
    predictions: Predictions
    random_state: int
    fit_seconds: dict[int, float]


def open_study(settings: SearchSettings, data: Dataset) -> tuple[optuna.Study, int]:
    """Create the study or resume it; a resumed study must search the same thing."""
    storage = make_storage(settings.storage, settings.heartbeat)
    name = settings.study_name or DEFAULT_STUDY_NAME
    metric = settings.metric
    seed = settings.random_state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=8,
            multivariate=True,
            group=True,
            constant_liar=settings.n_jobs > 1 or storage is not None,
            seed=seed,
        )
    if len(fidelities(len(data.y))) > 1:
        # Successive halving over data size: a trial climbs to the next, larger training
        # sample only if it is among the best third at its current one.
        pruner: optuna.pruners.BasePruner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=FIDELITY_FACTOR, min_early_stopping_rate=0
        )
    else:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=6, n_warmup_steps=1)
    study = optuna.create_study(
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        study_name=name,
        direction="maximize" if metric.greater_is_better else "minimize",
        load_if_exists=True,
    )
    attrs = study.user_attrs.get(STUDY_ATTR)
    release_dead_trials(study, grace=3 * settings.heartbeat)
    if attrs is None:
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        attrs = {
            "metric": metric.name,
            "space": settings.space.name,
            "cv": settings.cv,
            "seed": seed,
            "rows": len(data.y),
            "classes": [str(c) for c in data.classes],
            "space_yaml": settings.space.text,
            "data": settings.data_source,
        }
        study.set_user_attr(STUDY_ATTR, attrs)
        for params in first_trials(settings, data):
            study.enqueue_trial(params, skip_if_exists=True)
    elif attrs["metric"] != metric.name:
        raise AutoImbError(
            f"study {name!r} was created to optimise {attrs['metric']!r}, not {metric.name!r}; "
            "use the same metric to resume it, or another study name."
        )
    elif attrs["rows"] != len(data.y):
        logger.warning(
            "study %r was created on %d rows, and this data has %d; its earlier scores are not "
            "comparable",
            name,
            attrs["rows"],
            len(data.y),
        )
    return study, int(attrs["seed"])


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_trials(study: optuna.Study, stopped: Callable[[str, FrozenTrial], bool]) -> None:
    """Fail the RUNNING trials whose worker ``stopped`` says will never finish them.

    Each is queued again once, as the heartbeat of a database storage does, so a strategy
    cut short by a crash or Ctrl-C still gets its score when the study goes on.
    """
    retry = _retry_once()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if stopped(str(trial.user_attrs.get("worker", "")), trial):
            study.tell(trial.number, state=TrialState.FAIL)
            retry(study, trial)
            logger.info(
                "trial %d was left running by a stopped process: failed, queued again",
                trial.number,
            )


def release_dead_trials(study: optuna.Study, grace: float) -> None:
    """Fail RUNNING trials whose process on this machine is gone (killed, crashed).

    Database storages do this through heartbeats; a journal file has none, so a killed search
    would otherwise leave a RUNNING trial that the constant-liar sampler keeps avoiding. A
    process killed while Optuna sampled a trial leaves it with neither owner nor heartbeat:
    such a trial is released once it is ``grace`` seconds old, far longer than sampling takes.
    """
    host = socket.gethostname()
    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=grace)

    def dead(owner: str, trial: FrozenTrial) -> bool:
        if not owner:
            return trial.datetime_start is not None and trial.datetime_start < cutoff
        owner_host, _, pid = owner.rpartition(":")
        return owner_host == host and pid.isdigit() and not _alive(int(pid))

    release_trials(study, dead)


def first_trials(settings: SearchSettings, data: Dataset) -> list[dict[str, Any]]:
    """The space's baselines at their defaults, then the warm start's strategies."""
    space = settings.space
    weighted = data.sample_weight is not None
    available = {
        stage: space.available(
            stage, n_classes=data.n_classes, sample_weight=weighted, n_rows=len(data.y)
        )
        for stage in STAGES
    }
    # A baseline names only the stages it is about; the others are "none", never left to chance.
    baselines = [{stage: {"name": n} for stage, n in choice.items()} for choice in space.initial]
    trials: list[dict[str, Any]] = []
    for config in [*baselines, *warmstart.strategies(settings.warm_start)]:
        params = warmstart.as_trial_params(config, space, available)
        if params is not None and params not in trials:
            trials.append(params)
    return trials


def run(settings: SearchSettings, data: Dataset) -> SearchOutcome:
    """Run trials until the budget, the trial count or Ctrl-C ends the search."""
    study, seed = open_study(settings, data)
    cv = CrossValidation(data, folds_for_size(settings.cv, len(data.y)), random_state=seed)
    predictions = Predictions(settings.metric.greater_is_better)
    fit_seconds: dict[int, float] = {}
    threads = model_threads(settings.n_jobs, len(data.y))
    rungs = fidelities(len(data.y))
    max_rows = row_budget(len(data.y))
    deadline = settings.deadline

    def reserve() -> float:
        """Time kept back after the search: ensemble, advice, final refit, fresh measure.

        The refit is estimated from the best trial's per-fold fit time, scaled up to all rows.
        """
        after = (settings.time_budget or 0.0) * settings.after_search_share
        if not fit_seconds:
            return after
        try:
            best = study.best_trial.number
        except ValueError:
            return 0.0
        per_fold = fit_seconds.get(best, max(fit_seconds.values())) / cv.n_splits
        refit = 1.5 * per_fold * cv.n_splits / max(cv.n_splits - 1, 1)
        # Measuring the winner again on fresh folds costs one more cross-validation; on data
        # where that is a large share of the budget, trials are worth more and it is skipped.
        again = per_fold * cv.n_splits
        chosen_among = len(fit_seconds) + 1  # if the trial this decides on finishes
        if (
            not settings.remeasure
            or chosen_among < MIN_CHOICE
            or again > 0.15 * (settings.time_budget or 0.0)
        ):
            again = 0.0
        return after + refit + again + 0.5

    def trial_deadline(started: float) -> float | None:
        if deadline is None:
            return None
        if not fit_seconds:
            return deadline
        return min(deadline - reserve(), started + max(settings.time_budget / 3, 5.0))

    def climb(trial: optuna.Trial, config: dict[str, Any], options: dict[str, Any]) -> Evaluation:
        """Evaluate on ever larger training samples while the pruner promotes the trial."""
        for rung, fraction in enumerate(rungs):
            outcome = evaluate(config, cv, settings.metric, fraction=fraction, **options)
            trial.set_user_attr("fraction", fraction)
            if fraction < 1.0:
                trial.report(outcome.value, rung)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"not promoted past {fraction:.1%} of the majority")
        return outcome

    def objective(trial: optuna.Trial) -> float:
        started = time.monotonic()
        trial.set_user_attr("worker", worker_id())
        try:
            config = settings.space.sample(
                trial,
                n_classes=data.n_classes,
                sample_weight=data.sample_weight is not None,
                n_rows=len(data.y),
            )
            trial.set_user_attr("config", config)

            def report(step: int, value: float) -> None:
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {step + 1}")

            options = {
                "random_state": seed,
                "n_threads": threads,
                "max_rows": max_rows,
                "deadline": trial_deadline(started),
                "pretrained": settings.pretrained,
            }
            if len(rungs) == 1:
                outcome = evaluate(config, cv, settings.metric, report=report, **options)
            else:
                outcome = climb(trial, config, options)
        except optuna.TrialPruned:
            trial.set_user_attr("seconds", time.monotonic() - started)
            raise
        except (Exception, TrialTimeout) as exc:
            trial.set_user_attr("seconds", time.monotonic() - started)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
            raise
        trial.set_user_attr("seconds", time.monotonic() - started)
        trial.set_user_attr("fold_scores", outcome.fold_scores)
        trial.set_user_attr("decision", outcome.decision.to_dict())
        fit_seconds[trial.number] = outcome.fit_seconds
        predictions.add(trial.number, outcome.value, outcome.oof)
        return outcome.value

    def stop_when_budget_spent(study: optuna.Study, trial: FrozenTrial) -> None:
        if deadline is not None and time.monotonic() + reserve() >= deadline:
            study.stop()

    timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    finished_before = _finished(study)
    if finished_before:
        logger.info(
            "resuming study %r: %d trials already finished", study.study_name, finished_before
        )
    verbosity = optuna.logging.get_verbosity()
    # Failed trials are expected (a strategy that does not suit the data); their errors are in
    # the leaderboard, so Optuna's per-failure tracebacks are kept out of the user's console.
    optuna.logging.set_verbosity(max(verbosity, optuna.logging.ERROR))
    try:
        study.optimize(
            objective,
            n_trials=settings.n_trials,
            timeout=timeout,
            n_jobs=settings.n_jobs,
            catch=(Exception,),
            callbacks=[stop_when_budget_spent, *settings.callbacks],
            gc_after_trial=False,
        )
    except KeyboardInterrupt:
        # Ctrl-C can land while Optuna samples a new trial, before the objective names its
        # owner: an ownerless trial started during this run is taken to be this process's.
        started = datetime.datetime.fromtimestamp(
            time.time() - (time.monotonic() - settings.started)
        )
        release_trials(
            study,
            lambda owner, trial: (
                owner == worker_id()
                or (
                    not owner
                    and trial.datetime_start is not None
                    and trial.datetime_start >= started
                )
            ),
        )
        raise
    finally:
        optuna.logging.set_verbosity(verbosity)
    if not any(t.state == TrialState.COMPLETE for t in study.trials):
        raise AutoImbError(_all_failed_message(study))
    return SearchOutcome(study, cv, predictions, seed, fit_seconds)


def _finished(study: optuna.Study) -> int:
    return sum(t.state.is_finished() for t in study.trials)


def _all_failed_message(study: optuna.Study) -> str:
    errors = Counter(
        t.user_attrs.get("error", "no error recorded")
        for t in study.trials
        if t.state == TrialState.FAIL
    )
    pruned = sum(t.state == TrialState.PRUNED for t in study.trials)
    if not errors and not study.trials:
        return (
            "no trial finished within the budget; raise time_budget (the first strategy needs "
            "time for one cross-validation) or use space='fast'."
        )
    causes = "; ".join(f"{count}× {error}" for error, count in errors.most_common(3))
    return (
        f"every trial failed ({sum(errors.values())} failed, {pruned} pruned). Most common "
        f"causes: {causes or 'none recorded'}. Raise the time budget, or check the data and "
        "the search space."
    )
