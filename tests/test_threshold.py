"""Decision rules: optimal, honest under cross-fitting, and usable as a sklearn classifier."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from skops.io import dumps, get_untrusted_types, loads

from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.threshold import (
    Decision,
    ThresholdedClassifier,
    choose_decision,
    cross_fitted_predictions,
    honest_score,
    threshold_curve,
)


def _binary(n: int = 300, seed: int = 0, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(np.int64)
    s = np.clip(rng.normal(0.3 + 0.3 * y, 0.18), 0.0, 1.0)
    if ties:
        s = np.round(s, 1)
    return y, np.c_[1.0 - s, s], rng.uniform(0.2, 3.0, n)


def _brute_force(y, proba, metric, w, pos_label=1):
    """Best value over every distinct predicted-positive set, one threshold at a time."""
    s = proba[:, pos_label]
    values = []
    for t in [*np.unique(s), np.inf]:
        pred = np.where(s >= t, pos_label, 1 - pos_label)
        values.append(metric.score_labels(y, pred, sample_weight=w, pos_label=pos_label))
    return max(values) if metric.greater_is_better else min(values)


TUNED = ["f1", "fbeta:2", "mcc", "g_mean", "balanced_accuracy", "recall@precision>=0.6"]


@pytest.mark.parametrize("name", [*TUNED, "cost:fn=10,fp=1"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("pos_label", [1, 0])
def test_choose_decision_finds_the_brute_force_optimum(name, ties, pos_label):
    y, proba, w = _binary(ties=ties)
    if pos_label == 0:
        y = 1 - y
    metric = get_metric(name)
    decision, value = choose_decision(y, proba, metric, sample_weight=w, pos_label=pos_label)
    best = _brute_force(y, proba, metric, w, pos_label)
    achieved = metric.score_labels(y, decision.apply(proba), sample_weight=w, pos_label=pos_label)
    assert achieved == pytest.approx(best, abs=1e-10)
    assert value == pytest.approx(achieved, abs=1e-10)
    assert decision.pos_label == pos_label
    assert decision.class_scale is None


def test_threshold_sits_mid_plateau_between_scores():
    y = np.array([0, 0, 0, 1, 1, 1])
    proba1 = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    decision, value = choose_decision(y, np.c_[1 - proba1, proba1], get_metric("f1"))
    assert decision.threshold == pytest.approx(0.5)
    assert value == 1.0


def test_middle_of_a_wide_plateau_is_chosen():
    # Recall is 1 for every threshold up to the lowest positive score (0.6): candidates
    # 0.55, 0.45, 0.35, 0.25, 0.15 and 0.05 tie, and the middle one is taken, not an edge.
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    proba1 = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    decision, value = choose_decision(y, np.c_[1 - proba1, proba1], get_metric("recall"))
    assert decision.threshold == pytest.approx(0.35)
    assert value == 1.0


def test_ranking_metric_tunes_for_f1():
    y, proba, w = _binary(seed=3)
    assert choose_decision(y, proba, get_metric("roc_auc"), sample_weight=w) == choose_decision(
        y, proba, get_metric("f1"), sample_weight=w
    )


def test_candidate_cap_is_fast_and_close_for_many_rows():
    rng = np.random.default_rng(7)
    n = 200_000
    y = (rng.random(n) < 0.05).astype(np.int64)
    s = np.clip(rng.normal(0.3 + 0.3 * y, 0.15), 0.0, 1.0)
    proba = np.c_[1.0 - s, s]
    start = time.perf_counter()
    _, capped = choose_decision(y, proba, get_metric("f1"))
    assert time.perf_counter() - start < 2.0
    _, exact = choose_decision(y, proba, get_metric("f1"), max_candidates=n + 2)
    assert capped <= exact + 1e-12
    assert capped == pytest.approx(exact, abs=2e-3)


def test_cross_fitted_fold_never_sees_its_own_rows():
    y, proba, w = _binary(n=400, seed=11)
    folds = np.arange(400) % 4
    metric = get_metric("f1")
    pred, decisions = cross_fitted_predictions(y, proba, folds, metric, sample_weight=w)
    k = 2
    in_k = folds == k
    # The rule for fold k is exactly the one chosen on the other folds.
    assert (
        decisions[k] == choose_decision(y[~in_k], proba[~in_k], metric, sample_weight=w[~in_k])[0]
    )
    # Changing fold k's labels cannot change fold k's predictions ...
    y_flipped = y.copy()
    y_flipped[in_k] = 1 - y_flipped[in_k]
    pred_flipped, dec_flipped = cross_fitted_predictions(
        y_flipped, proba, folds, metric, sample_weight=w
    )
    np.testing.assert_array_equal(pred_flipped[in_k], pred[in_k])
    assert dec_flipped[k] == decisions[k]
    # ... and changing fold k's probabilities leaves its rule untouched: its predictions
    # are the old rule applied to the new probabilities, and the same probabilities give
    # the same predictions.
    rng = np.random.default_rng(0)
    proba_changed = proba.copy()
    s_new = rng.random(in_k.sum())
    proba_changed[in_k] = np.c_[1.0 - s_new, s_new]
    pred_changed, dec_changed = cross_fitted_predictions(
        y, proba_changed, folds, metric, sample_weight=w
    )
    assert dec_changed[k] == decisions[k]
    np.testing.assert_array_equal(pred_changed[in_k], decisions[k].apply(proba_changed[in_k]))
    proba_back = proba_changed.copy()
    proba_back[in_k] = proba[in_k]
    pred_back, _ = cross_fitted_predictions(y, proba_back, folds, metric, sample_weight=w)
    np.testing.assert_array_equal(pred_back[in_k], pred[in_k])


def test_honest_score_threshold_metric_is_pooled_cross_fitted():
    y, proba, w = _binary(n=400, seed=5)
    folds = np.arange(400) % 5
    metric = get_metric("mcc")
    value, per_fold = honest_score(y, proba, folds, metric, sample_weight=w)
    pred, _ = cross_fitted_predictions(y, proba, folds, metric, sample_weight=w)
    assert value == pytest.approx(metric.score_labels(y, pred, sample_weight=w))
    assert len(per_fold) == 5
    assert per_fold[0] == pytest.approx(
        metric.score_labels(y[folds == 0], pred[folds == 0], sample_weight=w[folds == 0])
    )
    # The honest value cannot beat the in-sample optimum.
    assert value <= choose_decision(y, proba, metric, sample_weight=w)[1] + 1e-12


def test_honest_score_ranking_metric_is_pooled_probabilities():
    y, proba, w = _binary(n=400, seed=6)
    folds = np.arange(400) % 3
    metric = get_metric("average_precision")
    value, per_fold = honest_score(y, proba, folds, metric, sample_weight=w)
    assert value == pytest.approx(metric.score_proba(y, proba, sample_weight=w))
    assert per_fold[1] == pytest.approx(
        metric.score_proba(y[folds == 1], proba[folds == 1], sample_weight=w[folds == 1])
    )


def test_honest_score_raises_on_an_undefined_value():
    y = np.zeros(6, dtype=np.int64)
    s = np.linspace(0.1, 0.6, 6)
    with pytest.raises(AutoImbError, match=r"roc_auc is undefined .*class code\(s\) \[1\]"):
        honest_score(y, np.c_[1 - s, s], np.arange(6) % 2, get_metric("roc_auc"))


@pytest.mark.parametrize(
    ("folds", "match"),
    [(np.zeros(6), "at least 2 folds"), (np.zeros(5), "one fold id per row")],
)
def test_fold_ids_are_checked(folds, match):
    y, proba, _ = _binary(n=6)
    with pytest.raises(AutoImbError, match=match):
        cross_fitted_predictions(y, proba, folds, get_metric("f1"))


def _three_class(seed: int = 0):
    X, y = make_classification(
        n_samples=1500,
        n_features=6,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.85, 0.11, 0.04],
        class_sep=0.7,
        random_state=seed,
    )
    proba = LogisticRegression(max_iter=500).fit(X, y).predict_proba(X)
    return y, proba


def test_multiclass_scaling_improves_macro_f1():
    y, proba = _three_class()
    f1 = get_metric("f1")
    plain = f1.score_labels(y, proba.argmax(axis=1), n_classes=3)
    decision, value = choose_decision(y, proba, get_metric("f1"))
    assert decision.threshold is None
    assert decision.class_scale is not None
    assert len(decision.class_scale) == 3
    assert value == pytest.approx(f1.score_labels(y, decision.apply(proba), n_classes=3))
    assert value > plain + 0.02
    # The gain survives honest cross-fitting.
    folds = np.arange(len(y)) % 3
    honest, _ = honest_score(y, proba, folds, get_metric("f1"))
    assert honest > plain


def test_multiclass_g_mean_leaves_the_plateau_where_two_classes_go_unpredicted():
    """g-mean multiplies the classes' recalls: from plain argmax, which predicted no row of two
    classes, no single class factor lifted it off 0, and the rule stayed argmax."""
    rng = np.random.default_rng(0)
    y = rng.choice(3, 1000, p=[0.8, 0.1, 0.1])
    logits = rng.normal(0, 1, (1000, 3))
    logits[np.arange(1000), y] += 1.5
    logits[:, 0] += 5.0  # well ranked, but argmax says the majority for every row
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert (proba.argmax(axis=1) == 0).all()
    g_mean = get_metric("g_mean")
    decision, value = choose_decision(y, proba, g_mean)
    assert value == pytest.approx(g_mean.score_labels(y, decision.apply(proba), n_classes=3))
    assert value > 0.7
    honest, _ = honest_score(y, proba, np.arange(1000) % 5, g_mean)
    assert honest > 0.7


def test_multiclass_rejects_binary_only_metric():
    y, proba = _three_class()
    with pytest.raises(AutoImbError, match="binary targets only"):
        choose_decision(y, proba, get_metric("cost:fn=5,fp=1"))


def test_threshold_curve_matches_direct_scoring():
    y, proba, w = _binary(seed=9)
    metric = get_metric("fbeta:2")
    thresholds, values = threshold_curve(y, proba, metric, sample_weight=w, n_points=25)
    assert thresholds.shape == values.shape == (25,)
    direct = [
        metric.score_labels(y, (proba[:, 1] >= t).astype(int), sample_weight=w) for t in thresholds
    ]
    np.testing.assert_allclose(values, direct, atol=1e-12)


def test_threshold_curve_is_binary_only():
    y, proba = _three_class()
    with pytest.raises(AutoImbError, match="for binary targets"):
        threshold_curve(y, proba, get_metric("f1"))


def test_decision_round_trip_and_validation():
    for decision in (
        Decision(threshold=0.3, pos_label=0),
        Decision(class_scale=(1.0, 2.5, 0.5), pos_label=2),
        Decision(),
    ):
        data = decision.to_dict()
        assert Decision.from_dict(data) == decision
        assert all(type(v) in (float, int, list, type(None)) for v in data.values())
    proba = np.array([[0.7, 0.3], [0.2, 0.8]])
    np.testing.assert_array_equal(Decision(threshold=0.3).apply(proba), [1, 1])
    np.testing.assert_array_equal(Decision(threshold=0.3, pos_label=0).apply(proba), [0, 1])
    with pytest.raises(AutoImbError, match="not both"):
        Decision(threshold=0.5, class_scale=(1.0, 1.0))
    with pytest.raises(AutoImbError, match="positive finite"):
        Decision(class_scale=(1.0, -1.0))
    with pytest.raises(AutoImbError, match="Unknown decision keys"):
        Decision.from_dict({"threshold": 0.5, "cutoff": 1})
    with pytest.raises(AutoImbError, match="for binary targets"):
        Decision(threshold=0.5).apply(np.full((2, 3), 1 / 3))
    with pytest.raises(AutoImbError, match="class_scale has 2 factors"):
        Decision(class_scale=(1.0, 2.0)).apply(np.full((2, 3), 1 / 3))


def test_thresholded_classifier_round_trip_with_string_labels():
    X, y_codes = make_classification(
        n_samples=400, n_features=5, weights=[0.85, 0.15], random_state=0
    )
    labels = np.array(["churn", "stay"])  # sorted: code 0 = "churn", code 1 = "stay"
    y_codes = 1 - y_codes  # the rare class gets code 0 ("churn")
    y = labels[y_codes]
    lr = LogisticRegression(max_iter=500).fit(X, y_codes)
    proba = lr.predict_proba(X)
    decision, _ = choose_decision(y_codes, proba, get_metric("f1"), pos_label=0)
    clf = ThresholdedClassifier(
        lr, decision_threshold=decision.threshold, pos_label=0, classes=labels
    )
    np.testing.assert_array_equal(clf.classes_, labels)
    np.testing.assert_allclose(clf.predict_proba(X), proba)
    pred = clf.predict(X)
    assert set(pred) <= set(labels)
    np.testing.assert_array_equal(pred, labels[decision.apply(proba)])
    assert clf.decision == decision

    # Saved with skops, loaded with an explicit list of trusted types.
    blob = dumps(clf)
    untrusted = get_untrusted_types(data=blob)
    assert all(t.startswith(("autoimb.", "sklearn.")) for t in untrusted)
    loaded = loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), pred)

    # Behaves as a sklearn estimator: clone, then fit on the user's labels.
    refit = clone(clf).fit(X, y)
    np.testing.assert_array_equal(refit.classes_, labels)
    np.testing.assert_array_equal(refit.predict(X), pred)
    assert refit.get_params()["decision_threshold"] == decision.threshold


def test_thresholded_classifier_multiclass_scale():
    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    lr = LogisticRegression(max_iter=500).fit(X, y)
    scale = (1.0, 3.0, 0.5)
    clf = ThresholdedClassifier(lr, class_scale=scale, classes=["a", "b", "c"])
    expected = np.array(["a", "b", "c"])[np.argmax(lr.predict_proba(X) * scale, axis=1)]
    np.testing.assert_array_equal(clf.predict(X), expected)
    with pytest.raises(AutoImbError, match="single class"):
        clone(clf).fit(X, np.zeros(len(X)))


def test_a_threshold_set_on_a_multiclass_model_says_it_is_for_two_classes() -> None:
    """set_params(decision_threshold=0.3) alone was refused as "not both; drop one of them";
    then it was taken, and refused only at predict, far from where it was set."""
    import autoimb

    X, y = autoimb.datasets.load("glass_multiclass", return_X_y=True)
    result = autoimb.search(
        X, y, metric="f1", n_trials=2, cv=3, space="fast", random_state=0, importance=False
    )
    model = result.best_pipeline
    expected = model.predict(X)
    tuned = model.class_scale
    for scale in (tuned, None):  # tuned factors, or plain argmax
        with pytest.raises(
            AutoImbError,
            match=r"decision_threshold is for two classes, and this model has 6; .*Set "
            r"decision_threshold=None, and class_scale",
        ):
            model.set_params(decision_threshold=0.3, class_scale=scale)
        assert model.decision_threshold is None and model.class_scale == tuned  # as it was
    np.testing.assert_array_equal(model.predict(X), expected)
    model.set_params(decision_threshold=None, class_scale=None)
    assert set(model.predict(X)) <= set(y)
    # Built with the threshold (as clone builds a copy), the refusal comes at predict.
    built = ThresholdedClassifier(model.estimator, decision_threshold=0.3, classes=model.classes_)
    with pytest.raises(AutoImbError, match=r"decision_threshold is for two classes"):
        built.predict(X)
    # Not fitted, classes unknown: set_params stays lazy, as scikit-learn's convention has it.
    unfitted = ThresholdedClassifier(LogisticRegression())
    assert unfitted.set_params(decision_threshold=0.3).decision_threshold == 0.3


@pytest.mark.parametrize("floor", [0.9, 0.5])
def test_a_precision_floors_threshold_gives_up_no_precision_for_recall_it_cannot_gain(floor):
    """Classes apart: every threshold from the lowest positive down into the negatives keeps
    recall 1 and meets the floor (a floor of 0.5 lets ten negatives in, 0.9 one), and the
    middle of that plateau took false positives for nothing. Ties in recall go to precision:
    the cut falls between the classes."""
    y = np.r_[np.zeros(90, int), np.ones(10, int)]
    s = np.r_[np.linspace(0.0, 0.04, 90), np.linspace(0.935, 1.0, 10)]
    metric = get_metric(f"recall@precision>={floor}")
    decision, score = choose_decision(y, np.c_[1 - s, s], metric)
    assert score == 1.0
    assert 0.04 < decision.threshold < 0.935


@pytest.mark.parametrize("name", ["recall@precision>=0.9", "f1", "mcc"])
def test_capped_candidates_reach_the_top_of_a_long_ranking(name):
    """20,000 rows, 1% positives: a precision floor's best threshold lies within the first
    few dozen rows of the ranking, where evenly spread candidates had one every 20 rows."""
    rng = np.random.default_rng(0)
    n = 20_000
    y = (rng.random(n) < 0.01).astype(np.int64)
    s = 1.0 / (1.0 + np.exp(-rng.normal(-4.0 + 3.0 * y, 1.2)))
    proba = np.c_[1.0 - s, s]
    metric = get_metric(name)
    _, capped = choose_decision(y, proba, metric)
    _, exact = choose_decision(y, proba, metric, max_candidates=n + 2)
    assert capped <= exact + 1e-12
    assert capped == pytest.approx(exact, abs=0.003)


def test_a_row_of_weight_zero_is_as_if_it_were_not_there():
    """No candidate threshold of its own, so neither the tuned rule nor the cross-fitted score
    moves (integer weights are repetitions; weight 0 is none)."""
    rng = np.random.default_rng(9)
    metric = get_metric("mcc")
    for _ in range(300):
        n = int(rng.integers(8, 16))
        y = np.r_[0, 1, 0, 1, rng.integers(0, 2, n - 4)]
        s = np.round(rng.random(n), 1)
        w = np.r_[1.0, 1.0, 1.0, 1.0, rng.integers(0, 2, n - 4).astype(float)]
        folds, keep = np.arange(n) % 2, w > 0
        proba = np.c_[1 - s, s]
        with_zero = choose_decision(y, proba, metric, sample_weight=w)
        without = choose_decision(y[keep], proba[keep], metric, sample_weight=w[keep])
        assert with_zero == without
        score, per_fold = honest_score(y, proba, folds, metric, sample_weight=w)
        alone = honest_score(y[keep], proba[keep], folds[keep], metric, sample_weight=w[keep])
        assert score == pytest.approx(alone[0]) and per_fold == pytest.approx(alone[1])


def test_a_rule_that_never_fires_says_so_on_every_scale():
    """The tuned threshold sits above a top score of 1.0: no calibrated probability may reach
    it either, and the rule reads as what it is."""
    from autoimb.posthoc.calibration import calibrated_threshold

    never = float(np.nextafter(1.0, 2.0))
    for calibration in ({"method": "sigmoid", "a": 1.0, "b": 0.0}, None):
        assert calibrated_threshold(calibration, never) > 1.0
    rule = Decision(threshold=never, pos_label=1).describe(["ok", "fraud"], never)
    assert rule == "never predict fraud (no score reaches the tuned threshold)"


def test_class_factors_on_rows_that_lack_a_class_warn_of_nothing() -> None:
    """A fold's own rows may lack a class: its prior overflowed with a RuntimeWarning that
    reached the user 6 to 9 times a search."""
    rng = np.random.default_rng(0)
    y, proba = np.repeat([0, 1], [50, 30]), rng.dirichlet(np.ones(3), 80)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _, score = choose_decision(y, proba, get_metric("f1"))
    assert np.isfinite(score)


def test_multiclass_factors_keep_every_class_predicted() -> None:
    """glass: MCC is one correlation, and the ascent set class 3's factor to 0.03, the middle
    of the plateau where no row is predicted 3; a classifier whose ``classes_`` hold a class
    should be able to predict it. Every class the rows hold keeps at least its most probable
    row, and g-mean still leaves its plateau."""
    import autoimb

    X, labels = autoimb.datasets.load("glass_multiclass", return_X_y=True)
    y = np.unique(labels, return_inverse=True)[1]
    folds = StratifiedKFold(3, shuffle=True, random_state=1)
    model = LogisticRegression(max_iter=2000)
    proba = cross_val_predict(model, X, y, cv=folds, method="predict_proba")
    for name in ("mcc", "f1", "g_mean", "balanced_accuracy"):
        metric = get_metric(name)
        decision, value = choose_decision(y, proba, metric)
        predicted = decision.apply(proba)
        assert set(predicted) == set(y), (name, decision.class_scale)
        assert value == pytest.approx(metric.score_labels(y, predicted, n_classes=6))
