"""New rows brought to the training schema, or refused with the column and the fix."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from autoimb._warnings import user_stacklevel
from autoimb.data.columns import as_numbers, expand_dates, without_markers, zoned
from autoimb.data.dataset import as_category_strings, as_frame, infinite_values
from autoimb.data.typed import as_floats, typed_numbers
from autoimb.exceptions import SchemaError


def input_columns(schema: dict[str, Any]) -> list[str]:
    """The columns the user trained on, as given (a model saved before dates were expanded
    kept no list: its columns and dropped ones are those)."""
    return list(schema.get("inputs") or [*schema["columns"], *schema.get("dropped", [])])


def conform(X: Any, schema: dict[str, Any]) -> pd.DataFrame:
    """Bring new data to the training schema, refusing missing or retyped columns; columns
    it does not know are named in a warning (an array, whose columns have no names, must have
    as many as in training)."""
    frame = as_frame(X)
    if frame.shape[0] == 0:
        raise SchemaError("X has no rows; pass at least one row to predict.")
    inputs = input_columns(schema)
    known = set(inputs)
    named = isinstance(X, pd.DataFrame | pd.Series)
    if not named and frame.shape[1] != len(known):
        raise SchemaError(
            f"X has {frame.shape[1]} features, but the model was trained on {len(known)}; "
            "pass the same columns, in the same order."
        )
    if _by_position(frame, named, schema):
        names = (  # scikit-learn's words for the two cases
            "X has feature names, but the model was trained without feature names"
            if named
            else "X does not have valid feature names, but the model was trained with them"
        )
        warnings.warn(
            f"{names}; its columns are taken in the training order.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        frame.columns = inputs
    needed = schema["categorical"] + schema["numeric"]
    dates = schema.get("dates", {})
    source = _date_sources(schema)
    known |= set(needed)  # the training frame itself, its dates already numbers, conforms too
    missing = [c for c in dict.fromkeys(source.get(c, c) for c in needed) if c not in frame]
    if missing:
        raise SchemaError(
            f"the data lacks {len(missing)} column(s) the model was trained on: {missing[:20]}"
            f"{' …' if len(missing) > 20 else ''}. Provide them (NaN is allowed for missing "
            "values)."
        )
    extra = [c for c in frame.columns if c not in known]
    if extra:
        warnings.warn(
            f"X has {len(extra)} column(s) the model was not trained on, left unused: "
            f"{extra[:10]}{' …' if len(extra) > 10 else ''}.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    raw = {c: parts for c, parts in dates.items() if not _expanded(frame, c, parts)}
    frame = expand_dates(frame[[c for c in frame.columns if c in known]], raw)[needed].copy()
    coded = set(schema.get("numeric_coded", []))
    for column in schema["categorical"]:
        series = frame[column]
        if column not in coded and pd.api.types.is_numeric_dtype(series) and series.notna().any():
            raise SchemaError(
                f"column {column!r} was categorical (text) in training but is numeric now; pass "
                "it with the same values and type as in training."
            )
        frame[column] = as_category_strings(series)
    typed = set(typed_numbers(frame))
    frame, infinite = as_floats(frame, [c for c in schema["numeric"] if c in typed])
    if infinite is not None:
        raise SchemaError(infinite_values(infinite))
    for column in [c for c in schema["numeric"] if c not in typed]:
        series = without_markers(frame[column])
        values = as_numbers(series)
        bad = values.isna() & series.notna()
        if bad.any():
            example = series[bad].iloc[0]
            raise SchemaError(
                f"column {column!r} was numeric in training but holds non-numeric values now "
                f"(e.g. {example!r}); fix the column's values or its type, or, if {example!r} "
                "marks a missing value, make it NaN (--na-values on the command line)."
            )
        if np.isinf(values.to_numpy(dtype=float)).any():
            raise SchemaError(infinite_values(column))
        frame[column] = values.astype(float)
    return frame


def warn_of_new_rows(X: Any, schema: dict[str, Any]) -> None:
    """Warn of what new rows hold that predictions would go wrong with silently: training
    columns missing in every row, and dates that name a time zone where training's did not,
    or the other way round."""
    if not isinstance(X, pd.DataFrame):
        return
    source = _date_sources(schema)
    used = {source.get(c, c) for c in schema["categorical"] + schema["numeric"]}
    empty = [c for c in X.columns if str(c) in used and X[c].isna().all()]
    if empty and len(X) >= 20:  # columns training dropped are not used: empty or not, no matter
        warnings.warn(
            f"X's column(s) {empty[:10]}{' …' if len(empty) > 10 else ''} are missing in every "
            "row, though they held values in training; the predictions go without them.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    if "zoned_dates" not in schema:  # a model saved before zones were recorded cannot tell
        return
    for column, parts in schema.get("dates", {}).items():
        if column not in X or _expanded(X, column, parts) or X[column].isna().all():
            continue
        trained_zoned = column in schema["zoned_dates"]
        if zoned(X[column]) != trained_zoned:  # dates without a zone are read as UTC
            said, now = (
                ("named a time zone", "do not; they are read as UTC")
                if trained_zoned
                else ("named no time zone and were read as UTC", "name one")
            )
            warnings.warn(
                f"column {column!r}: its dates in training {said}, and the new ones {now}. "
                "Where the two are not the same clock, instants and hours differ by the "
                "offset; pass the dates the way training did (all with their zone, or all "
                "without).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )


def _date_sources(schema: dict[str, Any]) -> dict[str, str]:
    """Each column a date was expanded into, and the date column it came from."""
    dates = schema.get("dates", {})
    return {f"{c}.{part}": c for c, parts in dates.items() for part in parts}


def _expanded(frame: pd.DataFrame, column: str, parts: list[str]) -> bool:
    """Whether a date column is already in its training form (days, beside its parts)."""
    return pd.api.types.is_float_dtype(frame[column]) and all(
        f"{column}.{part}" in frame.columns for part in parts
    )


def _by_position(frame: pd.DataFrame, named: bool, schema: dict[str, Any]) -> bool:
    """Whether new columns are the training ones by position, as scikit-learn reads them: an
    array for a model trained on a frame (whose original column order the schema kept), or a
    frame whose names training never had, for a model trained on an array."""
    inputs = schema.get("inputs")
    if not inputs or frame.shape[1] != len(inputs) or list(frame.columns) == inputs:
        return False
    if not named:
        return True
    unnamed = inputs == [f"x{i}" for i in range(len(inputs))]
    return unnamed and not set(frame.columns) & set(inputs)
