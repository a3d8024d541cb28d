from __future__ import annotations

import hashlib
import itertools
import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import autoimb
from autoimb.data.dataset import validate
from autoimb.engine import advice as advice_module
from autoimb.engine.advice import minority_learning_curve
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import get_metric

LIGHTGBM = {"model": {"name": "lightgbm", "n_estimators": 30}}
LOGISTIC = {"weighting": {"name": "balanced"}, "model": {"name": "logistic_regression"}}


class RecordingPipeline(StrategyPipeline):
    """Notes the rows each fit and prediction sees, to check what the curve holds fixed."""

    log: ClassVar[list[tuple[str, int, str]]] = []

    def fit_transformed(self, preprocessor, Xt, y, sample_weight=None, n_classes=None):
        self.log.append(("fit", len(y), ""))
        return super().fit_transformed(preprocessor, Xt, y, sample_weight, n_classes)

    def predict_proba_transformed(self, Xt):
        digest = hashlib.sha1(np.ascontiguousarray(Xt).tobytes()).hexdigest()
        self.log.append(("predict", len(Xt), digest))
        return super().predict_proba_transformed(Xt)


@pytest.fixture(scope="module")
def yeast(yeast4):
    return validate(*yeast4)


@pytest.fixture(scope="module")
def yeast_f1(yeast):
    with pytest.MonkeyPatch.context() as patch:
        RecordingPipeline.log = []
        patch.setattr(advice_module, "StrategyPipeline", RecordingPipeline)
        result = minority_learning_curve(LIGHTGBM, yeast, "f1", random_state=0)
        log = list(RecordingPipeline.log)
    return result, log


def test_points_grow_in_minority_count(yeast_f1, yeast):
    result, _ = yeast_f1
    counts = [p.minority_count for p in result.points]
    assert len(counts) == 5
    assert all(a < b for a, b in itertools.pairwise(counts))
    # Training folds of 3-fold CV hold about two thirds of the 51 minority rows.
    assert counts[-1] == pytest.approx(51 * 2 / 3, abs=1)
    assert result.current_count == 51
    assert all(p.n_runs == 2 for p in result.points)
    assert {p.fraction for p in result.points} == {0.2, 0.35, 0.5, 0.75, 1.0}


def test_every_point_is_scored_on_the_same_validation_rows(yeast_f1, yeast):
    result, log = yeast_f1
    cv = CrossValidation(yeast, 3, random_state=0)
    assert {run.validation_digest for run in result.runs} == {advice_module._digest(cv)}
    np.testing.assert_array_equal(result.fold_ids, cv.fold_ids)
    predictions = [(rows, digest) for kind, rows, digest in log if kind == "predict"]
    n_runs = len(result.runs)
    assert len(predictions) == 3 * n_runs
    # Run after run, fold k predicts the very same matrix (yeast4 has no missing values,
    # so refitted imputation cannot change it).
    for k in range(3):
        assert len({predictions[r * 3 + k] for r in range(n_runs)}) == 1
    assert sum(rows for rows, _ in predictions[:3]) == len(yeast.y)
    # Training sets shrink with the fraction, the majority rows staying.
    fits = [rows for kind, rows, _ in log if kind == "fit"]
    assert min(fits) < max(fits)
    assert min(fits) > np.sort(np.bincount(yeast.y))[-1] * 2 / 3 - 5


def test_the_full_fraction_is_the_ordinary_cross_validation(yeast_f1, yeast):
    result, _ = yeast_f1
    full = next(r for r in result.runs if r.fraction == 1.0 and r.repeat == 0)
    cv = CrossValidation(yeast, 3, random_state=0)
    expected = evaluate(LIGHTGBM, cv, get_metric("f1"), random_state=0).value
    assert full.score == pytest.approx(expected, abs=1e-12)


def test_predictions_are_finite_and_capped(yeast_f1):
    result, _ = yeast_f1
    for value in (result.predicted_current, result.predicted_2x, result.predicted_5x):
        assert math.isfinite(value)
        assert value <= 1.0
    assert result.gain_2x == pytest.approx(result.predicted_2x - result.predicted_current)
    assert result.gain_5x == pytest.approx(result.predicted_5x - result.predicted_current)
    if result.fit.kind == "power":
        assert result.predicted_current <= result.predicted_2x <= result.predicted_5x
    assert np.all(result.predict(np.array([1e6, 1e9])) <= 1.0)


def test_summary_and_frame(yeast_f1):
    result, _ = yeast_f1
    text = result.summary()
    assert "F1" in text
    assert "2×" in text and "5×" in text and "≈102" in text
    # A change on the curve's own measure, not a score to set beside the headline one.
    assert "is expected to change by" in text and "rise from" not in text
    assert "its own way (the strategy given, 3-fold, on subsamples:" in text
    assert "not as the headline score is measured" in text
    assert repr(result) == f"LearningCurveAdvice({text!r})"  # readable, not a wall of arrays
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["kind"]) == ["measured"] * 5 + ["predicted"] * 3
    assert {"minority_count", "score", "std", "fitted"} <= set(frame.columns)
    assert frame.loc[frame["kind"] == "predicted", "minority_count"].tolist() == [51, 102, 255]
    assert result.to_dict()["summary"] == text


def test_the_frames_fraction_is_of_the_whole_datas_minority_on_every_row(yeast_f1):
    """Measured rows gave a share of one training fold's minority, predicted ones a multiple
    of the whole data's: two points at 1.0 that were different sizes."""
    result, _ = yeast_f1
    frame = result.to_frame()
    assert frame["fraction"].to_numpy() == pytest.approx(
        frame["minority_count"].to_numpy() / result.current_count
    )
    largest = frame.loc[frame["kind"] == "measured", "fraction"].max()
    assert largest == pytest.approx(2 / 3, abs=0.02)  # a 3-fold training fold's share
    assert frame.loc[frame["kind"] == "predicted", "fraction"].tolist() == [1.0, 2.0, 5.0]


def test_ranking_metric_and_a_good_fit(yeast):
    result = minority_learning_curve(LOGISTIC, yeast, "average_precision", repeats=1)
    assert result.fit.kind in ("power", "log-linear")
    assert math.isfinite(result.fit.r2)
    assert "average precision" in result.summary()
    assert all(p.n_runs == 1 for p in result.points)
    # Its power curve's exponent sits at the fit's upper bound: the bound chose the shape.
    assert result.fit.kind == "power"
    assert result.fit.params["c"] == pytest.approx(3.0)  # curve_fit.C_BOUNDS
    assert "sits at the limit the fit allows" in result.summary()


def test_multiclass_subsamples_every_class_but_the_largest(glass):
    data = validate(*glass)
    config = {"model": {"name": "random_forest", "n_estimators": 20}}
    result = minority_learning_curve(config, data, "f1", fractions=(0.35, 0.6, 1.0), repeats=1)
    counts = np.bincount(data.y)
    assert len(result.subsampled_classes) == data.n_classes - 1
    assert str(data.classes[int(np.argmax(counts))]) not in result.subsampled_classes
    minority = [p.minority_count for p in result.points]
    assert all(a < b for a, b in itertools.pairwise(minority))
    assert result.multiclass
    assert "every class but the largest" in result.summary()
    assert math.isfinite(result.predicted_5x) and result.predicted_5x <= 1.0


def test_a_cost_metric_is_capped_at_zero(small_binary):
    data = validate(*small_binary)
    result = minority_learning_curve(
        {"model": {"name": "logistic_regression"}}, data, "cost:fn=5,fp=1", repeats=1
    )
    assert result.predicted_5x >= 0.0
    assert np.all(result.predict(np.array([1e9])) >= 0.0)
    assert "cost:fn=5,fp=1" in result.summary()


def test_two_points_fall_back_to_a_log_linear_fit(small_binary):
    data = validate(*small_binary)
    result = minority_learning_curve(LOGISTIC, data, "f1", fractions=(0.5, 1.0), repeats=1)
    assert result.fit.kind == "log-linear"
    assert any("log-linear" in note for note in result.notes)
    assert "Caution" in result.summary()
    assert math.isfinite(result.predicted_2x)


def test_a_time_limit_stops_early_and_says_so(small_binary):
    data = validate(*small_binary)
    result = minority_learning_curve(LOGISTIC, data, "f1", time_limit=1e-3)
    assert len(result.runs) == 1
    assert any("time limit" in note for note in result.notes)
    assert result.fit.kind == "none"
    assert math.isnan(result.predicted_2x)
    text = result.summary()
    assert "Too few" in text and "time limit" in text


class FragilePipeline(StrategyPipeline):
    """Fails with fewer than 20 positive rows, as some resamplers do with tiny classes."""

    def fit_transformed(self, preprocessor, Xt, y, sample_weight=None, n_classes=None):
        if np.count_nonzero(np.asarray(y) == 1) < 20:
            raise ValueError("too few neighbours")
        return super().fit_transformed(preprocessor, Xt, y, sample_weight, n_classes)


def test_a_fraction_the_strategy_cannot_fit_is_left_out(small_binary, monkeypatch):
    data = validate(*small_binary)
    assert data.pos_label == 1
    monkeypatch.setattr(advice_module, "StrategyPipeline", FragilePipeline)
    result = minority_learning_curve(LOGISTIC, data, "f1", repeats=1)
    assert 0.2 not in {p.fraction for p in result.points}
    assert 1.0 in {p.fraction for p in result.points}
    assert any("left out" in note for note in result.notes)
    assert "failed at some fractions" in result.summary()
    X, y = small_binary
    rows = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:9]]
    tiny = validate(X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True))
    with pytest.raises(AutoImbError, match="full training folds"):
        minority_learning_curve(LOGISTIC, tiny, "f1", repeats=1)


def test_bad_inputs_are_refused(small_binary, glass):
    data = validate(*small_binary)
    with pytest.raises(AutoImbError, match="fractions"):
        minority_learning_curve(LOGISTIC, data, "f1", fractions=(0.0, 1.0))
    with pytest.raises(AutoImbError, match="fractions"):
        minority_learning_curve(LOGISTIC, data, "f1", fractions=())
    with pytest.raises(AutoImbError, match="Dataset"):
        minority_learning_curve(LOGISTIC, small_binary, "f1")
    with pytest.raises(AutoImbError, match="model"):
        minority_learning_curve({}, data, "f1")
    with pytest.raises(AutoImbError, match="time_limit"):
        minority_learning_curve(LOGISTIC, data, "f1", time_limit=-1)
    # MCC over several classes is no mean over them: not what the refusal offers.
    with pytest.raises(AutoImbError, match=r"two classes.*such as 'f1' \(macro\) or 'balanced_ac"):
        minority_learning_curve(LOGISTIC, validate(*glass), "cost:fn=5,fp=1")


def test_the_counted_class_is_the_smallest_whichever_the_metric_calls_positive(small_binary):
    """With the majority as the positive class, the minority is still the class subsampled
    and counted: "2× more minority examples" means it."""
    X, y = small_binary
    data = validate(X, y, pos_label=0)
    minority = int(np.argmin(data.class_counts))
    assert data.pos_label != minority
    result = minority_learning_curve(LOGISTIC, data, "f1", fractions=(0.5, 1.0), repeats=1)
    assert result.current_count == int(data.class_counts[minority])
    assert result.smallest_class == str(data.classes[minority])


def test_a_large_cost_is_written_without_an_exponent(small_binary):
    data = validate(*small_binary)
    result = minority_learning_curve(
        {"model": {"name": "logistic_regression"}}, data, "cost:fn=50000,fp=1", repeats=1
    )
    assert result.predicted_current >= 100
    text = result.summary()
    assert "e+" not in text
    assert f"{result.predicted_current:,.0f}" in text
    from autoimb.engine.advice_text import _num, _signed

    written = (_num(150.3), _num(12_345.6), _num(0.63), _num(0.053))
    assert written == ("150", "12,346", "0.63", "0.053")
    assert (_signed(150.3), _signed(-0.02)) == ("+150", "−0.02")
    # A cost has its own scale: a change of 0.3 on a cost of 100 or more is nothing to act on.
    from dataclasses import replace

    steady = replace(result, gain_2x=-0.3, gain_5x=-0.3)
    assert "unlikely to help" in steady.summary()
    assert "unlikely to help" not in replace(result, gain_2x=-5.0, gain_5x=-9.0).summary()
    small = replace(result, predicted_current=0.02, gain_2x=-0.003, gain_5x=-0.0045)
    assert "unlikely to help" not in small.summary()  # a fifth of a small cost is not nothing


@pytest.mark.parametrize("floor", ["0.99", "0.9"])
def test_a_missed_precision_floor_gives_no_forecast(small_binary, floor):
    """Below its floor, recall@precision scores the precision shortfall: at 0.99 no
    subsample reaches it, at 0.9 some do; either way no curve of recall can be drawn."""
    data = validate(*small_binary)
    metric = f"recall@precision>={floor}"
    result = minority_learning_curve(LOGISTIC, data, metric, repeats=1)
    assert any(run.score < 0 for run in result.runs)
    if floor == "0.9":
        assert any(run.score > 0 for run in result.runs)
    text = result.summary()
    assert text.startswith(f"The precision floor {floor} was not reached")
    assert "precision shortfalls, not recalls" in text and "expected to" not in text
    assert math.isnan(result.predicted_2x) and math.isnan(result.predicted_5x)


def test_fractions_that_keep_the_same_minority_rows_are_one_point(small_binary):
    """With 9 minority rows a training fold holds 6: 20%, 35% and 50% all keep MIN_KEPT (3)
    of them, the same rows, so they are one measurement of one size, not three points."""
    X, y = small_binary
    rows = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:9]]
    tiny = validate(X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True))
    result = minority_learning_curve(LOGISTIC, tiny, "f1")
    assert len(result.runs) == 10  # every fraction ran, twice
    counts = [p.minority_count for p in result.points]
    assert counts == [advice_module.MIN_KEPT, 4, 6]
    assert result.points[0].fraction == 0.5  # the largest fraction that kept those rows
    assert all(p.n_runs == 2 for p in result.points)  # each repeat once, not once a fraction
    assert "the curve rests on only 3 distinct minority sizes" in result.summary()
    assert len(result.to_frame().query("kind == 'measured'")) == 3


@pytest.mark.slow
def test_a_searchs_advice_says_its_numbers_are_changes_on_its_own_measure(small_binary):
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="mcc", n_trials=2, space="fast", cv=3, random_state=0, advice=True
    )
    text = result.advice.summary()
    at_today = f"{result.advice.predicted_current:.2f} at today's size"
    assert f"(the best single trial's strategy, 3-fold, on subsamples: {at_today})" in text
    assert "take these as changes" in text


def test_a_search_with_advice_warns_of_its_small_class_once(small_binary):
    """The learning curve's own 3 folds warned again, with another fold count than the
    search's first warning had given."""
    import warnings

    X, y = small_binary
    rows = np.r_[np.flatnonzero(y == 0)[:196], np.flatnonzero(y == 1)[:4]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = autoimb.search(
            X.iloc[rows], y.iloc[rows], n_trials=2, space="fast", random_state=0, advice=True
        )
    said = [str(w.message) for w in caught if "the smallest class has only" in str(w.message)]
    assert said == ["the smallest class has only 4 rows, fewer than cv=5; using 4 folds instead."]
    assert result.advice is not None
