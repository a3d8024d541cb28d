from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.dummy import DummyClassifier

import autoimb.engine.pipeline as pipeline_module
from autoimb.data.dataset import validate
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.finish import _select_ensemble
from autoimb.engine.outcome import Predictions, SearchOutcome
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.engine.settings import SearchSettings
from autoimb.exceptions import AutoImbError
from autoimb.export import TRUSTED_TYPES
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.ensemble import (
    EnsembleClassifier,
    blend,
    members_of,
    select_ensemble,
)
from autoimb.posthoc.fast_scores import fold_scorer
from autoimb.posthoc.greedy import nested_scores, prune
from autoimb.posthoc.threshold import ThresholdedClassifier, honest_score

CONFIGS = {
    0: {"model": {"name": "logistic_regression"}},
    1: {"model": {"name": "lightgbm", "n_estimators": 30}},
    2: {"weighting": {"name": "balanced"}, "model": {"name": "random_forest", "n_estimators": 30}},
    3: {"resampler": {"name": "random_under"}, "model": {"name": "logistic_regression"}},
}


@pytest.fixture(scope="module")
def library(yeast4):
    """Out-of-fold probabilities of four cheap strategies on yeast4 (3 folds)."""
    data = validate(*yeast4)
    cv = CrossValidation(data, 3, random_state=0)
    oofs = {
        number: evaluate(config, cv, get_metric("f1"), random_state=0).oof
        for number, config in CONFIGS.items()
    }
    return data, cv, oofs


@pytest.mark.parametrize("metric", ["f1", "average_precision", "mcc"])
def test_selection_reports_the_honest_score_of_its_weights(library, metric):
    data, cv, oofs = library
    metric = get_metric(metric)
    sel = select_ensemble(oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label)
    assert set(sel.weights) <= set(oofs)
    assert sum(sel.weights.values()) == pytest.approx(1.0)
    assert all(w > 0 for w in sel.weights.values())
    expected, _ = honest_score(
        data.y, blend(oofs, sel.weights), cv.fold_ids, metric, pos_label=data.pos_label
    )
    assert sel.score == expected
    single, _ = honest_score(
        data.y, oofs[sel.single_best], cv.fold_ids, metric, pos_label=data.pos_label
    )
    assert sel.single_score == single
    # The greedy path starts from the single best and keeps its best prefix.
    assert sel.history[0] == pytest.approx(sel.single_score)
    assert sel.score >= sel.single_score - 1e-9
    assert f"{sel.score:.4f}" in sel.reason and f"{sel.single_score:.4f}" in sel.reason


@pytest.mark.parametrize("nested", [True, False])
@pytest.mark.parametrize("metric", ["f1", "average_precision", "cost:fn=10,fp=1"])
def test_chosen_only_when_it_beats_the_single_best(library, metric, nested):
    data, cv, oofs = library
    metric = get_metric(metric)
    sel = select_ensemble(
        oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label, nested=nested
    )
    sign = 1.0 if metric.greater_is_better else -1.0
    if sel.chosen:
        assert sign * (sel.score - sel.single_score) > 0
        assert len(sel.weights) > 1
        if nested:
            assert sign * (sel.nested_score - sel.nested_single_score) > 0
        assert sel.reason.startswith("Chose an ensemble")
        assert sel.final_weights == sel.weights
    else:
        assert sel.reason.startswith(f"Kept the single best trial {sel.single_best}")
        assert sel.final_weights == {sel.single_best: 1.0}


def test_identical_candidates_give_no_gain(library):
    data, cv, oofs = library
    same = {7: oofs[1], 8: oofs[1].copy(), 9: oofs[1].copy()}
    sel = select_ensemble(same, data.y, cv.fold_ids, get_metric("f1"), pos_label=data.pos_label)
    assert not sel.chosen
    assert len(sel.weights) == 1
    assert sel.score == sel.single_score
    assert "no blend" in sel.reason


def test_a_given_single_best_is_the_baseline(library):
    data, cv, oofs = library
    sel = select_ensemble(
        oofs,
        data.y,
        cv.fold_ids,
        get_metric("f1"),
        pos_label=data.pos_label,
        single_best=3,
        max_size=1,
    )
    assert sel.single_best == 3
    assert sel.weights == {3: 1.0}
    assert not sel.chosen


def test_a_time_limit_shortens_the_selection(library):
    data, cv, oofs = library
    sel = select_ensemble(
        oofs, data.y, cv.fold_ids, get_metric("f1"), pos_label=data.pos_label, time_limit=1e-4
    )
    assert sel.weights == {sel.single_best: 1.0}
    assert not sel.chosen
    assert sel.nested_score is None
    assert any("time limit" in note for note in sel.notes)


@pytest.mark.parametrize("metric", ["f1", "average_precision"])
def test_members_too_dear_to_refit_in_the_time_left_are_never_picked(library, metric):
    """An ensemble the budget cannot refit is not built: the members' refit seconds stay within
    ``max_cost``, in the selection served and in its nested rerun."""
    data, cv, oofs = library
    metric = get_metric(metric)
    free = select_ensemble(oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label)
    assert len(free.weights) > 1  # the library blends well: the cost has something to stop
    dear = next(n for n in free.weights if n != free.single_best)
    costs = {n: 1.0 for n in oofs} | {dear: 5.0}
    bound = select_ensemble(
        oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label, costs=costs, max_cost=3.0
    )
    assert dear not in bound.weights
    assert sum(costs[n] for n in bound.weights) <= 3.0
    assert any("1 candidate(s) were left out" in note for note in bound.notes)
    # Nested: with room for one member only, each fold's "ensemble" is its single best.
    stack = np.stack([oofs[n] for n in sorted(oofs)])
    sign = 1.0 if metric.greater_is_better else -1.0
    args = (stack, data.y, None, cv.fold_ids, metric, data.pos_label, 10, sign, None)
    alone, single = nested_scores(*args, np.ones(len(oofs)), 1.0)
    assert alone == single
    unbound = select_ensemble(
        oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label, costs=costs
    )
    assert unbound.weights == free.weights  # no max_cost: no bound


@pytest.mark.parametrize("name", ["average_precision", "roc_auc"])
def test_a_ranking_metrics_nested_score_does_not_depend_on_a_candidates_scale(name):
    """Each fold's pick ranks that fold's rows; pooled, a candidate on a higher scale (a
    balanced model's probabilities) ranked one fold's negatives above another's positives
    and the nested score fell below every candidate's. Squashing a candidate's probabilities
    changes no ranking, so it must change no nested single-trial score."""
    rng = np.random.default_rng(1)
    n = 900
    y = (rng.random(n) < 0.05).astype(np.int64)
    folds = np.arange(n) % 3
    signal = 1.5 * y + rng.normal(size=n)
    a = 1 / (1 + np.exp(-(signal + rng.normal(size=n) + 3)))  # runs high
    b = 1 / (1 + np.exp(-(signal + rng.normal(size=n) - 3)))  # runs low
    metric = get_metric(name)

    def nested_single(b: np.ndarray) -> float:
        stack = np.stack([np.c_[1 - a, a], np.c_[1 - b, b]])
        return nested_scores(stack, y, None, folds, metric, 1, 5, 1.0, None)[1]

    assert nested_single(b) == pytest.approx(nested_single(b**0.1), abs=1e-12)


def test_two_folds_use_the_margin_rule(yeast4):
    data = validate(*yeast4)
    cv = CrossValidation(data, 2, random_state=0)
    oofs = {n: evaluate(CONFIGS[n], cv, get_metric("f1"), random_state=0).oof for n in (0, 1)}
    sel = select_ensemble(
        oofs, data.y, cv.fold_ids, get_metric("average_precision"), pos_label=data.pos_label
    )
    assert sel.nested_score is None
    if len(sel.weights) > 1:
        assert "standard error" in sel.reason


def test_bad_inputs_are_refused(library):
    data, cv, oofs = library
    with pytest.raises(AutoImbError, match="single_best"):
        select_ensemble(oofs, data.y, cv.fold_ids, get_metric("f1"), single_best=42)
    with pytest.raises(AutoImbError, match="non-empty"):
        select_ensemble({}, data.y, cv.fold_ids, get_metric("f1"))
    with pytest.raises(AutoImbError, match="shape"):
        select_ensemble({0: oofs[0], 1: oofs[1][:-1]}, data.y, cv.fold_ids, get_metric("f1"))
    with pytest.raises(AutoImbError, match="fold_ids"):
        select_ensemble(oofs, data.y, cv.fold_ids[:-1], get_metric("f1"))
    with pytest.raises(AutoImbError, match="max_size"):
        select_ensemble(oofs, data.y, cv.fold_ids, get_metric("f1"), max_size=0)
    with pytest.raises(AutoImbError, match="time_limit"):
        select_ensemble(oofs, data.y, cv.fold_ids, get_metric("f1"), time_limit=0)
    with pytest.raises(AutoImbError, match="weights"):
        blend(oofs, {0: -1.0})


def test_multiclass_selection(glass):
    data = validate(*glass)
    cv = CrossValidation(data, 3, random_state=0)
    oofs = {n: evaluate(CONFIGS[n], cv, get_metric("roc_auc"), random_state=0).oof for n in (0, 2)}
    sel = select_ensemble(oofs, data.y, cv.fold_ids, get_metric("roc_auc"), max_size=5)
    expected, _ = honest_score(data.y, blend(oofs, sel.weights), cv.fold_ids, get_metric("roc_auc"))
    assert sel.score == expected
    assert sum(sel.weights.values()) == pytest.approx(1.0)


# ------------------------------------------------------------------------ the estimator


@pytest.fixture(scope="module")
def fitted(yeast4):
    X, y = yeast4
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[: len(y) // 2], order[len(y) // 2 :]
    data = validate(X.iloc[train].reset_index(drop=True), y.iloc[train].reset_index(drop=True))
    members = [
        StrategyPipeline(CONFIGS[n], data.schema(), random_state=0).fit(data.X, data.y)
        for n in (0, 1, 2)
    ]
    return data, members, X.iloc[test].reset_index(drop=True)


def test_predict_proba_is_the_weighted_mean(fitted):
    _, members, X_test = fitted
    ensemble = EnsembleClassifier(members, [2.0, 1.0, 1.0])
    expected = sum(
        w * m.predict_proba(X_test) for w, m in zip([0.5, 0.25, 0.25], members, strict=True)
    )
    np.testing.assert_allclose(ensemble.predict_proba(X_test), expected, atol=1e-12)
    np.testing.assert_array_equal(ensemble.classes_, [0, 1])
    np.testing.assert_array_equal(ensemble.predict(X_test), expected.argmax(axis=1))


def test_members_on_the_same_columns_conform_new_rows_once(fitted, monkeypatch):
    """A search's members share the training columns: new rows are brought to them once, not
    once per member (on wide data that costs more than the predictions); a member that is no
    pipeline of autoimb's still gets the rows as given."""
    data, members, X_test = fitted
    outsider = DummyClassifier(strategy="prior").fit(data.X.to_numpy(), data.y)
    calls = []
    original = pipeline_module.conform
    monkeypatch.setattr(
        pipeline_module, "conform", lambda X, schema: calls.append(1) or original(X, schema)
    )
    ensemble = EnsembleClassifier([*members, outsider], [1.0, 1.0, 1.0, 1.0])
    proba = ensemble.predict_proba(X_test)
    assert len(calls) == 1
    expected = sum(m.predict_proba(X_test) for m in members) + outsider.predict_proba(X_test)
    np.testing.assert_allclose(proba, expected / 4, atol=1e-12)


def test_wrapped_it_speaks_the_users_labels(fitted):
    data, members, X_test = fitted
    wrapped = ThresholdedClassifier(
        EnsembleClassifier(members, [1.0, 1.0, 1.0]),
        decision_threshold=0.3,
        pos_label=data.pos_label,
        classes=data.classes,
    )
    assert set(np.unique(wrapped.predict(X_test))) <= set(data.classes)


def test_clone_and_refit(fitted):
    data, members, X_test = fitted
    ensemble = EnsembleClassifier(members, [1.0, 0.0, 3.0])
    copy = clone(ensemble)
    assert copy.weights == [1.0, 0.0, 3.0]
    assert all(a is not b for a, b in zip(copy.estimators, members, strict=True))
    assert not hasattr(copy, "classes_")  # unfitted members
    copy.fit(data.X, data.y)
    assert copy.predict_proba(X_test).shape == (len(X_test), 2)


def test_skops_round_trip(fitted, tmp_path):
    _, members, X_test = fitted
    ensemble = EnsembleClassifier(members, [0.2, 0.3, 0.5])
    path = tmp_path / "ensemble.skops"
    sio.dump(ensemble, path)
    types = sio.get_untrusted_types(file=path)
    assert "autoimb.posthoc.ensemble.EnsembleClassifier" in types
    assert set(types) <= set(TRUSTED_TYPES)
    loaded = sio.load(path, trusted=types)
    np.testing.assert_allclose(loaded.predict_proba(X_test), ensemble.predict_proba(X_test))


def test_bad_weights_are_refused(fitted):
    _, members, X_test = fitted
    with pytest.raises(AutoImbError, match="one number per estimator"):
        EnsembleClassifier(members, [1.0]).predict_proba(X_test)
    with pytest.raises(AutoImbError, match="non-negative"):
        EnsembleClassifier(members, [1.0, -1.0, 1.0]).predict_proba(X_test)


def test_members_of_follows_the_decision(library, fitted):
    data, cv, oofs = library
    _, members, _ = fitted
    sel = select_ensemble(
        oofs, data.y, cv.fold_ids, get_metric("average_precision"), pos_label=data.pos_label
    )
    estimators = dict(zip(CONFIGS, [*members, members[0]], strict=True))
    chosen, weights = members_of(sel, estimators)
    assert len(chosen) == len(sel.final_weights)
    assert sum(weights) == pytest.approx(1.0)
    with pytest.raises(AutoImbError, match="no fitted estimator"):
        members_of(sel, {})


# ------------------------------------------------------------------------------ pruning


@pytest.mark.parametrize("metric", ["f1", "mcc"])
def test_a_member_the_others_already_make_is_dropped_and_the_helpful_stay(library, metric):
    """The first candidate predicts exactly the blend of the other two: it adds nothing."""
    data, cv, oofs = library
    scores = fold_scorer(data.y, None, cv.fold_ids, get_metric(metric), data.pos_label)
    halves = scores((oofs[0] + oofs[1]) / 2)
    for alone in (scores(oofs[0]), scores(oofs[1])):  # each helps the other, on every count
        assert halves[0] > alone[0] and np.mean(halves[1]) > np.mean(alone[1])
    stack = np.stack([(oofs[0] + oofs[1]) / 2, oofs[0], oofs[1]])
    counts, dropped = prune(stack, np.array([1, 1, 1]), scores, 1.0)
    assert dropped == [0]
    np.testing.assert_array_equal(counts, [0, 1, 1])


def test_pruning_follows_a_cost_downwards(library):
    """A cost is minimised: the member whose share raises it is the one dropped."""
    data, cv, oofs = library
    cost = get_metric("cost:fn=10,fp=1")
    scores = fold_scorer(data.y, None, cv.fold_ids, cost, data.pos_label)
    stack = np.stack([oofs[0], oofs[1]])
    assert scores(oofs[0])[0] < scores((2 * oofs[0] + oofs[1]) / 3)[0]  # trial 1 costs here
    counts, dropped = prune(stack, np.array([2, 1]), scores, -1.0)
    assert dropped == [1]
    np.testing.assert_array_equal(counts, [2, 0])
    _, misread = prune(stack, np.array([2, 1]), scores, 1.0)  # a cost read as a gain
    assert misread == [0]


@pytest.mark.parametrize("metric", ["average_precision", "mcc"])
def test_selection_drops_the_members_that_add_nothing(library, metric):
    data, cv, oofs = library
    metric = get_metric(metric)
    sel = select_ensemble(oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label)
    if not sel.dropped:
        # The fitted library differs across scikit-learn/LightGBM versions; the synthetic
        # test above covers pruning itself on every version.
        pytest.skip("on these library versions the greedy path picked no redundant trial")
    assert not set(sel.dropped) & set(sel.weights)
    assert sum(sel.weights.values()) == pytest.approx(1.0)
    assert sel.to_dict()["dropped"] == list(sel.dropped)
    again = select_ensemble(oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label)
    assert again == sel  # the same inputs, the same ensemble: nothing depends on the clock


def test_the_search_notes_how_many_members_were_dropped(library):
    data, cv, oofs = library
    predictions = Predictions(True)
    for number, oof in oofs.items():
        predictions.add(number, 0.0, oof)
    outcome = SearchOutcome(None, cv, predictions, 0, {}, {})
    settings = SearchSettings(metric=get_metric("average_precision"), space=None)
    notes: list[str] = []
    selection, used = _select_ensemble(outcome, settings, data, 1, notes)
    if not (used and selection.dropped):
        assert not any("member(s) the selection had picked" in note for note in notes)
        pytest.skip("on these library versions no ensemble with a redundant trial was chosen")
    dropped = ", ".join(str(n) for n in selection.dropped)
    expected = f"{len(selection.dropped)} member(s) the selection had picked (trial(s) {dropped})"
    assert any(note.startswith(expected) for note in notes)
    assert set(selection.final_weights) == set(selection.weights)


def test_a_time_limit_that_passes_while_the_candidates_are_scored_alone_keeps_the_winner(library):
    """Scoring every candidate alone comes before any planning: when the limit passes during it,
    the given winner is kept, with its own score, and nothing more is scored."""
    data, cv, oofs = library
    metric = get_metric("f1")
    sel = select_ensemble(
        oofs, data.y, cv.fold_ids, metric, pos_label=data.pos_label, single_best=2, time_limit=1e-4
    )
    assert sel.weights == {2: 1.0} and sel.final_weights == {2: 1.0} and not sel.chosen
    single, _ = honest_score(data.y, oofs[2], cv.fold_ids, metric, pos_label=data.pos_label)
    assert sel.score == sel.single_score == single
    assert sel.nested_score is None and sel.history == ()
    assert sel.notes == (
        f"scoring the {len(oofs)} candidates alone would not end within the time limit (1 scored)",
    )
    assert sel.reason.startswith("Kept the single best trial 2") and "no ensemble" in sel.reason
