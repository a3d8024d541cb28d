"""predict_proba is a probability again after resampling; predict's labels do not change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

import autoimb
from autoimb.posthoc.calibration import _fit as fit_calibration
from autoimb.posthoc.calibration import apply_calibration, choose_calibration

# Random over-sampling to balance, then a logistic regression: its scores are far too high.
RESAMPLED = """
name: resampled
initial:
  - {resampler: random_over, model: logistic_regression}
resampler:
  random_over:
    sampling_ratio: 1.0
model:
  logistic_regression:
    C: 1.0
"""


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Rows whose true probability of the positive class is known: about 6% positives."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    truth = 1.0 / (1.0 + np.exp(-(1.5 * X[:, 0] - 0.8 * X[:, 1] - 3.6)))
    y = (rng.random(n) < truth).astype(int)
    return pd.DataFrame(X, columns=["a", "b", "c"]), y, truth


@pytest.fixture(scope="module")
def resampled(tmp_path_factory):
    space = tmp_path_factory.mktemp("space") / "resampled.yaml"
    space.write_text(RESAMPLED)
    X, y, _ = synthetic(3000, 0)
    return autoimb.search(
        X, y, metric="f1", space=str(space), n_trials=1, cv=5, ensemble=False, random_state=0
    )


def test_a_resampled_winner_predicts_calibrated_probabilities(resampled) -> None:
    X, _, truth = synthetic(4000, 1)
    pipe = resampled.best_pipeline
    raw = pipe.predict_scores(X)[:, 1]
    calibrated = pipe.predict_proba(X)[:, 1]
    assert pipe.calibration["method"] != "none"
    assert resampled.model_card()["calibration"] == pipe.calibration["method"]
    # Balanced training inflates the scores several times over; calibration brings them back.
    assert raw.mean() > 3 * truth.mean()
    assert calibrated.mean() == pytest.approx(truth.mean(), abs=0.015)
    assert np.mean(np.abs(calibrated - truth)) < 0.5 * np.mean(np.abs(raw - truth))
    np.testing.assert_allclose(pipe.predict_proba(X).sum(axis=1), 1.0)


def test_predict_keeps_the_tuned_threshold_on_the_model_scores(resampled) -> None:
    X, _, _ = synthetic(1000, 2)
    pipe = resampled.best_pipeline
    expected = (pipe.predict_scores(X)[:, 1] >= pipe.decision_threshold).astype(int)
    np.testing.assert_array_equal(pipe.predict(X), expected)


def test_the_stated_threshold_is_on_the_scale_of_the_probabilities_served(
    resampled, tmp_path
) -> None:
    """The rule the summary, the notebook view and the report state must split the rows of
    ``predict_proba`` as ``predict`` does, though the threshold was tuned on the raw scores."""
    X, _, _ = synthetic(1000, 2)
    pipe = resampled.best_pipeline
    cut = pipe.probability_threshold
    assert cut < 0.5 * pipe.decision_threshold  # the raw scores were inflated several times
    np.testing.assert_array_equal(pipe.predict(X), (pipe.predict_proba(X)[:, 1] >= cut) * 1)
    rule = f"predict 1 when P(1) &gt;= {cut:.4g}"
    assert rule in resampled._repr_html_()
    page = resampled.report_html(tmp_path / "r.html").read_text()
    assert rule in page
    # The threshold curve is drawn on the raw scores: it says so, with both numbers.
    raw = f"{pipe.decision_threshold:.3g}"
    assert f"the chosen {raw} is P(1) &gt;= {cut:.3g} on predict_proba" in page
    assert resampled.model_card()["probability_threshold"] == cut
    # The dict forms name it too, beside the raw threshold they always held.
    assert resampled.report()["decision"]["probability_threshold"] == cut
    assert resampled.best_config["probability_threshold"] == cut
    assert resampled.best_config["threshold"] == pipe.decision_threshold


def test_calibration_is_chosen_by_cross_validated_log_loss() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    already = np.clip(0.1 + 0.5 * y * rng.random(2000), 0, 1)  # some signal, roughly scaled
    proba = np.c_[1 - already, already]
    folds = np.arange(2000) % 5
    chosen = choose_calibration(y, proba, folds, pos_label=1)
    losses = chosen["log_loss"]
    assert chosen["method"] == min(losses, key=losses.get)
    assert set(losses) == {"none", "sigmoid", "isotonic"}
    few = choose_calibration(y[:300], proba[:300], folds[:300], pos_label=1)
    assert "isotonic" not in few["log_loss"]  # too few positives for a step function


def test_multi_class_probabilities_pass_unchanged() -> None:
    proba = np.array([[0.2, 0.3, 0.5]])
    calibration = {"method": "sigmoid", "a": 2.0, "b": -1.0}
    np.testing.assert_array_equal(apply_calibration(calibration, proba, 1), proba)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_keeps_the_model_ranking(method: str) -> None:
    """A strictly increasing map: PR-AUC and ROC-AUC of predict_proba are the model's own."""
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.1).astype(int)
    s = np.clip(0.3 * y + 0.7 * rng.random(3000), 0, 1)
    fitted = fit_calibration(method, s, y == 1, np.ones(3000))
    assert fitted["method"] == method
    mapped = apply_calibration(fitted, np.c_[1 - s, s], 1)[:, 1]
    np.testing.assert_array_equal(rankdata(mapped), rankdata(s))
