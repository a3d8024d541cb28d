"""The one call, :func:`search`: every parameter checked, the study run, the winner finished."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from autoimb import config
from autoimb._checks import (
    check_budget,
    check_callbacks,
    check_flag,
    check_groups_given,
    check_n_jobs,
    check_rows_paired,
    check_seed,
)
from autoimb._sklearn_defaults import sklearn_defaults
from autoimb._warnings import quiet_trials, user_stacklevel
from autoimb.data.dataset import validate
from autoimb.engine.budget import held_threads
from autoimb.engine.copies import warn_of_copies
from autoimb.engine.database import explained
from autoimb.engine.finish import finish
from autoimb.engine.loop import quiet_optuna
from autoimb.engine.outcome import PREDICTIONS_OF_STOPPED
from autoimb.engine.pretrained import check_pretrained
from autoimb.engine.run import run
from autoimb.engine.settings import SearchSettings, TrialCallback
from autoimb.engine.space import SearchSpace, load_space
from autoimb.engine.splits import as_folds
from autoimb.engine.storage import study_heartbeat
from autoimb.engine.study import available_components
from autoimb.engine.transfer import WarmStart, check_own_strategies
from autoimb.exceptions import AutoImbError
from autoimb.metrics.own import check_for_classes, check_own_metric
from autoimb.metrics.registry import Metric, get_metric
from autoimb.progress import SearchProgress, interactive
from autoimb.result import SearchResult

logger = logging.getLogger("autoimb")


@sklearn_defaults()
def search(
    X: Any,
    y: Any,
    *,
    metric: str | Metric = config.DEFAULT_METRIC,
    time_budget: float | None = None,
    n_trials: int | None = None,
    cv: Any = config.DEFAULT_CV,
    groups: Any = None,
    space: str | Path | Mapping[str, Any] | SearchSpace = config.DEFAULT_SPACE,
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    n_jobs: int | None = 1,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
    categorical_features: str | Sequence[str | int | bool] | None = "auto",
    sample_weight: Any = None,
    callbacks: Sequence[TrialCallback] = (),
    warm_start: WarmStart = config.DEFAULT_WARM_START,
    pretrained: dict[str, Any] | None = None,
    ensemble: bool = True,
    advice: bool = False,
    importance: bool = True,
    pos_label: Any = None,
    allow_other_data: bool = False,
    verbose: bool | None = None,
    heartbeat: int | None = None,
) -> SearchResult:
    """Search resampling × weighting × model × threshold for the best honest ``metric``.

    Long by design: it is the reference of every parameter, and checks each before a study is
    opened.

    Parameters
    ----------
    X, y
        Training data: a DataFrame (numeric, categorical, text, boolean columns; NaN allowed)
        or an array, and labels of any type.
    metric
        What to optimise: ``"average_precision"`` (PR-AUC, the default), ``"f1"``, ``"f2"``,
        ``"mcc"``, ``"g_mean"``, ``"balanced_accuracy"``, ``"recall@precision>=0.9"``,
        ``"cost:fn=10,fp=1"`` …
    time_budget
        Wall-clock seconds for the whole call, final refit included. Give it or ``n_trials``,
        or both (the search ends at whichever comes first).
    cv, groups
        How rows are split into folds, for every step that validates: a number of stratified
        folds (5 by default); with ``groups`` (one label per row: patient, customer, device)
        folds that never put a group on both sides (``StratifiedGroupKFold``); or any
        scikit-learn splitter (``GroupKFold(5)``, ``TimeSeriesSplit(5)``, …) or list of
        ``(train, valid)`` index pairs. Rows no fold validates (the first block of a time
        split) are left out of the scores. A shuffling splitter without a ``random_state``
        of its own draws with ``random_state``'s. A splitter that cannot be drawn again (no
        shuffling, time order, given splits) leaves the winner's score measured on the folds
        that chose it, and says so.
    n_trials
        Trials to run in this call (a resumed study keeps its earlier ones).
    space
        The strategies searched: ``"default"`` (every resampler, weighting and model family),
        ``"fast"`` (few cheap, strong choices for budgets of seconds to a minute), ``"deep"``
        (the neural and hybrid models beside the strongest classic ones; needs the ``deep``
        extra), a YAML file of the same form, the same given in Python (a dict of the file's
        form, or a string of its YAML text), or a ``SearchSpace``. Each is checked as a file
        is when the search starts.
    storage, study_name
        An Optuna storage (database URL or journal-file path) makes the search resumable and
        shareable by workers; ``None`` keeps it in memory. Empty text is refused (as the
        command line's ``--storage ''`` is): it names neither.
    n_jobs
        Trials run at once (1 by default); as in joblib, -1 is one per core, -2 all cores
        but one, and so on. A model gets one thread below 20,000 rows and the machine's
        cores divided by ``n_jobs`` from there (numpy's and scikit-learn's thread pools are
        held to it too, for the search), so the search never runs more threads than there
        are cores; two searches side by side on large data share the cores and slow
        each other's models down many times over.
    random_state
        Seeds the sampler, the folds and the models: with ``n_trials`` and one job, the same
        seed and data give the same leaderboard (a time budget ends where the clock says). A
        numpy ``RandomState`` or ``Generator`` gives one seed drawn from it, as scikit-learn's
        estimators draw theirs. ``None`` draws a fresh seed for each search, whatever
        ``np.random.seed`` was given (pass an integer to repeat a search). A resumed study
        keeps its own seed for the folds and models (another is warned of); this one seeds
        only the new draws, mixed with the trials held and the process, so that workers draw
        apart: a resume does not repeat.
    categorical_features
        ``"auto"``: columns whose values are text are categories, numbers and booleans are not;
        or the column names, positions or a mask of one boolean per column to treat as
        categories (text stays categories; ``None`` names none). Identifier columns are left
        out only under ``"auto"``: naming columns keeps every numeric one.
    sample_weight
        A weight per row (an amount, a cost): carried through resampling and used by the
        models and the metrics, in units of its mean.
    callbacks
        Called as ``callback(study, trial)`` after each trial, as Optuna calls them
        (``study.stop()`` in one stops the trials; the winner is chosen among those run).
    warm_start
        Strategies tried first, after the space's baselines: ``"portfolio"`` (strategies that did
        well across many data sets, in an order built for the metric's family), an earlier
        ``optuna.Study`` or ``(storage, study_name)`` (its best strategies, for related data), a
        list of strategy configs (``best_config``'s form; an ensemble's queues its members),
        or ``None``.
    pretrained
        Continue training instead of starting anew: ``{"lightgbm": booster or model file,
        "xgboost": booster or model file, "mlp": weights}`` from a model of related data.
    ensemble
        After the search, try a greedy ensemble of the best trials; it replaces the single
        winner only if it scores better honestly (cross-fitted, nested over folds).
    advice
        Also measure the winner's learning curve over the minority-class size and predict the
        score with 2× and 5× more minority examples (``result.advice``); costs a few trials.
        Stratified folds only: refused with ``groups=`` or a ``cv=`` splitter.
    importance
        Measure the winner's permutation importance per input column out of fold
        (``result.feature_importance``) when the budget leaves room; False skips it.
    pos_label
        The class whose detection the binary metrics measure (two classes only). By default
        the smaller class; on a tie, the last in sorted order (1 over 0, "yes" over "no").
    allow_other_data
        Resume a stored study that was run on other data (a fingerprint of the rows, columns
        and labels is kept in the study); refused by default, since the old winner would be
        reported for the new data.
    verbose
        Show the search's progress on stderr (trials, best score, time left): a live line in
        a terminal or notebook, a line per trial elsewhere. ``None`` shows it only where a
        person is watching (a terminal or a notebook). Optuna's own INFO lines are kept quiet
        during the search either way; ``optuna.logging.set_verbosity(DEBUG)`` brings them back.
    heartbeat
        Seconds between the signs of life of the study's processes on a database storage: a
        trial of a process silent for three is failed and tried again. Set when the study is
        created (default 30) and shared by every process of it; another is refused. Other
        storages take none (a warning says so).

    Returns
    -------
    SearchResult
        ``best_pipeline`` (predicts with the tuned threshold), ``best_score``, ``best_config``,
        ``leaderboard`` and ``report()``.
    """
    started = time.monotonic()
    time_budget, n_trials = check_budget(time_budget, n_trials)
    # Every setting is checked before the study is opened: a refused run leaves no trace.
    n_jobs = check_n_jobs("n_jobs", n_jobs)
    ensemble = check_flag("ensemble", ensemble)
    advice = check_flag("advice", advice)
    importance = check_flag("importance", importance)
    allow_other_data = check_flag("allow_other_data", allow_other_data)
    if isinstance(verbose, int | np.integer) and not isinstance(verbose, bool) and verbose >= 0:
        verbose = bool(verbose)  # scikit-learn's verbose=0 / 1
    if verbose is not None:
        verbose = check_flag(
            "verbose", verbose, "True, False (or 0, 1) or None (shown where a person is watching)"
        )
    random_state = check_seed(random_state)
    the_metric = get_metric(metric)
    check_own_metric(the_metric)
    the_space = load_space(space)
    check_groups_given(X, groups)
    check_rows_paired(X, groups=groups)
    data = validate(
        X,
        y,
        sample_weight=sample_weight,
        categorical_features=categorical_features,
        pos_label=pos_label,
    )
    if (one_sided := _one_sided(the_metric.name, data.n_classes)) is not None:
        warnings.warn(one_sided, stacklevel=user_stacklevel())
    check_for_classes(the_metric, data.n_classes)
    available = available_components(the_space, data)
    warm_start = check_own_strategies(warm_start, the_space, available, the_metric.kind)
    pretrained = check_pretrained(
        pretrained,
        available,
        list(data.X.columns),
        the_space.stages.get("model", {}).get("mlp"),
        n_classes=data.n_classes,
        dropped=data.dropped,
    )
    folds = as_folds(cv, groups, n_rows=len(data.y))
    warn_of_copies(data, folds)
    if advice and (folds.custom or folds.kind != "stratified"):
        raise AutoImbError(
            f"advice=True measures a learning curve on stratified folds of its own, which "
            f"{folds.describe()} are not meant to be replaced by; leave advice off for this data."
        )
    heartbeat = study_heartbeat(storage, study_name or config.DEFAULT_STUDY_NAME, heartbeat)
    settings = SearchSettings(
        heartbeat=heartbeat,
        metric=the_metric,
        space=the_space,
        time_budget=time_budget,
        n_trials=n_trials,
        cv=folds,
        storage=storage,
        study_name=study_name,
        n_jobs=n_jobs,
        random_state=random_state,
        callbacks=check_callbacks(callbacks),
        started=started,
        warm_start=warm_start,
        pretrained=pretrained,
        ensemble=ensemble,
        advice=advice,
        importance=importance,
        allow_other_data=allow_other_data,
    )
    watched = interactive(sys.stderr)
    progress = None
    if watched if verbose is None else verbose:
        progress = SearchProgress(
            sys.stderr,
            metric_name=the_metric.name,
            greater_is_better=the_metric.greater_is_better,
            time_budget=time_budget,
            n_trials=n_trials,
            live=watched,
        )
        settings = dataclasses.replace(settings, callbacks=(*settings.callbacks, progress))
    threads = held_threads(settings.n_jobs, len(data.y))
    with (
        quiet_optuna(),
        quiet_trials(),
        progress or contextlib.nullcontext(),
        threads,
        explained(storage),
    ):
        outcome = run(settings, data)
        try:
            return finish(outcome, settings, data)
        except KeyboardInterrupt as stopped:  # Ctrl-C after the trials: as in them (run)
            setattr(stopped, PREDICTIONS_OF_STOPPED, outcome.predictions)
            raise


# Metrics that one trivial rule maximises (where it is highest): a search for one finds it.
def _one_sided(name: str, n_classes: int) -> str | None:
    """A warning for a metric one trivial rule maximises. Over several classes, macro recall
    is balanced accuracy, and macro precision is highest when uncertain rows all go to one
    class."""
    if n_classes > 2:
        if name != "precision":
            return None
        return (
            "precision alone is highest when each class is predicted only for its surest rows "
            "and the others all go to one class, and the search will find that rule; optimise "
            "'f1' or 'balanced_accuracy' to weigh every class's rows."
        )
    rule = {
        "recall": "when every row is predicted positive",
        "precision": "when only the few surest rows are predicted positive",
    }.get(name)
    if rule is None:
        return None
    return (
        f"{name} alone is highest {rule}, and the search will find that rule; to weigh "
        "precision and recall together optimise 'f1', 'fbeta:2' or 'recall@precision>=0.5'."
    )
