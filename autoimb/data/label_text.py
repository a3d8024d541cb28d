"""A file's label column, typed from its text.

pandas types a CSV's label column as it types a feature: "01" and "007" become 1 and 7, "1.1"
and "1.10" one class 1.1. Class codes must come back as the file wrote them (they name the
predictions and their columns), so the column is read as text and typed here: as numbers or
booleans where that keeps every class as written, as text where it would not.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# What pandas reads as booleans in a column of nothing else.
TRUTHS = {"True": True, "TRUE": True, "true": True}
TRUTHS.update({"False": False, "FALSE": False, "false": False})

# A number written with a leading zero ("01", "-007"): a code, since as a number it loses it.
_PADDED = re.compile(r"^[+-]?0\d")
# The text of a whole number that a number keeps: "1" and "1.0" both name the class 1.
_WHOLE_ZEROS = re.compile(r"\.0*$")


def typed_labels(labels: pd.Series, decimal: str = ".") -> pd.Series:
    """Text labels (missing ones NaN) as pandas would type them, unless a class would change:
    a code with a leading zero, or two spellings that one number would merge ("1.1" and
    "1.10"; "1" and "1.0" stay one class, as the same file's 1 and 1.0 are)."""
    import pandas as pd

    present = labels.dropna()
    if present.isin(list(TRUTHS)).all() and len(present):
        mapped = labels.map(TRUTHS)
        return mapped.astype(bool) if len(present) == len(labels) else mapped
    text = present.astype(str).str.strip()
    if decimal == ",":  # "1,0" is the 1.0 of such a file
        text = text.str.replace(",", ".")
    try:
        numbers = pd.to_numeric(labels.str.replace(",", ".") if decimal == "," else labels)
    except (ValueError, TypeError):
        return labels
    if text.str.match(_PADDED).any():
        return labels
    spellings = text.str.replace(_WHOLE_ZEROS, "", regex=True).str.lstrip("+")
    if spellings.nunique() > numbers.dropna().nunique():
        return labels
    return numbers


def whole(labels: pd.Series) -> pd.Series:
    """Labels the file wrote as whole numbers, as integers: 0 and 1, not 0.0 and 1.0, whether
    "1.0" was written or empty cells made the column floats (the classes name the
    predictions' columns: proba_1)."""
    import pandas as pd

    if not pd.api.types.is_float_dtype(labels) or not (labels.abs() < 2**53).all():
        return labels  # text, or too large for an integer to hold as written (inf)
    return labels.astype("int64") if (labels == labels.round()).all() else labels
