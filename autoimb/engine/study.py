"""The Optuna study of a search: created with its sampler, pruner, settings and first trials, or
resumed, refusing one that searches something else."""

from __future__ import annotations

import logging
import time
import uuid
import warnings
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import optuna
from optuna.trial import TrialState

from autoimb import config
from autoimb._warnings import user_stacklevel
from autoimb.config import STUDY_ATTR
from autoimb.data.dataset import Dataset
from autoimb.engine import transfer
from autoimb.engine.pruning import pruner_for
from autoimb.engine.run_text import warn_other_seed
from autoimb.engine.same_data import check_same_data, other_classes
from autoimb.engine.settings import SearchSettings
from autoimb.engine.space import SearchSpace, recorded_space_difference
from autoimb.engine.storage import (
    agreed_heartbeat,
    creator_stopped,
    left_by_stopped_runs,
    make_storage,
    refuse_unwritable,
    release_dead_trials,
    worker_id,
)
from autoimb.exceptions import AutoImbError, OtherDataError, SearchSpaceError
from autoimb.library_versions import other_versions, with_autoimb
from autoimb.redact import shown
from autoimb.stages import STAGES

if TYPE_CHECKING:
    from autoimb.engine.evaluate import CrossValidation

logger = logging.getLogger("autoimb")


class Opened(NamedTuple):
    study: optuna.Study
    seed: int  # the study's own: its folds' and every process's sampler's
    cv: CrossValidation
    created: bool  # by this run, not resumed or joined


def open_study(
    settings: SearchSettings, data: Dataset, split: Callable[[int], CrossValidation]
) -> Opened:
    """Create the study or resume it; a resumed study must search the same thing. The folds
    are drawn first, with the study's seed: data they cannot split leaves no study behind.

    Long by design: sampler, pruner, creation, then the settings recorded or compared.
    """
    refuse_unwritable(settings.storage)
    storage = make_storage(settings.storage, settings.heartbeat)
    name = settings.study_name or config.DEFAULT_STUDY_NAME
    # Before create_study, which writes to a journal even to load: a refused run leaves no trace.
    recorded = _recorded(storage, name)
    if not recorded:
        _refuse_foreign(storage, name, settings)
    agreed_heartbeat(name, recorded.get("heartbeat"), settings.heartbeat)
    if recorded:
        recorded = _refused_or_forgotten(storage, name, recorded, settings, data)
    metric = settings.metric
    asked = settings.random_state  # seeds the sampler; the study's own seeds its folds
    seed = asked if asked is not None else int(np.random.default_rng().integers(2**31 - 1))
    drawn_with = int(recorded.get("seed", seed))
    cv = split(drawn_with)
    study, made = _created(
        storage=storage,
        sampler=_sampler(settings, storage, asked),
        pruner=pruner_for(len(data.y)),
        study_name=name,
        direction="maximize" if metric.greater_is_better else "minimize",
    )
    release_dead_trials(study)
    attrs = None if made else _awaited(study, storage)
    if asked is not None and (existing := len(study.trials)):
        # Seeded as the first run was, a resumed run or a joining worker would draw the same
        # points again (its first, random ones are history-blind): another stream for each.
        # The machine too: containers that all run as process 1 would draw alike.
        process = [zlib.crc32(worker_id().encode())]
        stream = np.random.SeedSequence([asked, existing, *process]).generate_state(1)[0]
        study.sampler = _sampler(settings, storage, int(stream))
    created = False
    if attrs is None:
        mine = {
            "metric": metric.name,
            "greater_is_better": metric.greater_is_better,  # a user's metric of the same name
            "space": settings.space.name,
            "cv": settings.cv.n_splits,
            "split": settings.cv.kind,
            "folds": settings.cv.describe(),
            "folds_identity": settings.cv.identity(),  # its groups, or its given splits
            "seed": seed,
            # Every process of the study beats alike: one that waits less fails the trials
            # of a slower-beating one as dead.
            "heartbeat": settings.heartbeat or config.HEARTBEAT_SECONDS,
            "rows": len(data.y),
            "classes": [str(c) for c in data.classes],
            "positive": str(data.classes[data.pos_label]),
            "fingerprint": data.fingerprint(),
            "space_yaml": settings.space.text,
            "data": settings.data_source,
            "creator": uuid.uuid4().hex,
            # Whose it is while no trial of it runs yet: a live creator's is not left empty.
            "owner": worker_id(),
            "created": time.time(),
            "versions": with_autoimb(),  # what its scores were measured with
        }
        if made:
            study.set_user_attr(STUDY_ATTR, mine)
            attrs = mine
        else:  # its creator left it without settings
            attrs = _claim(study, storage, mine)
        created = attrs.get("creator") == mine["creator"]
        if created:
            _queue_first_trials(study, settings, data)
    elif (
        attrs.get("creator")
        and not study.user_attrs.get(FIRST_QUEUED)
        and creator_stopped(attrs.get("owner", ""), attrs.get("created"))
    ):
        # Its creator was stopped (Ctrl-C, kill) while queueing them: the rest are queued now
        # (not while it queues them itself: two would queue some twice).
        _queue_first_trials(study, settings, data)
    if not created and attrs != recorded:  # another process created it since the look
        _refuse_other_settings(name, attrs, settings, data)
    if not created and (differ := other_versions(attrs.get("versions"))):
        _warn_other_versions(name, differ)
    if not created and isinstance(settings.warm_start, list) and settings.warm_start:
        # The user's own strategies, given to a study that goes on: queued now (those it has
        # run or queued already are not queued again).
        for params in first_trials(settings, data):
            study.enqueue_trial(params, skip_if_exists=True)
    if int(attrs["seed"]) != drawn_with:  # another process created the study meanwhile
        cv = split(int(attrs["seed"]))
    if not created and asked is not None and asked != int(attrs["seed"]):
        warn_other_seed(name, asked, int(attrs["seed"]))
    return Opened(study, int(attrs["seed"]), cv, created)


def _warn_other_versions(name: str, differ: list[tuple[str, str, str]]) -> None:
    theirs = ", ".join(f"{library} {recorded}" for library, recorded, _ in differ)
    here = ", ".join(f"{library} {version}" for library, _, version in differ)
    warnings.warn(
        f"study {name!r} was started with {theirs}, and this process has {here}: its earlier "
        "trials were scored with those, and the same strategy can score otherwise with these "
        "(a release changes how a model fits); the best of both is served. For scores that "
        "compare, use the study's versions, or start another study (study_name=..., or "
        "--new-study on the command line).",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _refuse_foreign(storage: Any, name: str, settings: SearchSettings) -> None:
    """A study of this name that autoimb did not make (another program's, in a shared journal
    or database) is refused before anything is written to it: its trials would be taken for
    autoimb's and its settings written over. One left without settings by an autoimb run
    stopped right after creating it (:func:`_claim`) is not: it holds no trial, or only ones
    autoimb makes, and optimises the search's way."""
    if storage is None:
        return
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return
    directions = [d.name.lower() for d in storage.get_study_directions(study_id)]
    trials = storage.get_all_trials(study_id, deepcopy=False)
    way = "maximize" if settings.metric.greater_is_better else "minimize"
    if directions == [way] and all(_made_by_autoimb(t) for t in trials):
        return
    where = shown(settings.storage) if isinstance(settings.storage, str) else "the storage given"
    counted = f"{len(trials)} trial{'s' if len(trials) != 1 else ''}"
    other = "" if directions == [way] else f", where this search would {way}"
    if all(_made_by_autoimb(t) for t in trials):  # autoimb's, stopped before its settings
        raise AutoImbError(
            f"study {name!r} in {where} records no settings and is to "
            f"{', '.join(directions)}{other} ({settings.metric.name}): a search for another "
            "metric began it and stopped at once, or another program made it; it is left as "
            "it is. Search it with a metric of its direction, or start another study "
            "(study_name=..., or --study-name / --new-study on the command line)."
        )
    raise AutoImbError(
        f"study {name!r} in {where} was not made by autoimb ({counted}, direction "
        f"{', '.join(directions)}{other}); it is left as it is. Start another study "
        "(study_name=..., or --study-name / --new-study on the command line), or name another "
        "storage."
    )


def _made_by_autoimb(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial is one autoimb makes: its worker named (every trial that ran), or one
    queued or just begun whose choices are all of the search's stages (another program's
    parameter may be called "model" too, but its trials that ran name no worker)."""
    if "worker" in trial.user_attrs:
        return all(param.split(".")[0] in STAGES for param in trial.params)
    if trial.state not in (TrialState.WAITING, TrialState.RUNNING):
        return False
    names = {*trial.params, *trial.system_attrs.get("fixed_params", {})}
    return bool(names) and all(param.split(".")[0] in STAGES for param in names)


def _refused_or_forgotten(
    storage: Any, name: str, recorded: dict[str, Any], settings: SearchSettings, data: Dataset
) -> dict[str, Any]:
    """The study's recorded settings, if it may go on with these; a study of other settings
    that no run ever finished a trial of (killed, crashed) is deleted instead, for the corrected
    command to start afresh: there is nothing in it to keep."""
    try:
        _refuse_other_settings(name, recorded, settings, data)
    except AutoImbError:
        if not left_by_stopped_runs(storage, name, recorded.get("owner"), recorded.get("created")):
            raise
        warnings.warn(
            f"study {name!r} was created with other settings by a run that stopped before a "
            "trial finished (killed, or crashed); it held nothing to resume and starts afresh "
            "with these.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        optuna.delete_study(study_name=name, storage=storage)
        return {}
    return recorded


def _refuse_other_settings(
    name: str, attrs: dict[str, Any], settings: SearchSettings, data: Dataset
) -> None:
    """A study resumed or joined must search what it was created to: the same labels,
    positive class, metric, folds, space and data."""
    if difference := other_classes(attrs, data):
        raise OtherDataError(
            f"study {name!r} was run on other data: {difference}; its trials cannot go on with "
            "these labels. Start another study (study_name=..., or --study-name / --new-study "
            "on the command line)."
        )
    elif attrs.get("positive", str(data.classes[data.pos_label])) != str(
        data.classes[data.pos_label]
    ):
        raise AutoImbError(
            f"study {name!r} was created with positive class {attrs['positive']!r}, not "
            f"{str(data.classes[data.pos_label])!r}; pass pos_label={attrs['positive']!r} to "
            "resume it, or use another study name."
        )
    elif attrs["metric"] != settings.metric.name:
        raise AutoImbError(
            f"study {name!r} was created to optimise {attrs['metric']!r}, not "
            f"{settings.metric.name!r}; use the same metric to resume it, or another study name."
        )
    elif attrs.get("greater_is_better", settings.metric.greater_is_better) != (
        settings.metric.greater_is_better
    ):
        higher = "higher" if attrs["greater_is_better"] else "lower"
        raise AutoImbError(
            f"study {name!r} was created to optimise {attrs['metric']!r} with {higher} values "
            "better, and the metric given of that name counts the other way; give it the "
            "study's direction (greater_is_better), or another name and study name."
        )
    elif attrs.get("folds", settings.cv.describe()) != settings.cv.describe():
        if f"{attrs['folds']}, shuffled with the search's seed" == settings.cv.describe():
            raise AutoImbError(
                f"study {name!r} was searched on {attrs['folds']} before such a splitter drew "
                "with the search's seed: each run drew other folds, which cannot be drawn "
                "again, so new scores would not compare. Start another study name."
            )
        raise AutoImbError(
            f"study {name!r} was searched on {attrs['folds']}, not {settings.cv.describe()}; "
            "its scores would not compare. Use the same cv (and groups) to resume it, or "
            "another study name."
        )
    elif "folds_identity" in attrs and attrs["folds_identity"] != settings.cv.identity():
        which = "groups" if settings.cv.groups is not None else "splits"
        raise AutoImbError(
            f"study {name!r} was searched on {attrs['folds']} of other {which} than these; its "
            "scores and new ones would not compare. Use the same cv and groups to resume it, or "
            "another study name."
        )
    elif attrs.get("space_yaml") and (
        difference := recorded_space_difference(attrs["space_yaml"], settings.space, name)
    ):
        fix = "Pass the same space= to resume it, or use another study name."
        if attrs.get("space") == settings.space.name:  # a shipped space changed since
            fix = (
                f"The space {settings.space.name!r} has changed since; the study's own is in its "
                "settings (user_attrs['autoimb']['space_yaml']): write it to a .yaml file and "
                "pass its path as space= to resume (the command line does so when --space is "
                "left out), or use another study name."
            )
        raise AutoImbError(
            f"study {name!r} was created with search space {attrs.get('space')!r}, and the "
            f"space given searches another ({difference}); its trials and new ones cannot share "
            f"one study. {fix}"
        )
    else:
        check_same_data(name, attrs, data, settings.allow_other_data)


def _created(**kwargs: Any) -> tuple[optuna.Study, bool]:
    """The study, and whether this process created it: of processes started at once on a new
    study, the storage lets one create it (a database by its unique name, a journal by the
    order of its lines); that one records the settings, and the others go on with them."""
    try:
        return optuna.create_study(load_if_exists=False, **kwargs), True
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.create_study(load_if_exists=True, **kwargs), False


# A process that found the study just created waits this long for its creator's settings (written
# right after creating it); a study still without them was left so (its creator stopped, or it
# was made outside autoimb), and the first process to record its own takes it.
CREATOR_WAIT_SECONDS = 5.0
# Of processes that both record their own, the last record written stands; each reads it
# again after this long, by when the other's is in.
CLAIM_SETTLE_SECONDS = 0.1


def _awaited(study: optuna.Study, storage: Any) -> dict[str, Any] | None:
    """The settings of a study another process created, once its creator has recorded them."""
    if storage is None:
        return None
    ends = time.monotonic() + CREATOR_WAIT_SECONDS
    while not (attrs := _recorded(storage, study.study_name)) and time.monotonic() < ends:
        _settle()
    return attrs or None


def _claim(study: optuna.Study, storage: Any, mine: dict[str, Any]) -> dict[str, Any]:
    """Record ``mine`` as the settings of a study its creator left without them; the record
    that stands (another process's, when two took it at once)."""
    study.set_user_attr(STUDY_ATTR, mine)
    if storage is None:  # in memory: no other process
        return mine
    _settle()
    return _recorded(storage, study.study_name) or mine


def _settle() -> None:
    time.sleep(CLAIM_SETTLE_SECONDS)


def _recorded(storage: Any, name: str) -> dict[str, Any]:
    """What autoimb recorded of an existing study, read from the storage the search goes on
    with (a journal is replayed once, for both); empty for a new study."""
    if storage is None:  # in memory: always new
        return {}
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return {}
    return dict(storage.get_study_user_attrs(study_id).get(STUDY_ATTR) or {})


def _sampler(
    settings: SearchSettings, storage: Any, seed: int | None
) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            n_startup_trials=8,
            multivariate=True,
            group=True,
            constant_liar=settings.n_jobs > 1 or storage is not None,
            seed=seed,
        )


def available_components(space: SearchSpace, data: Dataset) -> dict[str, list[str]]:
    """Each stage's components in ``space`` that can run on ``data``."""
    _check_class_weights(space, data.n_classes)
    weighted = data.sample_weight is not None
    return {
        stage: space.available(
            stage, n_classes=data.n_classes, sample_weight=weighted, n_rows=len(data.y)
        )
        for stage in STAGES
    }


def _check_class_weights(space: SearchSpace, n_classes: int) -> None:
    """The user's class weights, once the classes are known: else every trial of them fails."""
    param = space.stages.get("weighting", {}).get("explicit", {}).get("weights")
    if param is None:
        return
    if param.distribution is not None:  # each trial would draw one number for all classes
        raise SearchSpaceError(
            f"{space.source}: weighting.explicit.weights are fixed, one weight per class "
            f"({n_classes} here, in the order of the sorted labels; e.g. [1.0, 20.0] for two); "
            "they are not searched. To search how strongly the rarer classes weigh, use "
            "weighting: {tempered: {power: {type: float, low: 0.1, high: 1.0}}}."
        )
    weights = param.default
    numbers = isinstance(weights, list) and all(
        isinstance(w, int | float) and not isinstance(w, bool) and 0 <= w < np.inf for w in weights
    )
    if not numbers or len(weights) != n_classes or not sum(weights) > 0:
        raise SearchSpaceError(
            f"{space.source}: weighting.explicit.weights must be one weight (a finite number >= "
            f"0, not all 0) per class, {n_classes} here, in the order of the sorted labels; got "
            f"{weights!r}."
        )


FIRST_QUEUED = "autoimb_first_trials_queued"


def _queue_first_trials(study: optuna.Study, settings: SearchSettings, data: Dataset) -> None:
    """Queue the study's first trials (baselines, portfolio), those queued or run before
    skipped, and record that all are in."""
    for params in first_trials(settings, data):
        study.enqueue_trial(params, skip_if_exists=True)
    study.set_user_attr(FIRST_QUEUED, True)


def first_trials(settings: SearchSettings, data: Dataset) -> list[dict[str, Any]]:
    """The space's baselines at their defaults, then the warm start's strategies."""
    space = settings.space
    available = available_components(space, data)
    # A baseline names only the stages it is about; the others are "none", never left to chance.
    baselines = [{stage: {"name": n} for stage, n in choice.items()} for choice in space.initial]
    trials: list[dict[str, Any]] = []
    warm = transfer.strategies(settings.warm_start, settings.metric.kind)
    for index, strategy in enumerate([*baselines, *warm]):
        params, reason = transfer.fitted(strategy, space, available)
        if params is None and index < len(baselines) and not space.shipped:
            # The space was checked when loaded: what leaves it out is this data (the README
            # says what the shipped spaces leave out where).
            warnings.warn(
                f"space {space.name!r} does not try {space.initial[index]} first on this data: "
                f"{reason}.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        if params is not None and params not in trials:
            trials.append(params)
    return trials
