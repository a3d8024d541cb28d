"""The ``autoimb`` command: ``search``, ``predict``, ``report``, ``spaces`` and ``worker``.

Exit codes: 0 success; 2 a usage or input error, told in one line without a traceback; 130
interrupted (Ctrl-C), after the best pipeline found so far is saved; 143 the same, asked by
SIGTERM. Heavy modules load only in the commands that need them, so ``--help`` and input errors
answer at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import NoReturn

from autoimb import __version__, config
from autoimb.cli.arguments import data_args, na_values_arg, search_args, trust_arg
from autoimb.cli.console import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    as_options,
    console,
    ctrl_c,
    exit_interrupted,
    say,
    sigterm_as_ctrl_c,
    text_never_fails,
)
from autoimb.cli.option_values import storage, study_name
from autoimb.data.files import file_stem, read_table
from autoimb.exceptions import AutoImbError

# The data-file helpers stay importable from here under their private names.
_read_table, _stem = read_table, file_stem

_EXAMPLES = """examples:
  autoimb search yeast4 --target target --metric f1 --time-budget 60 --report yeast4.html
  autoimb search data.csv --target y --metric "recall@precision>=0.9" --n-trials 200
  autoimb predict data.skops new.csv --id customer_id --out scores.csv
  autoimb report data.skops --data data.csv --target y --out report.html
  autoimb spaces fast
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line that points at the command's help, like every other error."""

    def error(self, message: str) -> NoReturn:
        say(f"error: {message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """Long by design: every command and option declared in one place, read top to bottom."""
    parser = _Parser(
        prog="autoimb",
        description="Find the best way to learn from an imbalanced classification data set.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"autoimb {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    def command(name: str, summary: str, examples: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"examples:\n{examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # An option the command does not know is its usage error, pointing at its own help.
        parser.set_defaults(usage_error=parser.error)
        return parser

    search = command(
        "search",
        "Search resampling, weighting, model and threshold; save the best pipeline.",
        "  autoimb search data.csv --target y --metric f1 --time-budget 60 --report r.html\n"
        "  autoimb search yeast4 --target target --n-trials 50 --space fast --out y4.skops\n"
        "  (run the same command again to resume the study and add trials)\n",
    )
    data_args(search, data_required=True)
    search_args(
        search,
        storage_help="Optuna storage: a database URL or a journal file path (default: --out's "
        "name + .optuna.log, else DATA's: one journal for every study on DATA without --out)",
    )
    search.add_argument(
        "--out",
        metavar="MODEL",
        help="model file, its folder created if need be (default: DATA's name + .skops, or "
        "DATA-STUDY.skops for a study not named autoimb; a .joblib, .pkl or .pickle path saves "
        "a pickle, which loads only with --trust)",
    )
    search.add_argument("--report", metavar="HTML", help="also write the HTML report here")
    search.add_argument(
        "--force",
        action="store_true",
        help="overwrite a model file that another study wrote, or go on with a study that was "
        "run on other data",
    )
    search.add_argument(
        "--new-study",
        action="store_true",
        help="start a new study beside an existing one of the same name (NAME-2, NAME-3, ...); "
        "its model goes to DATA-NAME-2.skops unless --out says otherwise",
    )
    search.set_defaults(handler=_search)

    predict = command(
        "predict",
        "Predict labels and class probabilities with a saved model.",
        "  autoimb predict model.skops new.csv --id id --out predictions.csv\n"
        "  autoimb predict model.joblib new.parquet --trust > predictions.csv\n",
    )
    predict.add_argument("model", metavar="MODEL", help="a model file written by autoimb search")
    predict.add_argument("data", metavar="DATA", help="CSV (plain or compressed) or Parquet")
    predict.add_argument("--id", metavar="COL", help="copy this column of DATA to the output")
    predict.add_argument(
        "--out", metavar="FILE", help="CSV, TSV (either .gz) or Parquet (default: stdout)"
    )
    na_values_arg(predict, "missing markers besides those the search was given")
    predict.add_argument(
        "--force", action="store_true", help="replace an --out file that autoimb did not write"
    )
    trust_arg(predict)
    predict.set_defaults(handler=_predict)

    report = command(
        "report",
        "Write the HTML report of a model and/or a study.",
        "  autoimb report model.skops --out report.html\n"
        "  autoimb report model.skops --data data.csv --target y --out report.html\n"
        "  autoimb report --storage postgresql://host/db --study-name churn --out churn.html\n",
    )
    report.add_argument(
        "model",
        metavar="MODEL",
        nargs="?",
        help="a model file; its study is found where the model records it (a journal beside "
        "it, or --storage for a database). A study's journal file alone reports on the study",
    )
    report.add_argument(
        "--storage", type=storage, metavar="URL", help="the study's storage (URL or journal)"
    )
    report.add_argument(
        "--study-name",
        type=study_name,
        metavar="NAME",
        help=f"the study (default: MODEL's, else {config.DEFAULT_STUDY_NAME})",
    )
    report.add_argument(
        "--data",
        metavar="DATA",
        help="training data, to compute the winner's curves again (one CV)",
    )
    report.add_argument(
        "--target", metavar="COL", help="DATA's label column (default: the search's)"
    )
    report.add_argument("--weight", metavar="COL", help="DATA's sample-weight column")
    report.add_argument(
        "--group", metavar="COL", help="DATA's group column, where the search split by group"
    )
    report.add_argument("--id", metavar="COL", help="DATA's identifier column, not a feature")
    na_values_arg(report, "missing markers besides those the search was given")
    report.add_argument(
        "--out", metavar="HTML", help="default: MODEL's or the study's name + .html"
    )
    report.add_argument(
        "--leaderboard",
        metavar="CSV",
        help="also write the study's leaderboard as a flat CSV: one column per stage, "
        "parameter and fold",
    )
    report.add_argument(
        "--force",
        action="store_true",
        help="replace an --out file that autoimb did not write, or report on --data other "
        "than the search's",
    )
    trust_arg(report)
    report.set_defaults(handler=_report)

    spaces = command(
        "spaces",
        "List the search spaces, or describe one.",
        "  autoimb spaces\n  autoimb spaces default\n  autoimb spaces my_space.yaml\n",
    )
    spaces.add_argument("name", metavar="NAME", nargs="?", help="a built-in space or a YAML file")
    spaces.set_defaults(handler=_spaces)

    worker = command(
        "worker",
        "Add trials to a shared study (run one per machine or process).",
        "  autoimb worker data.csv --target y --storage postgresql://host/db --study-name churn\n",
    )
    data_args(worker, data_required=True)
    search_args(
        worker, storage_help="the study's storage, which every worker of it shares", worker=True
    )
    worker.add_argument(
        "--out", metavar="MODEL", help="also write the best pipeline of all workers' trials here"
    )
    worker.add_argument(
        "--force", action="store_true", help="overwrite a model file that another study wrote"
    )
    worker.set_defaults(handler=_worker)
    return parser


# ------------------------------------------------------------------------------------ main


def run() -> NoReturn:
    """The ``autoimb`` program: main's exit code. A stop asked by SIGTERM (``timeout``, a
    batch scheduler, ``docker stop``) is taken as Ctrl-C is: the best model so far is saved
    and the resume command printed."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, ctrl_c)
        signal.signal(signal.SIGTERM, sigterm_as_ctrl_c)
    text_never_fails()
    code = main()
    if code == EXIT_INTERRUPTED and threading.current_thread() is threading.main_thread():
        exit_interrupted()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting, for tests and embedding."""
    started = time.monotonic()  # a budget counts the imports and the reading of the data
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, unknown = build_parser().parse_known_args(argv)
        if unknown:
            args.usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    args.argv, args.started = argv, started
    weight_column = getattr(args, "weight", None)
    try:
        with console(verbose=getattr(args, "verbose", False), weight_column=weight_column):
            return int(args.handler(args))
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (``| head``): nothing to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (AutoImbError, OSError) as exc:
        if not getattr(exc, "said", False):  # one said before the model saved after it
            say(f"error: {as_options(str(exc), weight_column)}")
        return EXIT_INPUT


# ---------------------------------------------------------------------- the commands


# Each command imports what it needs when it runs: `autoimb predict` must not pay for Optuna
# and the search engine at start-up.
def _predict(args: argparse.Namespace) -> int:
    from autoimb.cli.saved import predict_command

    return predict_command(args)


def _report(args: argparse.Namespace) -> int:
    from autoimb.cli.saved import report_command

    return report_command(args)


def _search(args: argparse.Namespace) -> int:
    from autoimb.cli.search import search_command

    return search_command(args)


def _worker(args: argparse.Namespace) -> int:
    from autoimb.cli.worker import worker_command

    return worker_command(args)


def _spaces(args: argparse.Namespace) -> int:
    from autoimb.engine.space import builtin_spaces, load_space

    if args.name:
        print(load_space(args.name).describe())
        return EXIT_OK
    for name in builtin_spaces():
        print(f"{name:<10} {load_space(name).description}")
    print(
        "\n'autoimb spaces NAME' shows every stage, component and range of one space; "
        "'--space FILE.yaml' searches your own."
    )
    return EXIT_OK
