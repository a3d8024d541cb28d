"""Trial-independent preprocessing: one numeric matrix with the categorical codes first.

Imputation and category codes are learnt on the training rows only; they do not depend on the
strategy, so a search computes them once per fold and every trial reuses them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from autoimb.data.category_text import as_saved_categories
from autoimb.data.many_categories import most_frequent

MISSING = "__missing__"


class Preprocessor(TransformerMixin, BaseEstimator):
    """Categories → integer codes (unseen, and rare in a column of many values, → one extra
    code), numbers → median-imputed floats."""

    def __init__(self, categorical: tuple[str, ...] = (), numeric: tuple[str, ...] = ()) -> None:
        self.categorical = categorical
        self.numeric = numeric

    def fit(self, X: pd.DataFrame, y: object = None) -> Preprocessor:
        self.categories_ = [
            most_frequent(X[c].fillna(MISSING).astype(str)) for c in self.categorical
        ]
        medians = X[list(self.numeric)].median().to_numpy(dtype=float) if self.numeric else []
        self.medians_ = np.nan_to_num(np.asarray(medians, dtype=float))
        self.n_features_out_ = len(self.categorical) + len(self.numeric)
        return self

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Categories seen in training plus one code for anything unseen."""
        return tuple(len(c) + 1 for c in self.categories_)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(X), self.n_features_out_), dtype=np.float64)
        for i, (column, categories) in enumerate(
            zip(self.categorical, self.categories_, strict=True)
        ):
            values = X[column].fillna(MISSING).astype(str)
            codes = pd.Index(categories).get_indexer(values).astype(np.float64)
            if (codes < 0).any():  # a model saved when a float32's text had float64's digits
                values = as_saved_categories(values, categories)
                codes = pd.Index(categories).get_indexer(values).astype(np.float64)
            codes[codes < 0] = len(categories)
            out[:, i] = codes
        if self.numeric:
            numbers = X[list(self.numeric)].to_numpy(dtype=np.float64, copy=True)
            missing = np.isnan(numbers)
            numbers[missing] = np.take(self.medians_, np.nonzero(missing)[1])
            out[:, len(self.categorical) :] = numbers
        return out
