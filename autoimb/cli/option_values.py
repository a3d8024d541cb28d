"""What the command line's options take, each checked as argparse reads it, so that a wrong
value is refused by the option's name before any work."""

from __future__ import annotations

import argparse
import math
from typing import Any


def positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def jobs(text: str) -> int:
    """joblib's reading, as ``n_jobs=`` takes it: -1 every core, -2 all but one; never 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive number, or a negative one counting from the cores "
            f"(-1: all of them), got {text!r}"
        )
    return value


def seed(text: str) -> int:
    """A seed NumPy takes, refused here by the option's name rather than by ``random_state``'s."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to {2**32 - 1}, got {text!r}"
        )
    return value


def comma_separated(text: str) -> list[str]:
    markers = [part.strip() for part in text.split(",") if part.strip()]
    if not markers:
        raise argparse.ArgumentTypeError(f"expected missing markers such as '?,NA', got {text!r}")
    return markers


def study_name(text: str) -> str:
    """A study's name, which also names its model file: an empty one made "DATA-.skops"."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a study's name, got {text!r}")
    return text


def storage(text: str) -> str:
    """A study's storage; an empty one (a script's unset variable) was read as none given, a
    journal beside the model, where a worker meant to share a database's study."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"expected a journal file path or a database URL, got {text!r}"
        )
    return text
