"""Anomaly detectors as classifiers and as an extra feature, on real imbalanced data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import read_keel
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OrdinalEncoder

from autoimb.exceptions import AutoImbError, SchemaError
from autoimb.stages.anomaly.detectors import AnomalyDetectorClassifier, AnomalyScoreFeatures

DETECTORS = ("isolation_forest", "one_class_svm", "local_outlier_factor")


@pytest.fixture(scope="module")
def yeast4() -> tuple[np.ndarray, np.ndarray]:
    frame = read_keel("yeast4")
    return frame.drop(columns="target").to_numpy(np.float64), frame["target"].to_numpy()


@pytest.fixture(scope="module")
def yeast4_split(yeast4: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    X, y = yeast4
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def car_good() -> tuple[np.ndarray, np.ndarray]:
    frame = read_keel("car_good")
    X = OrdinalEncoder().fit_transform(frame.drop(columns="target")).astype(np.float64)
    return X, frame["target"].to_numpy()


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("detector", DETECTORS)
def test_detector_ranks_held_out_minority_with_monotone_probabilities(
    yeast4_split: list[np.ndarray], detector: str, calibration: str
) -> None:
    X_tr, X_te, y_tr, y_te = yeast4_split
    clf = AnomalyDetectorClassifier(detector=detector, calibration=calibration, random_state=0)
    clf.fit(X_tr, y_tr)
    proba = clf.predict_proba(X_te)
    assert proba.shape == (len(X_te), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba >= 0) & (proba <= 1))
    assert list(clf.classes_) == [0, 1]
    assert roc_auc_score(y_te, proba[:, 1]) > 0.6

    scores = clf.anomaly_score(X_te)
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(proba[order, 1]) >= -1e-12)
    assert set(np.unique(clf.predict(X_te))) <= {0, 1}


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_outlier_factors_of_repeated_values_are_ranked_not_trusted(
    yeast4: tuple[np.ndarray, np.ndarray], calibration: str
) -> None:
    """yeast4's first column repeats values 40-54 times: the local outlier factor divides by the
    zero distances and scores rows near 1e8, which a sigmoid of the raw score read as certain
    minority (91 majority rows above 0.5)."""
    X, y = yeast4
    X = X[:, :1]
    clf = AnomalyDetectorClassifier(
        detector="local_outlier_factor", calibration=calibration, random_state=0
    ).fit(X, y)
    assert clf.anomaly_score(X).max() > 1e6  # scikit-learn's scores, as the calibration gets them
    proba = clf.predict_proba(X)[:, 1]
    assert proba[y == 0].max() < 0.5
    assert roc_auc_score(y, proba) > 0.6
    again = AnomalyDetectorClassifier(
        detector="local_outlier_factor", calibration=calibration, random_state=0
    )
    np.testing.assert_array_equal(again.fit(X, y).predict_proba(X)[:, 1], proba)


@pytest.mark.parametrize("detector", ["local_outlier_factor", "isolation_forest"])
def test_scores_beyond_the_calibration_keep_their_order(detector: str) -> None:
    """Rows ever further from ecoli1's majority score beyond every calibration score; they all
    took the top rank and tied at one probability, so the most extreme could not be told apart."""
    from autoimb import datasets

    X, y = datasets.load("ecoli1", return_X_y=True)
    X, y = X.to_numpy(np.float64), np.asarray(y)
    clf = AnomalyDetectorClassifier(detector=detector, random_state=0).fit(X, y)
    centre, spread = X.mean(axis=0), X.std(axis=0)
    steps = np.geomspace(0.5, 1e6, 40)
    far = np.vstack([centre + k * spread for k in steps] + [centre - k * spread for k in steps])
    scores = clf.anomaly_score(far)
    assert scores.max() > clf.score_ranks_[0, -1]  # beyond the calibration's scores

    proba = clf.predict_proba(far)
    assert np.all((proba >= 0.0) & (proba <= 1.0))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    p_min = proba[:, clf.minority_index_]
    order = np.argsort(scores, kind="stable")
    s, p = scores[order], p_min[order]
    assert np.all(np.diff(p) >= 0.0)  # monotone in the raw score
    beyond = s > clf.score_ranks_[0, -1]
    rising = np.diff(s[beyond]) > 0
    assert rising.any()
    assert np.all(np.diff(p[beyond])[rising] > 0.0)  # a more extreme score, a higher probability
    assert p[-1] < 1.0


def test_svm_fits_on_a_bounded_sample(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    n_majority = int(np.sum(y == 0))
    bounded = AnomalyDetectorClassifier(
        detector="one_class_svm", max_samples_svm=300, random_state=0
    ).fit(X, y)
    assert bounded.detector_.shape_fit_[0] == 300
    assert bounded.n_detector_rows_ == 300
    full = AnomalyDetectorClassifier(detector="one_class_svm", random_state=0).fit(X, y)
    assert full.detector_.shape_fit_[0] == n_majority <= full.max_samples_svm


def test_detectors_fit_on_majority_rows_only(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    clf = AnomalyDetectorClassifier(detector="local_outlier_factor").fit(X, y)
    assert clf.n_detector_rows_ == int(np.sum(y == 0))


def test_minority_may_carry_label_zero(yeast4_split: list[np.ndarray]) -> None:
    X_tr, X_te, y_tr, y_te = yeast4_split
    clf = AnomalyDetectorClassifier(detector="one_class_svm", random_state=0).fit(X_tr, 1 - y_tr)
    assert clf.minority_index_ == 0
    # Column 0 is the minority probability; y_te == 1 marks the rows labelled 0 here.
    assert roc_auc_score(y_te, clf.predict_proba(X_te)[:, 0]) > 0.6


def test_evened_classes_keep_the_fold_minority_as_outliers() -> None:
    """Oversampling yeast4 to a ratio of 1 evens its classes; the detector still models the
    majority (it modelled the first class on a tie, here the majority's, and called it outlier)."""
    from autoimb import datasets
    from autoimb.data.dataset import validate
    from autoimb.engine.pipeline import StrategyPipeline

    data = validate(*datasets.load("yeast4", return_X_y=True))
    train, test = train_test_split(
        np.arange(len(data.y)), test_size=0.3, stratify=data.y, random_state=0
    )
    config = {
        "model": {"name": "isolation_forest", "n_estimators": 50},
        "resampler": {"name": "random_over", "sampling_ratio": 1.0},
    }
    pipeline = StrategyPipeline(config, data.schema(), random_state=0)
    pipeline.fit(data.X.iloc[train], data.y[train])
    assert pipeline.model_.minority_index_ == data.pos_label
    proba = pipeline.predict_proba(data.X.iloc[test])[:, data.pos_label]
    assert roc_auc_score(data.y[test] == data.pos_label, proba) > 0.6


@pytest.fixture(scope="module")
def car_good_split() -> tuple[Any, np.ndarray, np.ndarray]:
    """car_good as autoimb reads it (six category columns, no number), split 70/30."""
    from autoimb import datasets
    from autoimb.data.dataset import validate

    data = validate(*datasets.load("car_good", return_X_y=True))
    train, test = train_test_split(
        np.arange(len(data.y)), test_size=0.3, stratify=data.y, random_state=0
    )
    return data, train, test


@pytest.mark.parametrize("detector", DETECTORS)
def test_detectors_read_categories_one_hot(
    car_good_split: tuple[Any, np.ndarray, np.ndarray], detector: str
) -> None:
    """car_good's codes are alphabetical (high=0, low=1, med=2, vhigh=3): read as numbers they
    ranked the minority below chance, and the calibration fell back to one probability for all."""
    from autoimb.engine.pipeline import StrategyPipeline

    data, train, test = car_good_split
    pipeline = StrategyPipeline({"model": {"name": detector}}, data.schema(), random_state=0)
    pipeline.fit(data.X.iloc[train], data.y[train])
    proba = pipeline.predict_proba(data.X.iloc[test])[:, data.pos_label]
    assert roc_auc_score(data.y[test] == data.pos_label, proba) > 0.6
    assert len(np.unique(proba)) > 10


def test_score_feature_reads_categories_one_hot(
    car_good_split: tuple[Any, np.ndarray, np.ndarray],
) -> None:
    from autoimb.engine.pipeline import StrategyPipeline

    data, train, test = car_good_split
    config = {
        "features": {"name": "anomaly_score", "n_estimators": 50},
        "model": {"name": "logistic_regression"},
    }
    pipeline = StrategyPipeline(config, data.schema(), random_state=0)
    pipeline.fit(data.X.iloc[train], data.y[train])
    codes = pipeline.preprocessor_.transform(data.X.iloc[test])
    out = pipeline.features_.transform(codes)
    np.testing.assert_array_equal(out[:, :-1], codes)  # the model still gets the codes
    assert roc_auc_score(data.y[test] == data.pos_label, out[:, -1]) > 0.6


def test_minority_class_is_named_or_the_last_of_a_tie(
    yeast4: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = yeast4
    even = np.concatenate([np.flatnonzero(y == 0)[: int(np.sum(y == 1))], np.flatnonzero(y == 1)])
    tied = AnomalyDetectorClassifier(detector="local_outlier_factor").fit(X[even], y[even])
    assert tied.minority_index_ == 1
    named = AnomalyDetectorClassifier(detector="local_outlier_factor", minority_class=0)
    assert named.fit(X, y).minority_index_ == 0
    with pytest.raises(AutoImbError, match=r"minority_class must be one of .* got 2"):
        AnomalyDetectorClassifier(minority_class=2).fit(X, y)


def test_multiclass_is_refused() -> None:
    frame = read_keel("glass_multiclass")
    X = frame.drop(columns="target").to_numpy(np.float64)
    y = np.unique(frame["target"].to_numpy(), return_inverse=True)[1]
    with pytest.raises(AutoImbError, match=r"binary only.*another model"):
        AnomalyDetectorClassifier().fit(X, y)


def test_sample_weight_is_honoured(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    plain = AnomalyDetectorClassifier(detector="one_class_svm", random_state=0).fit(X, y)
    weight = np.where(y == 1, 10.0, 1.0)
    heavy = AnomalyDetectorClassifier(detector="one_class_svm", random_state=0)
    heavy.fit(X, y, sample_weight=weight)
    # Up-weighting the minority must raise its calibrated probabilities.
    assert heavy.predict_proba(X)[:, 1].mean() > 2 * plain.predict_proba(X)[:, 1].mean()
    with pytest.raises(AutoImbError, match="sample_weight"):
        heavy.fit(X, y, sample_weight=-weight)


def test_input_errors_are_autoimb_errors(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    with pytest.raises(AutoImbError, match="detector"):
        AnomalyDetectorClassifier(detector="kmeans").fit(X, y)
    with pytest.raises(AutoImbError, match="calibration"):
        AnomalyDetectorClassifier(calibration="beta").fit(X, y)
    clf = AnomalyDetectorClassifier(detector="one_class_svm").fit(X, y)
    with pytest.raises(SchemaError):
        clf.predict_proba(X[:, :-1])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(AutoImbError):
        clf.predict_proba(bad)


def test_score_feature_is_one_extra_column_at_the_end(
    yeast4_split: list[np.ndarray], car_good: tuple[np.ndarray, np.ndarray]
) -> None:
    X_tr, X_te, y_tr, y_te = yeast4_split
    feat = AnomalyScoreFeatures(n_estimators=100, random_state=0).fit(X_tr, y_tr)
    out = feat.transform(X_te)
    assert out.shape == (X_te.shape[0], X_te.shape[1] + 1)
    np.testing.assert_array_equal(out[:, :-1], X_te)
    assert roc_auc_score(y_te, out[:, -1]) > 0.6
    assert list(feat.get_feature_names_out())[-1] == "anomaly_score"

    X, _ = car_good
    out = AnomalyScoreFeatures(n_estimators=50, fit_on="all", random_state=0).fit_transform(X)
    assert out.shape == (X.shape[0], 7)
    np.testing.assert_array_equal(out[:, :6], X)


def test_score_feature_needs_y_for_majority(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = yeast4
    with pytest.raises(AutoImbError, match="needs y"):
        AnomalyScoreFeatures().fit(X)
    with pytest.raises(AutoImbError, match="fit_on"):
        AnomalyScoreFeatures(fit_on="minority").fit(X)


def test_score_feature_accepts_sample_weight(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    feat = AnomalyScoreFeatures(n_estimators=50, random_state=0)
    out = feat.fit(X, y, sample_weight=np.where(y == 1, 5.0, 1.0)).transform(X)
    assert np.all(np.isfinite(out[:, -1]))


@pytest.mark.parametrize(
    "estimator",
    [
        AnomalyDetectorClassifier(detector="one_class_svm", nu=0.2, random_state=3),
        AnomalyScoreFeatures(n_estimators=10, fit_on="all", random_state=3),
    ],
)
def test_clone(estimator: object, yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    X, y = yeast4
    copy.fit(X, y)
    assert not hasattr(estimator, "n_features_in_")
