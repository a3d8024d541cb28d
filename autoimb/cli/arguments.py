"""The options several commands share, declared once: the data's, a search's (which a worker
reads in part otherwise) and ``--trust``."""

from __future__ import annotations

import argparse

from autoimb import config
from autoimb.cli.option_values import (
    comma_separated,
    jobs,
    positive,
    seed,
    storage,
    study_name,
)


def data_args(parser: argparse.ArgumentParser, *, data_required: bool) -> None:
    parser.add_argument(
        "data",
        metavar="DATA",
        nargs=None if data_required else "?",
        help="CSV (plain or compressed), Parquet, or a shipped data set's name",
    )
    parser.add_argument(
        "--target", "-t", metavar="COL", required=data_required, help="the label column"
    )
    parser.add_argument("--id", metavar="COL", help="an identifier column, left out of features")
    parser.add_argument("--weight", metavar="COL", help="a sample-weight column")
    parser.add_argument(
        "--group",
        metavar="COL",
        help="a group column (patient, customer, device …): no group is ever on both sides of "
        "a fold; left out of features",
    )
    na_values_arg(parser, "extra strings that mean missing, e.g. '?' or '?,n/a'")


def na_values_arg(parser: argparse.ArgumentParser, summary: str) -> None:
    """One value, its markers separated by commas: a list of values would take DATA as one."""
    parser.add_argument(
        "--na-values",
        type=comma_separated,
        action="extend",
        metavar="TEXT[,TEXT...]",
        help=f"{summary} (comma-separated; may be repeated)",
    )


# A worker joins a study its search created: it searches the study's own settings (another is
# refused), and writes a model only with --out, so some of a search's options read otherwise.
_WORKER_HELP = {
    "--heartbeat": "seconds between the signs of life of the study's processes on a database; a "
    "trial of one silent for 3 heartbeats is failed and retried. Set when the study is created "
    "(30) and shared by every process of it: another is refused",
    "--metric": "what to optimise (default: the study's; another is refused)",
    "--time-budget": "seconds for this run, reading the data included (with --out the final "
    "refit too; writing the model follows it); default "
    f"{config.DEFAULT_TIME_BUDGET:g} when --n-trials is not given",
    "--space": "search space (default: the study's; one that draws otherwise is refused)",
    "--cv": "folds (default: the study's; another is refused)",
    "--cv-split": "how rows are split into folds (default: the study's; another is refused)",
    "--pos-label": "the class the binary metrics measure (default: the study's; another is "
    "refused)",
    "--seed": "unused: a worker goes on with the study's seed",
    "--study-name": f"the study to join in the storage (default: {config.DEFAULT_STUDY_NAME})",
    "--quiet": "no progress, no summary (what the worker waits for is still said)",
}


def search_args(
    parser: argparse.ArgumentParser, *, storage_help: str, worker: bool = False
) -> None:
    """A search's options; a worker must name the storage it shares, and reads some of them
    otherwise (_WORKER_HELP)."""

    def told(option: str, search_help: str) -> str:
        return _WORKER_HELP.get(option, search_help) if worker else search_help

    parser.add_argument(
        "--heartbeat",
        type=positive(int),
        default=None,
        metavar="S",
        help=told(
            "--heartbeat",
            "seconds between the signs of life of the study's processes on a database; a "
            "trial of one silent for 3 heartbeats is failed and retried. Set when the study is "
            "created (30) and shared by every process of it",
        ),
    )
    parser.add_argument(
        "--metric",
        "-m",
        metavar="M",
        help=told(
            "--metric",
            f"what to optimise (default: the study's, else {config.DEFAULT_METRIC}); "
            "e.g. f1, f2, mcc, g_mean, 'recall@precision>=0.9', 'cost:fn=10,fp=1'",
        ),
    )
    parser.add_argument(
        "--time-budget",
        type=positive(float),
        metavar="S",
        help=told(
            "--time-budget",
            (
                f"seconds for this run, reading the data and the final refit included; writing "
                f"the model and the report follow it (default {config.DEFAULT_TIME_BUDGET:g} "
                "when --n-trials is not given)"
            ),
        ),
    )
    parser.add_argument(
        "--n-trials", type=positive(int), metavar="N", help="trials to add in this run"
    )
    parser.add_argument(
        "--space",
        metavar="NAME|FILE",
        help=told(
            "--space",
            f"search space (see 'autoimb spaces'; default: the study's when resuming, else "
            f"{config.DEFAULT_SPACE})",
        ),
    )
    parser.add_argument(
        "--cv",
        type=positive(int),
        metavar="K",
        help=told("--cv", f"folds (default: the study's when resuming, else {config.DEFAULT_CV})"),
    )
    parser.add_argument(
        "--cv-split",
        choices=config.FOLD_KINDS,
        help=told(
            "--cv-split",
            "how rows are split into folds: stratified (the default), group (needs --group; "
            "the default with it) or time (in row order: each fold validates on later rows)",
        ),
    )
    parser.add_argument(
        "--pos-label",
        metavar="LABEL",
        help=told(
            "--pos-label",
            "the class the binary metrics measure (default: the study's when resuming, else "
            "the smaller class; on a tie the last in sorted order)",
        ),
    )
    parser.add_argument(
        "--n-jobs",
        type=jobs,
        default=1,
        metavar="J",
        help="trials run in parallel (1; -1: one per core); from 20k rows the models share "
        "the cores",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        metavar="S",
        help=told("--seed", "random seed of a new study (a resumed one keeps its own)"),
    )
    parser.add_argument(
        "--storage", type=storage, metavar="URL", required=worker, help=storage_help
    )
    parser.add_argument(
        "--study-name",
        type=study_name,
        metavar="NAME",
        default=config.DEFAULT_STUDY_NAME,
        help=told(
            "--study-name",
            f"the study in the storage (default: {config.DEFAULT_STUDY_NAME}; another name's "
            "model is DATA-NAME.skops)",
        ),
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help=told("--quiet", "no progress, no summary")
    )
    verbose = (
        "also show Optuna's log and the libraries' warnings (those of the models within trials "
        "stay quiet: each trial would repeat them)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help=verbose)


def trust_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust",
        action="store_true",
        help="allow loading a joblib/pickle model, which can run code: only "
        "for files from a source you trust",
    )
