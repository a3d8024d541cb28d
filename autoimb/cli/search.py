"""The ``search`` command: run a study with a progress display and save its best (the
``worker`` command runs and saves the same way, :mod:`autoimb.cli.worker`).

A search resumes the study it finds in its storage, keeps every finished trial on Ctrl-C and
saves the best pipeline so far, and writes the model file atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoimb import config
from autoimb.atomic import not_written
from autoimb.cli.console import EXIT_INTERRUPTED, EXIT_OK, TERMINATED, ctrl_c_not_lost, say
from autoimb.cli.data_check import refuse_marker_labels, refuse_unknown_pos_label
from autoimb.cli.model_file import (
    check_overwrite,
    kept_summary,
    save_model,
    saved_model_check,
    say_kept,
)
from autoimb.cli.outputs import (
    REPORT_FORMATS,
    check_output,
    check_storage_apart,
    check_writable,
    is_report,
)
from autoimb.cli.resume import (
    default_model_path,
    resume_command,
    study_pos_label,
    study_settings,
    study_space,
)
from autoimb.cli.stopped import after_interrupt
from autoimb.cli.summary import print_summary
from autoimb.cli.unwritten import model_unwritten, report_unwritten
from autoimb.data.files import Columns, file_stem, read_table, split_columns
from autoimb.engine.database import lost
from autoimb.engine.saved_model import SavedModelStands, keeping_saved_model
from autoimb.engine.storage import existing_study, refuse_unwritable
from autoimb.exceptions import AutoImbError, StorageFailed
from autoimb.export import MODEL_FORMATS
from autoimb.leaderboard import finished_trials
from autoimb.progress import study_best

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from autoimb.metrics.registry import Metric
    from autoimb.result import SearchResult


def search_command(args: argparse.Namespace) -> int:
    if args.metric is not None:
        _metric(args.metric)  # an unknown metric fails before any data is read
    # A journal file rather than SQLite: Optuna advises against SQLite when several processes
    # (parallel workers) write to one study, while its journal file appends under a file lock.
    # Without --out, every study on DATA shares one journal; a model named by --out has its own.
    if args.out:  # a folder (".") has no name to give its journal
        check_writable(Path(args.out), MODEL_FORMATS, "model")
    named = Path(args.out) if args.out else Path(f"{file_stem(args.data)}.skops")
    storage = args.storage or str(named.with_suffix(".optuna.log"))
    check_storage_apart(storage, {"DATA": args.data, "--out": args.out, "--report": args.report})
    refuse_unwritable(storage)  # a report reads such a file; a search writes it
    columns = read_columns(args)
    refuse_marker_labels(columns.y, args.target, args.force)  # " ?" and "?" are no variants
    _refuse_label_variants(columns.y, args.target, args.force)
    refuse_unknown_pos_label(columns.y, args.pos_label)
    previous = existing_study(storage, args.study_name)
    beside = previous is not None and args.new_study
    if beside:
        args.study_name = _free_name(storage, args.study_name)
        previous = None
    folds = _folds(args, columns.groups, len(columns.y), study_settings(previous))
    args.search_space = study_space(args, previous, storage)
    out = Path(args.out) if args.out else default_model_path(args.data, args.study_name)
    check_storage_apart(storage, {"the model file": out})
    if args.report:
        report = Path(args.report)
        check_output(
            report, [args.data, out, storage], args.force, is_report, REPORT_FORMATS, "report"
        )
    check_overwrite(out, args.force, previous, storage, args.study_name)
    # Every option checked: only now is anything made (a refused run leaves no trace).
    if beside:
        say(f"starting a new study {args.study_name!r} beside the existing one")
    if "://" not in storage:  # a journal file's folder is made, as --out's and --report's are
        try:
            Path(storage).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AutoImbError(
                f"--storage {storage}: cannot make its folder ({exc.strerror or exc}); give a "
                "journal file path in a folder you can write."
            ) from None
    out.parent.mkdir(parents=True, exist_ok=True)  # as --report does for its file
    try:
        result = run_search(args, columns, storage, previous, out, folds)
    except SavedModelStands as kept:
        say_kept(out, kept)
        return kept_summary(kept.card, kept.study, kept.metric, out, columns, storage, args)
    if result is None:
        return EXIT_INTERRUPTED
    written = None  # what was written when a second Ctrl-C stopped the rest
    report = unwritten = None
    try:
        with saving_first("the model and report" if args.report else "the model"):
            try:
                kept = save_model(result, out, args, storage)
            except (AutoImbError, OSError) as exc:
                if (why := not_written(exc, out)) is None:
                    raise
                return model_unwritten(why, result, out, storage, args)
            written = f"the model was kept in {out}" if kept else f"the model was saved to {out}"
            if kept is not None:
                return kept_summary(kept, result.study, result.metric, out, columns, storage, args)
            try:
                report = result.report_html(args.report) if args.report else None
            except (AutoImbError, OSError) as exc:
                if (unwritten := not_written(exc, Path(args.report))) is None:
                    raise
    except KeyboardInterrupt:
        done = f"{written}, the report was not written" if written else f"{out} was left as it was"
        return interrupted_again(done, args)
    if not args.quiet:
        print_summary(result, out, report, storage, args)
    return EXIT_OK if unwritten is None else report_unwritten(unwritten, out, args)


def interrupted_again(done: str, args: argparse.Namespace) -> int:
    say(f"interrupted again: {done}; every trial is kept in the study")
    say(f"resume with: {resume_command(args)}")
    return EXIT_INTERRUPTED


@contextlib.contextmanager
def saving_first(what: str) -> Iterator[None]:
    """Ctrl-C once the trials are over saves ``what`` first, as it does during them; again,
    it stops without them (a file is written whole or not at all)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    stops = (signal.SIGINT, signal.SIGTERM)  # the program takes SIGTERM as Ctrl-C
    previous = {stop: signal.getsignal(stop) for stop in stops}

    def restore() -> None:
        for stop in stops:
            signal.signal(stop, previous[stop])

    def once(signum: int, frame: Any) -> None:
        if signum == signal.SIGTERM:
            TERMINATED.set()
        restore()
        say(f"saving {what} first; Ctrl-C again to stop without them")

    for stop in stops:
        signal.signal(stop, once)
    try:
        yield
    finally:
        restore()


def run_search(
    args: argparse.Namespace,
    columns: Columns,
    storage: str,
    previous: optuna.Study | None,
    out: Path | None,
    folds: Any = None,
) -> SearchResult | optuna.Study | None:
    """Search with a progress display; on Ctrl-C save what there is and return ``None``. A
    worker with no ``out`` makes no model: it returns the study. Where the model this study
    saved at ``out`` stays, :class:`~autoimb.engine.saved_model.SavedModelStands` is raised
    before anything is refitted.

    Long by design: the progress display, Optuna's log level and Ctrl-C wrap both the
    search and the worker call, and must stay in one frame.
    """
    import optuna

    from autoimb.api import search
    from autoimb.engine.run_text import RESUME_LOGGER
    from autoimb.engine.worker import join
    from autoimb.progress import SearchProgress, interactive

    X, y, weights, groups = columns.X, columns.y, columns.weights, columns.groups
    attrs = study_settings(previous)
    if args.metric or "metric" not in attrs:
        metric = _metric(args.metric or config.DEFAULT_METRIC)
    else:
        from autoimb.metrics.registry import recorded_metric

        metric = recorded_metric(attrs["metric"], f"study {args.study_name!r}")
    pos_label = study_pos_label(args, previous, y)
    given = args.time_budget
    if given is None and args.n_trials is None:
        given = config.DEFAULT_TIME_BUDGET
    budget = args.given_budget = given  # the card's, also where Ctrl-C saves the best so far
    if given is not None:  # what start-up left of it, but never less than a second
        spent = time.monotonic() - getattr(args, "started", time.monotonic())
        budget = max(given - spent, min(given, 1.0))
    finished, best = _study_state(previous)
    progress = SearchProgress(
        sys.stderr,
        metric_name=metric.name,
        greater_is_better=metric.greater_is_better,
        time_budget=budget,
        n_trials=args.n_trials,
        live=interactive(sys.stderr),
        already=finished,
        best=best,
    )
    verbosity = optuna.logging.get_verbosity()
    # DEBUG, not INFO: the library keeps Optuna quiet during a search unless it is at DEBUG,
    # which --verbose asks for (its per-trial lines then repeat the progress display's).
    optuna.logging.set_verbosity(optuna.logging.DEBUG if args.verbose else optuna.logging.ERROR)
    # The search says it resumes a study once the study has been accepted, not before a
    # refusal; the command line shows that line unless --quiet.
    watching = (ctrl_c_not_lost,) if args.quiet else (progress, ctrl_c_not_lost)
    resumed = logging.getLogger(RESUME_LOGGER)
    resumed_level = resumed.level
    resumed.setLevel(logging.WARNING if args.quiet else logging.INFO)
    # A resume that would serve the model saved before keeps it before the refit, not after.
    keep_saved = (
        keeping_saved_model(saved_model_check(out))
        if out is not None and out.is_file() and not getattr(args, "force", False)
        else contextlib.nullcontext()
    )
    try:
        with progress if not args.quiet else contextlib.nullcontext(), keep_saved:
            if args.command == "worker":
                # A worker searches what the study's creator set: metric, space and folds.
                joined = join(
                    storage,
                    args.study_name,
                    X,
                    y,
                    time_budget=budget,
                    n_trials=args.n_trials,
                    n_jobs=args.n_jobs,
                    heartbeat=args.heartbeat,
                    sample_weight=weights,
                    callbacks=watching,
                    pos_label=pos_label,
                    groups=groups,
                    final_model=out is not None,
                )
                return _budget_recorded(joined, given)
            result = search(
                X,
                y,
                metric=metric,
                time_budget=budget,
                n_trials=args.n_trials,
                cv=folds,
                space=args.search_space,
                storage=storage,
                study_name=args.study_name,
                n_jobs=args.n_jobs,
                random_state=args.seed,
                sample_weight=weights,
                callbacks=watching,
                pos_label=pos_label,
                allow_other_data=args.force,
                verbose=False,  # the command line's own display, above
                heartbeat=args.heartbeat,
            )
            return _budget_recorded(result, given)
    except KeyboardInterrupt as stopped:
        from autoimb.engine.outcome import PREDICTIONS_OF_STOPPED

        kept = getattr(stopped, PREDICTIONS_OF_STOPPED, None)
        after_interrupt(args, columns, storage, metric, out, predictions=kept)
        return None
    except Exception as exc:  # as Ctrl-C: the best so far saved, then the error's code
        failed = exc if isinstance(exc, StorageFailed) else lost(storage, exc)
        if failed is None:
            raise
        after_interrupt(args, columns, storage, metric, out, f"error: {failed}")
        failed.said = True
        raise failed from None
    finally:
        optuna.logging.set_verbosity(verbosity)
        resumed.setLevel(resumed_level)


def _budget_recorded(
    result: SearchResult | optuna.Study, given: float | None
) -> SearchResult | optuna.Study:
    """The model card's budget is the one the command was given, as the report's "searched
    with" line shows it: the search had what start-up (imports, reading the data) left of it,
    kept as ``time_left_at_start``."""
    card = getattr(getattr(result, "best_pipeline", None), "model_card_", None)
    if card is not None and given is not None and card.get("time_budget") is not None:
        card["time_left_at_start"] = round(float(card["time_budget"]), 3)
        card["time_budget"] = given
    return result


def _folds(args: argparse.Namespace, groups: Any, n_rows: int, recorded: dict[str, Any]) -> Any:
    """``--cv`` and ``--cv-split`` as folds; left out, a resumed study's own, and a --group
    column makes group folds the default."""
    from autoimb.engine.splits import KINDS, named_folds, not_rebuilt

    if recorded.get("split") not in (None, *KINDS):  # a splitter of its own, from Python
        raise AutoImbError(
            f"{not_rebuilt(recorded, f'study {args.study_name!r}')}, or start another study "
            "with --new-study or --study-name NAME."
        )
    n_folds = args.cv or recorded.get("cv") or config.DEFAULT_CV
    split = recorded.get("split") if recorded.get("split") != "group" else None
    kind = args.cv_split or ("group" if groups is not None else split or "stratified")
    if recorded.get("split", kind) != kind:
        _refuse_other_kind(args, recorded, int(n_folds), kind, groups is not None)
    if groups is not None and kind != "group":
        raise AutoImbError(
            f"--group splits by group, and --cv-split {kind} would not: drop one of them."
        )
    return named_folds(int(n_folds), kind, groups, n_rows)


def _refuse_other_kind(
    args: argparse.Namespace, recorded: dict[str, Any], n_folds: int, kind: str, grouped: bool
) -> None:
    """Folds of another kind than the study's: the fix names the options that choose the
    kind (--cv-split, --group), where --cv alone would not resume it."""
    own = recorded["split"]
    cv = f"--cv {recorded['cv']} " if recorded.get("cv") not in (None, n_folds) else ""
    if own == "group":
        fix = f"Resume it with {cv}--group and the study's group column"
        fix += ", without --cv-split" if args.cv_split else ""
    else:
        fix = f"Resume it with {cv}--cv-split {own}" + (" and no --group" if grouped else "")
        fix += " (leaving --cv-split out takes the study's own)"
    raise AutoImbError(
        f"study {args.study_name!r} was searched on {recorded.get('folds', own + ' folds')}, "
        f"not {n_folds} {kind} folds; its scores would not compare. {fix}, or start another "
        "study with --new-study or --study-name NAME."
    )


def read_columns(args: argparse.Namespace) -> Columns:
    """DATA split into features, labels, ids, weights and groups, as the options name them."""
    return split_columns(
        read_table(args.data, args.na_values, label=args.target),
        args.target,
        id_col=args.id,
        weight_col=args.weight,
        group_col=args.group,
        na_values=args.na_values or (),
    )


def _refuse_label_variants(y: pd.Series, target: str, force: bool) -> None:
    """The library warns; a command line run refuses, since nobody may read a warning."""
    import pandas as pd

    from autoimb.data.labels import label_variants

    labels = pd.unique(y.dropna())
    if (variants := label_variants(labels)) and not force:
        raise AutoImbError(
            f"column {target!r} has labels that differ only by case or spaces: {variants[:3]}; "
            f"as they are, they make {len(labels)} classes. Clean the column, or pass --force "
            "to keep each spelling as a class of its own."
        )


def _free_name(storage: str, name: str) -> str:
    number = 2
    while existing_study(storage, f"{name}-{number}") is not None:
        number += 1
    return f"{name}-{number}"


def _study_state(study: optuna.Study | None) -> tuple[int, tuple[float, int, dict] | None]:
    """Finished trials of a study being resumed, and its best ``(value, number, config)``."""
    if study is None:
        return 0, None
    return finished_trials(study), study_best(study)


def _metric(name: str) -> Metric:
    from autoimb.metrics.registry import get_metric

    return get_metric(name)
