"""The target: class labels checked and encoded, and the user's positive class found among them."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import DataConversionWarning

from autoimb._warnings import user_stacklevel
from autoimb.exceptions import AutoImbError

MAX_CLASSES = 50


def check_one_column(y: Any) -> None:
    """Labels of several columns (a DataFrame of two, a 2-D array) are refused with the column
    to pass: read as one run of labels they were counted twice as many as the rows."""
    shape = tuple(getattr(y, "shape", None) or np.asarray(y, dtype=object).shape)
    if len(shape) < 2 or shape[1:] == (1,):
        return
    names = [plain(c) for c in getattr(y, "columns", [])]  # a pandas, polars … frame's
    if names:
        fix = f"y[{names[0]!r}] (y has columns {names[:5]})"
    else:
        fix = "y[:, 0]" if len(shape) == 2 and shape[1] else "a 1-D array of one label per row"
    raise AutoImbError(
        f"y must be one column of labels (1-D); got shape {shape}. Pass the label "
        f"column alone: {fix}. A search learns one target: for several, search once for each."
    )


def check_target(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's class code, and the classes in their own type (floats stay floats, as in
    scikit-learn, so predictions come back as the labels were given)."""
    if y is None:
        raise AutoImbError(
            "the search requires y to be passed, but the target y is None: pass the labels."
        )
    if isinstance(y, str):  # a label column's name, as some AutoML tools take it
        raise AutoImbError(
            f"y is the text {y!r}, not labels; to learn column {y!r} of a DataFrame X, pass "
            f"X.drop(columns={y!r}) and X[{y!r}] (command line: --target {y})."
        )
    check_one_column(y)
    values = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is used as one "
            "column of labels (y.ravel() avoids this warning).",
            DataConversionWarning,
            stacklevel=user_stacklevel(),
        )
        values = values.ravel()
    if values.ndim != 1:
        raise AutoImbError(f"y must be one column of labels; got shape {values.shape}.")
    if len(values) != n_rows:
        raise AutoImbError(
            f"X and y must have the same number of rows; got {n_rows} rows in X and "
            f"{len(values)} labels in y."
        )
    missing = pd.isna(values)
    if missing.any():
        raise AutoImbError(
            f"y has {int(missing.sum())} missing labels (NaN/None); drop those rows or fill them "
            "before the search."
        )
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise AutoImbError("y holds infinite values; labels must be class names or integers.")
        if np.any(values != np.round(values)):
            raise AutoImbError(
                "Unknown label type: continuous. y holds floats with a fractional part, which "
                "looks like a regression target; autoimb classifies: pass class labels "
                "(integers, strings or booleans)."
            )
    if values.dtype.kind == "O":
        values = values.astype(object)
        kinds = sorted({_kind(v) for v in values})
        if len(kinds) > 1:
            raise AutoImbError(
                f"y mixes labels of different types ({', '.join(kinds)}), so 1 and '1' would be "
                "two classes; give every label one type (e.g. y.astype(str))."
            )
    classes, encoded = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise AutoImbError(
            f"y has only one class ({plain(classes[0]) if len(classes) else 'none'!r}); a "
            "classifier needs examples of at least two classes."
        )
    if len(classes) > MAX_CLASSES:
        raise AutoImbError(
            f"y has {len(classes)} classes, more than the {MAX_CLASSES} autoimb supports; is this "
            "a regression target or an ID column? Group rare classes or pick another target."
        )
    _warn_label_variants(classes)
    counts = np.bincount(encoded)
    single = [plain(classes[i]) for i in np.flatnonzero(counts < 2)]
    if single:
        raise AutoImbError(
            f"class(es) {single} have a single example; cross-validation needs at least 2 per "
            "class. Collect more examples or drop/merge those classes."
        )
    return encoded.astype(np.int64), classes


def _kind(value: Any) -> str:
    """A label's type as a user names it: booleans, numbers (integral or not) and text."""
    if isinstance(value, bool | np.bool_):
        return "booleans"
    if isinstance(value, int | float | np.number):
        return "numbers"
    return "text" if isinstance(value, str) else type(value).__name__


def label_variants(classes: Any) -> list[list[Any]]:
    """Groups of labels that differ only by case or surrounding space: most likely one class
    typed two ways; each would become a class of its own, and a binary metric a macro one."""
    groups: dict[str, list[Any]] = {}
    for label in classes:
        if isinstance(label, str):
            groups.setdefault(label.strip().lower(), []).append(label)
    return [labels for labels in groups.values() if len(labels) > 1]


def _warn_label_variants(classes: np.ndarray) -> None:
    if variants := label_variants(classes):
        warnings.warn(
            f"y has labels that differ only by case or spaces: {variants[:3]}; each is a class "
            f"of its own ({len(classes)} classes). Clean them (e.g. y.str.strip().str.lower()) "
            "if they mean the same.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def plain(value: Any) -> Any:
    """numpy scalars as python values, so messages read ``0`` and not ``np.int64(0)``."""
    return value.item() if isinstance(value, np.generic) else value


def positive_code(pos_label: Any, classes: np.ndarray) -> int:
    """The code of the user's positive class. A label typed on a command line or read from a
    file matches by what it says: ``true`` a boolean True, ``1.0`` or ``1`` a class 1."""
    if len(classes) != 2:
        shown = [plain(c) for c in classes[:10]]
        more = " …" if len(classes) > len(shown) else ""
        raise AutoImbError(
            f"pos_label applies to two classes, and y has {len(classes)} ({shown}{more}); "
            "multi-class searches use macro metrics, which weigh every class. Leave pos_label "
            "out."
        )
    for same in (_same_value, _same_text):
        matches = [code for code, label in enumerate(classes) if same(plain(label), pos_label)]
        if len(matches) == 1:
            return matches[0]
    by_case = [plain(c) for c in classes if str(plain(c)).casefold() == str(pos_label).casefold()]
    hint = f" (did you mean {by_case[0]!r}?)" if len(by_case) == 1 else ""
    raise AutoImbError(
        f"pos_label {pos_label!r} is not a class of y ({[plain(c) for c in classes]}){hint}; "
        "pass one of them."
    )


def _same_value(label: Any, pos_label: Any) -> bool:
    if isinstance(pos_label, np.generic):
        pos_label = pos_label.item()
    if type(label) is bool or type(pos_label) is bool:
        return _as_bool(label) is _as_bool(pos_label) is not None
    if isinstance(label, int | float):
        return _as_number(pos_label) == label
    return label == pos_label


def _same_text(label: Any, pos_label: Any) -> bool:
    """Labels a file wrote with spaces around them (" positive ") match their text."""
    return str(label).strip() == str(pos_label).strip()


def _as_bool(value: Any) -> bool | None:
    """True, "true", 1 and "1" are one truth (a boolean column written to a file and back)."""
    return {"true": True, "1": True, "false": False, "0": False}.get(str(value).strip().lower())


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None


def check_label_not_in_features(frame: pd.DataFrame, y: Any, codes: np.ndarray) -> None:
    """Refuse X that still holds the label column itself (``search(df, df["target"])``); warn of
    any other column that maps one-to-one onto the labels on every row: the label again, or a
    column known only after it. Either gives perfect scores that mean nothing on new rows."""
    n_classes = int(codes.max()) + 1 if len(codes) else 0
    if n_classes < 2:
        return
    # A few rows of each class first: cheap on wide data, and a copy must pass there too.
    rows = np.concatenate(
        [np.flatnonzero(codes == k)[:_SAMPLE_PER_CLASS] for k in range(n_classes)]
    )
    copies = _columns_where(frame, codes, rows, lambda v, c: _one_to_one(v, c, n_classes))
    _warn_of_filled_for_one_class(frame, codes, rows, skip=set(copies))
    if not copies:
        return
    name = getattr(y, "name", None)
    # The frame's names are text by now: a label column named 8 (a file read without a
    # header) is the column "8" here.
    if name is not None and str(name) in {str(c) for c in copies}:
        raise AutoImbError(
            f"X still holds the label column {name!r}: the search would learn the answer. Pass "
            f"X.drop(columns={name!r}) as X."
        )
    shown = ", ".join(repr(c) for c in copies[:5])
    warnings.warn(
        f"column(s) {shown} match the labels one-to-one on every row: the label again, or "
        "known only once the label is; scores will be near perfect and mean nothing for new "
        "rows. Drop them from the data unless new rows carry them too.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


_SAMPLE_PER_CLASS = 128


def _columns_where(
    frame: pd.DataFrame,
    codes: np.ndarray,
    rows: np.ndarray,
    tells: Callable[[pd.Series, np.ndarray], bool],
    leave: Collection[Any] = (),
) -> list[Any]:
    """The columns, but those in ``leave``, whose values ``tells`` the labels from: looked at
    on ``rows`` (a few of each class) first, cheap on wide data, then on every row."""
    sample, sampled = frame.iloc[rows], codes[rows]
    return [
        column
        for i, column in enumerate(frame.columns)
        if column not in leave
        and tells(sample.iloc[:, i], sampled)
        and tells(frame.iloc[:, i], codes)
    ]


def _warn_of_filled_for_one_class(
    frame: pd.DataFrame, codes: np.ndarray, rows: np.ndarray, skip: set
) -> None:
    """A column that holds a value on exactly one class's rows (a churn reason, a
    cancellation date, a fraud case number) tells the label by being there at all."""
    if int(codes.max()) != 1:
        return
    filled = _columns_where(frame, codes, rows, _filled_for_one_class, leave=skip)
    if filled:
        warnings.warn(
            f"column(s) {', '.join(repr(c) for c in filled[:5])} hold a value on the rows of "
            "one class only, and on all of them: known only once the label is (a reason, a "
            "date of the event); scores will be near perfect and mean nothing for new rows. "
            "Drop them from the data unless new rows carry them too.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _filled_for_one_class(series: pd.Series, codes: np.ndarray) -> bool:
    filled = series.notna().to_numpy()
    if filled.all() or not filled.any():
        return False
    return bool(np.array_equal(filled, codes == 1) or np.array_equal(filled, codes == 0))


def _one_to_one(series: pd.Series, codes: np.ndarray, n_classes: int) -> bool:
    """Whether ``series`` and the labels determine each other on these rows."""
    try:
        values, uniques = pd.factorize(series)
    except TypeError:  # unhashable cells: refused elsewhere, with their own message
        return False
    if len(uniques) != n_classes or (values < 0).any():
        return False
    pairs = np.unique(values.astype(np.int64) * n_classes + codes)
    return len(pairs) == n_classes
