"""Warnings about the user's data point at the user's own line."""

from __future__ import annotations

import os
import sys

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
    return filename.startswith(_PACKAGE) and not filename.startswith(_COMMAND_LINE)
