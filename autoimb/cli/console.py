"""How the command line talks to its user: exit codes, one-line messages and warnings.

Every message goes to stderr as a single ``autoimb:`` line, so stdout stays free for the
output a command is asked for (predictions, listings).
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import functools
import logging
import os
import re
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any, NoReturn

from autoimb.progress import clear_live_line

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130
# SIGTERM (``timeout``, a batch scheduler, ``docker stop``) is answered as Ctrl-C is, and exits
# as a shell reports it, 128 + 15: a script can tell a stop asked of it from a person's Ctrl-C.
TERMINATED = threading.Event()


# Set by the program's Ctrl-C (and SIGTERM): Python drops a KeyboardInterrupt raised while it
# runs a finaliser or a weak reference's callback, and the search went on to its end as if no
# Ctrl-C had come; the next finished trial raises it again (:func:`ctrl_c_not_lost`).
CTRL_C = threading.Event()


def ctrl_c(signum: int, frame: Any) -> None:
    CTRL_C.set()
    raise KeyboardInterrupt


def sigterm_as_ctrl_c(signum: int, frame: Any) -> None:
    TERMINATED.set()
    ctrl_c(signum, frame)


def ctrl_c_not_lost(study: Any, trial: Any) -> None:
    """A trial callback: a Ctrl-C that came and was dropped stops the search now."""
    if CTRL_C.is_set() and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt


def exit_interrupted() -> NoReturn:
    """Exit with 130 (143 after SIGTERM) once main has answered Ctrl-C. The interpreter's own
    exit can turn it into death by SIGINT: a Ctrl-C that landed in code Python runs from text
    (a dataclass made during an import) can leave the process marked as killed by Ctrl-C though
    autoimb caught it, and another Ctrl-C during the exit ends it too. So the exit handlers
    run, the output is flushed, and the process ends with the code main answered."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit._run_exitfuncs()  # what a normal exit runs: joblib's workers, logging's flush
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(128 + signal.SIGTERM if TERMINATED.is_set() else EXIT_INTERRUPTED)


def text_never_fails() -> None:
    """A stream that cannot encode every character (Windows' cp1252 when redirected,
    ``PYTHONIOENCODING=ascii``) writes the command line's text with escapes (``\\u2248`` for
    "≈") rather than ending the program, after a search has done its work. Predictions are data,
    not text, and are checked before they reach stdout (:func:`~autoimb.cli.outputs.stdout_for`).
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # None where there is no such stream
            stream.reconfigure(errors="backslashreplace")


def say(text: str) -> None:
    """One line on stderr, whatever line breaks the message holds. A reader that went away
    (``2>&1 | tee log`` stopped by the same Ctrl-C) must not stop what the command still has
    to do, such as saving the best model so far: the lines go nowhere from then on."""
    if sys.stderr is None:  # closed (2>&-): print would send the line to stdout, the data's
        return
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    clear_live_line()
    try:
        print(f"autoimb: {line}", file=sys.stderr, flush=True)  # spaces inside labels are kept
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())


# The library's messages name its Python arguments, with the command line's option beside them
# where the two differ; a command line user is shown the options alone.
_PYTHON_WITH_OPTION = re.compile(
    r"\([a-z_]+=[^()]*?, (?:or )?(--[a-z-]+[^()]*?)(?: on the command line)?\)"
)
_PYTHON_THEN_OPTION = re.compile(r"\b[a-z_]+=\S+ \((?:CLI: )?(--[a-z-]+)\)")
_IN_PYTHON = re.compile(r" \((?:[^()]*\bin Python\b[^()]*)\)")
_POS_LABEL_VALUE = re.compile(r"""\bpos_label=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;()]+)""")


def as_options(text: str, weight_column: str | None = None) -> str:
    """A library message as the command line's user types: ``pos_label='no'`` reads
    ``--pos-label no``, ``sample_weight`` the ``--weight`` column."""
    text = _copies_as_options(text)
    text = _PYTHON_WITH_OPTION.sub(r"(\1)", text)
    text = _PYTHON_THEN_OPTION.sub(r"\1", text)
    text = _IN_PYTHON.sub("", text)
    text = _POS_LABEL_VALUE.sub(lambda m: f"--pos-label {shlex.quote(_typed(m[1]))}", text)
    text = re.sub(r"\bcv=(\d+)", r"--cv \1", text)
    text = re.sub(r"\brandom_state=(\d+)", r"--seed \1", text)
    text = text.replace(
        "(another study_name)", "(autoimb search --new-study, or --study-name NAME)"
    )
    text = re.sub(r"\bsame cv \(and groups\)", "same --cv (and --group)", text)
    text = re.sub(r"\bpos_label\b", "--pos-label", text)
    text = re.sub(r"\bthe same metric\b", "the same --metric", text)
    text = re.sub(r"\bthe same space=", "the same --space", text)
    text = re.sub(
        r"\bor (?:use )?another study name\b",
        "or start another study with --new-study or --study-name NAME",
        text,
    )
    # The Python names of the data: X is the data file's feature columns, y its --target.
    text = re.sub(r"(?<![\w.'\"])X(?='s\b|[\s,;:)])", "the data", text)
    text = re.sub(r"(?<![\w.'\"])y (?=has|holds|is)", "the --target column ", text)
    text = re.sub(r"\bof y(?= \()", "of the --target column", text)
    text = re.sub(r"\bcv must\b", "--cv must", text)
    weights = "--weight" if weight_column is None else f"the --weight column {weight_column!r}"
    text = _time_folds_as_options(text)
    return re.sub(r"\bsample_weight\b", weights, text)


def _copies_as_options(text: str) -> str:
    """Copied rows' fixes in Python's words as a data file's user makes them."""
    text = text.replace(
        "drop them (X.drop_duplicates(), and y at the rows kept; ",
        "drop them from the file (",
    )
    return text.replace(
        "with groups=pd.util.hash_pandas_object(X, index=False)",
        "with --group COL, a column that gives a row and its copies one value",
    )


def _time_folds_as_options(text: str) -> str:
    """A time split's fixes in Python's words (TimeSeriesSplit, test_size, pairs of one's
    own) as the options that choose time folds: --cv and --cv-split."""
    text = re.sub(
        r"too late for the first training part of TimeSeriesSplit\(2\)\. Give .*? if the rows "
        r"do not depend on it\.",
        "too late for the first training part of 2 time folds. Use --cv-split stratified if the "
        "rows do not depend on their order.",
        text,
    )
    return re.sub(
        r"Use fewer splits, or a smaller test_size, so that the first training part reaches it "
        r"\((\d+) splits of TimeSeriesSplit do\)\.",
        r"Use a smaller --cv, so that the first training part reaches it (--cv \1 does), or "
        "--cv-split stratified if the rows do not depend on their order.",
        text,
    )


def _typed(value: str) -> str:
    """``'no'`` as ``no``: the label as it is typed, not as Python writes it."""
    try:
        return str(ast.literal_eval(value))
    except (ValueError, SyntaxError):
        return value


@contextlib.contextmanager
def console(*, verbose: bool, weight_column: str | None = None) -> Iterator[None]:
    """autoimb's warnings and log records as ``autoimb:`` lines; other libraries' only if verbose.

    The progress display reports failed and pruned trials, so Optuna's per-trial logs only
    repeat it; they show with --verbose (``cli/search.py`` sets Optuna's level).
    """
    logger = logging.getLogger("autoimb")
    handler = _AboveLiveLine(sys.stderr)
    handler.setFormatter(logging.Formatter("autoimb: %(message)s"))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default" if verbose else "ignore")
            warnings.filterwarnings("default", category=UserWarning, module="autoimb")
            warnings.showwarning = functools.partial(_show_warning, weight_column=weight_column)
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


class _AboveLiveLine(logging.StreamHandler):  # type: ignore[type-arg]
    """Log records on lines of their own while the search's live line is up."""

    def emit(self, record: logging.LogRecord) -> None:
        clear_live_line()
        super().emit(record)


def _show_warning(
    message: Any, category: type, *_: Any, weight_column: str | None = None, **__: Any
) -> None:
    kind = "" if category is UserWarning else f" ({category.__name__})"
    say(f"warning{kind}: {as_options(str(message), weight_column)}")
