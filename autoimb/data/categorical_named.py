"""The columns a user's ``categorical_features`` names, read as scikit-learn reads them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from autoimb.exceptions import AutoImbError


def named_categorical(
    frame: pd.DataFrame, categorical_features: Sequence[Any] | None, has_names: bool
) -> list[str]:
    """The columns a user's ``categorical_features`` names (names, positions or a mask of one
    boolean per column, as scikit-learn's take them), checked; ``has_names`` tells a frame's
    columns from an array's, which a name cannot reach."""
    if categorical_features is None:  # scikit-learn's "none of them"
        return []
    if isinstance(categorical_features, str) or not np.iterable(categorical_features):
        raise AutoImbError(
            "categorical_features must be 'auto' or a list of column names or indices; got "
            f"{categorical_features!r}."
        )
    items = list(categorical_features)
    if items and all(isinstance(item, bool | np.bool_) for item in items):  # a mask
        if len(items) != frame.shape[1]:
            raise AutoImbError(
                f"categorical_features is a mask of {len(items)} booleans, and X has "
                f"{frame.shape[1]} columns; give one per column, or column names."
            )
        return [c for c, chosen in zip(frame.columns, items, strict=True) if chosen]
    named = []
    for item in items:
        if isinstance(item, bool | np.bool_):
            raise AutoImbError(
                "categorical_features mixes booleans with names or indices; give a mask of one "
                "boolean per column, or column names."
            )
        if isinstance(item, int | np.integer) and not -frame.shape[1] <= item < frame.shape[1]:
            hint = (
                f" (a whole number is a position, as in scikit-learn: {str(item)!r} names the "
                "column of that name)"
                if str(item) in frame.columns
                else ""
            )
            raise AutoImbError(
                f"categorical_features holds index {item}, and X has {frame.shape[1]} "
                f"columns; give indices from 0 or column names{hint}."
            )
        name = frame.columns[item] if isinstance(item, int | np.integer) else str(item)
        if name not in frame.columns:
            raise AutoImbError(f"categorical_features names column {item!r}, {_lacking(has_names)}")
        named.append(name)
    return list(dict.fromkeys(named))  # a column named twice ("zip", 0) is one column


def _lacking(has_names: bool) -> str:
    """Why a named column is not there: a slip in the name, or an array (a Pipeline's earlier
    steps hand one on) whose columns no name can reach."""
    if has_names:
        return "which X does not have."
    return (
        "and X is an array, whose columns have no names (a Pipeline's steps hand one on): give "
        "the columns' positions (whole numbers from 0), or keep the names with "
        "pipeline.set_output(transform='pandas')."
    )
