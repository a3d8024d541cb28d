"""Many new rows are scored in blocks: the same labels and probabilities as in one pass, and
the same warnings and errors, counted over every row."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import autoimb
import autoimb.data.conform as conforming
import autoimb.posthoc.threshold as threshold
from autoimb.exceptions import SchemaError


@pytest.fixture(scope="module")
def data(hepatitis) -> tuple[pd.DataFrame, pd.Series]:
    X, y = hepatitis
    first = X.columns[0]
    return X.assign(kind=np.where(X[first] > X[first].median(), "high", "low")), y


@pytest.fixture(scope="module")
def found(data):
    X, y = data
    return autoimb.search(X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0)


def _many(X: pd.DataFrame, times: int = 5) -> pd.DataFrame:
    return pd.concat([X] * times, ignore_index=True)


def _scored(model, X, *, cells: int, monkeypatch) -> tuple[np.ndarray, np.ndarray, list[str]]:
    monkeypatch.setattr(threshold, "BLOCK_CELLS", cells)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels, proba = model.predict_with_proba(X)
    # autoimb's own warnings, which name the caller's line; a library's (a deprecation some
    # versions raise at each call) would repeat with each block under "always".
    return labels, proba, [str(w.message) for w in caught if w.filename == __file__]


def test_many_rows_score_as_in_one_pass_with_the_same_warnings(found, data, monkeypatch):
    X, _ = data
    schema = found.best_pipeline.model_card_["schema"]
    new = _many(X).assign(note="x")  # a column the model was not trained on
    new.loc[len(new) // 3 :, "kind"] = "never seen"  # most rows, the later blocks only
    whole = _scored(found.best_pipeline, new, cells=1 << 40, monkeypatch=monkeypatch)
    columns = len(schema["categorical"]) + len(schema["numeric"])
    blocked = _scored(found.best_pipeline, new, cells=40 * columns, monkeypatch=monkeypatch)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-12, atol=1e-15)
    assert blocked[2] == whole[2]  # each warning once, with the counts of every row
    assert any("never seen" in message for message in whole[2])
    assert any("not trained on" in message for message in whole[2])


def test_a_value_that_cannot_be_read_is_counted_over_every_row(found, data, monkeypatch):
    X, _ = data
    number = found.best_pipeline.model_card_["schema"]["numeric"][0]
    new = _many(X).astype({number: object})
    new.loc[len(new) // 2 :, number] = "twelve"  # in the later blocks only
    monkeypatch.setattr(threshold, "BLOCK_CELLS", 1 << 40)
    with pytest.raises(SchemaError) as whole:
        found.best_pipeline.predict(new)
    monkeypatch.setattr(threshold, "BLOCK_CELLS", 1000)
    with pytest.raises(SchemaError) as blocked:
        found.best_pipeline.predict(new)
    assert str(blocked.value) == str(whole.value)


def test_a_model_trained_on_an_array_scores_many_rows_without_a_word(small_binary, monkeypatch):
    X, y = small_binary
    model = autoimb.search(X.to_numpy(), y.to_numpy(), metric="f1", n_trials=1, space="fast")
    rows = np.tile(X.to_numpy(), (4, 1))
    whole = _scored(model.best_pipeline, rows, cells=1 << 40, monkeypatch=monkeypatch)
    blocked = _scored(model.best_pipeline, rows, cells=10 * X.shape[1], monkeypatch=monkeypatch)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-12, atol=1e-15)
    assert blocked[2] == whole[2] == []


def test_rows_checked_and_typed_once_are_not_checked_again_in_each_block(found, data, monkeypatch):
    """Each block was brought to the schema a second time inside the model (by each member
    of an ensemble trained on other columns)."""
    X, _ = data
    schema = found.best_pipeline.model_card_["schema"]
    columns = len(schema["categorical"]) + len(schema["numeric"])
    whole = found.best_pipeline.predict_proba(_many(X))
    calls = []
    expand = conforming.expand_dates
    monkeypatch.setattr(conforming, "expand_dates", lambda *a: calls.append(1) or expand(*a))
    blocked = _scored(found.best_pipeline, _many(X), cells=40 * columns, monkeypatch=monkeypatch)
    assert len(calls) == 1
    np.testing.assert_allclose(blocked[1], whole, rtol=1e-12, atol=1e-15)


def test_a_frame_marked_as_conformed_is_taken_as_it_is_for_its_schema_only(found, data):
    X, _ = data
    schema = found.best_pipeline.model_card_["schema"]
    frame = conforming.conformed_once(X, schema)
    assert conforming.conform(frame, schema) is frame
    block = frame.iloc[10:20]
    assert conforming.conform(block, schema) is block
    other = {**schema, "numeric": schema["numeric"][1:]}
    narrower = conforming.conform(frame, other)
    assert list(narrower.columns) == other["categorical"] + other["numeric"]


def test_a_frame_conform_hands_out_is_checked_again_once_edited(found, data):
    """pandas keeps a frame's attrs through edits: a mark on what conform returns would let an
    edited frame (a category given as a number, a marker in a number column) past the checks."""
    X, _ = data
    pipeline = found.best_pipeline.estimator
    members = getattr(pipeline, "estimators", [pipeline])
    schema = members[0].schema
    conformed = members[0].conform(X)
    category, number = schema["categorical"][0], schema["numeric"][0]
    edited = conformed.assign(**{number: "n/a"})
    assert conforming.conform(edited, schema)[number].isna().all()
    codes = conformed.assign(**{category: 2.0})
    assert (conforming.conform(codes, schema)[category] == "2").all()
