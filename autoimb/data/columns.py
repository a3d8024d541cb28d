"""Columns that are neither plain numbers nor reusable categories.

Numbers written as exports and spreadsheets write them ("$1,234.50", "12%", "?" for a missing
value) are read as numbers; as text they would be category codes, nearly all different and
unseen on new rows.
Dates become numbers a model can split on (the instant, and the parts of it that vary: month,
weekday, hour), the same way in training and at prediction. Text whose values are (almost)
never repeated, such as identifiers, free text or unparsed timestamps, is left out: category
codes for it are arbitrary in training and all unseen on new rows. So are whole numbers that
count the rows or are named as identifiers ("id", "customer_id", "Unnamed: 0"): new rows carry
numbers training never saw, and a file sorted by the target would let a model read the class
off the row's position.
"""

from __future__ import annotations

import contextlib
import datetime
import numbers
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from autoimb._warnings import user_stacklevel
from autoimb.data.typed import all_text, text_columns, typed_numbers
from autoimb.exceptions import SchemaError

DATE_PARTS = ("month", "weekday", "hour")
# A text column with this share of distinct values, or more, is an identifier (AutoGluon drops
# such columns at 99% too); below MIN_IDENTIFIER_ROWS present values there is too little to say.
DISTINCT_SHARE = 0.99
MIN_IDENTIFIER_ROWS = 20
# A column name that says "identifier": id, ID, customer_id, customerID, index, "Unnamed: 0"
# (what pandas names an index written to a CSV).
_ID_NAME = re.compile(r"(?i:^|.*[_\s.-])(?i:id|index|row|rownum)$|.*[a-z]ID$|(?i:unnamed: \d+)$")
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
# A currency sign, thousands grouped by commas, a percent sign. A comma decimal ("1,5") is not
# a number here: "1,500" could be either, and grouping is the reading exports mean by it; but
# "0,205" groups nothing (its column, a decimal comma's, stays text and is warned of).
_FORMATTED = re.compile(r"[-+]?[$€£¥]?[-+]?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d*)?%?")
_MARKS = re.compile(r"[\s$€£¥,%]")
# In a file whose decimal mark is "," (read_numbers' decimal=","), "." groups thousands:
# "1.234,50", "-12.000", "1.234,50 €". Only groups of three digits after a leading 1-999:
# "1.5" and "0.125" are no such numbers and leave their column as it was.
_GROUPED_BY_DOTS = re.compile(r"[-+]?[$€£]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?(?:[$€£%])?")
_DOT_MARKS = re.compile(r"[\s.$€£%]")
# Written for a missing value in a column of numbers (UCI's "?", a spreadsheet's "-"); in a
# column of text they are categories like any other.
MISSING_MARKERS = frozenset(
    {"?", "-", "--", ".", "na", "n/a", "#n/a", "nan", "null", "none", "missing", "unknown"}
)


def without_markers(series: pd.Series) -> pd.Series:
    """The column with its missing-value markers missing."""
    if not _is_text(series):
        return series
    marked = series.map(
        lambda v: isinstance(v, str) and v.strip().lower() in MISSING_MARKERS
    ).astype(bool)
    return series.mask(marked) if marked.any() else series


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def as_numbers(series: pd.Series) -> pd.Series:
    """The column's values as floats, formatted numbers read without their signs and commas;
    any other text is NaN (a caller that must refuse it compares with the present values)."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    text = series.map(lambda v: _MARKS.sub("", v) if isinstance(v, str) else v)
    formatted = series.map(lambda v: isinstance(v, str) and _is_formatted(v)).astype(bool)
    return pd.to_numeric(text.where(formatted, series), errors="coerce").astype(float)


def _is_formatted(text: str, pattern: re.Pattern[str] = _FORMATTED) -> bool:
    return pattern.fullmatch(re.sub(r"\s+", "", text)) is not None


def _comma_decimals(series: pd.Series) -> pd.Series:
    text = series.map(
        lambda v: _DOT_MARKS.sub("", v).replace(",", ".") if isinstance(v, str) else v
    )
    return pd.to_numeric(text, errors="coerce").astype(float)


def read_numbers(
    frame: pd.DataFrame, skip: set[str] | None = None, *, decimal: str = "."
) -> dict[str, pd.Series]:
    """The text columns that hold numbers only, besides missing-value markers, and that
    plain number parsing would not read as written (some formatted or some markers), as
    numbers. ``decimal=","``: numbers as a comma-decimal file writes them ("1.234,50 €")."""
    pattern, read = (
        (_GROUPED_BY_DOTS, _comma_decimals) if decimal == "," else (_FORMATTED, as_numbers)
    )
    found = {}
    for column in text_columns(frame):
        if column in (skip or ()):
            continue
        series = without_markers(frame[column])
        present = series.dropna()  # by position below: an index may repeat labels
        if present.empty or not all(_is_number(v, pattern) for v in present):
            continue  # text is told apart at its first value that is no number
        marked = series.isna().sum() > frame[column].isna().sum()
        numbers = read(series)
        plain = pd.to_numeric(present, errors="coerce").to_numpy(float)
        as_read = numbers[series.notna().to_numpy()].to_numpy()
        if marked or not np.array_equal(as_read, plain, equal_nan=True):
            found[column] = numbers
    return found


def _is_number(value: Any, pattern: re.Pattern[str]) -> bool:
    """A number as written in a file, or one in Python's types: a column of objects mixes
    them with its markers (``col[col < 0] = "?"``), and predict reads them as numbers."""
    if isinstance(value, str):
        return _is_formatted(value, pattern)
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _parse(series: pd.Series) -> pd.Series:
    """UTC instants; a value that is not a date (in ISO 8601 form) becomes NaT."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")  # no date
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series)
        return stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    # Only text and date objects are dates: a number among them is none (pandas will read
    # numbers as instants since 1970, and a column of numbers would pass for dates).
    if all_text(series):
        dated = series.notna()
    else:
        dated = series.map(lambda v: isinstance(v, str | datetime.date | np.datetime64))
        dated = dated.astype(bool)
    return pd.to_datetime(series.where(dated), errors="coerce", format="ISO8601", utc=True)


_MIXED_ZONES_RAISE = int(pd.__version__.split(".")[0]) >= 3


def zoned(series: pd.Series) -> bool:
    """Whether a date column's present values name a time zone (an offset from UTC, "Z"): the
    others are read as UTC, so new rows must say it as training did."""
    if pd.api.types.is_datetime64_any_dtype(series):
        dtype = series.dtype  # an Arrow column keeps its zone in its Arrow type
        return getattr(getattr(dtype, "pyarrow_dtype", dtype), "tz", None) is not None
    present = series.dropna()
    try:
        # pandas < 3 warns of mixed zones and keeps them; pandas 3 raises, with no warning to
        # catch: predict runs this in the user's threads, where catching warnings (not
        # thread-safe) could leave the process's filters changed.
        quiet = warnings.catch_warnings(action="ignore")
        with contextlib.nullcontext() if _MIXED_ZONES_RAISE else quiet:
            stamps = pd.to_datetime(present, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):  # mixed zones, or zoned and naive values together
        return True
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        return True
    return stamps.dt.tz is not None


def _as_dates(series: pd.Series) -> pd.Series | None:
    """The column's instants when it holds dates (every present value one); else None."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return _parse(series) if series.notna().any() else None
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    present = series.dropna()
    if present.empty:
        return None
    if all(isinstance(value, datetime.date) for value in present.iloc[:100]):
        stamps = _parse(series)  # Python dates, as a Parquet date column or .dt.date gives
        return stamps if stamps[series.notna()].notna().all() else None
    if not all(isinstance(value, str) for value in present.iloc[:100]):
        return None
    if pd.to_numeric(present.iloc[:100], errors="coerce").notna().any():
        return None  # "2020" or "20200101" reads as a number first, as it did before
    if _parse(present.iloc[:100]).isna().any():
        return None  # most text is told apart on its first values, without parsing it all
    stamps = _parse(series)
    return stamps if stamps[series.notna()].notna().all() else None


def find_dates(frame: pd.DataFrame, skip: set[str]) -> dict[str, list[str]]:
    """Each date column with the parts of its dates that vary in ``frame``."""
    dates = {}
    typed = set(typed_numbers(frame))
    for column in [c for c in frame.columns if c not in typed]:
        stamps = None if column in skip else _as_dates(frame[column])
        if stamps is not None:
            dates[column] = [p for p in DATE_PARTS if _part(stamps, p).nunique(dropna=True) > 1]
    return dates


def _part(stamps: pd.Series, part: str) -> pd.Series:
    if part == "hour":
        return stamps.dt.hour + stamps.dt.minute / 60.0
    return getattr(stamps.dt, "day_of_week" if part == "weekday" else part).astype(float)


def expand_dates(frame: pd.DataFrame, dates: dict[str, list[str]]) -> pd.DataFrame:
    """Each date column replaced by days since 1970 (under its own name) and its parts
    (``name.month``, ...), in its place."""
    if not dates:
        return frame
    pieces: dict[Any, pd.Series] = {}
    for column in frame.columns:
        if column not in dates:
            pieces[column] = frame[column]
            continue
        stamps = _parse(frame[column])
        bad = stamps.isna() & frame[column].notna()
        if bad.any():
            value = frame[column][bad].iloc[0]
            value = value.item() if isinstance(value, np.generic) else value  # 17e8, not np.int64
            raise SchemaError(
                f"column {column!r} held dates in training but holds {value!r} now "
                f"({rows_named(bad.to_numpy())}); pass dates in ISO 8601 form (2024-01-31 or "
                "2024-01-31 13:45:00) or leave the value empty."
            )
        pieces[column] = ((stamps - _EPOCH) / pd.Timedelta(days=1)).astype(float)
        for part in dates[column]:
            pieces[f"{column}.{part}"] = _part(stamps, part).astype(float)
    return pd.DataFrame(pieces, index=frame.index)


def rows_named(bad: np.ndarray) -> str:
    """Where in a batch of a million rows to look: the first rows, counting from 1 (a file's
    data rows, below its header), and how many there are."""
    rows = np.flatnonzero(bad)
    first = ", ".join(str(r + 1) for r in rows[:3])
    return f"{len(rows)} row(s): {first}{', …' if len(rows) > 3 else ''}, counting from 1"


def identifiers(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Those of the text ``columns`` whose present values are (almost) all different."""
    found = []
    for column in columns:
        present = frame[column].dropna()
        if len(present) >= MIN_IDENTIFIER_ROWS and (
            present.astype(str).nunique() >= DISTINCT_SHARE * len(present)
        ):
            found.append(column)
    return found


def row_numbers(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Those of the number ``columns`` whose values are distinct whole numbers, all present,
    that either run without a gap (row numbers) or sit under an identifier's name."""
    found = []
    for column in columns:
        series = frame[column]
        if len(series) < MIN_IDENTIFIER_ROWS or series.isna().any():
            continue
        values = series.to_numpy(dtype=float)
        if not np.isfinite(values).all() or not (np.mod(values, 1.0) == 0).all():
            continue
        if len(np.unique(values)) != len(values):
            continue
        if values.max() - values.min() + 1 == len(values) or _ID_NAME.fullmatch(str(column)):
            found.append(column)
    return found


def left_out(
    frame: pd.DataFrame, text: list[str], numbers: list[str], constant: set[str]
) -> list[str]:
    """The identifiers among the ``text`` and ``numbers`` columns, each kind named in a
    warning; row numbers stay when they are all there is to learn from."""
    unique = [c for c in identifiers(frame, text) if c not in constant]
    if unique:
        _leaving_out(
            unique,
            "text column(s) whose values are (almost) all different",
            "They look like identifiers or free text, and a model cannot reuse values that new "
            "rows will not repeat (in Python, name them in categorical_features to keep them as "
            "categories).",
        )
    counters = row_numbers(frame, [c for c in numbers if c not in constant])
    if len(counters) + len(unique) + len(constant) == frame.shape[1]:
        counters = []  # the user means them as features
    if counters:
        _leaving_out(
            counters,
            "column(s) of distinct whole numbers that count the rows or are named as identifiers",
            "New rows carry numbers training never saw, and a file sorted by the target would "
            "let a model read the class off the row number (in Python, pass "
            "categorical_features explicitly to keep every column).",
        )
    read_as_text = [c for c in text if c not in constant]
    _numbers_read_as_text(frame, read_as_text)
    _dates_not_read(frame, read_as_text)
    return unique + counters


# Numbers with a unit or in an accountant's brackets ("0.68 GB", "(0.123)"), and dates in the
# forms spreadsheets write ("31/01/2024", "1/31/24 1:45 PM", "Jan 31, 2024"): the reading
# takes neither, so a column of them is warned of, with the form it wants.
# Units of two letters or more may follow the number directly ("12.5kg"); one letter only
# after a space ("3 m"): "5G", "3S" are codes.
_UNITS = (
    "kg|mg|lbs?|oz|[kmgt]i?b|bytes?|[kcm]m|mi|ft|in|ml|kwh|mhz|ghz|ms|sec|min|hrs?|"
    "days?|months?|years?|yrs?|usd|eur|gbp|chf|jpy|cny"
)
_DECORATED = re.compile(
    rf"\(?[-+]?[$€£¥]?\d[\d,]*(?:\.\d+)?\)?(?:%|\s*(?i:{_UNITS})|\s+(?i:[gmlwvsh]))?", re.ASCII
)
_LOCAL_DATE = re.compile(
    r"(?:\d{1,2}/\d{1,2}/(?:\d{2}|\d{4})|\d{1,2}[.-]\d{1,2}[.-]\d{4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)?"
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.? \d{4}"
)
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_NO_THOUSANDS = re.compile(r"[-+]?(?:\d+,(?:\d{1,2}|\d{4,})|0,\d{3})")  # "3,18", "0,205"
_LOOKED_AT = 200
_AS_TEXT = "categories, or left out where nearly every value differs"


def _numbers_read_as_text(frame: pd.DataFrame, columns: list[str]) -> None:
    """Warn of text columns that are numbers but for a token or two ("ZZZ", "n.a.") or numbers
    written with a unit or brackets: read as categories, their numbers lose their order."""
    for column in columns:
        present = frame[column].dropna().astype(str)
        if len(present) < MIN_IDENTIFIER_ROWS:
            continue
        numeric = pd.to_numeric(present, errors="coerce").notna()
        tokens = present[~numeric].unique()
        if numeric.mean() >= 0.5 and 0 < len(tokens) <= 3:
            warnings.warn(
                f"Column {column!r} holds numbers but for {list(tokens)} in "
                f"{int((~numeric).sum())} row(s), so it is read as text ({_AS_TEXT}). If "
                "that marks a missing value, make it one (na_values= when reading the file or "
                "NaN in the frame, --na-values on the command line).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        elif (
            _mostly(present[~numeric], _DECIMAL_COMMA)
            and (~numeric).mean() >= 0.1
            and present[~numeric].iloc[:_LOOKED_AT].str.fullmatch(_NO_THOUSANDS).any()
        ):
            example = present[~numeric].iloc[0]
            warnings.warn(
                f"Column {column!r} holds numbers written with a decimal comma (e.g. "
                f"{example!r}), so it is read as text ({_AS_TEXT}). Write the file with "
                "decimal points, or separate its fields with ';', where a comma is read as "
                "the decimal mark.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        elif _mostly(present[~numeric], _DECORATED) and (~numeric).mean() >= 0.1:
            example = present[~numeric].iloc[0]
            warnings.warn(
                f"Column {column!r} holds numbers written with text around them (e.g. "
                f"{example!r}), so it is read as text ({_AS_TEXT}) and their order is lost. "
                "Write plain numbers: a minus sign for a negative, the unit in the column's name.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )


def _dates_not_read(frame: pd.DataFrame, columns: list[str]) -> None:
    """Warn of text columns of dates in a form other than ISO 8601, which is the only one
    read as dates (31/01 and 01/31 cannot be told apart in general): as text they become
    categories, or are left out when nearly all differ."""
    for column in columns:
        present = frame[column].dropna().astype(str).str.strip()
        if len(present) >= MIN_IDENTIFIER_ROWS and _mostly(present, _LOCAL_DATE):
            warnings.warn(
                f"Column {column!r} holds dates written as {present.iloc[0]!r}, a form not read "
                f"as dates, so they are read as text ({_AS_TEXT}). Write them in ISO 8601 form "
                "(2024-01-31, 2024-01-31 13:45) to use them as dates: the instant, its month, "
                "weekday and hour.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )


def _mostly(values: pd.Series, pattern: re.Pattern[str]) -> bool:
    """Whether nine in ten of the first values are written in ``pattern``'s form."""
    head = values.iloc[:_LOOKED_AT]
    return len(head) > 0 and head.map(lambda v: bool(pattern.fullmatch(v))).mean() >= 0.9


def _leaving_out(columns: list[str], kind: str, why: str) -> None:
    listed = f"{columns[:10]}{' …' if len(columns) > 10 else ''}"
    warnings.warn(
        f"Leaving out {len(columns)} {kind}: {listed}. {why}",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
