"""What a search command takes from the study it resumes: its space, its positive class, and
where its model goes; and the command that adds trials to it later.

A resumed study must draw its trials from the space it was created with (Optuna fails every
trial whose choices changed), so a different ``--space`` is refused before any trial runs,
and a resume that names none searches the study's own.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoimb import config
from autoimb.cli.console import say
from autoimb.data.files import file_stem
from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from autoimb.engine.space import SearchSpace


def study_settings(study: optuna.Study | None) -> dict[str, Any]:
    """The settings a study recorded when it was created; none for a new study."""
    from autoimb.config import STUDY_ATTR

    return study.user_attrs.get(STUDY_ATTR, {}) if study is not None else {}


def study_space(args: argparse.Namespace, study: optuna.Study | None, storage: str) -> SearchSpace:
    """``--space``, or the resumed study's own; a space that draws otherwise is refused."""
    from autoimb.engine.space import load_space, recorded_space, recorded_space_difference
    from autoimb.redact import shown

    attrs = study_settings(study)
    recorded = attrs.get("space_yaml")
    if not recorded:
        return load_space(args.space or config.DEFAULT_SPACE)
    if args.space is None:
        return recorded_space(recorded, args.study_name, attrs.get("space"))
    asked = load_space(args.space)
    difference = recorded_space_difference(recorded, asked, args.study_name)
    if difference is None:
        return asked
    raise AutoImbError(
        f"study {args.study_name!r} in {shown(storage)} was created with search space "
        f"{attrs.get('space')!r}, and --space {args.space} searches another ({difference}); "
        f"its trials and new ones cannot share one study. {_with_its_own('space', args)}"
    )


def _with_its_own(option: str, args: argparse.Namespace) -> str:
    """The way on from a refused option: a worker searches the study's settings, so another
    study is the search command's to start."""
    if getattr(args, "command", None) == "worker":
        return f"Leave --{option} out (or start another study with autoimb search)."
    return (
        f"Resume it with its own {option} (leave --{option} out), or start another study "
        "with --new-study or --study-name NAME."
    )


def refuse_other_settings(args: argparse.Namespace, study: optuna.Study) -> None:
    """A worker searches what the study's creator set; an option asking for another metric or
    other folds would be ignored in silence, so it is refused."""
    from autoimb.metrics.registry import get_metric

    attrs = study_settings(study)
    given = {token.split("=")[0] for token in getattr(args, "argv", [])}
    asked = {
        "--metric": get_metric(args.metric).name if args.metric else None,
        "--cv": args.cv if "--cv" in given else None,
        "--cv-split": args.cv_split,
    }
    recorded = {
        "--metric": attrs.get("metric"),
        "--cv": attrs.get("cv"),
        "--cv-split": attrs.get("split"),
    }
    for option, value in asked.items():
        if value is not None and recorded[option] is not None and value != recorded[option]:
            raise AutoImbError(
                f"study {args.study_name!r} searches with {option} {recorded[option]}, not "
                f"{value}; every worker searches the study's own settings, so leave {option} "
                "out (or start another study with autoimb search)."
            )


def say_seed_unused(args: argparse.Namespace, study: optuna.Study | None) -> None:
    """A worker searches with its study's seed (its folds, its models, and its sampler's,
    mixed with this process so that workers draw apart): another one given goes unused, said
    rather than ignored in silence. A resume is told by the search itself, where the seed
    given still seeds its draws."""
    recorded = study_settings(study).get("seed")
    if args.seed is not None and recorded is not None and args.seed != recorded:
        say(
            f"--seed {args.seed} goes unused: a worker searches with the seed of study "
            f"{args.study_name!r} ({recorded})"
        )


def study_pos_label(args: argparse.Namespace, study: optuna.Study | None, y: pd.Series) -> Any:
    """``--pos-label``, or the positive class the resumed study measures, while it is still a
    class of the data (a study on other data is refused later, naming the difference)."""
    if args.pos_label is not None:
        return args.pos_label
    attrs = study_settings(study)
    positive = attrs.get("positive")
    labels = {str(label) for label in y.dropna().unique()}
    if len(attrs.get("classes", [])) == 2 and set(attrs["classes"]) == labels:
        return positive
    return None


def default_model_path(data: str, study_name: str) -> Path:
    """DATA's name + .skops; a study of another name gets its own file beside it
    (DATA-NAME.skops), so a new study never meets the model of another."""
    stem = file_stem(data)
    if study_name == config.DEFAULT_STUDY_NAME:
        return Path(f"{stem}.skops")
    return Path(f"{stem}-{file_safe(study_name)}.skops")


def file_safe(study_name: str) -> str:
    """A study's name as part of a file name: letters of any script stay as they are."""
    return re.sub(r"[^\w.-]+", "_", study_name)


def resume_command(args: argparse.Namespace) -> str:
    """The command that adds trials to this run's study: with ``--new-study`` the same command
    would start yet another, so the study is named instead."""
    from autoimb.redact import shown

    argv = list(args.argv)
    if getattr(args, "new_study", False):
        kept: list[str] = []
        skip = False
        for token in argv:
            if skip:
                skip = False
            elif token == "--study-name":
                skip = True
            elif not token.startswith("--study-name=") and not _is_new_study(token):
                kept.append(token)
        argv = [*kept, "--study-name", args.study_name]
    # A database password is not printed: the user types it again.
    return f"autoimb {shlex.join(shown(token) for token in argv)}"


def _is_new_study(token: str) -> bool:
    """``--new-study``, or a prefix of it that argparse takes for it."""
    return token.startswith("--ne") and "--new-study".startswith(token)
