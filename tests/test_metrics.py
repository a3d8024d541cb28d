"""Metrics agree with scikit-learn / imbalanced-learn, honour weights, and parse every form."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from autoimb.exceptions import AutoImbError
from autoimb.metrics.notes import (
    floor_at_risk,
    missed_floor,
    over_classes,
    trivial_rule_note,
)
from autoimb.metrics.registry import (
    ALIASES,
    METRIC_FORMS,
    METRICS,
    REPORT_METRICS,
    Metric,
    confusion_matrix,
    get_metric,
    registered_metrics,
    report_metrics,
)

ALL_METRICS = registered_metrics()
THRESHOLD_METRICS = [m for m in ALL_METRICS if m.kind == "threshold"]


@pytest.fixture(scope="module")
def binary() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.15).astype(np.int64)
    s = np.clip(rng.normal(0.3 + 0.35 * y, 0.2), 0.0, 1.0)
    proba = np.c_[1.0 - s, s]
    y_pred = (s >= 0.45).astype(np.int64)
    w = rng.uniform(0.2, 3.0, n)
    return y, proba, y_pred, w


@pytest.fixture(scope="module")
def multiclass() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    n = 500
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_pred = proba.argmax(axis=1)
    w = rng.uniform(0.2, 3.0, n)
    return y, proba, y_pred, w


def _sk(fn, **kw):
    def call(y, y_pred, sample_weight, pos_label):
        return fn(y, y_pred, sample_weight=sample_weight, pos_label=pos_label, **kw)

    return call


def _sk_nopos(fn, **kw):
    def call(y, y_pred, sample_weight, pos_label):
        return fn(y, y_pred, sample_weight=sample_weight, **kw)

    return call


def _recall_at_precision(floor):
    def call(y, y_pred, sample_weight, pos_label):
        kw = dict(sample_weight=sample_weight, pos_label=pos_label, zero_division=0.0)
        precision = skm.precision_score(y, y_pred, **kw)
        return skm.recall_score(y, y_pred, **kw) if precision >= floor else precision - floor

    return call


def _cost(c_fn, c_fp):
    def call(y, y_pred, sample_weight, pos_label):
        w = np.ones(len(y)) if sample_weight is None else sample_weight
        missed = (y == pos_label) & (y_pred != pos_label)
        false_alarm = (y != pos_label) & (y_pred == pos_label)
        return (c_fn * w[missed].sum() + c_fp * w[false_alarm].sum()) / w.sum()

    return call


BINARY_REFERENCES = {
    "f1": _sk(skm.f1_score),
    "fbeta:2": _sk(skm.fbeta_score, beta=2.0),
    "fbeta:0.5": _sk(skm.fbeta_score, beta=0.5),
    "precision": _sk(skm.precision_score, zero_division=0.0),
    "recall": _sk(skm.recall_score),
    "mcc": _sk_nopos(skm.matthews_corrcoef),
    "balanced_accuracy": _sk_nopos(skm.balanced_accuracy_score),
    "g_mean": _sk_nopos(geometric_mean_score),
    "recall@precision>=0.9": _recall_at_precision(0.9),
    "cost:fn=10,fp=1": _cost(10.0, 1.0),
}


# Every registered threshold metric (and each parametrised form's example), so a metric added
# to the registry without an independent reference here fails.
@pytest.mark.parametrize("name", sorted(m.name for m in THRESHOLD_METRICS))
@pytest.mark.parametrize("pos_label", [1, 0])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_threshold_metrics_match_reference(binary, name, pos_label, weighted):
    y, _, y_pred, w = binary
    sw = w if weighted else None
    expected = BINARY_REFERENCES[name](y, y_pred, sw, pos_label)
    got = get_metric(name).score_labels(y, y_pred, sample_weight=sw, pos_label=pos_label)
    assert got == pytest.approx(expected, abs=1e-12)


MULTICLASS_REFERENCES = {
    "f1": lambda y, p, w: skm.f1_score(y, p, average="macro", sample_weight=w),
    "fbeta:2": lambda y, p, w: skm.fbeta_score(y, p, beta=2.0, average="macro", sample_weight=w),
    "precision": lambda y, p, w: skm.precision_score(
        y, p, average="macro", sample_weight=w, zero_division=0.0
    ),
    "recall": lambda y, p, w: skm.recall_score(y, p, average="macro", sample_weight=w),
    "mcc": lambda y, p, w: skm.matthews_corrcoef(y, p, sample_weight=w),
    "balanced_accuracy": lambda y, p, w: skm.balanced_accuracy_score(y, p, sample_weight=w),
    "g_mean": lambda y, p, w: geometric_mean_score(y, p, sample_weight=w),
}


@pytest.mark.parametrize("name", sorted(MULTICLASS_REFERENCES))
@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_threshold_metrics_match_reference(multiclass, name, weighted):
    y, _, y_pred, w = multiclass
    sw = w if weighted else None
    expected = MULTICLASS_REFERENCES[name](y, y_pred, sw)
    got = get_metric(name).score_labels(y, y_pred, sample_weight=sw, n_classes=3)
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("mcc", "one correlation over every class"),
        ("g_mean", "geometric mean of the classes' recalls"),
        ("f1", "averaged over every class (macro)"),
        ("average_precision", "each class against the others, averaged (macro)"),
    ],
)
def test_how_a_metric_takes_more_classes_is_said_as_it_is_computed(name, words):
    assert words in over_classes(get_metric(name))


def test_multiclass_macro_skips_a_class_absent_from_labels_and_predictions():
    y = np.array([0, 0, 1, 1, 0, 1])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    got = get_metric("f1").score_labels(y, y_pred, n_classes=4)
    assert got == pytest.approx(skm.f1_score(y, y_pred, average="macro"))


RANKING_REFERENCES = {
    "average_precision": skm.average_precision_score,
    "roc_auc": skm.roc_auc_score,
}


@pytest.mark.parametrize("name", sorted(m.name for m in ALL_METRICS if m.kind == "ranking"))
@pytest.mark.parametrize("pos_label", [1, 0])
def test_binary_ranking_metrics_match_sklearn(binary, name, pos_label):
    y, proba, _, w = binary
    expected = RANKING_REFERENCES[name](y == pos_label, proba[:, pos_label], sample_weight=w)
    got = get_metric(name).score_proba(y, proba, sample_weight=w, pos_label=pos_label)
    assert got == pytest.approx(expected, abs=1e-12)


def test_multiclass_ranking_metrics_are_macro_one_vs_rest(multiclass):
    y, proba, _, w = multiclass
    auc = skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", sample_weight=w)
    ap = skm.average_precision_score(
        label_binarize(y, classes=[0, 1, 2]), proba, average="macro", sample_weight=w
    )
    assert get_metric("roc_auc").score_proba(y, proba, sample_weight=w) == pytest.approx(auc)
    assert get_metric("pr_auc").score_proba(y, proba, sample_weight=w) == pytest.approx(ap)


def test_undefined_ranking_scores_come_back_as_nan():
    y = np.zeros(5, dtype=np.int64)
    proba = np.c_[np.linspace(0.9, 0.5, 5), np.linspace(0.1, 0.5, 5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(get_metric("roc_auc").score_proba(y, proba))
        assert math.isnan(get_metric("average_precision").score_proba(y, proba))
        # Zero weight on every positive row is the same as no positive row.
        y2 = np.array([0, 0, 1, 1, 0])
        zero_pos = np.where(y2 == 1, 0.0, 1.0)
        assert math.isnan(get_metric("roc_auc").score_proba(y2, proba, sample_weight=zero_pos))
    y3 = np.array([0, 1, 0, 1, 0])
    proba3 = np.full((5, 3), 1.0 / 3.0)
    assert math.isnan(get_metric("roc_auc").score_proba(y3, proba3))


def test_weighted_confusion_matrix_matches_sklearn(multiclass):
    y, _, y_pred, w = multiclass
    expected = skm.confusion_matrix(y, y_pred, labels=[0, 1, 2, 3], sample_weight=w)
    np.testing.assert_allclose(confusion_matrix(y, y_pred, 4, sample_weight=w), expected)


@pytest.mark.parametrize("metric", THRESHOLD_METRICS, ids=lambda m: m.name)
def test_from_counts_equals_recomputation_at_every_threshold(binary, metric):
    y, proba, _, w = binary
    thresholds = np.r_[np.unique(proba[:, 1]), 1.5]
    preds = [(proba[:, 1] >= t).astype(np.int64) for t in thresholds]
    cms = [confusion_matrix(y, p, 2, sample_weight=w) for p in preds]
    tp, fp, fn, tn = (
        np.array([cm[i, j] for cm in cms]) for i, j in [(1, 1), (0, 1), (1, 0), (0, 0)]
    )
    vectorised = metric.from_counts(tp, fp, fn, tn)
    one_by_one = [metric.score_labels(y, p, sample_weight=w) for p in preds]
    np.testing.assert_allclose(vectorised, one_by_one, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "metric", [m for m in THRESHOLD_METRICS if m.multiclass_fn is not None], ids=lambda m: m.name
)
def test_a_stack_of_confusion_matrices_scores_as_each_matrix_does(multiclass, metric):
    """The multi-class decision search scores a grid of rules at once; a class never
    predicted, a class absent and one predicted class must score as they do alone."""
    y, proba, _, w = multiclass
    rng = np.random.default_rng(2)
    preds = [proba.argmax(axis=1), np.zeros_like(y), rng.integers(0, 4, len(y))]
    preds += [np.where(proba[:, 2] > t, 2, proba[:, :2].argmax(axis=1)) for t in (0.1, 0.5, 0.9)]
    cms = np.stack([confusion_matrix(y, p, 4, sample_weight=w) for p in preds])
    one_by_one = [metric.score_labels(y, p, sample_weight=w, n_classes=4) for p in preds]
    np.testing.assert_allclose(metric.score_confusions(cms), one_by_one, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda m: m.name)
def test_every_registered_metric_behaves(binary, multiclass, metric):
    # Name round trip: the canonical name parses back to an equal metric.
    assert get_metric(metric.name) == metric
    assert get_metric(metric) is metric
    y, proba, y_pred, w = binary
    value = metric.score(y, proba, y_pred, sample_weight=w)
    assert isinstance(value, float)
    assert math.isfinite(value)
    # A perfect classifier is at least as good as a mediocre one, in the metric's direction.
    perfect_proba = np.c_[1.0 - y, y].astype(np.float64)
    perfect = metric.score(y, perfect_proba, y, sample_weight=w)
    if metric.greater_is_better:
        assert perfect >= value
    else:
        assert perfect <= value
    if metric.kind == "threshold":
        # Degenerate counts never give NaN, so a threshold scan can always take an argmax.
        zeros = np.zeros(3)
        assert np.all(np.isfinite(metric.from_counts(zeros, zeros, zeros, zeros)))
    ym, pm, ypm, wm = multiclass
    if metric.kind == "threshold" and metric.multiclass_fn is None:
        with pytest.raises(AutoImbError, match="binary targets"):
            metric.score(ym, pm, ypm, sample_weight=wm)
    else:
        assert math.isfinite(metric.score(ym, pm, ypm, sample_weight=wm))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("f2", "fbeta:2"),
        ("F0.5", "fbeta:0.5"),
        ("fbeta:0.5", "fbeta:0.5"),
        ("fbeta: 2.0", "fbeta:2"),
        ("f1", "f1"),
        ("pr_auc", "average_precision"),
        ("PR_AUC", "average_precision"),
        ("PR-AUC", "average_precision"),  # as the docs write it
        ("auprc", "average_precision"),
        ("g-mean", "g_mean"),
        ("gmean", "g_mean"),
        ("balanced-accuracy", "balanced_accuracy"),
        ("matthews_corrcoef", "mcc"),
        ("bacc", "balanced_accuracy"),
        ("Sensitivity", "recall"),
        ("TPR", "recall"),
        ("ppv", "precision"),
        ("recall@precision>=0.9", "recall@precision>=0.9"),
        ("recall@precision>=1", "recall@precision>=1"),
        ("cost:fn=10,fp=1", "cost:fn=10,fp=1"),
        ("cost: fp=1, fn=10.0", "cost:fn=10,fp=1"),
        ("cost:fn=2.5,fp=0.5", "cost:fn=2.5,fp=0.5"),
    ],
)
def test_parser_forms(text, canonical):
    assert get_metric(text).name == canonical


def test_registry_tables_are_consistent():
    for alias, target in ALIASES.items():
        assert get_metric(alias) is METRICS[target]
    for example in METRIC_FORMS.values():
        assert isinstance(get_metric(example), Metric)
    assert get_metric("f2") == get_metric("fbeta:2")
    assert get_metric("fbeta:1") is get_metric("f1")  # one metric, one name (a resume's)
    # As written in "the F-1 score": a hyphen, not a negative beta.
    assert get_metric("F-1") is get_metric("f_1") is get_metric("f1")
    assert get_metric("f-0.5") == get_metric("fbeta:0.5") == get_metric("fbeta-0.5")
    assert get_metric("cost:fn=10,fp=1").greater_is_better is False
    assert get_metric("roc_auc").kind == "ranking"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("f1_score", r"Unknown metric 'f1_score'\. Did you mean 'f1'\?"),
        ("f2_score", r"Did you mean 'f2'\?"),
        ("F1-score", r"Did you mean 'f1'\?"),
        ("fbeta_score", r"Did you mean 'fbeta:2' \(its beta after the colon\)\?"),
        ("auc", r"Did you mean 'roc_auc' \(ROC\) or 'average_precision' \(PR-AUC\)\?"),
        ("f1_macro", r"Did you mean 'f1'\? It scores the positive class on two classes and is "),
        ("f1-macro", r"Did you mean 'f1'\? It scores the positive class on two classes and is "),
        ("specificity", r"'specificity'\. Specificity alone is not offered .*'balanced_accuracy'"),
        ("TNR", r"Specificity alone is not offered .*'g_mean' takes their geometric mean"),
        # Not the opposite constraint, which the closest spelling would be.
        ("precision@recall>=0.9", r"A floor on recall is not offered .*'fbeta:2'.*'cost:fn="),
        ("precision_at_recall=0.8", r"A floor on recall is not offered"),
        ("averge_precision", r"Did you mean 'average_precision'"),
        ("recall@precision=0.8", r"Did you mean 'recall@precision>=0\.8'\?"),
        ("recall_at_precision>0.75", r"Did you mean 'recall@precision>=0\.75'\?"),
        ("fbeta=0.5", r"Did you mean 'fbeta:0\.5'\?"),
        ("cost_fn=5,fp=2", r"Did you mean 'cost:fn=5,fp=2'\?"),
        ("nonsense", r"Known metrics: .*parametrised forms: fbeta:<beta>"),
        ("fbeta:0", r"beta must be a positive number, got 0"),
        ("fbeta:-2", r"beta must be a positive number, got -2"),
        ("fbeta:abc", r"beta must be a number, got 'abc'"),
        ("fbeta:inf", r"beta must be a finite number"),
        ("recall@precision>=0", r"floor must be in \(0, 1\], got 0"),
        ("recall@precision>=1.2", r"floor must be in \(0, 1\], got 1\.2"),
        ("cost:fn=-1,fp=1", r"fn cost must be a positive number, got -1"),
        ("cost:fn=1,fp=0", r"fp cost must be a positive number, got 0"),
        ("cost:fn=1", r"must give both costs"),
        ("cost:fn=1,fp=1,tp=3", r"Cannot parse cost metric"),
        ("cost:fn=10;fp=1", r"separate the two costs with a comma"),
    ],
)
def test_parser_errors(text, match):
    with pytest.raises(AutoImbError, match=match):
        get_metric(text)


def test_get_metric_refuses_non_strings():
    with pytest.raises(AutoImbError, match=r"as a Metric.*autoimb\.metrics\.metric"):
        get_metric(3)  # type: ignore[arg-type]


def test_recall_at_precision_ranks_infeasible_results_by_shortfall():
    metric = get_metric("recall@precision>=0.8")
    # precision 0.9 >= 0.8 -> recall; precision 0.5 -> -(0.8 - 0.5); 0.7 is closer.
    values = metric.from_counts([9.0, 5.0, 7.0], [1.0, 5.0, 3.0], [1.0, 5.0, 3.0], [10.0] * 3)
    np.testing.assert_allclose(values, [0.9, -0.3, -0.1])
    assert values[2] > values[1]


def test_cost_is_weighted_cost_per_unit_weight():
    metric = get_metric("cost:fn=10,fp=1")
    y = np.array([1, 1, 0, 0, 0])
    y_pred = np.array([0, 1, 1, 0, 0])
    w = np.array([2.0, 1.0, 3.0, 1.0, 1.0])
    assert metric.score_labels(y, y_pred, sample_weight=w) == pytest.approx((2 * 10 + 3 * 1) / 8)


def test_score_dispatch_needs_the_right_inputs(binary):
    y, proba, y_pred, _ = binary
    with pytest.raises(AutoImbError, match="needs y_pred"):
        get_metric("f1").score(y, proba)
    with pytest.raises(AutoImbError, match="needs proba"):
        get_metric("roc_auc").score(y, None, y_pred)
    with pytest.raises(AutoImbError, match="call score_proba"):
        get_metric("roc_auc").score_labels(y, y_pred)
    with pytest.raises(AutoImbError, match="call score_labels"):
        get_metric("f1").score_proba(y, proba)
    assert get_metric("f1").score(y, None, y_pred) == pytest.approx(skm.f1_score(y, y_pred))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.array(["a", "b"])}, "integer class codes"),
        ({"y": np.array([0, -1])}, "negative class codes"),
        ({"y": np.array([0, 2])}, "class code 2"),
        ({"sample_weight": np.array([1.0, -1.0])}, "non-negative"),
        ({"sample_weight": np.array([1.0])}, "one weight per row"),
        ({"y_pred": np.array([0, 1, 1])}, "different lengths"),
        ({"pos_label": 2}, "outside the class codes"),
    ],
)
def test_input_errors(kwargs, match):
    args = {"y": np.array([0, 1]), "y_pred": np.array([1, 1]), "sample_weight": None}
    args.update({k: v for k, v in kwargs.items() if k != "pos_label"})
    with pytest.raises(AutoImbError, match=match):
        get_metric("f1").score_labels(
            args["y"],
            args["y_pred"],
            sample_weight=args["sample_weight"],
            pos_label=kwargs.get("pos_label", 1),
        )


def test_proba_shape_is_checked():
    with pytest.raises(AutoImbError, match=r"\(n_samples, n_classes\)"):
        get_metric("roc_auc").score_proba([0, 1], [0.2, 0.8])


def test_report_metrics_binary_and_multiclass(binary, multiclass):
    y, proba, y_pred, w = binary
    report = report_metrics(y, proba, y_pred, sample_weight=w)
    assert tuple(report) == REPORT_METRICS
    assert report["fbeta:2"] == pytest.approx(skm.fbeta_score(y, y_pred, beta=2, sample_weight=w))
    ym, pm, ypm, wm = multiclass
    assert tuple(report_metrics(ym, pm, ypm, sample_weight=wm)) == REPORT_METRICS


def test_report_metrics_leaves_out_undefined_values():
    y = np.zeros(4, dtype=np.int64)
    proba = np.c_[[0.9, 0.8, 0.6, 0.3], [0.1, 0.2, 0.4, 0.7]]
    report = report_metrics(y, proba, (proba[:, 1] > 0.5).astype(int))
    assert "roc_auc" not in report
    assert "average_precision" not in report
    assert report["balanced_accuracy"] == pytest.approx(0.75)


def test_multiclass_mcc_with_one_predicted_class_and_float_weights_is_zero() -> None:
    """Rounding must not turn a zero variance into a negative one (a math domain error)."""
    from autoimb.metrics.formulas import _multiclass_mcc

    weights = np.array([0.1, 0.7, 0.2, 0.3, 0.3, 0.1])
    cm = np.zeros((3, 3))
    for true, w in zip([0, 0, 1, 1, 2, 2], weights, strict=True):
        cm[true, 1] += w  # every row predicted as class 1
    assert _multiclass_mcc(cm) == 0.0


def test_a_missed_precision_floor_is_named_as_such() -> None:
    metric = get_metric("recall@precision>=0.3")
    assert missed_floor(metric, 0.42) is None and missed_floor(get_metric("f1"), -1.0) is None
    note = missed_floor(metric, -0.25)
    assert "No strategy reached precision 0.3" in note and "about 0.050" in note
    # Met on the search's folds, missed when measured again: at the floor, not below it all.
    again = missed_floor(metric, -0.01, search_score=0.61)
    assert "met precision 0.3 on the search's folds (recall 0.6100)" in again
    assert "about 0.290" in again and "No strategy" not in again
    # With the chance measured, the note says it (it said "as often as not" beside 82%).
    told = missed_floor(metric, -0.05, search_score=0.61, chance=0.82)
    assert "falls below it about 82% of the time" in told and "as often as not" not in told


def test_a_missed_floor_names_the_trial_that_met_it_where_the_winner_did_not() -> None:
    """The race may serve a trial short of the floor over one that met it on the search's
    folds: "no strategy reached it" was then false, and sent the user the wrong way."""
    metric = get_metric("recall@precision>=0.8")
    note = missed_floor(metric, -0.08, search_score=-0.03, study_best=(1, 0.37))
    assert "Trial 1 met the floor on the search's folds (recall 0.3700)" in note
    assert "No strategy" not in note and "about 0.720" in note
    # Where no trial met it, it is out of reach as before.
    assert "No strategy reached" in missed_floor(metric, -0.08, -0.03, None, (1, -0.01))


@pytest.mark.slow
def test_a_searchs_missed_floor_note_agrees_with_its_leaderboard() -> None:
    from sklearn.model_selection import train_test_split

    import autoimb
    from autoimb.datasets import load

    X, y = load("ecoli1", return_X_y=True)
    X, _, y, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    result = autoimb.search(
        X, y, metric="recall@precision>=0.8", n_trials=4, cv=3,
        space="fast", random_state=0, importance=False, verbose=False,
    )  # fmt: skip
    board = result.leaderboard
    met = board[board["score"] >= 0]
    notes = [n for n in result.notes if "fell short of 0.8" in n]
    searched = result.model_card()["search_score"]
    assert searched < 0 and len(met) > 0  # the case: the winner short even there, one met it
    assert len(notes) == 1 and "No strategy reached" not in notes[0]
    assert f"Trial {met['trial'].iloc[0]} met the floor" in notes[0]


def test_a_met_floor_that_new_rows_may_miss_says_how_likely() -> None:
    metric = get_metric("recall@precision>=0.9")
    note = floor_at_risk(metric, 0.17, 0.46)
    assert "precision falls below 0.9 about 46% of the time" in note
    assert floor_at_risk(metric, 0.17, 0.02) is None  # held on almost every resample
    assert floor_at_risk(metric, -0.2, 0.9) is None  # missed outright: missed_floor says so
    assert floor_at_risk(get_metric("mcc"), 0.1, None) is None


@pytest.mark.parametrize("metric", THRESHOLD_METRICS, ids=lambda m: m.name)
def test_a_winner_no_better_than_predicting_one_class_for_every_row_is_named(metric) -> None:
    """The rule's own score on the rows is the yardstick: a winner at it or past it in the
    wrong direction is named, one clearly better is not."""
    y = np.r_[np.zeros(90, np.int64), np.ones(10, np.int64)]
    flag_all = float(metric.from_counts(10.0, 90.0, 0.0, 0.0))
    flag_none = float(metric.from_counts(0.0, 0.0, 10.0, 90.0))
    sign = 1.0 if metric.greater_is_better else -1.0
    trivial = max(flag_all, flag_none, key=lambda v: sign * v)
    note = trivial_rule_note(metric, trivial, y, None, 1, "fraud")
    assert note is not None and f"{trivial:.4f}" in note
    assert "fraud for every row" in note if trivial == flag_all else "fraud for no row" in note
    better = trivial + sign * max(0.05, abs(trivial) * 0.1)
    assert trivial_rule_note(metric, better, y, None, 1, "fraud") is None


def test_flagging_every_row_is_weighed_by_the_rows_weights() -> None:
    """A miss costs 50: flagging all 100 rows costs 0.9 per row unweighted; with the
    negatives weighing half, 0.45/0.55 ≈ 0.818 per unit of weight."""
    cost = get_metric("cost:fn=50,fp=1")
    y = np.r_[np.zeros(90, np.int64), np.ones(10, np.int64)]
    assert "costs 0.9000" in trivial_rule_note(cost, 1.03, y, None, 1, 1)
    w = np.r_[np.full(90, 0.5), np.ones(10)]
    assert "costs 0.8182" in trivial_rule_note(cost, 1.03, y, w, 1, 1)
    assert trivial_rule_note(cost, 0.5, y, w, 1, 1) is None


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda m: m.name)
def test_a_metric_of_ones_own_may_not_take_one_of_autoimbs_names(metric) -> None:
    """A study records its metric by name: an own "f1" would be resumed as autoimb's F1."""
    from autoimb.metrics.metric import Metric
    from autoimb.metrics.own import check_own_metric

    check_own_metric(metric)  # autoimb's own, however it was made, passes
    check_own_metric(get_metric(metric.name))
    own = Metric(metric.name, "ranking", True, ranking_fn=lambda y, s, w: 0.5)
    with pytest.raises(AutoImbError, match=rf"named {re.escape(repr(metric.name))}, which is"):
        check_own_metric(own)
    check_own_metric(Metric("mine", "ranking", True, ranking_fn=lambda y, s, w: 0.5))


@pytest.mark.parametrize(
    "name, kind, greater_is_better, message",
    [
        (None, "threshold", True, r"Metric name must be a non-empty text; got None"),
        ("", "threshold", True, r"Metric name must be a non-empty text; got ''"),
        (
            "fpr",
            "threshold",
            "False",
            r"Metric greater_is_better must be True or False; got str 'False'",
        ),
        ("fpr", "threshold", 0, r"Metric greater_is_better must be True or False; got int 0"),
        ("fpr", "labels", True, r"Metric kind must be 'threshold' or 'ranking'; got 'labels'"),
    ],
    ids=["name-none", "name-empty", "direction-as-text", "direction-as-number", "kind-unknown"],
)
def test_a_metric_of_ones_own_is_checked_when_made(name, kind, greater_is_better, message):
    """A text "False" is true by Python's truth: a false-positive rate was maximised."""
    from autoimb.metrics.metric import Metric

    def false_positive_rate(tp, fp, fn, tn):
        return fp / np.maximum(fp + tn, 1)

    with pytest.raises(AutoImbError, match=message):
        Metric(name, kind, greater_is_better, counts_fn=false_positive_rate)


def test_a_class_never_predicted_over_several_is_named() -> None:
    from autoimb.metrics.notes import unpredicted_classes_note

    y = np.array([0, 0, 1, 1, 2, 2])
    mcc = get_metric("mcc")
    note = unpredicted_classes_note(mcc, y, np.array([0, 0, 1, 1, 1, 0]), ["a", "b", "c"])
    assert note is not None and "['c'] are never predicted out of fold" in note
    assert unpredicted_classes_note(mcc, y, y, ["a", "b", "c"]) is None
    assert unpredicted_classes_note(mcc, y[:4], np.zeros(4, int), ["a", "b"]) is None  # binary
    # The class factors keep every class they can bring to a row, MCC's included: what is
    # left unpredicted the models cannot tell apart, whatever the metric.
    f1 = unpredicted_classes_note(get_metric("f1"), y, np.array([0, 0, 1, 1, 1, 0]), "abc")
    assert "Optimise" not in note and note == f1 and "Add rows of those classes" in f1
    # Integer labels read as the user wrote them, not as text ("['3']").
    numbers = unpredicted_classes_note(mcc, y, np.array([0, 0, 1, 1, 1, 0]), np.array([1, 2, 3]))
    assert numbers is not None and numbers.startswith("Class(es) [3] are never predicted")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_g_mean_leaves_a_class_absent_from_y_out_as_balanced_accuracy_does(n_classes) -> None:
    """A class predicted but absent from y counted as a recall of 0: the whole score was 0."""
    g_mean, balanced = get_metric("g_mean"), get_metric("balanced_accuracy")
    if n_classes == 2:  # negatives only, one false alarm
        y, y_pred = np.zeros(4, np.int64), np.array([0, 0, 0, 1])
    else:  # classes 0 and 1 only, class 2 predicted twice
        y, y_pred = np.array([0, 0, 0, 0, 1, 1, 1, 1]), np.array([0, 0, 0, 2, 1, 1, 0, 2])
    got = g_mean.score_labels(y, y_pred, n_classes=n_classes)
    recalls = skm.recall_score(y, y_pred, labels=np.unique(y), average=None)
    assert got == pytest.approx(float(np.prod(recalls) ** (1 / len(recalls))))
    assert got > 0
    assert balanced.score_labels(y, y_pred, n_classes=n_classes) == pytest.approx(recalls.mean())


@pytest.mark.parametrize("name", ["mcc", "f1", "balanced_accuracy", "g_mean"])
def test_over_several_classes_each_one_class_rule_is_the_yardstick(name) -> None:
    """Pure noise over three classes: a winner at or below one class for every row is named."""
    metric = get_metric(name)
    y = np.r_[np.zeros(60, np.int64), np.ones(30, np.int64), np.full(10, 2, np.int64)]
    everything_zero = np.zeros((3, 3))
    everything_zero[:, 0] = [60, 30, 10]
    rule = metric.score_confusion(everything_zero)
    note = trivial_rule_note(metric, rule - 0.01, y, None, 2, "c", classes=["a", "b", "c"])
    assert note is not None and "Predicting a for every row" in note
    assert "rows of the rare classes" in note
    assert trivial_rule_note(metric, rule + 0.05, y, None, 2, "c", classes=["a", "b", "c"]) is None


@pytest.mark.parametrize(("beta", "limit"), [(1e200, "recall"), (1e-200, "precision")])
def test_an_extreme_beta_tends_to_recall_or_precision(beta, limit) -> None:
    """beta² overflowed: every score was NaN, and the search blamed the data."""
    fbeta = get_metric(f"fbeta:{beta}")
    tp, fp, fn, tn = 8.0, 4.0, 2.0, 86.0
    expected = tp / (tp + fn) if limit == "recall" else tp / (tp + fp)
    assert float(fbeta.from_counts(tp, fp, fn, tn)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("counts_fn", "match"),
    [
        (lambda tp, fp, fn, tn: tp * float("nan"), "gave nan scoring ten rows"),
        (lambda tp, fp, fn, tn: float("x"), r"raised ValueError: could not convert"),
        (
            lambda tp, fp, fn, tn: (tp / (tp + fp) if tp + fp > 0 else 0.0) * tp / (tp + fn),
            r"counts_fn must take arrays of counts .* gave ValueError: The truth value",
        ),
        (
            lambda tp, fp, fn, tn: float(tp / (tp + fn)),
            r"must take arrays .*\(np.where rather than if/else",
        ),
        (lambda tp, fp, fn, tn: tp / (tp + fn) / (fp / (fp + tn)), "infinite score at some"),
    ],
)
def test_a_metric_of_ones_own_that_cannot_score_is_refused_before_the_search(counts_fn, match):
    """Every trial failed, and the search blamed the data ("check both classes are present")."""
    from autoimb.metrics.metric import Metric
    from autoimb.metrics.own import check_own_metric

    mine = Metric("mine", "threshold", True, counts_fn=counts_fn)
    with pytest.raises(AutoImbError, match=match), np.errstate(all="ignore"):
        check_own_metric(mine)


def test_an_infinite_best_decision_is_its_own_plateau_and_all_infinitely_bad_is_named() -> None:
    from autoimb.posthoc.candidates import middle_of_best

    assert middle_of_best(np.array([0.1, np.inf, np.inf, np.inf, 0.3]), True) == 2
    with pytest.raises(AutoImbError, match="infinitely bad for every candidate"):
        middle_of_best(np.array([np.inf, np.inf]), False)  # a cost that overflowed
    with pytest.raises(AutoImbError, match="undefined"):
        middle_of_best(np.array([np.nan, np.nan]), True)


def test_a_metric_of_ones_own_over_several_classes_is_tried_before_the_search(glass) -> None:
    """A multiclass_fn that raised failed every trial ("3x IndexError: invalid index to scalar
    variable. Check the data and the search space"); one left out was answered with autoimb's
    metrics only, not with what the Metric lacks."""
    import autoimb
    from autoimb.metrics.metric import Metric

    X, y = glass
    space = {"model": {"logistic_regression": {}}}

    def f1(tp, fp, fn, tn):
        return 2 * tp / (2 * tp + fp + fn)

    def by_index(cm):
        return float(np.trace(cm)[0])

    broken = Metric("mine", "threshold", True, counts_fn=f1, multiclass_fn=by_index)
    with pytest.raises(
        AutoImbError,
        match=r"the metric 'mine''s multiclass_fn raised IndexError: .*scoring a 6-class "
        r"confusion matrix \(rows true, columns predicted\); fix it before the search \(every "
        r"trial would fail\)",
    ):
        autoimb.search(X, y, metric=broken, space=space, n_trials=2, cv=3, random_state=0)
    undefined = Metric("mine", "threshold", True, counts_fn=f1, multiclass_fn=lambda cm: np.nan)
    with pytest.raises(AutoImbError, match=r"multiclass_fn gave nan scoring a 6-class"):
        autoimb.search(X, y, metric=undefined, space=space, n_trials=2, cv=3, random_state=0)
    costs = np.arange(36.0).reshape(6, 6)  # a formula for this data's six classes alone
    sized = Metric(
        "cost", "threshold", False, counts_fn=f1, multiclass_fn=lambda cm: (costs * cm).sum()
    )
    autoimb.search(X, y, metric=sized, space=space, n_trials=1, cv=3, random_state=0)
    binary = Metric("mine", "threshold", True, counts_fn=f1)
    with pytest.raises(
        AutoImbError,
        match=r"'mine' is defined for two classes, and y has 6 classes; give your Metric a "
        r"multiclass_fn=f\(confusion_matrix\)",
    ):
        autoimb.search(X, y, metric=binary, space=space, n_trials=2, cv=3, random_state=0)
