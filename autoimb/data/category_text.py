"""Categories as text, the same for a value whatever type holds it.

A category is matched by its text: 3 and "3" are one category, and so must be a float32 0.1 and
a float64 0.1 (a frame cast to float32 to save memory, a CSV read back as float64).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from autoimb.data.typed import all_text


def as_category_strings(series: pd.Series) -> pd.Series:
    """Categories as strings, so 3 and "3" are one category; integral floats lose their ".0",
    and a float32 is written at its own precision (0.1; as float64 it is 0.10000000149011612)."""

    def text(value: Any) -> str | None:
        if value is None or value is pd.NA:  # a nullable column's (string, Int64, boolean)
            return None
        if isinstance(value, float | np.floating):
            if np.isnan(value):
                return None
            if float(value).is_integer():
                return str(int(value))
        return str(value)

    if all_text(series):  # strings already: only the missing values change (to None)
        return series.astype(object).where(series.notna(), None)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    dtype = getattr(dtype, "numpy_dtype", dtype)  # pandas' nullable Float32
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8:
        # As objects they would be Python floats, which write float64's digits.
        narrow = series.to_numpy(dtype=dtype, na_value=np.nan)
        return pd.Series(list(narrow), index=series.index, dtype=object).map(text)
    return series.astype(object).map(text)


def _widened_float32(category: str) -> bool:
    """Whether a category is a float32 written with float64's digits ("0.10000000149011612")."""
    try:
        value = float(category)
    except ValueError:
        return False
    narrow = np.float32(value)
    if not np.isfinite(narrow) or float(narrow) != value:
        return False
    return str(int(narrow) if float(narrow).is_integer() else narrow) != category


def as_saved_categories(texts: pd.Series, known: Sequence[str]) -> pd.Series:
    """Categories matched to a model saved when a float32 category was written with float64's
    digits ("0.10000000149011612" for 0.1): the text "0.1" is that category there."""
    if not any(_widened_float32(k) for k in known):
        return texts
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    widened = as_category_strings(numbers.astype("float32").astype("float64"))
    saved = ~texts.isin(known) & widened.isin(known).to_numpy()
    return texts.where(~saved, widened.to_numpy())
