"""Columns whose type already holds numbers, read all at once.

A frame of thousands of columns read one column at a time spends seconds in pandas' per-column
overhead, at the start of every search and at every prediction; the columns that need no
parsing are converted, checked and counted as one matrix instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_object_dtype, is_string_dtype


def typed_numbers(frame: pd.DataFrame) -> list[str]:
    """The columns whose type holds numbers or booleans."""
    return [c for c, d in frame.dtypes.items() if is_numeric_dtype(d) or is_bool_dtype(d)]


def text_columns(frame: pd.DataFrame) -> list[str]:
    """The columns whose type holds text (or any Python object)."""
    return [c for c, d in frame.dtypes.items() if is_object_dtype(d) or is_string_dtype(d)]


def all_text(series: pd.Series) -> bool:
    """Whether every present cell is a str (a string dtype, or objects that all are): then
    a column-wide string operation stands for a Python call per cell."""
    return pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")


def _matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return frame[columns].to_numpy(dtype=float, na_value=np.nan)


# Tree models read features as float32: a value beyond its range is infinite to them, and
# every trial that meets it fails.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def beyond_float32(values: np.ndarray) -> np.ndarray:
    """Where values are infinite, or as good as infinite to the models (NaN is neither)."""
    return np.abs(values) > _FLOAT32_MAX


def as_floats(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, str | None]:
    """The frame with these typed columns as floats, in its order, and the first of them that
    holds an infinite value, or one beyond float32's range (None if none does)."""
    if not columns:
        return frame, None
    values = _matrix(frame, columns)
    infinite = beyond_float32(values).any(axis=0)
    first = columns[int(np.argmax(infinite))] if infinite.any() else None
    floats = pd.DataFrame(values, index=frame.index, columns=columns)
    return pd.concat([frame.drop(columns=columns), floats], axis=1)[list(frame.columns)], first


def constant_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Those of these typed columns that are all missing or hold one value."""
    if not columns:
        return []
    values = _matrix(frame, columns)
    # fmax/fmin skip missing values, and an all-missing column's are missing, without the
    # warning nanmax gives (caught, it would touch the process's filters from a thread).
    same = ~(np.fmax.reduce(values, axis=0) > np.fmin.reduce(values, axis=0))
    return [c for c, constant in zip(columns, same, strict=True) if constant]
