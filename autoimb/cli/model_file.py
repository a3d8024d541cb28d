"""The model file a search command writes: checked before the search, written whole, and kept
when it holds a better trial than the one a resumed run had time to refit."""

from __future__ import annotations

import argparse
import os
import shlex
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoimb.cli.console import EXIT_OK, say
from autoimb.cli.outputs import check_writable
from autoimb.data.files import csv_decimal_mark
from autoimb.exceptions import AutoImbError
from autoimb.export import MODEL_FORMATS
from autoimb.leaderboard import finished_trials, trials_text

if TYPE_CHECKING:
    import optuna

    from autoimb.data.files import Columns
    from autoimb.engine.saved_model import SavedModelCheck, SavedModelStands
    from autoimb.metrics.metric import Metric
    from autoimb.result import SearchResult

MODEL_ATTR = "model_file"  # study attribute: the model file the CLI last wrote from the study


def _model_files(study: optuna.Study) -> list[str]:
    """The model files the study's search and workers wrote: one attribute each (a search and
    a worker saving at once each add their own, where a shared list lost one of the two), and
    the list studies kept before."""
    attrs = study.user_attrs
    files = attrs.get(MODEL_ATTR) or []
    listed = [files] if isinstance(files, str) else list(files)
    return listed + [v for k, v in attrs.items() if k.startswith(f"{MODEL_ATTR}:")]


def record_model_file(study: optuna.Study, out: Path) -> None:
    path = str(out.resolve())
    study.set_user_attr(f"{MODEL_ATTR}:{path}", path)


def written_by(study: optuna.Study | None, out: Path) -> bool:
    """Whether the study's search or one of its workers wrote the model file ``out``: it is
    recorded there, or it was moved with its folder: a file of a name the study wrote whose
    model card names the study (a copy under another name is the user's)."""
    if study is None:
        return False
    files = _model_files(study)
    if str(out.resolve()) in files:
        return True
    token = study_creator(study)
    if token is None or out.name not in {Path(f).name for f in files}:
        return False
    named = _card_study(out)
    return named.get("name") == study.study_name and named.get("creator") == token


def _card_study(out: Path) -> dict[str, str]:
    """The study the model card of the file ``out`` names; empty for a file that is no model
    of ours, one this version cannot read, or a pickle (not opened unasked)."""
    if not out.is_file() or out.suffix != ".skops":
        return {}
    from autoimb.export import load, model_card

    try:
        with warnings.catch_warnings():  # another version's model: the question is only whose
            warnings.simplefilter("ignore")
            return model_card(load(out)).get("study") or {}
    except Exception:
        return {}


def study_creator(study: optuna.Study) -> str | None:
    """The token the process that created the study recorded: no other study has it."""
    from autoimb.config import STUDY_ATTR

    return (study.user_attrs.get(STUDY_ATTR) or {}).get("creator")


def check_overwrite(
    out: Path, force: bool, previous: optuna.Study | None, storage: str, study_name: str
) -> None:
    """Refuse to replace a model, unless forced or it came from the study being resumed.

    Running the same command again resumes its study and must be able to update the model
    that study wrote; any other existing file is the user's and needs ``--force``. A model
    of another study (a resume that left out its ``--storage``) is named with the options
    that resume that study: ``--force`` would throw its model away.
    """
    check_writable(out, MODEL_FORMATS, "model")
    if not out.exists() or force or written_by(previous, out):
        return
    if (whose := _other_study(out, storage, study_name)) is not None:
        raise AutoImbError(
            f"{out} already exists, {whose}, pass --force to overwrite it, or --out another path."
        )
    raise AutoImbError(
        f"{out} already exists and was not written by this study; pass --force to overwrite "
        "it, or --out another path."
    )


def _other_study(out: Path, storage: str, study_name: str) -> str | None:
    """Which other study wrote the model file ``out`` and the options that resume it, as
    its card names it (a journal kept relative to the model's folder, or only a database
    study's name); None when it names none, or this run's own storage and name."""
    named = _card_study(out)
    name = named.get("name")
    if name is None:
        return None
    options = [] if name == study_name else [f"--study-name {shlex.quote(name)}"]
    if "storage" not in named:  # a database URL is not kept in the card
        if "://" in storage and not options:
            return None  # this database's study of that name, perhaps made again
        fix = " and ".join(["its database's --storage", *options])
        return f"written by study {name!r} in a database; pass {fix} to resume it"
    journal = out.resolve().parent / named["storage"]
    if not journal.is_file():
        return None  # gone: there is nothing to resume
    if "://" in storage or journal.resolve() != Path(storage).resolve():
        options.insert(0, f"--storage {shlex.quote(shown_path(journal))}")
    if not options:
        return None
    where = shown_path(journal)
    return f"written by study {name!r} in {where}; add {' '.join(options)} to resume it"


def shown_path(path: Path) -> str:
    """A path as typed from here: relative to the working folder where it can be."""
    try:
        return os.path.relpath(path)
    except ValueError:  # on another drive
        return str(path)


def save_model(
    result: SearchResult, out: Path, args: argparse.Namespace, storage: str
) -> dict[str, Any] | None:
    """Write next to the target and rename, so an interrupted save never leaves half a model.

    What the command line knows goes with it: the file's missing-value markers and decimal
    mark (``predict`` reads new files the same way), the columns that were not features (a
    predict file may hold them unwarned), and the study (``report MODEL`` finds it). The model
    this study saved there before stays when this run has nothing better
    (:func:`saved_model_to_keep`); its card is returned then.
    """
    card = result.best_pipeline.model_card_
    kept = None if args.force else saved_model_to_keep(out, result.study, card, result.metric)
    if kept is not None:
        saved, why = kept
        say(
            f"kept the model saved before in {out}: {why} (this run would have served "
            f"{served_trial(result)})"
        )
        return saved
    if args.na_values:
        card["na_values"] = list(args.na_values)
    if decimal := csv_decimal_mark(args.data):
        card["decimal"] = decimal
    named = {option: getattr(args, option, None) for option in ("target", "id", "weight", "group")}
    card["named_columns"] = {option: column for option, column in named.items() if column}
    card["study"] = recorded_study(out, storage, args.study_name)
    if (token := study_creator(result.study)) is not None:
        card["study"]["creator"] = token
    # Recorded first: a process stopped between the two must not leave the study's own model
    # refused as the user's.
    record_model_file(result.study, out)
    result.save(out)  # written whole or not at all
    return None


def saved_model_check(out: Path) -> SavedModelCheck:
    """What the search's finish asks before its long parts: whether the model this study saved
    at ``out`` stands (:func:`saved_model_to_keep`), so that it refits nothing to throw away."""
    return lambda study, metric, card: saved_model_to_keep(out, study, card, metric)


def say_kept(out: Path, kept: SavedModelStands) -> None:
    say(f"kept the model saved before in {out}: {kept.why}; nothing was refitted")


def saved_model_to_keep(
    out: Path, study: optuna.Study, card: dict[str, Any] | None, metric: Metric
) -> tuple[dict[str, Any], str] | None:
    """The card of the model this study saved at ``out`` before, and why it stays, when this
    run (``card``: its model's; None before it measured its winner, when only a saved model
    measured apart from the search's folds stands whatever it measures) has nothing better
    to serve.

    It stays when no trial finished since it was saved scores better than the study's best
    then (a short resume, or Ctrl-C, only finishes with less time for the ensemble and its
    measure), unless this run measured its model honestly and the saved one was not. It also
    stays when it is a trial (or an ensemble whose best member is one) this run could not refit
    in the time left (one from an earlier run must be cross-validated again first) that still
    leads those it could, and when both were measured the same way apart from the search's
    folds and it measured better: a trial that leads on them by a hair may owe it to luck (an
    ensemble's nested score and a single trial's fresh-fold one do not compare: the nested
    one runs low). A saved model that passed over for time a trial better than it served is
    no finished run's best: the first and last rules do not keep it.
    """
    from autoimb.engine.remeasure import FRESH, HONEST, NESTED

    saved = _saved_card(out, study)
    if saved is None:
        return None
    sign = 1.0 if metric.greater_is_better else -1.0
    basis = saved.get("score_basis")
    if card is None:
        why = _none_better_since(saved, study, metric) if basis in HONEST else None
        return None if why is None else (saved, why)
    better_measured = card.get("score_basis") in HONEST and basis not in HONEST
    if not better_measured and (why := _none_better_since(saved, study, metric)):
        return saved, why
    mine = card.get("cv_score")
    if (
        basis == card.get("score_basis") in (FRESH, NESTED)
        and mine is not None
        and sign * saved["cv_score"] > sign * mine
        and not _passed_over_better(saved, study, sign)
    ):
        # Its trial led by luck on the search's folds, which all of the study's trials share.
        return saved, (
            f"it measured better ({metric.name} {saved['cv_score']:.4f}, {basis}) than this "
            f"run's best ({mine:.4f}, {card['score_basis']}), which led on the search's folds"
        )
    slow = set(card.get("too_slow_to_refit", []))
    served_before = _served_trials(saved)
    if not slow or not served_before:
        return None
    trials = study.trials
    if any(n >= len(trials) or trials[n].value is None for n in served_before):
        return None
    # An ensemble leads when its best member does: the ensemble was chosen over that member.
    lead = max(served_before, key=lambda n: sign * trials[n].value)
    served = [t.value for t in trials if t.number not in slow and t.value is not None]
    if lead == card.get("trial") or lead not in slow or not served:
        return None
    if sign * trials[lead].value <= max(sign * v for v in served):
        return None
    its = "its trial" if saved.get("trial") is not None else "its ensemble's best trial"
    return saved, (
        f"{its} {lead} still leads the trials this run could serve, and the time left "
        "could not refit it"
    )


def _saved_card(out: Path, study: optuna.Study) -> dict[str, Any] | None:
    from autoimb.export import load, model_card

    if not out.is_file() or not written_by(study, out):
        return None
    try:
        return model_card(load(out))  # a pickle is not opened unasked: it is replaced
    except AutoImbError:
        return None


def _none_better_since(saved: dict[str, Any], study: optuna.Study, metric: Metric) -> str | None:
    """Why a saved model stays when no trial finished since it was saved scores better than
    the study's best then; None when one does, or when it passed over better trials for
    time (no finished run's best)."""
    seen = saved.get("study_best")
    sign = 1.0 if metric.greater_is_better else -1.0
    if seen is None or sign * study.best_value > sign * seen:
        return None
    if _passed_over_better(saved, study, sign):
        return None
    return (
        f"no trial finished since it was saved ({_served_by(saved)}, {metric.name} "
        f"{saved['cv_score']:.4f}, {saved.get('score_basis')}) scores better than the study's "
        "best then"
    )


def _passed_over_better(saved: dict[str, Any], study: optuna.Study, sign: float) -> bool:
    """Whether the saved model passed over for time a trial that scored better than what it
    served: one that was the study's best then. A lesser trial passed over leaves it the
    finished run's best (a trial unknown to the study counts as better: nothing says not)."""
    slow = saved.get("too_slow_to_refit") or []
    seen = saved.get("study_best")
    if not slow or seen is None:
        return bool(slow)
    trials = study.trials  # read only here: on a database storage it fetches every trial
    return any(
        n >= len(trials) or trials[n].value is None or sign * trials[n].value >= sign * seen
        for n in slow
    )


def _served_trials(card: dict[str, Any]) -> list[int]:
    """The trials a model card's model serves: its trial, or its ensemble's members."""
    if card.get("trial") is not None:
        return [card["trial"]]
    return [int(n) for n in (card.get("config") or {}).get("weights", {})]


def recorded_study(out: Path, storage: str, study_name: str) -> dict[str, str]:
    """The study a model file came from, for ``autoimb report MODEL``: a journal file is kept
    relative to the model's folder, so the two can move together; a database URL is not kept
    (it may hold a password)."""
    if "://" in storage:
        return {"name": study_name}
    journal = Path(storage).resolve()
    try:
        where = Path(os.path.relpath(journal, out.resolve().parent)).as_posix()
    except ValueError:  # on another drive than the model
        where = str(journal)
    return {"name": study_name, "storage": where}


def _served_by(card: dict[str, Any]) -> str:
    """What a model card's model serves: one trial, or an ensemble of them."""
    return "an ensemble" if card.get("trial") is None else f"trial {card['trial']}"


def served_trial(result: SearchResult) -> str:
    """Which trial the saved model is, and why when it is not the top-scoring one."""
    trial = result.model_card()["trial"]
    if trial is None:
        return "an ensemble of trials"
    top = result.study.best_trial.number
    if trial == top:
        return f"trial {trial}"
    return (
        f"trial {trial}, chosen over the top-scoring trial {top} as a finished search would "
        "choose: the model card's notes say why"
    )


def kept_summary(
    card: dict[str, Any],
    study: optuna.Study,
    metric: Metric,
    out: Path,
    columns: Columns,
    storage: str,
    args: argparse.Namespace,
) -> int:
    """The report and summary of the model kept from before, not of the one not saved."""
    from autoimb.report.html import write_study_report

    report = None
    if args.report:
        report = write_study_report(
            args.report,
            study=study,
            model_card=card,
            X=columns.X,
            y=columns.y,
            sample_weight=columns.weights,
            groups=columns.groups,
        )
    if not args.quiet:
        from autoimb.cli.summary import classes_line, interval_text, score_text, study_line
        from autoimb.posthoc.decision import Decision
        from autoimb.strategy import strategy_label

        score = card["cv_score"]
        line = score_text(card["metric"], score, metric.unit, card["score_basis"])
        if interval := card.get("score_interval"):  # as the search that saved it said it
            rows = card.get("score_interval_rows") or card["data"]["rows"]
            chance = card.get("floor_miss_chance")
            line += "; " + interval_text(metric, score, interval, rows, chance)
        print(line)
        ran = finished_trials(study)
        chosen = _served_by(card)
        print(f"chosen:   {chosen}, kept from before; {trials_text(ran)} ran in the study")
        print(f"strategy: {strategy_label(card['config'])}")
        classes = [str(c) for c in card["classes"]]
        rule = Decision.from_labelled(card["decision"], classes, card.get("positive_class"))
        print(classes_line(metric, classes, rule.pos_label))
        print(f"decision: {rule.describe(classes, card.get('probability_threshold'))}")
        print(f"model:    {out} (kept)")
        if report is not None:
            print(f"report:   {report}")
        print(study_line(args, storage))
    return EXIT_OK
