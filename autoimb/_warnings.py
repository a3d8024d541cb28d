"""Warnings about the user's data point at the user's own line."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import types
import warnings

from autoimb._held import Held, Restore

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_COMMAND_LINE = os.path.join(_PACKAGE, "cli") + os.sep  # the user's side, as a script would be


def user_stacklevel() -> int:
    """``warnings.warn``'s ``stacklevel`` for the first caller outside the library (the command
    line counts as a caller), given from the function that warns: one check is reached from
    ``search``, the estimator, a pipeline or an ensemble's members, each at its own depth."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and _inside(frame):
        frame, level = frame.f_back, level + 1
    return level


def _inside(frame: types.FrameType) -> bool:
    """In the library, in the context decorators that wrap its entry points, or in a library
    that called it for the user (a ``Pipeline``, ``cross_val_score``): placed there, a warning
    about the user's data was quieted during a search with the trials' own warnings."""
    filename = frame.f_code.co_filename
    if filename == contextlib.__file__:
        return True
    if filename.startswith(_PACKAGE) and not filename.startswith(_COMMAND_LINE):
        return True
    module = str(frame.f_globals.get("__name__", ""))
    return _TRIAL_LIBRARIES.match(module) is not None or _CALLERS.match(module) is not None


# What runs scikit-learn's tools' tasks for the user (cross_val_score's folds): not the user's
# line either, and not quieted during a search.
_CALLERS = re.compile(r"joblib(\.|$)")


# The libraries a trial runs: what they warn of inside a trial (a resampler that cannot reach
# its ratio, a solver that stops at its iteration cap) is the search's business, and shown to
# the user it would be repeated by every trial that meets it.
_TRIAL_LIBRARIES = re.compile(r"(imblearn|sklearn|lightgbm|xgboost|scipy|numpy|pandas|torch)(\.|$)")


class _WhileSearching:
    """The module pattern of the filter that quiets the trial libraries: it matches only while
    a search runs. Another thread's ``catch_warnings`` that began during a search puts back the
    filter list it found, this entry in it, whenever it ends; left behind so, the entry is
    inert, where a plain filter would silence those libraries for the rest of the process."""

    active = False

    def match(self, module: str) -> bool:
        return self.active and _TRIAL_LIBRARIES.match(module) is not None

    @property
    def pattern(self) -> str:
        """As a compiled pattern's: scikit-learn's parallel tasks copy the filters by it."""
        return _TRIAL_LIBRARIES.pattern if self.active else _NEVER


_WHILE_SEARCHING = _WhileSearching()
_QUIETING = ("ignore", None, Warning, _WHILE_SEARCHING, 0)


def _trials_quieted() -> Restore:
    _WHILE_SEARCHING.active = True
    # Added as a filter that never matches, so the warnings module counts the change, then
    # given its pattern in place (filterwarnings takes module patterns as text only).
    warnings.filterwarnings("ignore", category=Warning, module=_NEVER)
    # Where warnings are context-aware (3.14's free-threaded build), the caller's context's.
    filters = getattr(warnings, "_get_filters", lambda: warnings.filters)()
    try:
        at = filters.index(("ignore", None, Warning, re.compile(_NEVER), 0))
    except ValueError:  # not where this Python keeps them: the libraries' warnings show
        return lambda: None
    filters[at] = _QUIETING

    def restore() -> None:
        _WHILE_SEARCHING.active = False
        with contextlib.suppress(ValueError):  # a host's own filter changes took it out
            filters.remove(_QUIETING)
        # scikit-learn's parallel tasks copy the filters by their patterns, this one as a plain
        # compiled filter, and parallel trials' catch_warnings (not thread-safe before 3.14) can
        # put back a list that holds such a copy: it would quiet those libraries for good.
        # Both lists: the one this began with, and the one the module holds now, which such a
        # catch_warnings may have swapped in.
        live = getattr(warnings, "_get_filters", lambda: warnings.filters)()
        for kept in (filters, live):
            kept[:] = [entry for entry in kept if not _quieting_copy(entry)]

    return restore


def _quieting_copy(entry: tuple) -> bool:
    return entry[0] == "ignore" and getattr(entry[3], "pattern", None) == _TRIAL_LIBRARIES.pattern


_NEVER = r"(?!)"
_TRIAL_WARNINGS = Held(_trials_quieted)


def quiet_trials() -> contextlib.AbstractContextManager[None]:
    """The search's own warnings still show; those of the models it fits do not."""
    return _TRIAL_WARNINGS.held()
