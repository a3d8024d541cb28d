"""The ``autoimb`` command: ``search``, ``predict``, ``report``, ``spaces`` and ``worker``.

Exit codes: 0 success; 2 a usage or input error, told in one line without a traceback; 130
interrupted (Ctrl-C), after the best pipeline found so far is saved. Heavy modules load only
in the commands that need them, so ``--help`` and input errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import logging
import os
import shlex
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from autoimb import __version__
from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

    from autoimb.metrics import Metric
    from autoimb.result import SearchResult

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130
DEFAULT_METRIC = "average_precision"
DEFAULT_STUDY_NAME = "autoimb"
DEFAULT_TIME_BUDGET = 60.0
MODEL_ATTR = "model_file"  # study attribute: the model file the CLI last wrote from the study
_DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq", ".gz", ".bz2", ".zip", ".xz", ".zst"}

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
        _say(f"error: {message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_INPUT)


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
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
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"examples:\n{examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    search = command(
        "search",
        "Search resampling, weighting, model and threshold; save the best pipeline.",
        "  autoimb search data.csv --target y --metric f1 --time-budget 60 --report r.html\n"
        "  autoimb search yeast4 --target target --n-trials 50 --space fast --out y4.skops\n"
        "  (run the same command again to resume the study and add trials)\n",
    )
    _data_args(search, data_required=True)
    _search_args(search)
    search.add_argument(
        "--out",
        metavar="MODEL",
        help="model file (default: DATA's name + .skops; .joblib for joblib)",
    )
    search.add_argument("--report", metavar="HTML", help="also write the HTML report here")
    search.add_argument(
        "--force", action="store_true", help="overwrite a model file that another study wrote"
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
    predict.add_argument("--out", metavar="FILE", help="CSV or .parquet (default: stdout)")
    predict.add_argument("--na-values", nargs="+", metavar="TEXT", help="extra missing markers")
    _trust_arg(predict)
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
        help="a model file; its study is found next to it (MODEL.optuna.log)",
    )
    report.add_argument("--storage", metavar="URL", help="the study's storage (URL or journal)")
    report.add_argument("--study-name", metavar="NAME", default=DEFAULT_STUDY_NAME)
    report.add_argument(
        "--data",
        metavar="DATA",
        help="training data, to compute the winner's curves again (one CV)",
    )
    report.add_argument("--target", metavar="COL", help="DATA's label column (with --data)")
    report.add_argument("--weight", metavar="COL", help="DATA's sample-weight column")
    report.add_argument("--na-values", nargs="+", metavar="TEXT", help="extra missing markers")
    report.add_argument(
        "--out", metavar="HTML", help="default: MODEL's or the study's name + .html"
    )
    _trust_arg(report)
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
    _data_args(worker, data_required=False)
    _search_args(worker)
    worker.add_argument(
        "--heartbeat",
        type=_positive(int),
        default=30,
        metavar="S",
        help="seconds between a database worker's signs of life; a trial of a worker silent for "
        "3 heartbeats is failed and retried (30)",
    )
    worker.add_argument(
        "--out", metavar="MODEL", help="also write the best pipeline of all workers' trials here"
    )
    worker.add_argument(
        "--force", action="store_true", help="overwrite a model file that another study wrote"
    )
    worker.set_defaults(handler=_worker)
    return parser


def _data_args(parser: argparse.ArgumentParser, *, data_required: bool) -> None:
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
        "--na-values",
        nargs="+",
        metavar="TEXT",
        help="extra strings that mean missing, e.g. '?' (after DATA)",
    )


def _search_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metric",
        "-m",
        metavar="M",
        help=f"what to optimise (default: the study's, else {DEFAULT_METRIC}); "
        "e.g. f1, f2, mcc, g_mean, 'recall@precision>=0.9', 'cost:fn=10,fp=1'",
    )
    parser.add_argument(
        "--time-budget",
        type=_positive(float),
        metavar="S",
        help=f"seconds for this run (default {DEFAULT_TIME_BUDGET:g} when --n-trials is not given)",
    )
    parser.add_argument(
        "--n-trials", type=_positive(int), metavar="N", help="trials to add in this run"
    )
    parser.add_argument(
        "--space",
        default="default",
        metavar="NAME|FILE",
        help="search space (see 'autoimb spaces'; default: default)",
    )
    parser.add_argument("--cv", type=_positive(int), default=5, metavar="K", help="folds (5)")
    parser.add_argument(
        "--n-jobs", type=_positive(int), default=1, metavar="J", help="trials run in parallel (1)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="random seed of a new study")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage: a database URL or a journal file path "
        "(search default: MODEL's name + .optuna.log)",
    )
    parser.add_argument("--study-name", metavar="NAME", default=DEFAULT_STUDY_NAME)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress, no summary")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="also show library logs and warnings"
    )


def _trust_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust",
        action="store_true",
        help="allow loading a joblib/pickle model, which can run code: only "
        "for files from a source you trust",
    )


# ------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting, for tests and embedding."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    args.argv = argv
    try:
        with _console(verbose=getattr(args, "verbose", False)):
            return int(args.handler(args))
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (``| head``): nothing to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (AutoImbError, OSError) as exc:
        _say(f"error: {exc}")
        return EXIT_INPUT


def _say(text: str) -> None:
    """One line on stderr, whatever line breaks the message holds."""
    print("autoimb: " + " ".join(str(text).split()), file=sys.stderr, flush=True)


@contextlib.contextmanager
def _console(*, verbose: bool) -> Iterator[None]:
    """autoimb's warnings and log records as ``autoimb:`` lines; other libraries' only if verbose.

    The progress display reports failed and pruned trials, so Optuna's per-trial logs would
    only repeat it.
    """
    logger = logging.getLogger("autoimb")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("autoimb: %(message)s"))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default" if verbose else "ignore")
            warnings.filterwarnings("default", category=UserWarning, module="autoimb")
            warnings.showwarning = _show_warning
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _show_warning(message: Any, category: type, *_: Any, **__: Any) -> None:
    kind = "" if category is UserWarning else f" ({category.__name__})"
    _say(f"warning{kind}: {message}")


# ---------------------------------------------------------------------------------- search


def _search(args: argparse.Namespace) -> int:
    if args.metric is not None:
        _metric(args.metric)  # an unknown metric fails before any data is read
    out = Path(args.out) if args.out else Path(f"{_stem(args.data)}.skops")
    # A journal file rather than SQLite: Optuna advises against SQLite when several processes
    # (parallel workers) write to one study, while its journal file appends under a file lock.
    storage = args.storage or str(out.with_suffix(".optuna.log"))
    X, y, _, weights = _split(
        _read_table(args.data, args.na_values), args.target, id_col=args.id, weight_col=args.weight
    )
    previous = _existing_study(storage, args.study_name)
    _check_overwrite(out, args.force, previous)
    result = _run_search(args, X, y, weights, storage, previous, out)
    if result is None:
        return EXIT_INTERRUPTED
    _save_model(result, out)
    report = result.report_html(args.report) if args.report else None
    if not args.quiet:
        _print_summary(result, out, report, storage, args.study_name)
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    if not args.storage:
        raise AutoImbError(
            "autoimb worker needs --storage URL: the database or journal file that every "
            "worker of the study shares."
        )
    if not args.data or not args.target:
        raise AutoImbError("autoimb worker needs DATA and --target, the data the study runs on.")
    X, y, _, weights = _split(
        _read_table(args.data, args.na_values), args.target, id_col=args.id, weight_col=args.weight
    )
    previous = _existing_study(args.storage, args.study_name)
    out = Path(args.out) if args.out else None
    if out is not None:
        _check_overwrite(out, args.force, previous)
    result = _run_search(args, X, y, weights, args.storage, previous, out)
    if result is None:
        return EXIT_INTERRUPTED
    if out is not None:
        _save_model(result, out)
    if not args.quiet:
        print(
            f"study {args.study_name!r} now holds {len(result.study.trials)} trials; best "
            f"{result.metric.name} {result.best_score:.4f}"
        )
    return EXIT_OK


def _run_search(
    args: argparse.Namespace,
    X: pd.DataFrame,
    y: pd.Series,
    weights: pd.Series | None,
    storage: str,
    previous: optuna.Study | None,
    out: Path | None,
) -> SearchResult | None:
    """Search with a progress display; on Ctrl-C save what there is and return ``None``."""
    import optuna

    from autoimb.api import search
    from autoimb.progress import SearchProgress
    from autoimb.study import STUDY_ATTR
    from autoimb.worker import join

    attrs = previous.user_attrs.get(STUDY_ATTR, {}) if previous is not None else {}
    metric = _metric(args.metric or attrs.get("metric") or DEFAULT_METRIC)
    budget = args.time_budget
    if budget is None and args.n_trials is None:
        budget = DEFAULT_TIME_BUDGET
    finished, best = _study_state(previous)
    if finished and not args.quiet and metric.name == attrs.get("metric"):
        where = f"study {args.study_name!r} in {storage}"
        held = f"; best {metric.name} {best[0]:.4f} (trial {best[1]})" if best else ""
        _say(f"resuming {where}: {finished} trials already finished{held}; going on from there")
    progress = SearchProgress(
        sys.stderr,
        metric_name=metric.name,
        greater_is_better=metric.greater_is_better,
        time_budget=budget,
        n_trials=args.n_trials,
        live=sys.stderr.isatty(),
        already=finished,
        best=best,
    )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.WARNING)
    try:
        with progress if not args.quiet else contextlib.nullcontext():
            if args.command == "worker":
                # A worker searches what the study's creator set: metric, space and folds.
                return join(
                    storage,
                    args.study_name,
                    X,
                    y,
                    time_budget=budget,
                    n_trials=args.n_trials,
                    n_jobs=args.n_jobs,
                    heartbeat=args.heartbeat,
                    sample_weight=weights,
                    callbacks=() if args.quiet else (progress,),
                )
            return search(
                X,
                y,
                metric=metric,
                time_budget=budget,
                n_trials=args.n_trials,
                cv=args.cv,
                space=args.space,
                storage=storage,
                study_name=args.study_name,
                n_jobs=args.n_jobs,
                random_state=args.seed,
                sample_weight=weights,
                callbacks=() if args.quiet else (progress,),
            )
    except KeyboardInterrupt:
        _after_interrupt(args, X, y, weights, storage, metric, out)
        return None
    finally:
        optuna.logging.set_verbosity(verbosity)


def _after_interrupt(
    args: argparse.Namespace,
    X: Any,
    y: Any,
    weights: Any,
    storage: str,
    metric: Metric,
    out: Path | None,
) -> None:
    """Keep the promise of Ctrl-C: finished trials stay, the best so far is saved if any."""
    _say("interrupted: every finished trial is kept in the study")
    try:
        result = _best_so_far(args, X, y, weights, storage, metric)
        if result is None:
            _say("no trial had finished, so there is no model to save")
        elif out is not None:
            _say(
                f"saving the best pipeline so far (trial {result.study.best_trial.number}); "
                "Ctrl-C again to skip"
            )
            _save_model(result, out)
            _say(f"wrote {out} ({metric.name} {result.best_score:.4f})")
            if getattr(args, "report", None):
                result.report_html(args.report)
    except KeyboardInterrupt:
        _say("interrupted again: nothing more was saved")
    _say(f"resume with: autoimb {shlex.join(args.argv)}")


def _best_so_far(
    args: argparse.Namespace, X: Any, y: Any, weights: Any, storage: str, metric: Metric
) -> SearchResult | None:
    """Refit the study's best trial, as a finished search would have (with a fresh CV)."""
    from optuna.trial import TrialState

    from autoimb.api import finish
    from autoimb.data import validate
    from autoimb.evaluate import CrossValidation
    from autoimb.space import load_space
    from autoimb.study import STUDY_ATTR, Predictions, SearchOutcome, SearchSettings

    study = _existing_study(storage, args.study_name)
    if study is None or not any(t.state == TrialState.COMPLETE for t in study.trials):
        return None
    attrs = study.user_attrs[STUDY_ATTR]
    seed, folds = int(attrs["seed"]), int(attrs["cv"])
    data = validate(X, y, sample_weight=weights)
    settings = SearchSettings(
        metric=metric,
        space=load_space(args.space),
        cv=folds,
        storage=storage,
        study_name=args.study_name,
        random_state=seed,
    )
    outcome = SearchOutcome(
        study,
        CrossValidation(data, folds, random_state=seed),
        Predictions(metric.greater_is_better),
        seed,
        {},
    )
    return finish(outcome, settings, data)


def _study_state(study: optuna.Study | None) -> tuple[int, tuple[float, int, dict] | None]:
    """Finished trials of a study being resumed, and its best ``(value, number, config)``."""
    if study is None:
        return 0, None
    finished = sum(t.state.is_finished() for t in study.trials)
    try:
        best = study.best_trial
    except ValueError:  # no complete trial yet
        return finished, None
    return finished, (float(best.value), best.number, best.user_attrs.get("config", {}))


def _check_overwrite(out: Path, force: bool, previous: optuna.Study | None) -> None:
    """Refuse to replace a model, unless forced or it came from the study being resumed.

    Running the same command again resumes its study and must be able to update the model
    that study wrote; any other existing file is the user's and needs ``--force``.
    """
    if not out.exists() or force:
        return
    if previous is not None and previous.user_attrs.get(MODEL_ATTR) == str(out.resolve()):
        return
    raise AutoImbError(
        f"{out} already exists and was not written by this study; pass --force to overwrite "
        "it, or --out another path."
    )


def _save_model(result: SearchResult, out: Path) -> None:
    """Write next to the target and rename, so an interrupted save never leaves half a model."""
    partial = out.with_name(f".{out.stem}.partial-{os.getpid()}{out.suffix}")
    try:
        result.save(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    result.study.set_user_attr(MODEL_ATTR, str(out.resolve()))


def _print_summary(
    result: SearchResult, out: Path, report: Path | None, storage: str, study_name: str
) -> None:
    from autoimb.progress import strategy_label

    study = result.study
    decision = result.decision
    positive = result.classes_[decision.pos_label]
    if decision.threshold is not None:
        rule = f"predict {positive} when P({positive}) >= {decision.threshold:.4g}"
    else:
        rule = "argmax of per-class scaled probabilities"
    print(
        f"best {result.metric.name}: {result.best_score:.4f} (cross-validated), trial "
        f"{study.best_trial.number} of {len(study.trials)}"
    )
    print(f"strategy: {strategy_label(result.best_config)}")
    print(f"decision: {rule}")
    print(f"model:    {out}")
    if report is not None:
        print(f"report:   {report}")
    print(f"study:    {study_name!r} in {storage} (run the same command again to continue it)")


# ---------------------------------------------------------------------- predict, report, spaces


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from autoimb.exceptions import SchemaError
    from autoimb.export import load

    model = load(args.model, trust=args.trust)
    frame = _read_table(args.data, args.na_values)
    if args.id is not None and args.id not in frame.columns:
        raise AutoImbError(_no_column(args.id, "--id", frame.columns))
    try:
        proba = model.predict_proba(frame)
    except SchemaError as exc:
        raise AutoImbError(f"{args.data} does not fit the model: {exc}") from exc
    decision = getattr(model, "decision", None)
    labels = model.classes_[decision.apply(proba)] if decision else model.predict(frame)
    output = pd.DataFrame({"prediction": labels})
    for i, label in enumerate(model.classes_):
        output[f"proba_{label}"] = proba[:, i]
    if args.id is not None:
        output.insert(0, args.id, frame[args.id].to_numpy())
    if args.out is None:
        output.to_csv(sys.stdout, index=False)
        return EXIT_OK
    out = Path(args.out)
    if out.suffix.lower() in (".parquet", ".pq"):
        output.to_parquet(out, index=False)
    else:
        output.to_csv(out, index=False)
    counts = ", ".join(f"{n} {label}" for label, n in output["prediction"].value_counts().items())
    _say(f"wrote {len(output)} predictions to {out} ({counts})")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from autoimb.export import load, model_card
    from autoimb.report import write_study_report

    card, storage = None, args.storage
    if args.model is not None:
        card = model_card(load(args.model, trust=args.trust))
        beside = Path(args.model).with_suffix(".optuna.log")
        if storage is None and beside.is_file():
            storage = str(beside)
    elif storage is None:
        raise AutoImbError("give a MODEL file, or --storage URL and --study-name NAME.")
    study = None
    if storage is not None:
        if "://" not in storage and not Path(storage).is_file():
            raise AutoImbError(f"{storage}: no such study storage file.")
        study = _existing_study(storage, args.study_name)
        if study is None:
            raise AutoImbError(
                f"{storage} holds no study named {args.study_name!r}; it holds "
                f"{_study_names(storage) or 'none'}. Pick one with --study-name."
            )
    X = y = weights = None
    if args.data is not None:
        if args.target is None:
            raise AutoImbError("--data needs --target, the label column.")
        X, y, _, weights = _split(
            _read_table(args.data, args.na_values), args.target, weight_col=args.weight
        )
    default = Path(args.model or args.study_name).with_suffix(".html")
    path = write_study_report(
        Path(args.out) if args.out else default,
        study=study,
        model_card=card,
        X=X,
        y=y,
        sample_weight=weights,
    )
    _say(f"wrote the report to {path}")
    return EXIT_OK


def _spaces(args: argparse.Namespace) -> int:
    from autoimb.space import builtin_spaces, load_space

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


# ------------------------------------------------------------------------------- data files


def _read_table(source: str, na_values: Sequence[str] | None = None) -> pd.DataFrame:
    """A CSV (plain or compressed) or Parquet file, or failing that a shipped data set."""
    import pandas as pd

    path = Path(source)
    if not path.exists():
        from autoimb import datasets

        if source in datasets.list():
            return datasets.load(source)
        raise AutoImbError(
            f"{source}: no such file, nor a shipped data set ({', '.join(datasets.list())})."
        )
    if path.is_dir():
        raise AutoImbError(f"{source} is a directory; give a CSV or Parquet file.")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        if parquet:
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
            frame = pd.read_csv(path, sep=sep, na_values=na_values, low_memory=False)
    except pd.errors.EmptyDataError:
        raise AutoImbError(f"{source} is empty: no header, no rows.") from None
    except Exception as exc:  # any failure to parse the file is a problem with the input
        kind = "Parquet" if parquet else "CSV"
        raise AutoImbError(f"cannot read {source} as {kind}: {type(exc).__name__}: {exc}") from None
    if len(frame) == 0:
        raise AutoImbError(f"{source} has no rows.")
    return frame


def _split(
    frame: pd.DataFrame,
    target: str,
    *,
    id_col: str | None = None,
    weight_col: str | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Series | None, pd.Series | None]:
    """Features, labels, ids and weights; the named columns never become features."""
    for option, column in (("--target", target), ("--id", id_col), ("--weight", weight_col)):
        if column is not None and column not in frame.columns:
            raise AutoImbError(_no_column(column, option, frame.columns))
    named = [c for c in (target, id_col, weight_col) if c is not None]
    X = frame.drop(columns=named)
    if X.shape[1] == 0:
        raise AutoImbError(f"no feature columns are left besides {named}.")
    ids = frame[id_col] if id_col else None
    weights = frame[weight_col] if weight_col else None
    return X, frame[target], ids, weights


def _no_column(column: str, option: str, columns: Sequence[Any]) -> str:
    names = [str(c) for c in columns]
    close = difflib.get_close_matches(column, names, n=1) or [
        n for n in names if n.lower() == column.lower()
    ]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
    return f"{option} {column!r} is not a column of the data.{hint} Its columns: {shown}."


def _stem(source: str) -> str:
    """``data.csv.gz`` → ``data``: the default name of what a search writes."""
    name = Path(source).name
    while Path(name).suffix.lower() in _DATA_SUFFIXES:
        name = Path(name).stem
    return name or "model"


def _metric(name: str) -> Metric:
    from autoimb.metrics import get_metric

    return get_metric(name)


def _existing_study(storage: str, name: str) -> optuna.Study | None:
    """The study if it exists; a journal file is not created just to look."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=_looked_up(storage))
    except KeyError:
        return None


def _study_names(storage: str) -> list[str]:
    import optuna

    return optuna.study.get_all_study_names(_looked_up(storage))


def _looked_up(storage: str) -> Any:
    """An Optuna storage to read; a journal file that is not there reads as an empty one."""
    import optuna

    from autoimb.study import make_storage

    if "://" not in storage and not Path(storage).is_file():
        return optuna.storages.InMemoryStorage()
    try:
        opened = make_storage(storage)
        opened.get_all_studies()  # a journal is replayed here: a wrong file fails now
    except Exception as exc:  # a wrong URL or a file that is not a journal: the user's input
        raise AutoImbError(f"cannot open the study storage {storage}: {exc}") from exc
    return opened


if __name__ == "__main__":
    raise SystemExit(main())
