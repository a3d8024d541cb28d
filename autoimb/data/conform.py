"""New rows brought to the training schema, or refused with the column and the fix."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from autoimb._warnings import user_stacklevel
from autoimb.data.category_text import as_category_strings, as_saved_categories
from autoimb.data.columns import as_numbers, expand_dates, rows_named, without_markers, zoned
from autoimb.data.dataset import infinite_values
from autoimb.data.frames import as_frame, as_pandas, has_feature_names
from autoimb.data.typed import as_floats, beyond_float32, typed_numbers
from autoimb.exceptions import SchemaError

# Fewer new rows than this say too little about a column to warn of it (a row scored online
# with a new product is no problem of the data).
MIN_ROWS_TO_WARN = 20


def input_columns(schema: dict[str, Any]) -> list[str]:
    """The columns the user trained on, as given (a model saved before dates were expanded
    kept no list: its columns and dropped ones are those)."""
    return list(schema.get("inputs") or [*schema["columns"], *schema.get("dropped", [])])


def without_search_columns(X: Any, card: Mapping[str, Any]) -> Any:
    """``X`` without the search's own target, id, weight and group columns (named on the
    command line), when they are not inputs: a table to predict often still holds them, and
    they were never features, so they are left out unwarned."""
    named = (card.get("named_columns") or {}).values()
    if not named or not isinstance(X, pd.DataFrame):
        return X
    inputs = set(input_columns(card["schema"]))
    unused = [c for c in dict.fromkeys(named) if c in X.columns and c not in inputs]
    return X.drop(columns=unused) if unused else X


def read_columns(schema: dict[str, Any]) -> list[str]:
    """The input columns the model reads (a date by the column it came from); the others it
    was given (identifiers, constants) it dropped, and new data may lack them."""
    source = date_sources(schema.get("dates", {}))
    return list(dict.fromkeys(source.get(c, c) for c in schema["categorical"] + schema["numeric"]))


def conform(X: Any, schema: dict[str, Any]) -> pd.DataFrame:
    """Bring new data to the training schema, refusing missing or retyped columns and ones
    named as a date's computed parts ("signup.month" beside "signup"); columns it does not
    know are named in a warning (an array, whose columns have no names, must have as many as
    in training).

    A frame :func:`conformed_once` made for the same schema, or a block of rows of one, is
    taken as it is."""
    marked = isinstance(X, pd.DataFrame) and _MADE_FOR in X.attrs
    if marked and X.attrs[_MADE_FOR] == _made_for(schema):
        return X
    inputs = input_columns(schema)
    X = as_pandas(X)  # a polars or pyarrow table is matched by its names, as a pandas one
    if isinstance(X, pd.Series):
        _check_series(X, inputs)
    frame = as_frame(X)
    if frame.shape[0] == 0:
        raise SchemaError("X has no rows; pass at least one row to predict.")
    known = set(inputs)
    named = isinstance(X, pd.DataFrame | pd.Series)
    if not named and frame.shape[1] != len(known):
        raise SchemaError(
            f"X has {frame.shape[1]} features, but the model was trained on {len(known)}; "
            "pass the same columns, in the same order."
        )
    unnamed = named and not trained_with_names(schema) and not known & set(frame.columns)
    if unnamed and frame.shape[1] != len(known):  # no names to match by: training's were x0, …
        raise SchemaError(
            f"X has {frame.shape[1]} features, but the model was trained on {len(known)} "
            "(an array's, without names); pass the same columns, in the same order."
        )
    if _by_position(frame, named, schema):
        with_names = has_feature_names(X)
        if with_names != trained_with_names(schema):  # scikit-learn's words for the two cases
            names = (
                "X has feature names, but the model was trained without feature names"
                if with_names
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
    known |= set(needed)  # the training frame itself, its dates already numbers, conforms too
    missing = [c for c in read_columns(schema) if c not in frame]
    if missing:
        raise SchemaError(
            f"the data lacks {len(missing)} column(s) the model was trained on: {missing[:20]}"
            f"{' …' if len(missing) > 20 else ''}.{_near_names(missing, list(frame.columns))}"
            f"{_unknown_names(missing, list(frame.columns), known)} Provide them (NaN is "
            "allowed for missing values)."
        )
    raw = {c: parts for c, parts in dates.items() if not _expanded(frame, c, parts)}
    if clash := [name for name in date_sources(raw) if name in frame.columns]:
        sources = sorted({date_sources(raw)[name] for name in clash})
        raise SchemaError(
            f"X has column(s) {clash[:10]} named as parts the model computes from its date "
            f"column(s) {sources} (as 'date.month'); a given one would overwrite the computed "
            "part, as training refused. Drop them from X."
        )
    extra = [c for c in frame.columns if c not in known]
    if extra:
        warnings.warn(
            f"X has {len(extra)} column(s) the model was not trained on, left unused: "
            f"{extra[:10]}{' …' if len(extra) > 10 else ''}.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    frame = expand_dates(frame[[c for c in frame.columns if c in known]], raw)[needed].copy()
    for column in schema["categorical"]:
        # Numbers in a text category are its text ("doors" 2, 3, 4 in a batch without
        # "5more"); values training never saw are warned of (warn_of_new_rows), as text is.
        frame[column] = as_category_strings(frame[column])
    typed = set(typed_numbers(frame))
    frame, infinite = as_floats(frame, [c for c in schema["numeric"] if c in typed])
    if infinite is not None:
        raise SchemaError(infinite_values(infinite))
    for column in [c for c in schema["numeric"] if c not in typed]:
        series = without_markers(_booleans_as_numbers(frame[column]))
        values = as_numbers(series)
        bad = values.isna() & series.notna()
        if bad.any():
            example, where = series[bad].iloc[0], rows_named(bad.to_numpy())
            if column in schema.get("booleans", ()):
                raise SchemaError(
                    f"column {column!r} was boolean (true/false) in training but holds "
                    f"{example!r} now ({where}); write its values as True / False (any case) or "
                    "1 / 0, and leave a missing one empty (NaN)."
                )
            raise SchemaError(
                f"column {column!r} was numeric in training but holds non-numeric values now "
                f"(e.g. {example!r}; {where}); fix the column's values or its type, or, if "
                f"{example!r} marks a missing value, make it NaN (--na-values on the command "
                "line)."
            )
        if beyond_float32(values.to_numpy(dtype=float)).any():
            raise SchemaError(infinite_values(column))
        frame[column] = values.astype(float)
    return frame


def conformed_once(X: Any, schema: dict[str, Any]) -> pd.DataFrame:
    """:func:`conform`, marked so that the blocks a model scores it in are not checked and
    typed again (by the model, and by each member of an ensemble). Only for a frame its caller
    keeps to itself: pandas keeps the mark through edits that could undo the typing."""
    frame = conform(X, schema)
    frame.attrs[_MADE_FOR] = _made_for(schema)
    return frame


# The key of a frame's attrs naming the schema conformed_once made it for.
_MADE_FOR = "autoimb.conformed_for"
# Schemas' marks, by the schema object (kept, so that its id is not reused): on wide data
# one is worked out once, not for every block.
_MARKS: dict[int, tuple[Mapping[str, Any], str]] = {}


# What a model card's schema adds to its members' for the checks of new rows.
_CARD_ONLY = ("categories", "missing_shares")


def _made_for(schema: Mapping[str, Any]) -> str:
    """What of ``schema`` a conformed frame depends on: all of it but what a model card's
    schema adds for warnings (:data:`_CARD_ONLY`; its members' lack them)."""
    known = _MARKS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    mark = repr(sorted((key, value) for key, value in schema.items() if key not in _CARD_ONLY))
    if len(_MARKS) >= 64:  # a process that loads model after model
        _MARKS.clear()
    _MARKS[id(schema)] = (schema, mark)
    return mark


def _near_names(missing: list[str], present: list[str]) -> str:
    """The given columns that are missing ones but for letter case or spaces around them."""
    by_key = {str(name).strip().casefold(): name for name in present}
    near = {m: by_key[m.strip().casefold()] for m in missing if m.strip().casefold() in by_key}
    if not near:
        return ""
    pairs = ", ".join(f"{given!r} for {wanted!r}" for wanted, given in list(near.items())[:5])
    return f" X has {pairs}: column names must be written as in training."


def _unknown_names(missing: list[str], present: list[str], known: set[str]) -> str:
    """The given columns training never saw, which may be the missing ones under other names
    (scikit-learn names both sides); those :func:`_near_names` pairs up are left to it."""
    near = {str(name).strip().casefold() for name in missing}
    unknown = [c for c in present if c not in known and str(c).strip().casefold() not in near]
    if not unknown:
        return ""
    return (
        f" X has {len(unknown)} column(s) the model was not trained on: {unknown[:10]}"
        f"{' …' if len(unknown) > 10 else ''}; where they are the missing ones under other "
        "names, rename them as in training."
    )


def _check_series(X: pd.Series, inputs: list[str]) -> None:
    """A Series is taken as the one training column it is named after; any other, a row
    (``df.iloc[0]``) most often, is refused as scikit-learn refuses 1-D input, with the fix."""
    if str(X.name) in inputs and not {str(label) for label in X.index} & set(inputs):
        return
    raise SchemaError(
        "Expected a 2-D X (a DataFrame or a 2-D array), got a pandas Series. Pass one row as a "
        "one-row DataFrame, df.iloc[[0]] rather than df.iloc[0], or X.to_frame().T; one column "
        "as X.to_frame()."
    )


_BOOLEAN_WORDS = {"true": 1.0, "false": 0.0}


def _booleans_as_numbers(series: pd.Series) -> pd.Series:
    """The words a CSV file or ``astype(str)`` writes a boolean column with, "True" and
    "False" (any case), read as the 1 and 0 a boolean column is trained as."""
    if not pd.api.types.is_object_dtype(series) and not pd.api.types.is_string_dtype(series):
        return series

    def number(value: Any) -> Any:
        return _BOOLEAN_WORDS.get(value.strip().lower(), value) if isinstance(value, str) else value

    return series.astype(object).map(number)


def warn_of_new_rows(X: Any, schema: dict[str, Any]) -> None:
    """Warn of what new rows hold that predictions would go wrong with silently: training
    columns missing in every row, rows missing every such column, categories training mostly
    never saw, and dates that name a time zone where training's did not, or the other way
    round."""
    if not isinstance(X, pd.DataFrame | pd.Series):  # an array's columns are training's, in order
        inputs = input_columns(schema)
        # Rows as lists keep their cells' kinds: NumPy would make text of them all ("nan");
        # columns of numbers are typed as such, so only text is looked at cell by cell.
        if isinstance(X, list | tuple):
            X = pd.DataFrame(np.asarray(X, dtype=object)).infer_objects()
        X = as_frame(X)
        if X.shape[1] != len(inputs):
            return  # refused by conform, saying so
        X.columns = inputs
    if not isinstance(X, pd.DataFrame) or X.columns.duplicated().any():
        return  # conforming X refuses two columns of one name, as fit does
    used = set(read_columns(schema))
    # Columns training dropped are not used: empty or not, no matter.
    present = [c for c in X.columns if str(c) in used]
    missing = X[present].isna()
    empty = [
        c
        for c, gone in zip(present, missing.all(axis=0), strict=True)
        if gone and _seldom_missing(schema, str(c), len(X))
    ]
    if empty and len(X) >= MIN_ROWS_TO_WARN:
        warnings.warn(
            f"X's column(s) {empty[:10]}{' …' if len(empty) > 10 else ''} are missing in every "
            "row, though they held values in training; the predictions go without them.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    blank = int(missing.all(axis=1).sum()) if present else 0
    if blank:  # a row read from an empty line, or a record that lost its fields
        warnings.warn(
            f"{blank} row(s) of X hold no value in any column the model uses; their "
            "predictions rest on what is typical of training alone.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    _warn_of_unseen_categories(X, schema)
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


def _seldom_missing(schema: dict[str, Any], column: str, n_rows: int) -> bool:
    """Whether ``n_rows`` rows all lacking ``column`` would be rare (under 1 in 100) at its
    share of missing values in training: a flag that most rows leave empty is empty in a
    whole batch as a matter of course. A model saved before the shares were kept says yes."""
    shares = schema.get("missing_shares")
    return shares is None or float(shares.get(column, 0.0)) ** n_rows < 0.01


def _warn_of_unseen_categories(X: pd.DataFrame, schema: dict[str, Any]) -> None:
    """A categorical column whose values training mostly never saw ("us" for "US", codes of
    another system) is read as one unknown category: the model goes without it, unwarned."""
    for column, known in schema.get("categories", {}).items():
        if column not in X.columns:
            continue
        counts = X[column].value_counts()  # each distinct value once: cheap on many rows
        texts = as_category_strings(pd.Series(counts.index))  # a float32's text is its own
        names = as_saved_categories(texts, known).to_numpy()
        new = ~pd.Series(names).isin(known).to_numpy()
        present, unseen = int(counts.sum()), int(counts.to_numpy()[new].sum())
        if present < MIN_ROWS_TO_WARN or unseen <= present / 2:
            continue
        by_case = {k.casefold() for k in known}
        trimmed = {k.strip().casefold() for k in known}
        if all(str(name).casefold() in by_case for name in names[new]):
            hint = " They match training's values but for letter case: write them as training did."
        elif all(str(name).strip().casefold() in trimmed for name in names[new]):
            hint = (
                " They match training's values but for spaces around them (a fixed-width "
                "field pads them): write them as training did."
            )
        else:
            hint = ""
        warnings.warn(
            f"column {column!r}: {unseen / present:.0%} of its values were never seen "
            f"in training (e.g. {names[new][0]!r}; training had {known[:5]}"
            f"{' …' if len(known) > 5 else ''}), so the model reads them as one unknown "
            f"category.{hint}",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def date_sources(dates: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each column a date was expanded into, and the date column it came from (``dates``: a
    date column and its parts, as a data set or its schema keeps them)."""
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
    return not trained_with_names(schema) and not set(frame.columns) & set(inputs)


def trained_with_names(schema: dict[str, Any]) -> bool:
    """Whether training's columns had names in scikit-learn's sense (strings, all of them): a
    frame with integer column names had none, as an array had none. A model saved before
    this was recorded tells by its columns: an array's were named x0, x1, …"""
    if "feature_names" in schema:
        return bool(schema["feature_names"])
    inputs = input_columns(schema)
    return inputs != [f"x{i}" for i in range(len(inputs))]
