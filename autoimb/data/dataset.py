"""Input checks and column typing: every bad input is refused here, with the fix in the message."""

from __future__ import annotations

import functools
import hashlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from autoimb._checks import check_rows_paired, check_sample_weight
from autoimb._warnings import user_stacklevel
from autoimb.data import columns as column_kinds
from autoimb.data.categorical_named import named_categorical
from autoimb.data.category_text import as_category_strings
from autoimb.data.frames import (
    as_frame,
    as_pandas,
    duration_columns,
    has_feature_names,
    read_durations,
)
from autoimb.data.labels import check_label_not_in_features, check_target, plain, positive_code
from autoimb.data.many_categories import warn_of_many_values
from autoimb.data.typed import (
    as_floats,
    beyond_float32,
    constant_columns,
    text_columns,
    typed_numbers,
)
from autoimb.exceptions import AutoImbError, DataTypeError

logger = logging.getLogger("autoimb")
# A model card records the categories of columns with at most this many, for the check of new
# rows; identifiers are left out before, so only the rare long tail goes unrecorded.
MAX_RECORDED_CATEGORIES = 1000


@dataclass
class Dataset:
    """Validated training data: a typed frame, encoded labels and what the pipeline must know."""

    X: pd.DataFrame
    y: np.ndarray
    classes: np.ndarray
    categorical: list[str]
    numeric: list[str]
    sample_weight: np.ndarray | None = None
    dropped: list[str] = field(default_factory=list)
    numeric_coded: list[str] = field(default_factory=list)
    positive: int | None = None  # the user's pos_label, as a class code
    dates: dict[str, list[str]] = field(default_factory=dict)  # a date column: its parts
    inputs: list[str] = field(default_factory=list)  # the user's columns, as given
    zoned_dates: list[str] = field(default_factory=list)  # date columns that named a zone
    feature_names: bool = True  # the user's columns had names, strings all (scikit-learn's)
    booleans: list[str] = field(default_factory=list)  # numeric columns that held true/false
    durations: list[str] = field(default_factory=list)  # timedelta columns, read as seconds

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @functools.cached_property
    def row_hashes(self) -> np.ndarray:
        """A hash of each row of ``X``, made once (0.2 s per million rows): the search looks
        for copied rows at its start and end, and its study records the data's fingerprint."""
        return pd.util.hash_pandas_object(self.X, index=False).to_numpy()

    @property
    def class_counts(self) -> np.ndarray:
        return np.bincount(self.y, minlength=self.n_classes)

    @property
    def pos_label(self) -> int:
        """The class whose detection the binary metrics measure, as a code.

        The user's ``pos_label`` when given; else the smaller class, and on a tie the last in
        sorted order (1 over 0, True over False, "yes" over "no"), the class scikit-learn's
        binary metrics call positive.
        """
        if self.positive is not None:
            return self.positive
        counts = self.class_counts
        return int(np.flatnonzero(counts == counts.min())[-1])

    def schema(self) -> dict[str, Any]:
        return {
            "columns": list(self.X.columns),
            "categorical": list(self.categorical),
            "numeric": list(self.numeric),
            "dropped": list(self.dropped),
            "numeric_coded": list(self.numeric_coded),
            "dates": {column: list(parts) for column, parts in self.dates.items()},
            "inputs": list(self.inputs),
            "zoned_dates": list(self.zoned_dates),
            "feature_names": self.feature_names,
            "booleans": list(self.booleans),
            "durations": list(self.durations),
        }

    def categories(self) -> dict[str, list[str]]:
        """Each categorical column's values seen in training (at most MAX_RECORDED_CATEGORIES
        of them; a column with more is not recorded), so new rows can be checked against them."""
        seen = {}
        for column in self.categorical:
            values = self.X[column].dropna().unique()
            if len(values) <= MAX_RECORDED_CATEGORIES:
                seen[column] = sorted(str(v) for v in values)
        return seen

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the data a study searched: shape, columns, and a hash of every value.

        A study resumed on other data would report the old data's winner; comparing
        fingerprints catches it, even when only values changed.
        """
        digest = hashlib.sha256()
        rows = self.row_hashes
        digest.update(rows.tobytes())
        digest.update(np.asarray(self.y, dtype=np.int64).tobytes())
        digest.update(repr([str(c) for c in self.classes]).encode())
        weights = None
        each = {"X": rows, "y": np.asarray(self.y, dtype=np.int64)}
        if self.sample_weight is not None:
            weighed = np.asarray(self.sample_weight, dtype=np.float64)
            digest.update(weighed.tobytes())
            weights = hashlib.sha256(weighed.tobytes()).hexdigest()[:16]
            each["weight"] = weighed
        # Each row with its label and weight, in no order: the same rows shuffled are told apart
        # from other values (the folds, drawn by position, would split them otherwise).
        unordered = np.sort(pd.util.hash_pandas_object(pd.DataFrame(each), index=False).to_numpy())
        return {
            "rows": len(self.X),
            "columns": [str(c) for c in self.X.columns],
            "categorical": [str(c) for c in self.categorical],
            "hash": digest.hexdigest()[:16],
            "weights": weights,  # apart too, to say that only they changed
            "unordered": hashlib.sha256(unordered.tobytes()).hexdigest()[:16],
        }

    def summary(self) -> dict[str, Any]:
        counts = self.class_counts
        return {
            "rows": len(self.X),
            "features": int(self.X.shape[1]),
            "categorical": len(self.categorical),
            "class_counts": {str(c): int(n) for c, n in zip(self.classes, counts, strict=True)},
            "imbalance_ratio": float(counts.max() / max(counts.min(), 1)),
        }


def _holds_numbers(series: pd.Series) -> bool:
    """Numbers, also as a pandas ``category`` of numbers: a CSV holds them as numbers (4.0 for
    4 where a column has a gap), so predict reads them so, not as text."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype))


def _holds_booleans(series: pd.Series) -> bool:
    """True/False, typed or as objects (a CSV column with gaps): new rows that write them
    otherwise ("yes") are told which spellings are read."""
    if pd.api.types.is_bool_dtype(series):
        return True
    present = series.dropna()
    return (
        pd.api.types.is_object_dtype(series)
        and not present.empty
        and all(isinstance(v, bool | np.bool_) for v in present)
    )


def _is_categorical(series: pd.Series) -> bool:
    """Text is categorical; numbers stored as objects (numpy object arrays, CSV) are not. A
    pandas ``category`` column is, whatever its values: its type says so (region codes 1-29)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return bool(series.notna().any())
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    present = series.dropna()
    if present.empty:
        return False
    return bool(pd.to_numeric(present, errors="coerce").isna().any())


def _in_mean_units(weights: np.ndarray, encoded: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Weights in units of the mean row, so dollars or cents give the same search (leaf sizes,
    min_child_weight and C count weight). Rounded to float32's precision: ``w * 3.7`` and ``w``
    differ in their last bits after the division, and those bits alone would change the
    search's course. A class with no weight could be neither learned nor scored."""
    units = (weights / weights.mean()).astype(np.float32).astype(np.float64)
    weightless = [
        plain(c)
        for c, total in zip(classes, np.bincount(encoded, units), strict=True)
        if total <= 0
    ]
    if weightless:
        raise AutoImbError(
            f"sample_weight gives class(es) {weightless} no weight at all (every row of theirs "
            "weighs 0, or under a 10^40th of the heaviest row), so they could be neither "
            "learned nor scored; give their rows positive weights, or drop those rows."
        )
    heaviest = int(np.argmax(weights))
    share = float(weights[heaviest] / weights.sum())
    if share > 0.5 and len(weights) > 2:
        warnings.warn(
            f"sample_weight gives row {heaviest} (counting from 0) {share:.0%} of all the "
            "weight: every score, and so the search, follows that one row. If that is not "
            "meant, check the weights' units (a sum where a rate was meant, a stray zero).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return units


def _refuse_containers(frame: pd.DataFrame) -> None:
    for column in text_columns(frame):
        series = frame[column]
        if series.dtype == object:
            held = series.map(lambda v: isinstance(v, list | dict | set | tuple | np.ndarray))
            if held.any():
                kind = type(series[held].iloc[0]).__name__
                # "argument must be … string … number": the words scikit-learn's estimator
                # checks look for, as numpy's float() says them.
                raise DataTypeError(
                    f"column {column!r} holds {kind} values, which no model can read: each cell "
                    "is passed to the model as one argument, and that argument must be a single "
                    "string or number (or a boolean). Expand the column into one column per "
                    "item, or drop it."
                )


def validate(
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    categorical_features: str | Sequence[str | int | bool] | None = "auto",
    pos_label: Any = None,
) -> Dataset:
    """Check and type the training data; constant and all-NaN columns are dropped with a warning.

    Long by design: the checks run in the order a user fixes them, each with its message.
    """
    X = as_pandas(X)  # a polars or pyarrow table keeps its names, as a pandas one does
    check_rows_paired(X, y=y, sample_weight=sample_weight)
    frame = as_frame(X)
    if frame.shape[1] == 0:
        raise AutoImbError(
            f"X has 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required; pass "
            "data with at least one feature column."
        )
    if frame.shape[0] == 0:
        raise AutoImbError(
            f"X has 0 sample(s) (shape={frame.shape}) while a minimum of 1 is required; pass "
            "some rows."
        )
    encoded, classes = check_target(y, len(frame))
    check_label_not_in_features(frame, y, encoded)
    positive = None if pos_label is None else positive_code(pos_label, classes)
    weights = check_sample_weight(sample_weight, len(frame))
    if weights is not None:
        weights = _in_mean_units(weights, encoded, classes)

    inputs = list(frame.columns)
    auto = isinstance(categorical_features, str) and categorical_features == "auto"
    named = (
        None
        if auto
        else named_categorical(frame, categorical_features, isinstance(X, pd.DataFrame | pd.Series))
    )
    for column, numbers in column_kinds.read_numbers(frame, skip=set(named or ())).items():
        frame[column] = numbers
    written = read_durations(frame, skip=set(named or ()))  # durations in text, as a CSV holds them
    for column, seconds in written.items():
        frame[column] = seconds
    dates = column_kinds.find_dates(frame, skip=set(named or ()))
    taken = [f"{c}.{part}" for c, parts in dates.items() for part in parts]
    if clash := [name for name in taken if name in frame.columns]:
        raise AutoImbError(
            f"X has column(s) {clash} named as the parts a date column is read into (its "
            "month, weekday and hour, as 'date.month'); one would overwrite the other. Rename "
            "them."
        )
    zoned = [c for c in dates if column_kinds.zoned(frame[c])]
    frame = column_kinds.expand_dates(frame, dates)
    typed = set(typed_numbers(frame))  # read as one matrix (autoimb.data.typed)
    untyped = [c for c in frame.columns if c not in typed]
    text = [c for c in untyped if _is_categorical(frame[c])]
    # Text is categories whatever the user named: as numbers it would be all missing.
    categorical = text if named is None else named + [c for c in text if c not in named]

    _refuse_containers(frame)
    constant = set(constant_columns(frame, [c for c in frame.columns if c in typed]))
    for column in untyped:
        series = frame[column]
        if series.isna().all() or series.nunique(dropna=True) <= 1:
            constant.add(column)
    # One value where the others are missing is a flag (1 / empty, "yes" / empty): whether it
    # is there is the information, kept as a category beside the missing one.
    flags = [c for c in frame.columns if c in constant and 0 < frame[c].count() < len(frame)]
    constant -= set(flags)
    categorical += [c for c in flags if c not in categorical]
    dropped = [c for c in frame.columns if c in constant]
    if dropped:
        warnings.warn(
            f"Dropping {len(dropped)} constant or all-missing column(s): {dropped[:10]}"
            f"{' …' if len(dropped) > 10 else ''}. They carry no information.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    if named is None:
        numbers = [c for c in frame.columns if c in typed and c not in dates]
        dropped += column_kinds.left_out(frame, categorical, numbers, set(dropped))
    else:  # columns the user named are kept, whatever they look like
        unnamed = [c for c in text if c not in named]
        dropped += column_kinds.left_out(frame, unnamed, [], set(dropped))
    frame = frame.drop(columns=dropped)
    categorical = [c for c in categorical if c not in dropped]
    if frame.shape[1] == 0:
        raise AutoImbError(
            "every column of X is constant, missing or an identifier; there is nothing to learn "
            "from."
        )

    numeric_coded = [c for c in categorical if _holds_numbers(frame[c])]
    numeric = [c for c in frame.columns if c not in categorical]
    booleans = [c for c in numeric if _holds_booleans(frame[c])]
    frame, infinite = as_floats(frame, [c for c in numeric if c in typed])
    if infinite is not None:
        raise AutoImbError(infinite_values(infinite))
    for column in frame.columns:
        if column in categorical:
            frame[column] = as_category_strings(frame[column])
        elif column not in typed:
            values = pd.to_numeric(frame[column], errors="coerce").astype(float)
            if beyond_float32(values.to_numpy()).any():
                raise AutoImbError(infinite_values(column))
            frame[column] = values
    frame = frame[categorical + numeric]
    warn_of_many_values(frame, categorical)
    if frame.shape[1] > frame.shape[0]:
        logger.info(
            "X has more columns (%d) than rows (%d); the linear and tree models regularise, but "
            "consider feature selection.",
            *frame.shape[::-1],
        )
    return Dataset(
        frame,
        encoded,
        classes,
        categorical,
        numeric,
        weights,
        dropped,
        numeric_coded,
        positive,
        {c: p for c, p in dates.items() if c not in dropped},
        inputs,
        [c for c in zoned if c not in dropped],
        has_feature_names(X),
        booleans,
        [c for c in [*duration_columns(X), *written] if c not in dropped],
    )


def fingerprint_difference(before: dict[str, Any], now: dict[str, Any]) -> str | None:
    """How two fingerprints differ, in a few words; None when they are the same."""
    now = {key: value for key, value in now.items() if key in before}  # an older record's keys
    if before == now:
        return None
    if before.get("rows") != now.get("rows"):
        return f"it had {before.get('rows')} rows and this data has {now.get('rows')}"
    added = [c for c in now.get("columns", []) if c not in before.get("columns", [])]
    removed = [c for c in before.get("columns", []) if c not in now.get("columns", [])]
    if added or removed:
        # A column that is constant or empty in these rows, or an identifier, is left out.
        parts = [f"adds {added[:5]}"] * bool(added) + [
            f"does not learn from {removed[:5]} (absent, or constant, empty or an identifier "
            "in these rows)"
        ] * bool(removed)
        return f"the columns learnt from differ: this data {' and '.join(parts)}"
    if before.get("categorical") != now.get("categorical"):
        return "the same columns are typed differently (categorical against numeric)"
    if before.get("unordered") is not None and before.get("unordered") == now.get("unordered"):
        return (
            f"it has the same {now.get('rows')} rows, with their labels, in another order: "
            "the folds, drawn by position, would split them otherwise than its trials were "
            "scored on (give the rows in the order it searched them)"
        )
    if before.get("weights", now.get("weights")) != now.get("weights"):
        if before["weights"] is None:
            weights = "was searched without sample weights, and these rows are weighted"
        elif now.get("weights") is None:
            weights = "was searched with sample weights, and these rows are not weighted"
        else:
            weights = "was searched with other sample weights"
        return f"it has the same {now.get('rows')} rows and columns, but {weights}"
    return (
        f"it has the same {now.get('rows')} rows and columns, but other values (if it is the "
        "same file, read it with the missing-value markers it was searched with)"
    )


def infinite_values(column: str) -> str:
    return (
        f"column {column!r} holds infinite values, or values beyond ±3.4e38, which the models "
        "read as infinite; replace them (e.g. with NaN, which autoimb imputes), or rescale the "
        "column."
    )
