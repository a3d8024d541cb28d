"""Warnings about the user's data point at the user's own line."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

from autoimb._held import Held, Restore

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_COMMAND_LINE = os.path.join(_PACKAGE, "cli") + os.sep  # the user's side, as a script would be


def user_stacklevel() -> int:
    """``warnings.warn``'s ``stacklevel`` for the first caller outside the library (the command
    line counts as a caller), given from the function that warns: one check is reached from
    ``search``, the estimator, a pipeline or an ensemble's members, each at its own depth."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and _inside(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


def _inside(filename: str) -> bool:
    """In the library, or in the context decorators that wrap its entry points."""
    if filename == contextlib.__file__:
        return True
    return filename.startswith(_PACKAGE) and not filename.startswith(_COMMAND_LINE)


# The libraries a trial runs: what they warn of inside a trial (a resampler that cannot reach
# its ratio, a solver that stops at its iteration cap) is the search's business, and shown to
# the user it would be repeated by every trial that meets it.
_TRIAL_LIBRARIES = r"(imblearn|sklearn|lightgbm|xgboost|scipy|numpy|pandas|torch)(\.|$)"


def _trials_quieted() -> Restore:
    caught = warnings.catch_warnings()
    caught.__enter__()
    warnings.filterwarnings("ignore", module=_TRIAL_LIBRARIES)
    return lambda: caught.__exit__(None, None, None)


_TRIAL_WARNINGS = Held(_trials_quieted)


def quiet_trials() -> contextlib.AbstractContextManager[None]:
    """The search's own warnings still show; those of the models it fits do not."""
    return _TRIAL_WARNINGS.held()
