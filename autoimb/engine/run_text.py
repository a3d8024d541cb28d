"""What a search run tells its user: that it resumes a study (and what another seed does to
it), that it has no time for a trial, why no trial completed, and that its trials all tied."""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from autoimb._warnings import user_stacklevel
from autoimb.engine.budget import TrialClock, remaining
from autoimb.engine.settings import SearchSettings
from autoimb.engine.space import SearchSpace
from autoimb.leaderboard import REPEATS, failed_trials, finished_trials, trials_text
from autoimb.metrics.metric import Metric

# Its own logger, so that the command line can show this one line without the library's other
# INFO records; it is written only once the study is accepted, never before a refusal.
RESUME_LOGGER = "autoimb.resume"


def say_resumed(study: optuna.Study, settings: SearchSettings, finished: int) -> None:
    """Which study goes on, where, and from what (its journal file named; a URL may hold a
    password)."""
    storage = settings.storage
    where = f" in {storage}" if isinstance(storage, str) and "://" not in storage else ""
    try:
        best = study.best_trial
        held = f"; best {settings.metric.name} {best.value:.4f} (trial {best.number})"
    except ValueError:  # no complete trial yet
        held = ""
    complete = sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
    if complete < finished:  # the others were pruned or failed: say so, or "1 finished" and
        held += f" ({complete or 'none'} complete)"  # the last run's "none completed" disagree
    logging.getLogger(RESUME_LOGGER).info(
        "resuming study %r%s: %s already finished%s; going on from there",
        study.study_name,
        where,
        trials_text(finished),
        held,
    )


def all_failed_message(study: optuna.Study, space: SearchSpace) -> str:
    """Why no trial completed, with the fix: a budget too short for one trial is told apart
    from strategies that all failed. The quicker shipped space is named only in place of a
    shipped one: a space of one's own may be quicker still."""
    errors = _errors(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    cut = [
        t
        for t in study.trials
        if t.state == TrialState.PRUNED and "time cap" in str(t.user_attrs.get("stopped", ""))
    ]
    pruned = sum(t.state == TrialState.PRUNED for t in study.trials)
    ran = errors or pruned or any(t.state == TrialState.COMPLETE for t in study.trials)
    if not errors and (cut or not ran):  # queued strategies that never started ran nothing
        quicker = (
            " or search the quicker space (space='fast', --space fast)"
            if space.shipped and space.name != "fast"
            else ""
        )
        return (
            "no trial completed within the budget: the first strategy needs time for one whole "
            "cross-validation. Raise the budget (time_budget=..., --time-budget on the command "
            f"line){quicker}."
        )
    causes = _causes(errors)
    fix = "Raise the time budget, or check" if cut else "Check"  # time helps only cut trials
    return (
        f"every trial failed ({sum(errors.values())} failed, {pruned} pruned). Most common "
        f"causes: {causes or 'none recorded'}. {fix} the data and the search space."
    )


def failed_note(study: optuna.Study) -> str | None:
    """Trials that failed, with their commonest errors: a search that went on without a
    model (a pre-trained booster that does not fit the data) says so; None if none failed."""
    errors = _errors(failed_trials(study))
    if not errors:
        return None
    ran = finished_trials(study)
    return (
        f"{sum(errors.values())} of {ran} trials failed ({_causes(errors)}); the leaderboard's "
        "error column holds each one's."
    )


def _errors(trials: list[FrozenTrial]) -> Counter[str]:
    return Counter(
        (str(t.user_attrs.get("error", "")).strip().splitlines() or ["no error recorded"])[0]
        for t in trials
    )


def _causes(errors: Counter[str]) -> str:
    return "; ".join(f"{count}× {error.rstrip('.')}" for error, count in errors.most_common(3))


def unrun_note(study: optuna.Study, own: bool) -> str | None:
    """The user's own strategies queued behind the space's baselines that the budget did not
    reach: asked for by name, they would otherwise go unrun unsaid."""
    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    if not own or not waiting:
        return None
    return (
        f"{waiting} queued strateg{'y' if waiting == 1 else 'ies'} (the space's baselines run "
        "first, then your warm_start strategies) did not run in this budget; give more trials "
        "or time, or run the same call again on a storage (storage=...)."
    )


# What the notes of a space that ran out of strategies say, by which a report finds them.
_ONE_STRATEGY = "holds one strategy with every setting fixed"
_EVERY_STRATEGY = "Every strategy of the space"


def tried_space_note(space: str, strategies: int) -> str | None:
    """Why a search with time left stopped: its space's ``strategies`` had all run."""
    if strategies == 1:
        return (
            f"The space {space!r} {_ONE_STRATEGY}, so it ran once "
            "(a second trial would repeat the first); give a stage two components or a "
            "parameter a range to search."
        )
    if strategies:
        return (
            f"{_EVERY_STRATEGY} {space!r} was tried ({strategies}), so the search "
            "stopped there (a trial more would repeat one); to search further, give a stage more "
            "components or a parameter a range."
        )
    return None


def space_spent(notes: Sequence[str]) -> bool:
    """Whether a search's notes say it stopped because its space had no strategy left: more
    budget would only repeat them."""
    return any(_ONE_STRATEGY in note or note.startswith(_EVERY_STRATEGY) for note in notes)


def no_time_for_trials(clock: TrialClock) -> str:
    """Why a resumed search adds no trial, naming the trial the time kept back is for: the one
    the search would choose, or, when its refit does not fit in the time left and another's
    does, that other, which the finish serves instead (promising the best, a far worse trial
    was served)."""
    ranked = clock.contenders()
    served = clock.refitted_trial(ranked)
    left = remaining(clock.deadline)
    if (
        served is not None
        and served != ranked[0]
        and ranked[0] in clock.fit_seconds
        and (left is None or clock.serve_seconds(served) <= left)
    ):
        what = (
            f"trial {served}, from an earlier run, cross-validated again and refitted; the "
            f"study's choice, trial {ranked[0]}, would take ≈{clock.serve_seconds(ranked[0]):.1f}"
            " s, more than the time left, so a trial that fits is served instead"
        )
    else:
        what = "the best trial, from an earlier run, cross-validated again and refitted"
    return (
        f"no time for more trials in this run: what follows them (≈{clock.reserve():.1f} s: "
        f"{what}) takes the whole budget. Raise the time budget to add trials to the study."
    )


def warn_other_seed(name: str, asked: int, own: int) -> None:
    """What another seed does to a study that goes on: its folds and models keep the study's
    own (its trials stay comparable); it seeds only this run's draws, mixed with the trials
    held and this process (concurrent workers must draw apart), so they repeat no run's."""
    warnings.warn(
        f"random_state={asked} does not seed the folds and models of study {name!r}: they "
        f"keep its own seed ({own}), so its trials stay comparable. It only seeds this run's "
        "draws of strategies, mixed with the study's trial count and this process, so they "
        "differ from every other run's and are not repeated by running it again; a new study "
        "(another study_name) searches with it from the start.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


# Fewer completed trials than this tie by chance too often to say the metric is at fault.
TIED_TRIALS = 3


def warn_if_tied(study: optuna.Study, metric: Metric, n_classes: int = 2) -> None:
    """Every completed trial scored the same: the metric did not tell the strategies apart and
    the winner was one of equals. A metric of one side alone (precision of one's own) reaches
    its best where the threshold flags only the surest row, which every strategy manages; the
    search said nothing of it."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    scored = [t for t in trials if t.value is not None and REPEATS not in t.user_attrs]
    values = [float(t.value) for t in scored]
    if len(values) < TIED_TRIALS or not _all_equal(values):
        return
    steady = [t.user_attrs.get("steady") for t in scored]
    if None not in steady and _all_equal([float(s) for s in steady]):
        return  # they rank the rows alike too: data every strategy separates, not the metric
    both = (
        "every class's rows, such as 'f1' or 'balanced_accuracy'"
        if n_classes > 2
        else "both sides, such as 'f1' or 'fbeta:0.5' (precision counted more), or "
        "'recall@precision>=0.9' (recall with a floor on precision)"
    )
    why = (
        " A metric of one side alone is maximised by a rule nearly any strategy finds: "
        "precision by predicting almost no positives (only the surest rows), recall by "
        f"predicting every row positive. Optimise one that weighs {both}."
        if metric.kind == "threshold"
        else " Every strategy ranks the rows alike by it; a threshold metric such as 'f1' "
        "tells them apart by the predictions they make."
    )
    warnings.warn(
        f"all {len(values)} completed trials scored {metric.name} = {values[0]:.4f}: the "
        f"metric does not tell the strategies apart, so the winner is one of equals.{why}",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _all_equal(values: list[float]) -> bool:
    return max(values) - min(values) <= 1e-9 * max(1.0, abs(values[0]))
