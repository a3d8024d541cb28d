"""The commands that read what a search saved: ``predict`` with a model, ``report`` on a model
and/or its study."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from autoimb.cli.console import EXIT_OK, say
from autoimb.cli.data_check import check_training_data
from autoimb.cli.outputs import (
    REPORT_FORMATS,
    TABLE_FORMATS,
    check_output,
    is_leaderboard,
    is_predictions,
    is_report,
    stdout_for,
    typed_id,
    write_table,
)
from autoimb.cli.resume import default_model_path, file_safe
from autoimb.data.files import missing_column, read_table, split_columns, table_suffix
from autoimb.exceptions import AutoImbError
from autoimb.export import MODEL_FORMATS
from autoimb.redact import shown

if TYPE_CHECKING:
    import optuna


def predict_command(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from autoimb.data.conform import input_columns, read_columns
    from autoimb.exceptions import SchemaError
    from autoimb.export import load

    _refuse_swapped(args.model, args.data)
    out = None if args.out is None else Path(args.out)
    if out is not None:  # before a large file is read for nothing
        check_output(
            out, [args.data, args.model], args.force, is_predictions, TABLE_FORMATS, "predictions"
        )
    model = load(args.model, trust=args.trust)
    card = model.model_card_
    na_values = _na_values(args.na_values, card)
    schema = card.get("schema") or {}
    # Text categories are read as text, as training's were: a day's batch of "doors" 2 to 4
    # (without "5more") is no number, and the code "007" is not 7.
    coded = set(schema.get("numeric_coded", []))
    text = [c for c in schema.get("categorical", []) if c not in coded]
    if args.id is not None and args.id not in read_columns(schema):
        text.append(args.id)  # identifiers come out as written: "000123" is not 123
    # A category training saw as "NA" (North America) stays one, not a missing value.
    kept = {c: v for c, v in schema.get("categories", {}).items() if c in text}
    frame = read_table(
        args.data,
        na_values,
        text_columns=text,
        empty_ok=True,
        decimal=card.get("decimal"),
        kept=kept,
    )
    if args.id is not None and args.id not in frame.columns:
        raise AutoImbError(missing_column(args.id, "--id", frame.columns))
    if args.id is not None and (args.id == "prediction" or args.id.startswith("proba_")):
        raise AutoImbError(
            f"--id {args.id} is named as a column of the predictions themselves; rename that "
            "column in the data, or predict without --id."
        )
    features = frame
    if schema and args.id is not None and args.id not in input_columns(schema):
        # The id is expected in a file to predict and was never a feature: left out unwarned
        # (the search's own named columns the model leaves out itself).
        features = frame.drop(columns=[args.id])
    try:
        if len(features):
            labels, proba = model.predict_with_proba(features)
        else:  # a batch job's quiet day: its columns are checked, and no row is predicted
            if missing := [c for c in read_columns(schema) if c not in features.columns]:
                raise SchemaError(f"the data lacks the column(s) the model reads: {missing[:20]}")
            labels, proba = np.asarray(model.classes_)[:0], np.empty((0, len(model.classes_)))
    except SchemaError as exc:
        raise AutoImbError(f"{args.data} does not fit the model: {exc}") from exc
    output = pd.DataFrame({"prediction": labels})
    for i, label in enumerate(model.classes_):
        output[f"proba_{label}"] = proba[:, i]
    if args.id is not None:
        output.insert(0, args.id, typed_id(out or Path(""), frame[args.id], args.data).to_numpy())
    if args.out is None:
        output.to_csv(stdout_for(output), index=False)
        return EXIT_OK
    write_table(out, output)
    # "label: count" in the model's class order: "90 0, 10 1" read ambiguously for numbers.
    counts = output["prediction"].value_counts()
    by_class = ", ".join(f"{label}: {counts[label]}" for label in model.classes_ if label in counts)
    say(f"wrote {len(output)} predictions to {out}" + (f" ({by_class})" if by_class else ""))
    return EXIT_OK


def report_command(args: argparse.Namespace) -> int:
    from autoimb import config
    from autoimb.engine.storage import existing_study, study_names
    from autoimb.export import is_study_journal, load, model_card
    from autoimb.report.html import write_study_report

    card, storage = None, args.storage
    journal = args.model is not None and is_study_journal(args.model)
    if journal and storage is None:  # a study's journal file given where a model goes
        storage, args.model = args.model, None
    elif journal:
        raise AutoImbError(
            f"{args.model} is a study (an Optuna journal file), not a model, and --storage "
            "names another; give one of them."
        )
    if args.model is not None:
        card = model_card(load(args.model, trust=args.trust))
        if storage is None:
            storage = _model_study(Path(args.model), card)
    elif storage is None:
        raise AutoImbError("give a MODEL file, or --storage URL and --study-name NAME.")
    chosen = args.study_name is None and card is None  # the study named by no one
    if args.study_name is None:
        recorded = (card or {}).get("study") or {}
        args.study_name = recorded.get("name") or config.DEFAULT_STUDY_NAME
    study = None
    if storage is not None:
        if "://" not in storage and not Path(storage).is_file():
            raise AutoImbError(f"{shown(storage)}: no such study storage file.")
        study = existing_study(storage, args.study_name)
        if study is None:
            raise AutoImbError(
                f"{shown(storage)} holds no study named {args.study_name!r}; it holds "
                f"{study_names(storage) or 'none'}. Pick one with --study-name."
            )
        others = [n for n in study_names(storage) if n != args.study_name] if chosen else []
        if others:
            say(
                f"reporting study {args.study_name!r}; {shown(storage)} also holds {others} "
                "(pick one with --study-name)"
            )
        if card is not None:
            _refuse_another_study(Path(args.model), card, study, storage)
    X = y = weights = groups = None
    if args.data is None and (given := _data_options(args)):
        names = "names a column" if len(given) == 1 else "name columns"
        raise AutoImbError(
            f"{', '.join(given)} {names} of --data, which is not given; give --data FILE too, "
            f"or leave {' and '.join(given)} out."
        )
    if args.data is not None:
        na_values = _na_values(args.na_values, card or {})
        label = args.target or ((card or {}).get("named_columns") or {}).get("target")
        table = read_table(args.data, na_values, label=label, decimal=(card or {}).get("decimal"))
        _take_the_searchs_columns(args, card or {}, table.columns)
        if args.target is None:
            raise AutoImbError("--data needs --target, the label column.")
        _refuse_a_feature_as_target(args.target, card or {})
        X, y, _, weights, groups = split_columns(
            table,
            args.target,
            id_col=args.id,
            weight_col=args.weight,
            group_col=args.group,
            na_values=na_values or (),
        )
        check_training_data(args, X, y, weights, card, study)
    if args.model is not None:
        default = Path(args.model).with_suffix(".html")
    elif (stem := _study_file_stem(storage)) is not None:
        # A study of another name than the first gets its own report, as its own model.
        named = default_model_path(stem, args.study_name).with_suffix(".html")
        default = Path(stem).parent / named  # beside the journal
    else:  # a database's study: named after the study alone
        default = Path(f"{file_safe(args.study_name)}.html")
    out = Path(args.out) if args.out else default
    check_output(
        out, [args.model, args.data, storage], args.force, is_report, REPORT_FORMATS, "report"
    )
    board = Path(args.leaderboard) if args.leaderboard else None
    if board is not None:
        if study is None:
            raise AutoImbError(f"--leaderboard needs the study: {_study_wanted(card)}.")
        inputs = [args.model, args.data, storage, out]
        check_output(board, inputs, args.force, is_leaderboard, TABLE_FORMATS, "leaderboard")
    path = write_study_report(
        out,
        study=study,
        model_card=card,
        X=X,
        y=y,
        sample_weight=weights,
        groups=groups,
        force=args.force,  # the data check has warned of what differs
    )
    say(f"wrote the report to {path}")
    if board is not None:
        from autoimb.leaderboard import flat_leaderboard, served_trials

        served = served_trials(card, study.study_name) if card is not None else None
        table = flat_leaderboard(study, served)
        write_table(board, table)
        say(f"wrote the leaderboard ({len(table)} trials) to {board}")
    return EXIT_OK


def _data_options(args: argparse.Namespace) -> list[str]:
    """The options given that only --data's columns give a meaning to."""
    return [f"--{o}" for o in _DATA_OPTIONS if getattr(args, o, None) is not None]


def _take_the_searchs_columns(
    args: argparse.Namespace, card: dict, columns: Collection[str]
) -> None:
    """The label, id, weight and group columns the search was given, where --data holds them
    and no other is given: the model records them, so they need not be repeated (a report
    on the search's file without them would read its weights and groups as features)."""
    taken = []
    for option, column in (card.get("named_columns") or {}).items():
        if option in _DATA_OPTIONS and getattr(args, option) is None and column in columns:
            setattr(args, option, column)
            taken.append(f"--{option} {column}")
    if taken:
        say(f"reading --data with the search's columns: {', '.join(taken)}")


_DATA_OPTIONS = ("target", "id", "weight", "group")


def _refuse_a_feature_as_target(target: str, card: dict) -> None:
    """--target naming one of the model's features: the data check would say only that the
    data lacks that column."""
    searched = (card.get("named_columns") or {}).get("target")
    features = (card.get("schema") or {}).get("columns") or []
    if searched and target != searched and target in features:
        raise AutoImbError(
            f"--target {target!r} is a feature of the model; the search's labels were column "
            f"{searched!r} (--target {searched})."
        )


def _model_study(model: Path, card: dict) -> str | None:
    """The journal file of the study a model came from: the one beside it (MODEL.optuna.log),
    else the one its card names, relative to the model's folder (a new study's model,
    DATA-NAME.skops, has its study in DATA.optuna.log)."""
    beside = model.with_suffix(".optuna.log")
    kept = (card.get("study") or {}).get("storage")
    for journal in (beside, model.parent / kept if kept else None):
        if journal is not None and journal.is_file():
            return str(journal)
    say(
        f"no study next to the model ({beside.name}): the report leaves out the "
        f"leaderboard and history; {_study_wanted(card)} for them"
    )
    return None


def _study_wanted(card: dict | None) -> str:
    """The options that find a study: the model's card names its study, so only the storage
    is wanted (a database's URL is not kept in the card: it may hold a password)."""
    name = ((card or {}).get("study") or {}).get("name")
    if name is None:
        return "pass --storage URL and --study-name NAME"
    return f"pass --storage URL, the database or journal file holding the model's study {name!r}"


def _refuse_another_study(model: Path, card: dict, study: optuna.Study, storage: str) -> None:
    """A model's report over another study's trials: its Winner would stand above a
    leaderboard and history it was not chosen from. The card names its study and the token of
    the process that created it; a model saved from Python names none, and is not refused."""
    from autoimb.cli.model_file import shown_path, study_creator

    recorded = card.get("study") or {}
    name, token, there = recorded.get("name"), recorded.get("creator"), study_creator(study)
    # A study or model of an older version records no creator: then the names alone tell.
    same = name == study.study_name and (token is None or there is None or token == there)
    if name is None or same:
        return
    whose = f"study {name!r}" if name != study.study_name else f"another study named {name!r}"
    kept = recorded.get("storage")
    if kept is not None:  # a journal file, kept relative to the model's folder
        journal = shlex.quote(shown_path(model.resolve().parent / kept))
        options = f"--storage {journal} --study-name {shlex.quote(name)}"
    else:
        options = f"--storage URL (its database) --study-name {shlex.quote(name)}"
    here = f"--storage {shlex.quote(shown(storage))} --study-name {shlex.quote(study.study_name)}"
    raise AutoImbError(
        f"{shown(str(model))} was saved from {whose} ({options}), not from study "
        f"{study.study_name!r} in {shown(storage)}: its report would set it over another "
        f"study's trials. Report on the model with its own study, or on study "
        f"{study.study_name!r} alone with autoimb report {here} (without the model)."
    )


def _study_file_stem(storage: str | None) -> str | None:
    """``data.optuna.log`` → ``data``: a journal file's report is named after its data."""
    if storage is None or "://" in storage:
        return None
    path = Path(storage)
    if path.suffix != ".log":
        return None
    return str(path.with_name(path.name.removesuffix(".log").removesuffix(".optuna")))


def _refuse_swapped(model: str, data: str) -> None:
    """``predict data.csv model.skops``: the data file read as a model gives only a zip
    error."""
    if table_suffix(Path(model)) in TABLE_FORMATS and Path(data).suffix.lower() in MODEL_FORMATS:
        raise AutoImbError(
            f"{shown(model)} is a data file and {shown(data)} a model: the model comes first "
            f"(autoimb predict {shown(data)} {shown(model)})."
        )


def _na_values(asked: list[str] | None, card: dict) -> list[str] | None:
    """The missing markers the search read its data with, and any given here besides: its
    "-999" read as a number would be a value the model never saw."""
    markers = [*(card.get("na_values") or []), *(asked or [])]
    return list(dict.fromkeys(markers)) or None
