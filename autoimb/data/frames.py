"""X as a frame: the forms a user passes (a DataFrame, an array, a list of rows, columns
stored by pyarrow, durations), read the pandas way with string column names; scikit-learn's
wording where it has one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from autoimb.data.typed import all_text, text_columns
from autoimb.exceptions import AutoImbError, SchemaError


def is_other_frame(X: Any) -> bool:
    """Whether ``X`` is a table of another library (polars, pyarrow): one whose columns have
    names, as a pandas frame's do."""
    tabular = hasattr(X, "__dataframe__") or hasattr(X, "__arrow_c_stream__")
    return tabular and not isinstance(X, pd.DataFrame | pd.Series)


def as_pandas(X: Any) -> Any:
    """A polars DataFrame or a pyarrow Table as a pandas frame, its column names and types
    kept (as an array its names were lost, and its columns matched by position at predict);
    anything else as it is."""
    if not is_other_frame(X):
        return X
    try:
        if hasattr(X, "to_pandas"):  # polars, pyarrow: their own converters keep every type
            frame = X.to_pandas()
        elif hasattr(X, "__dataframe__"):
            frame = pd.api.interchange.from_dataframe(X)
        else:  # the Arrow stream alone
            import pyarrow

            frame = pyarrow.table(X).to_pandas()
    except Exception as exc:
        raise AutoImbError(
            f"X ({type(X).__name__}) could not be read as a pandas DataFrame ({exc}); pass "
            "a pandas DataFrame."
        ) from exc
    return frame if isinstance(frame, pd.DataFrame) else X  # a column alone: as before


def has_feature_names(X: Any) -> bool:
    """Whether ``X`` names its columns in scikit-learn's sense: a DataFrame whose column names
    are all strings (integer names are positions, as an array's columns are)."""
    return isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns)


def as_frame(X: Any) -> pd.DataFrame:
    """A copy of ``X`` as a frame with string column names; scikit-learn's wording where it
    has one, so both libraries' users recognise the problem."""
    if sparse.issparse(X):
        raise AutoImbError(
            "X is a sparse matrix, and sparse input is not supported: pass a dense array "
            "(X.toarray()) or a DataFrame."
        )
    converted = as_pandas(X)
    if isinstance(converted, pd.DataFrame):
        frame = converted if converted is not X else X.copy()
    elif isinstance(X, pd.Series):
        frame = X.to_frame()
    elif isinstance(X, Mapping):  # read by NumPy as one object: "an array of shape ()"
        if X and all(np.ndim(value) == 0 for value in X.values()):
            raise AutoImbError(
                "X is a dict of one row's values; pass pd.DataFrame([X]), one row whose "
                "columns are its keys."
            )
        raise AutoImbError(
            "X is a dict of columns; pass pd.DataFrame(X), whose columns are its keys."
        )
    elif isinstance(X, list) and X and all(isinstance(row, dict) for row in X):
        raise AutoImbError(
            "X is a list of records (dicts); pass pd.DataFrame(X), whose columns are their keys."
        )
    else:
        try:
            array = np.asarray(X)
        except Exception as exc:
            raise AutoImbError(
                f"X must be a pandas DataFrame or a 2-D array; got {type(X).__name__} ({exc})."
            ) from exc
        if array.ndim == 1:
            raise AutoImbError(
                "Expected 2D array, got 1D array instead. Reshape your data either using "
                "X.reshape(-1, 1) if it has a single feature or X.reshape(1, -1) if it is a "
                "single row."
            )
        if array.ndim != 2:
            raise AutoImbError(
                f"X must be 2-D (rows × columns); got an array of shape {array.shape}."
            )
        if array.dtype.kind == "c":
            raise AutoImbError("Complex data not supported: pass real numbers.")
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    if any(pd.api.types.is_complex_dtype(dtype) for dtype in frame.dtypes):
        raise AutoImbError("Complex data not supported: pass real numbers.")
    given = list(frame.columns)
    frame.columns = [str(c) for c in given]
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        if len(set(given)) == len(given):  # 0 and "0": two names, one text
            clashes = [[c for c in given if str(c) == name] for name in duplicated]
            raise AutoImbError(
                f"X has columns whose names differ only in type, {clashes[:5]}: the model "
                "names its columns by their text, so they would be one; rename them."
            )
        raise AutoImbError(
            f"X has duplicated column names {duplicated}; rename them so each column is unique."
        )
    frame = _durations_in_seconds(_without_arrow(frame))  # one column per name, as checked
    for column in text_columns(frame):  # a blank cell is a missing value (" " in numbers)
        values = frame[column]
        if all_text(values):  # the usual case, a file's column: no Python call per cell
            blank = values.str.strip().eq("").fillna(False).astype(bool)
        else:
            blank = values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
        if blank.any():
            frame[column] = values.mask(blank)
    return frame.reset_index(drop=True)


def _without_arrow(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns stored by pyarrow (``dtype_backend="pyarrow"``) in pandas' own types: an Arrow
    column keeps NaN apart from missing and its time zone in another place, and every check
    here reads the pandas way."""
    for column, dtype in list(frame.dtypes.items()):
        if not isinstance(dtype, pd.ArrowDtype):
            continue
        series = frame[column]
        if dtype.kind in "mM":  # durations, timestamps (with their zone) and dates
            index = pd.TimedeltaIndex if dtype.kind == "m" else pd.DatetimeIndex
            frame[column] = pd.Series(index(series), index=series.index)
            continue
        try:
            frame[column] = series.convert_dtypes(dtype_backend="numpy_nullable")
        except (KeyError, TypeError, ValueError):  # a type pandas has no twin for (dictionary)
            frame[column] = series.astype(object).where(series.notna(), None)
    return frame


def duration_columns(X: Any) -> list[str]:
    """The timedelta columns of a frame, by their names as text."""
    if not isinstance(X, pd.DataFrame):
        return []
    return [str(c) for c, dtype in X.dtypes.items() if dtype.kind == "m"]


_A_NUMBER = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
# A duration as pandas writes one (str, to_csv): "9 days 09:06:00", "-1 days +23:59:59.5".
_WRITTEN_DURATION = r"\s*-?\d+ days? [-+]?\d{2}:\d{2}:\d{2}(\.\d+)?\s*"


def read_durations(frame: pd.DataFrame, skip: set[str]) -> dict[str, pd.Series]:
    """The text columns of durations as pandas writes them (a CSV of a timedelta column), as
    seconds: read as text they were categories of nearly as many levels as rows, though
    predict reads such text as durations for a model trained on durations."""
    found = {}
    for column in text_columns(frame):
        values = frame[column]
        if column in skip or not all_text(values):
            continue
        text = values.astype("string").str.strip()
        text = text.mask(text.str.casefold().eq("nat"))  # as pandas writes a missing one
        present = text.dropna()
        if present.empty or not present.str.fullmatch(_WRITTEN_DURATION).all():
            continue
        found[column] = pd.to_timedelta(text).dt.total_seconds()
    return found


def given_durations(X: Any, durations: list[str]) -> Any:
    """X with the columns training held as durations read as such where they come as text (a
    CSV's "2 days 17:00:00"); numbers are refused, for a number names no unit (hours read as
    seconds predicted otherwise without a word). Whole rows are read before the model sees
    them, as durations are turned into seconds then."""
    if not durations or not isinstance(X, pd.DataFrame) or X.columns.duplicated().any():
        return X  # two columns of one name are refused by the checks that follow, as at fit
    read = {}
    for column in [c for c in X.columns if str(c) in set(durations)]:
        values = X[column]
        if values.dtype.kind == "m" or not values.notna().any():
            continue
        if pd.api.types.is_numeric_dtype(values):
            bad = values.notna()
        else:
            text = values.astype("string").str.strip()
            text = text.mask(text.eq("") | text.str.casefold().eq("nat"))  # as pandas writes it
            read[column] = pd.to_timedelta(text, errors="coerce")
            bad = text.notna() & (read[column].isna() | text.str.fullmatch(_A_NUMBER).fillna(False))
        if bad.any():
            example = values[bad].iloc[0]
            example = example.item() if isinstance(example, np.generic) else example
            raise SchemaError(
                f"column {column!r} held durations (timedelta) in training, and holds "
                f"{example!r} now: pass durations, as timedelta values (such as "
                f"pd.to_timedelta(X[{column!r}], unit='h') for hours) or as text pandas reads "
                "('2 days 17:00:00', '3h'); a plain number names no unit."
            )
    if read:
        X = X.copy()
        for column, durations_read in read.items():
            X[column] = durations_read
    return X


def _durations_in_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Durations as seconds, a missing one NaN: as raw numbers a missing duration would be
    int64's least value, which no imputer sees as missing."""
    for column, dtype in list(frame.dtypes.items()):
        if dtype.kind == "m":
            durations = pd.Series(pd.TimedeltaIndex(frame[column]), index=frame.index)
            frame[column] = durations.dt.total_seconds()
    return frame
