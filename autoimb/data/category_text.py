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


def _narrowed(category: str) -> str | None:
    """A float32 written with float64's digits ("0.10000000149011612"), at its own precision
    ("0.1"); None for any other text."""
    try:
        value = float(category)
    except (TypeError, ValueError):
        return None
    narrow = np.float32(value)
    if not np.isfinite(narrow) or float(narrow) != value:
        return None
    written = str(int(narrow) if float(narrow).is_integer() else narrow)
    return written if written != category else None


def as_saved_categories(texts: pd.Series, known: Sequence[str]) -> pd.Series:
    """Categories matched across a float32's two writings: a model saved when a float32
    category was written with float64's digits ("0.10000000149011612" for 0.1) takes the text
    "0.1" as that category, and one saved since takes a float32 value widened to float64 (a
    frame concatenated with a float64 one) as "0.1"."""
    unmatched = ~texts.isin(known).to_numpy()
    narrowed = np.array(
        [_narrowed(t) if u else None for t, u in zip(texts, unmatched, strict=True)], dtype=object
    )
    texts = texts.where(~pd.Series(narrowed).isin(known).to_numpy(), narrowed)
    if not any(_narrowed(k) is not None for k in known):
        return texts
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    widened = as_category_strings(numbers.astype("float32").astype("float64"))
    saved = ~texts.isin(known) & widened.isin(known).to_numpy()
    return texts.where(~saved, widened.to_numpy())
