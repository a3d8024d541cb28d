"""The library's own error types, so callers can catch autoimb's refusals apart from bugs."""

from __future__ import annotations


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


class TrialTimeout(Exception):
    """A trial ran past its time cap; the search records it as pruned, with why, and goes on."""
