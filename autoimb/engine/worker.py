"""Join an existing study as one more worker: several processes or machines, one search.

Optuna's storage does the coordination (a database for several machines, a journal file for
several processes on one). A worker reads what to search — metric, space, folds' seed — from
the study itself, so every worker evaluates the same strategies on the same folds, and any of
them can finish with the best pipeline of all workers' trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from autoimb._checks import check_budget, check_callbacks, check_n_jobs, check_rows_paired
from autoimb._sklearn_defaults import sklearn_defaults
from autoimb._warnings import quiet_trials
from autoimb.config import STUDY_ATTR
from autoimb.data.dataset import validate
from autoimb.data.labels import positive_code
from autoimb.engine.budget import held_threads
from autoimb.engine.database import explained
from autoimb.engine.finish import finish
from autoimb.engine.loop import quiet_optuna
from autoimb.engine.run import run
from autoimb.engine.same_data import other_classes, other_data
from autoimb.engine.settings import SearchSettings, TrialCallback
from autoimb.engine.space import parse_space
from autoimb.engine.splits import recorded_folds
from autoimb.engine.storage import (
    agreed_heartbeat,
    beats,
    check_heartbeat,
    existing_study,
    study_names,
    unheard,
)
from autoimb.exceptions import AutoImbError, did_you_mean
from autoimb.metrics.registry import recorded_metric
from autoimb.redact import shown
from autoimb.result import SearchResult


def study_attrs(storage: str, study_name: str) -> dict[str, Any]:
    """What the study's creator recorded: metric, space, folds, and where its data lives.
    Read without writing: a worker refused leaves no journal file behind."""
    study = existing_study(storage, study_name)
    if study is None:
        raise AutoImbError(missing_study(storage, study_name))
    attrs = study.user_attrs.get(STUDY_ATTR)
    if attrs is None:
        raise AutoImbError(f"study {study_name!r} was not created by autoimb; cannot join it.")
    return dict(attrs)


def missing_study(storage: str, name: str) -> str:
    """Why there is no study ``name`` to join, naming the studies there are: a misspelt path
    or name shows as such."""
    start = f"`autoimb search … --storage {shown(storage)} --study-name {name}`"
    if "://" not in storage and not Path(storage).is_file():
        return (
            f"there is no study {name!r}: the journal file {storage!r} does not exist (none "
            f"was made). Check the path, or start the study with {start} first."
        )
    names = study_names(storage)
    if not names:
        return f"there is no study {name!r} in {shown(storage)}; start it with {start} first."
    return (
        f"there is no study {name!r} in {shown(storage)}; it holds "
        f"{listed(names)}{did_you_mean(name, names, aside=True)}. Name one of "
        f"them (study_name=..., or --study-name on the command line), or start it with {start}."
    )


def listed(names: list[str], most: int = 8) -> str:
    """Study names for a message: a database shared for years may hold hundreds."""
    some = ", ".join(map(repr, names[:most]))
    return some if len(names) <= most else f"{some} and {len(names) - most} more"


@sklearn_defaults()
def join(
    storage: str,
    study_name: str,
    X: Any,
    y: Any,
    *,
    time_budget: float | None = None,
    n_trials: int | None = None,
    n_jobs: int = 1,
    heartbeat: int | None = None,
    sample_weight: Any = None,
    callbacks: Sequence[TrialCallback] = (),
    pos_label: Any = None,
    groups: Any = None,
    final_model: bool = True,
) -> SearchResult | optuna.Study:
    """Run trials in an existing study until the budget ends; return the best of all workers.

    ``groups`` are the same labels the study's creator split by, when it split by group.
    Without a ``final_model`` (one nobody will keep) the trials take the whole budget, and the
    study is returned: its best trial is the best of all workers.
    """
    time_budget, n_trials = check_budget(time_budget, n_trials)
    n_jobs = check_n_jobs("n_jobs", n_jobs)
    attrs = study_attrs(storage, study_name)
    check_heartbeat(heartbeat)
    if beats(storage):
        heartbeat = agreed_heartbeat(study_name, attrs.get("heartbeat"), heartbeat)
    else:
        unheard(storage, heartbeat)
        heartbeat = None
    check_rows_paired(X, groups=groups)
    folds = recorded_folds(attrs, groups)
    settings = SearchSettings(
        metric=recorded_metric(attrs["metric"], f"study {study_name!r}"),
        space=parse_space(
            attrs["space_yaml"], source=f"study {study_name!r}", name=attrs.get("space")
        ),
        time_budget=time_budget,
        n_trials=n_trials,
        cv=folds,
        storage=storage,
        study_name=study_name,
        n_jobs=n_jobs,
        random_state=int(attrs["seed"]),
        warm_start=None,
        heartbeat=heartbeat,
        callbacks=check_callbacks(callbacks),
        final_model=final_model,
    )
    positive = attrs.get("positive")
    data = validate(X, y, sample_weight=sample_weight)
    difference = other_classes(attrs, data) or other_data(attrs, data)
    if difference is not None:
        raise AutoImbError(
            f"this is not the data study {study_name!r} searches: {difference}. Every worker "
            "searches the study's own data; give it the data the study was started on."
        )
    # Compared as classes of the data, as a resumed search does: 1.0 names the class 1 too.
    if pos_label is not None and positive is not None:
        asked = str(data.classes[positive_code(pos_label, data.classes)])
        if asked != positive:
            raise AutoImbError(
                f"study {study_name!r} measures positive class {positive!r}, not {pos_label!r}; "
                "every worker must search for the same class: leave pos_label out (a worker "
                f"takes the study's), or give the study's own, pos_label={positive!r}."
            )
    if positive or pos_label is not None:
        data = replace(data, positive=positive_code(positive or pos_label, data.classes))
    with (
        quiet_optuna(),
        quiet_trials(),
        held_threads(settings.n_jobs, len(data.y)),
        explained(storage),
    ):
        outcome = run(settings, data)
        return finish(outcome, settings, data) if final_model else outcome.study
