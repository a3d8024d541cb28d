"""Property: on any small data frame, a search succeeds or refuses with autoimb's own error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import autoimb
from autoimb.exceptions import AutoImbError

SMALL_SPACE = """
resampler: {none: {}, smote: {k_neighbors: 3}, random_under: {}}
weighting: {none: {}, balanced: {}}
model: {logistic_regression: {}, lightgbm: {n_estimators: 10}}
"""


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray]:
    n = draw(st.integers(min_value=0, max_value=40))
    n_columns = draw(st.integers(min_value=1, max_value=4))
    columns = {}
    for i in range(n_columns):
        kind = draw(st.sampled_from(["float", "int", "text", "bool", "nan"]))
        if kind == "float":
            values = draw(
                st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)), min_size=n, max_size=n)
            )
        elif kind == "int":
            values = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
        elif kind == "text":
            values = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        else:
            values = [np.nan] * n
        columns[f"c{i}"] = values
    labels = draw(st.lists(st.sampled_from(["no", "yes", "maybe"]), min_size=n, max_size=n))
    return pd.DataFrame(columns, index=range(n)), np.asarray(labels, dtype=object)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_search_succeeds_or_raises_its_own_error(frame) -> None:
    X, y = frame
    from autoimb.engine.space import parse_space

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = autoimb.search(
                X,
                y,
                metric="f1",
                n_trials=3,
                cv=3,
                random_state=0,
                space=parse_space(SMALL_SPACE),
                warm_start=None,
            )
        except AutoImbError as exc:
            event(f"refused: {str(exc)[:60]}")
            return
    event("searched")
    predicted = result.best_pipeline.predict(X)
    assert len(predicted) == len(X)
    assert set(predicted) <= set(y)
