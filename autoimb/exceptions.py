"""The library's own error types, so callers can catch autoimb's refusals apart from bugs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class AutoImbError(ValueError):
    """Bad input or a request autoimb cannot honour; the message says what to change."""


class SearchSpaceError(AutoImbError):
    """A search-space file is malformed or names an unknown component."""


class DataTypeError(AutoImbError, TypeError):
    """A value of a kind autoimb cannot learn from (a list or dict in a cell); a TypeError as
    well, as scikit-learn raises for it."""


class SchemaError(AutoImbError):
    """New data does not match the columns the pipeline was fitted on."""


class OtherDataError(AutoImbError):
    """A stored study is resumed on other data than it was run on."""


class UntrustedModelError(AutoImbError):
    """A model file holds types autoimb does not write, so it is not loaded."""


class NotWritten(AutoImbError):
    """A file could not be written where it goes (``path``), for the system's ``reason``."""

    def __init__(self, path: Any, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"cannot write {path} ({reason}); give a path in a folder you can write.")


class StorageNotOpened(AutoImbError):
    """The study's storage could not be opened as a search started: its path or URL is at
    fault (the fix is the user's), not a storage lost while the search ran."""


class StorageFailed(AutoImbError):
    """The study's storage failed while the search ran: the search stops, its finished trials
    kept. ``said`` is set once the command line has shown it, ahead of the model it saves."""

    said = False


class JournalDamaged(StorageFailed):
    """The study's journal file was damaged while the search ran (a process sharing it stopped
    mid-write)."""


class JournalLost(StorageFailed):
    """The study's journal file could not be written while the search ran (its disk full, its
    folder made read-only, or removed)."""


class DatabaseLost(StorageFailed):
    """The study's database could not be reached while the search ran (its server stopped, a
    connection was cut, or it had none left)."""


class TrialTimeout(Exception):
    """A trial ran past its time cap; the search records it as pruned, with why, and goes on."""


def did_you_mean(
    name: Any, known: Iterable[Any], *, cutoff: float = 0.6, aside: bool = False
) -> str:
    """The hint a refusal of an unknown name ends with: a misspelling is the commonest cause."""
    names = [str(k) for k in known]
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=cutoff) or [
        n for n in names if n.lower() == str(name).lower()
    ]
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)" if aside else f" Did you mean {close[0]!r}?"
