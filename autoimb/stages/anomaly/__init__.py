"""Anomaly detection, both ways: detectors as minority models, and a score as an extra column.

The detectors learn the majority class and call outliers minority (model stage); the score
feature adds an isolation forest's anomaly score as a column for any model (features stage).
Both read the categories one-hot, as the linear model does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.stages.anomaly.detectors import (
    CALIBRATIONS,
    FIT_ON,
    AnomalyDetectorClassifier,
    AnomalyScoreFeatures,
)
from autoimb.stages.base import (
    ANY_NUMBER,
    FOREST_CHUNK,
    Component,
    FitContext,
    one_hot_encoder,
    one_hot_in_front,
    register,
)

# The detectors measure distances and split on the columns as numbers, so categories reach them
# one-hot (dense: they take no sparse matrix). A column of thousands of values (a postcode)
# would make thousands of dense columns; its rarer values share one, itself a mark of the rare.
_MOST_CATEGORIES = 32


def _detector(kind: str) -> Any:
    def build(params: Mapping[str, Any], ctx: FitContext) -> Any:
        detector = AnomalyDetectorClassifier(
            detector=kind,
            **{key: params[key] for key in _DETECTOR_PARAMS[kind]},
            random_state=ctx.random_state,
            n_threads=ctx.n_threads,
            minority_class=ctx.minority,
        )
        if not ctx.n_cat:  # numbers only: the detector standardises them itself
            return detector
        return one_hot_in_front(ctx, detector, dense=True, max_categories=_MOST_CATEGORIES)

    return build


# The parameters each detector reads; the others would not change its fit.
_DETECTOR_PARAMS = {
    "isolation_forest": ("n_estimators", "calibration"),
    "one_class_svm": ("nu", "gamma", "max_samples_svm", "calibration"),
    "local_outlier_factor": ("n_neighbors", "calibration"),
}


def _anomaly_score(params: Mapping[str, Any], ctx: FitContext) -> AnomalyScoreFeatures:
    return AnomalyScoreFeatures(
        n_estimators=int(params["n_estimators"]),
        fit_on=str(params["fit_on"]),
        encoder=(
            one_hot_encoder(ctx, dense=True, max_categories=_MOST_CATEGORIES) if ctx.n_cat else None
        ),
        random_state=ctx.random_state,
        n_threads=ctx.n_threads,
    )


register(
    Component(
        "anomaly_score",
        "features",
        _anomaly_score,
        "An isolation forest's anomaly score as one more column, for any model.",
        scales=False,
        members="n_estimators",
        fewest_members=FOREST_CHUNK,
        values={"fit_on": FIT_ON},
    ),
    Component(
        "isolation_forest",
        "model",
        _detector("isolation_forest"),
        "Isolation forest on the majority class; outliers are called minority.",
        balances_itself=True,
        binary_only=True,
        scales=False,
        values={"calibration": CALIBRATIONS},
        members="n_estimators",
        fewest_members=FOREST_CHUNK,
    ),
    Component(
        "one_class_svm",
        "model",
        _detector("one_class_svm"),
        "One-class SVM on a bounded sample of the majority class.",
        balances_itself=True,
        binary_only=True,
        scales=False,
        values={"calibration": CALIBRATIONS, "gamma": ("scale", "auto", ANY_NUMBER)},
        keeps_rows=True,
    ),
    Component(
        "local_outlier_factor",
        "model",
        _detector("local_outlier_factor"),
        "Local outlier factor (novelty mode) on the majority class.",
        balances_itself=True,
        binary_only=True,
        scales=False,
        values={"calibration": CALIBRATIONS},
        keeps_rows=True,
    ),
)
