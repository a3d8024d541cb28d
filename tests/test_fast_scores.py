"""The selection's scorers give what :func:`honest_score` gives, for every registered metric."""

from __future__ import annotations

import numpy as np
import pytest

from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import get_metric, registered_metrics
from autoimb.posthoc.fast_scores import fold_scorer, honest_scorer
from autoimb.posthoc.threshold import honest_score

THRESHOLD_METRICS = [m for m in registered_metrics() if m.kind == "threshold"]


@pytest.mark.parametrize("metric", ["average_precision", "roc_auc"])
@pytest.mark.parametrize("n_classes", [2, 4])
def test_fast_ranking_scores_equal_honest_score(metric, n_classes):
    rng = np.random.default_rng(n_classes)
    n = 400
    y = rng.integers(0, n_classes, n)
    proba = np.round(rng.dirichlet(np.ones(n_classes), n), 2)  # rounding makes ties
    folds = rng.integers(0, 3, n)
    # Rows of weight 0 (a $0 authorisation) are valid: they count for nothing.
    for weights in (None, rng.random(n), rng.random(n) * (rng.random(n) < 0.7)):
        fast = honest_scorer(y, weights, folds, get_metric(metric), 1)(proba)
        slow, slow_folds = honest_score(
            y, proba, folds, get_metric(metric), sample_weight=weights, pos_label=1
        )
        assert fast == pytest.approx(slow, abs=1e-12)
        pooled, per_fold = fold_scorer(y, weights, folds, get_metric(metric), 1)(proba)
        assert pooled == pytest.approx(slow, abs=1e-12)
        assert per_fold == pytest.approx(slow_folds, abs=1e-12)


@pytest.mark.parametrize("metric", THRESHOLD_METRICS, ids=lambda m: m.name)
@pytest.mark.parametrize("n", [300, 3000])  # 3,000 rows: more distinct scores than candidates
@pytest.mark.parametrize("pos", [0, 1])
def test_binary_threshold_scores_equal_honest_score(metric, n, pos):
    rng = np.random.default_rng(n + pos)
    y = (rng.random(n) < 0.12).astype(np.int64)
    if pos == 0:
        y = 1 - y
    signal = np.where(y == pos, 0.25, 0.0) + rng.random(n) * 0.75
    score = np.round(signal, 2) if n == 300 else signal  # rounding makes ties
    proba = np.c_[1 - score, score] if pos == 1 else np.c_[score, 1 - score]
    folds = rng.integers(0, 5, n)
    for weights in (None, rng.random(n) + 0.5, (rng.random(n) + 0.5) * (rng.random(n) < 0.7)):
        slow, slow_folds = honest_score(
            y, proba, folds, metric, sample_weight=weights, pos_label=pos
        )
        assert honest_scorer(y, weights, folds, metric, pos)(proba) == pytest.approx(
            slow, abs=1e-12
        )
        pooled, per_fold = fold_scorer(y, weights, folds, metric, pos)(proba)
        assert pooled == pytest.approx(slow, abs=1e-12)
        assert per_fold == pytest.approx(slow_folds, abs=1e-12, nan_ok=True)


def test_a_fold_without_positives_scores_as_honest_score_does():
    rng = np.random.default_rng(0)
    n = 200
    y = np.zeros(n, dtype=np.int64)
    y[:20] = 1
    folds = np.where(np.arange(n) < 40, 0, 1 + np.arange(n) % 3)
    folds[:20] = 1 + np.arange(20) % 3  # fold 0 holds no positive row
    proba = rng.dirichlet([1, 1], n)
    slow, slow_folds = honest_score(y, proba, folds, get_metric("f1"), pos_label=1)
    pooled, per_fold = fold_scorer(y, None, folds, get_metric("f1"), 1)(proba)
    assert pooled == pytest.approx(slow)
    assert per_fold == pytest.approx(slow_folds, nan_ok=True)


def test_probabilities_that_are_not_finite_are_refused_as_honest_score_refuses_them():
    y = np.array([0, 1] * 20)
    proba = np.full((40, 2), 0.5)
    proba[3, 1] = np.nan
    with pytest.raises(AutoImbError, match="NaN or infinite"):
        fold_scorer(y, None, np.arange(40) % 4, get_metric("f1"), 1)(proba)
