"""Rows that repeat another row exactly, and rows whose features carry two labels.

A copy of a row lands on both sides of a random fold about as often as not, and a model that
remembers its training rows then scores well on it: copies made by oversampling before the
search, or by an export that repeats rows, make ``best_score`` and its interval optimistic
(every minority row of yeast4 repeated 5 times: F1 0.99 on the folds, 0.22 on held-out rows).
Identical rows can also be real, distinct observations of discrete data, which new data repeats
too, and random folds are then right; autoimb cannot tell the two apart, so it keeps the folds
and says what it found, with the fixes. Folds by group, or the user's own splitter, are the
user's choice of what sits together, and are left alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from autoimb._warnings import user_stacklevel
from autoimb.data.dataset import Dataset
from autoimb.data.labels import plain
from autoimb.engine.splits import Folds

# Copies of at least this share of a class's rows are worth a warning: a tenth of the minority
# validated on its own copies already lifts its recall, and natural duplicates below it are
# seldom worth a user's attention.
COPIED_SHARE = 0.10
_SHOWN_CLASSES = 3  # the classes a message names, smallest first
# What a note of copies says of them, by which the headline score's readers find the note.
_COPIED = "repeat another row of their class exactly"
# Said beside a score that copies flattered, pointing to the note with the fixes.
COPIES_CAVEAT = "optimistic: rows repeat across folds"


@dataclass(frozen=True)
class CopiedRows:
    """Per class, its rows and those that repeat an earlier row of it (features and label);
    and the rows whose features occur under another label too."""

    classes: np.ndarray
    sizes: np.ndarray
    copies: np.ndarray
    conflicting: int

    @property
    def copied_classes(self) -> list[int]:
        """The classes copies make up ``COPIED_SHARE`` of, smallest first; not the largest,
        whose copies (network records, discrete readings) are mostly alike observations and
        move a rare class's scores little: oversampling and repeated exports copy the rest."""
        shares = self.copies / np.maximum(self.sizes, 1)
        order = np.argsort(self.sizes, kind="stable")[:-1]
        return [int(c) for c in order if self.copies[c] and shares[c] >= COPIED_SHARE]

    @property
    def flatter_the_score(self) -> bool:
        """Whether copies of a rare class's rows, validated by models trained on them, make
        the score and its interval optimistic (what the model card's ``scored_on_copies`` says)."""
        return bool(self.copied_classes)

    @property
    def worth_saying(self) -> bool:
        """Copies that matter, or rows of two labels as many as a tenth of the smallest class."""
        return bool(self.copied_classes) or self.conflicting >= COPIED_SHARE * self.sizes.min()

    def counted(self) -> str:
        """ "144 of the 180 rows of class 1 (80%)", for the classes that have copies enough."""
        parts = [
            f"{self.copies[c]} of the {self.sizes[c]} rows of class {plain(self.classes[c])!r} "
            f"({self.copies[c] / self.sizes[c]:.0%})"
            for c in self.copied_classes[:_SHOWN_CLASSES]
        ]
        return " and ".join(parts)

    def conflicts(self) -> str:
        if not self.conflicting:
            return ""
        return (
            f"{self.conflicting} rows share their features with a row of another class "
            "(conflicting labels): no model can tell them apart, so they set a floor under any "
            "model's errors."
        )


def copied_rows(data: Dataset, folds: Folds) -> CopiedRows | None:
    """What repeats in the validated rows, or None where the folds are by group or the user's
    own."""
    if folds.custom or folds.groups is not None or folds.kind != "stratified":
        return None
    rows = data.row_hashes
    pairs = pd.DataFrame({"row": rows, "label": data.y})
    copy = pairs.duplicated().to_numpy()
    distinct = pairs["row"][~copy]
    two_labels = distinct[distinct.duplicated()].unique()
    return CopiedRows(
        data.classes,
        data.class_counts,
        np.bincount(data.y[copy], minlength=data.n_classes),
        int(np.isin(rows, two_labels).sum()),
    )


def warn_of_copies(data: Dataset, folds: Folds) -> None:
    """Warn, once at the search's start, of copies that make the score optimistic."""
    found = copied_rows(data, folds)
    if found is None or not found.worth_saying:
        return
    text = found.conflicts()
    if found.copied_classes:
        text = (
            f"{found.counted()} {_COPIED}. Random folds put a "
            "row's copies on both sides of a fold, so the search validates on rows it trained "
            "on: best_score and its interval are optimistic. If the copies were made (by "
            "oversampling, or an export that repeats rows), drop them (X.drop_duplicates(), "
            "and y at the rows kept; to oversample, give the original rows and let the search "
            "resample them), or keep each row's copies in one fold with "
            "groups=pd.util.hash_pandas_object(X, index=False). If they are distinct "
            "observations that happen to be alike, random folds are right and this does not "
            f"apply. {text}"
        ).strip()
    warnings.warn(text, UserWarning, stacklevel=user_stacklevel())


def copies_note(data: Dataset, folds: Folds) -> str | None:
    """The warning's fact, for the result's notes and the model card."""
    return note_of(copied_rows(data, folds))


def note_of(found: CopiedRows | None) -> str | None:
    """:func:`copies_note` of rows already looked through."""
    if found is None or not found.worth_saying:
        return None
    if not found.copied_classes:
        return found.conflicts()
    return (
        f"{found.counted()} {_COPIED}: random folds put a "
        "row's copies on both sides, so the score and its interval are optimistic unless the "
        "copies are distinct observations alike. Drop the copies, or keep each row's copies "
        "in one fold (groups=..., or --group COL on the command line). " + found.conflicts()
    ).strip()


def scored_on_copies(notes: Sequence[str]) -> bool:
    """Whether a search's notes say copied rows flattered its score: the headline score and
    its interval are then to be read with that caveat beside them, not only in the notes."""
    return any(_COPIED in note for note in notes)


def copies_caveat(notes: Sequence[str], see: str = "see notes") -> str:
    """``optimistic: rows repeat across folds, see notes`` beside a score copied rows flattered
    (``see``: where the note with the fixes is), else empty: the notes come last."""
    return f"{COPIES_CAVEAT}, {see}" if scored_on_copies(notes) else ""
