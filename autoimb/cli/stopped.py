"""What a stopped search keeps: every finished trial, the best pipeline so far saved (unless
the model saved before stands), and the command that goes on."""

from __future__ import annotations

import argparse
import signal
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from autoimb.atomic import not_written
from autoimb.cli.console import say
from autoimb.cli.model_file import save_model, saved_model_to_keep, served_trial
from autoimb.cli.resume import resume_command, study_settings
from autoimb.cli.summary import best_text
from autoimb.data.files import Columns
from autoimb.engine.database import driver_said, storage_failed
from autoimb.engine.journal import journal_os_error
from autoimb.engine.storage import existing_study
from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import optuna

    from autoimb.engine.outcome import Predictions
    from autoimb.metrics.registry import Metric
    from autoimb.result import SearchResult


def after_interrupt(
    args: argparse.Namespace,
    columns: Columns,
    storage: str,
    metric: Metric,
    out: Path | None,
    stopped: str = "interrupted: every finished trial is kept in the study",
    predictions: Predictions | None = None,
) -> None:
    """Keep the promise of Ctrl-C: finished trials stay, the best so far is saved if any. A
    search an error stopped keeps it too, saying ``stopped`` first. ``predictions``: the
    trials' out-of-fold ones the stopped search held."""
    previous = None
    try:
        say(stopped)
        # A worker without --out makes no model: refitting the best would be thrown away.
        if out is not None:
            _save_best_so_far(args, columns, storage, metric, out, predictions)
    except KeyboardInterrupt:
        # Ctrl-C again skips the save; once more must not cut the resume line that follows.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        say("interrupted again: nothing more was saved")
    say(f"resume with: {resume_command(args)}")
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def _save_best_so_far(
    args: argparse.Namespace,
    columns: Columns,
    storage: str,
    metric: Metric,
    out: Path,
    predictions: Predictions | None = None,
) -> None:
    """Save the study's best pipeline, if its trials can be read (a database out of reach
    keeps them, unread). Refitting it is the long part: Ctrl-C again is offered before it."""
    from optuna.trial import TrialState

    from autoimb.engine.remeasure import CHOSEN_ON

    try:
        study = existing_study(storage, args.study_name)
        complete = study and study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            say("no trial had finished, so there is no model to save")
            return
        # Asked before the refit, of a best so far measured on the folds that chose it (a
        # Ctrl-C of a resume refitted a trial of 100,000 rows for 15 s, then kept the file).
        mine = {"score_basis": CHOSEN_ON}
        if not getattr(args, "force", False) and (
            kept := saved_model_to_keep(out, study, mine, metric)
        ):
            say(f"kept the model saved before in {out}: {kept[1]}")
            return
        say("saving the best pipeline so far, refitted on every row first; Ctrl-C again to skip")
        result = _best_so_far(args, columns, study, metric, predictions)
    except Exception as exc:
        if (why := _unsaved_because(exc, storage, reading=True)) is None:
            raise
        say(f"no model was saved: {why}")
        return
    try:
        if save_model(result, out, args, storage) is not None:
            return
    except Exception as exc:
        if (why := _unsaved_because(exc, storage)) is None:
            raise
        say(f"no model was saved: {why}")
        return
    say(f"wrote {out} ({served_trial(result)}); {best_text(result)}")
    if getattr(args, "report", None):
        try:
            result.report_html(args.report)
        except (AutoImbError, OSError) as exc:
            if (why := not_written(exc, Path(args.report))) is None:
                raise
            say(f"the report was not written: cannot write {args.report} ({why})")


def _unsaved_because(exc: Exception, storage: str, reading: bool = False) -> str | None:
    """Why the best so far could not be saved after a search stopped (the storage that stopped
    it, often), in a few words; None for an error to raise. Its resume line still follows.
    ``reading``: the study was being read, so a storage out of reach is said as such."""
    unread = "the study cannot be read now ({})" if reading else "{}"
    if storage_failed(exc):
        return unread.format(driver_said(exc, storage))
    if (os_error := journal_os_error(exc)) is not None:
        return unread.format(f"{storage}: {os_error.strerror or os_error}")
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot write {exc.filename} ({exc.strerror or exc})"
    if isinstance(exc, AutoImbError | OSError):
        return str(exc)
    return None


def _best_so_far(
    args: argparse.Namespace,
    columns: Columns,
    study: optuna.Study,
    metric: Metric,
    predictions: Predictions | None = None,
) -> SearchResult:
    """Refit the study's best trial, as a finished search would have."""
    from autoimb.data.dataset import validate
    from autoimb.engine.space import parse_space
    from autoimb.engine.stopped import finish_study

    attrs = study_settings(study)
    # A multi-class study records a "positive" class too, which validate refuses for it.
    positive = attrs.get("positive") if len(attrs.get("classes", ())) == 2 else None
    with warnings.catch_warnings():  # the search already warned of the same data
        warnings.simplefilter("ignore")
        data = validate(columns.X, columns.y, sample_weight=columns.weights, pos_label=positive)
    space = parse_space(
        attrs["space_yaml"], source=f"study {args.study_name!r}", name=attrs.get("space")
    )
    result = finish_study(study, data, metric, space, columns.groups, predictions)
    assert result is not None  # the study holds a finished trial
    if (given := getattr(args, "given_budget", None)) is not None:  # as a finished search's card
        result.best_pipeline.model_card_["time_budget"] = given
    return result
