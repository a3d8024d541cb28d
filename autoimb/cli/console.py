"""How the command line talks to its user: exit codes, one-line messages and warnings.

Every message goes to stderr as a single ``autoimb:`` line, so stdout stays free for the
output a command is asked for (predictions, listings).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from typing import Any

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130


def say(text: str) -> None:
    """One line on stderr, whatever line breaks the message holds."""
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    print(f"autoimb: {line}", file=sys.stderr, flush=True)  # spaces inside labels are kept


@contextlib.contextmanager
def console(*, verbose: bool) -> Iterator[None]:
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
    say(f"warning{kind}: {message}")
