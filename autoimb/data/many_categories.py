"""A category column of many values, read as its most frequent values and one for the rest.

A value seen a handful of times teaches a model little, yet each costs a one-hot column or a
histogram bin; the rare values share the code of a value new at prediction, which is what they
most resemble. The cap is learnt on training rows only, with the other category codes.
"""

from __future__ import annotations

import warnings

import pandas as pd

from autoimb import config
from autoimb._warnings import user_stacklevel


def most_frequent(values: pd.Series) -> list[str]:
    """The values that keep a code of their own, sorted: all of them, or the
    :data:`~autoimb.config.MOST_CATEGORIES` most frequent (ties to the first in sorted order)."""
    counts = values.value_counts(sort=False)
    if len(counts) <= config.MOST_CATEGORIES:
        return sorted(counts.index.tolist())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return sorted(value for value, _ in ranked[: config.MOST_CATEGORIES])


def warn_of_many_values(frame: pd.DataFrame, categorical: list[str]) -> None:
    """Say which category columns will be cut to their most frequent values, and what to do
    to keep more of them."""
    most = config.MOST_CATEGORIES
    for column in categorical:
        n_values = frame[column].nunique()
        if n_values > most:
            warnings.warn(
                f"Column {column!r} holds {n_values} values; the models see its {most} most "
                "frequent, and the others as one value, as they see a value new at prediction. "
                "To use more of it, group its values, or give it as numbers (how often each "
                "value occurs, or a rate learnt on other rows) before the search.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
