"""What a search command says when the model or report cannot be written once its trials are
over (a file that may not be replaced, a full disk): what was kept, and the command that
writes it elsewhere."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from autoimb.cli.console import EXIT_INPUT, say
from autoimb.cli.resume import resume_command
from autoimb.leaderboard import finished_trials, trials_text
from autoimb.redact import shown

if TYPE_CHECKING:
    from autoimb.result import SearchResult


def model_unwritten(
    reason: str, result: SearchResult, out: Path, storage: str, args: argparse.Namespace
) -> int:
    """The model could not be written: the study keeps the trials, and the command to save it
    elsewhere names the study's storage (a journal beside another --out would be a new study)."""
    ran = trials_text(finished_trials(result.study))
    say(
        f"error: cannot write the model {out} ({reason}); every finished trial ({ran}) is kept "
        f"in {shown(storage)}"
    )
    again = _elsewhere(args, storage, out)
    say(f"save it in a folder you can write (the study goes on) with: {again}")
    return EXIT_INPUT


def report_unwritten(reason: str, out: Path, args: argparse.Namespace) -> int:
    """The model was written and the report could not be: said, with the command that
    writes the report from the model."""
    report = Path(args.report)
    say(f"error: cannot write the report {report} ({reason}); the model was saved to {out}")
    command = ["autoimb", "report", str(out), "--data", args.data, "--target", args.target]
    for option in ("id", "weight", "group"):
        if getattr(args, option, None):
            command += [f"--{option}", getattr(args, option)]
    command += ["--out", str(Path("FOLDER") / report.name)]
    say(f"write it in a folder you can write with: {shlex.join(command)}")
    return EXIT_INPUT


def _elsewhere(args: argparse.Namespace, storage: str, out: Path) -> str:
    """The search command again with --out in another folder and --storage kept."""
    argv, skip = [], False
    for token in args.argv:
        if skip:
            skip = False
        elif _is_out(token):
            skip = "=" not in token
        else:
            argv.append(token)
    if not args.storage:
        argv += ["--storage", storage]
    argv += ["--out", str(Path("FOLDER") / out.name)]
    return resume_command(argparse.Namespace(**{**vars(args), "argv": argv}))


def _is_out(token: str) -> bool:
    """``--out``, ``--out=PATH``, or a prefix of it that argparse takes for it."""
    name = token.split("=")[0]
    return name.startswith("--o") and "--out".startswith(name)
