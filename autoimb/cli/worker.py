"""The ``worker`` command: one more process searching a study another started (a search on
the same storage), on the same data; Optuna's storage coordinates them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from autoimb.cli.console import EXIT_INTERRUPTED, EXIT_OK, say
from autoimb.cli.model_file import check_overwrite, save_model, say_kept
from autoimb.cli.outputs import check_storage_apart
from autoimb.cli.resume import refuse_other_settings, say_seed_unused, study_space
from autoimb.cli.search import interrupted_again, read_columns, run_search, saving_first
from autoimb.engine.saved_model import SavedModelStands
from autoimb.engine.storage import existing_study, study_names
from autoimb.exceptions import did_you_mean
from autoimb.leaderboard import finished_trials
from autoimb.redact import shown

if TYPE_CHECKING:
    import optuna


def worker_command(args: argparse.Namespace) -> int:
    check_storage_apart(args.storage, {"DATA": args.data, "--out": args.out})
    columns = read_columns(args)
    previous = _study_once_started(args.storage, args.study_name)
    if previous is not None:  # a worker searches the study's settings; others are refused
        refuse_other_settings(args, previous)
        say_seed_unused(args, previous)
        args.search_space = study_space(args, previous, args.storage)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_overwrite(out, args.force, previous, args.storage, args.study_name)
    try:
        result = run_search(args, columns, args.storage, previous, out)
    except SavedModelStands as kept:
        say_kept(out, kept)
        if not args.quiet:
            print(
                f"study {args.study_name!r} now holds {finished_trials(kept.study)} finished trials"
            )
            print(f"model: {out} (kept)")
        return EXIT_OK
    if result is None:
        return EXIT_INTERRUPTED
    if out is None:  # no model was made: the trials had the whole budget
        if not args.quiet:
            _print_study_best(result, args.study_name)
        return EXIT_OK
    try:
        with saving_first("the model"):  # as search does: the trials' work is in it
            save_model(result, out, args, args.storage)
    except KeyboardInterrupt:
        return interrupted_again(f"{out} was left as it was", args)
    if not args.quiet:
        ran = finished_trials(result.study)
        print(
            f"study {args.study_name!r} now holds {ran} finished trials; best "
            f"{result.metric.name} {result.best_score:.4f} ({result.score_basis}; the "
            f"search's own score {result.search_score:.4f})"
        )
        print(f"model: {out}")
    return EXIT_OK


def _print_study_best(study: optuna.Study, name: str) -> None:
    """The best trial of all workers, as the trials scored it: no model measured it again, and
    the best of many on the same folds owes part of its lead to luck."""
    from autoimb.config import STUDY_ATTR
    from autoimb.engine.remeasure import CHOSEN_ON
    from autoimb.strategy import strategy_label

    best = study.best_trial
    metric = study.user_attrs[STUDY_ATTR]["metric"]
    print(
        f"study {name!r} now holds {finished_trials(study)} finished trials; best {metric} "
        f"{best.value:.4f} (trial {best.number}, cross-validated {CHOSEN_ON})"
    )
    print(f"strategy: {strategy_label(best.user_attrs.get('config'))}")
    print("no model was made: give --out FILE to save the best of the study")


# A scheduler starts the search and its workers at once: a worker waits this long for the
# search to create the study before it gives up, looking again at growing intervals (a
# hundred workers looking twice a second would keep a database busy for nothing).
STUDY_WAIT_SECONDS = 60.0
LOOK_AGAIN_SECONDS = (0.5, 5.0)  # the first pause, and the longest


def _study_once_started(storage: str, name: str) -> optuna.Study | None:
    """The study, once its search has created it and recorded its settings; None (the worker
    then says there is none) if that does not happen in STUDY_WAIT_SECONDS. What it waits
    for is said even under --quiet: a batch script's mistyped path must not cost a silent
    minute."""
    from autoimb.config import STUDY_ATTR

    deadline, said = time.monotonic() + STUDY_WAIT_SECONDS, False
    pause, longest = LOOK_AGAIN_SECONDS
    while True:
        study = existing_study(storage, name)
        if (study is not None and STUDY_ATTR in study.user_attrs) or time.monotonic() > deadline:
            return study
        if not said:
            say(_waiting_for(storage, name))
            said = True
        time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
        pause = min(pause * 1.5, longest)


def _waiting_for(storage: str, name: str) -> str:
    """What the worker waits for, said at once: a misspelt path or study name shows then, not
    a minute later."""
    from autoimb.engine.worker import listed

    wait = f"up to {STUDY_WAIT_SECONDS:.0f} s"
    if "://" not in storage and not Path(storage).is_file():  # looked for, never made
        return (
            f"the journal file {storage} does not exist yet: waiting {wait} for a search to "
            "create it (check the path, if none is starting)"
        )
    names = study_names(storage)
    there = f", {listed(names)} held there now" if names else ""
    return (
        f"waiting {wait} for the search to create study {name!r} in {shown(storage)}"
        f"{there}{did_you_mean(name, names, aside=True)}"
    )
