"""The one-call search on real data: honest scores, thresholds, budgets, determinism."""

from __future__ import annotations

import time
import warnings

import numpy as np
import optuna
import pytest
from sklearn.metrics import average_precision_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import autoimb
from autoimb import config, datasets
from autoimb.data.dataset import validate
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.engine.space import parse_space
from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.threshold import honest_score
from autoimb.stages import REGISTRY, Component
from autoimb.strategy import strategy_stages


def test_search_returns_a_thresholded_winner(small_binary) -> None:
    X, y = small_binary
    result = autoimb.search(X, y, metric="f1", n_trials=5, space="fast", cv=3, random_state=0)
    assert 0 < result.best_score <= 1
    if "members" in result.best_config:  # ensemble selection won: its members' strategies
        assert result.ensemble.chosen and len(result.best_config["members"]) >= 2
        strategies = list(result.best_config["members"].values())
    else:
        strategies = [result.best_config]
    for strategy in strategies:
        assert set(strategy) >= {"resampler", "weighting", "model"}
    assert "threshold" in result.best_config
    assert result.best_pipeline.predict(X).shape == (len(y),)
    assert set(np.unique(result.best_pipeline.predict(X))) <= set(y.unique())
    # The result predicts as its pipeline does, as a fitted AutoML object is used.
    np.testing.assert_array_equal(result.predict(X), result.best_pipeline.predict(X))
    np.testing.assert_allclose(result.predict_proba(X), result.best_pipeline.predict_proba(X))
    board = result.leaderboard
    assert len(board) == 5
    assert {"score", "fold_scores", "seconds", "state", "error", "model"} <= set(board.columns)
    assert board.attrs == {"metric": result.metric.name, "greater_is_better": True}
    if "members" not in result.best_config:
        assert board["score"].iloc[0] == pytest.approx(result.search_score)
    else:  # kept only because it beat the best single trial on honest scoring
        assert result.search_score > board["score"].iloc[0]


def test_reported_score_is_the_cross_fitted_one(small_binary) -> None:
    """The best score equals the metric on predictions whose thresholds never saw their fold."""
    X, y = small_binary
    result = autoimb.search(X, y, metric="mcc", n_trials=3, space="fast", cv=3, random_state=1)
    ev = result.evidence
    value, folds = honest_score(ev.y, ev.oof, ev.fold_ids, get_metric("mcc"), pos_label=1)
    assert value == pytest.approx(result.search_score)
    if result.ensemble is None or not result.ensemble.chosen:
        assert result.leaderboard["fold_scores"].iloc[0] == pytest.approx(folds)
    # The final threshold is chosen on all out-of-fold predictions, and the pipeline uses it
    # on the model's own scores (predict_proba is calibrated on top of them).
    proba = result.best_pipeline.predict_scores(X)[:, 1]
    predicted = result.best_pipeline.predict(X)
    np.testing.assert_array_equal(predicted == 1, proba >= result.best_config["threshold"])


def test_best_score_is_measured_again_on_fresh_folds(small_binary) -> None:
    """The winner's reported score comes from folds that played no part in choosing it."""
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="f1", n_trials=4, space="fast", cv=3, random_state=0, ensemble=False
    )
    chosen = result.study.trials[result.model_card()["trial"]]
    assert result.search_score == pytest.approx(chosen.value)
    # A fresh split (seed + 1); when it also decided among close trials, a third (seed + 2).
    raced = any("third split" in note for note in result.notes)
    # Measured as trials are: with the search's share of an averaged ensemble's members.
    fresh = evaluate(
        strategy_stages(result.best_config),
        CrossValidation(validate(X, y), 3, random_state=2 if raced else 1),
        get_metric("f1"),
        random_state=0,
        member_share=config.SEARCH_MEMBER_SHARE,
    )
    assert result.best_score == pytest.approx(fresh.value)
    assert result.model_card()["cv_score"] == pytest.approx(fresh.value)
    assert result.model_card()["search_score"] == pytest.approx(result.search_score)
    words = "third split into 3 folds" if raced else "fresh split into 3 folds"
    assert any(words in note for note in result.notes)


def test_a_winner_without_rivals_is_not_measured_again(small_binary) -> None:
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0, ensemble=False
    )
    assert result.best_score == result.search_score == pytest.approx(result.study.best_value)
    assert any("chosen among 2 finished trial(s)" in note for note in result.notes)


@pytest.mark.slow
def test_same_seed_same_leaderboard(small_binary) -> None:
    X, y = small_binary
    boards = [
        autoimb.search(X, y, metric="f1", n_trials=6, cv=3, random_state=7).leaderboard
        for _ in range(2)
    ]
    columns = ["trial", "state", "score", "resampler", "weighting", "model"]
    assert boards[0][columns].equals(boards[1][columns])


def test_queued_trials_that_never_ran_are_not_on_the_leaderboard(small_binary) -> None:
    X, y = small_binary
    result = autoimb.search(X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0)
    states = [t.state.name for t in result.study.trials]
    assert states.count("WAITING") >= 1  # the warm start queued more than two
    assert sorted(result.leaderboard["trial"]) == [0, 1]


@pytest.mark.slow
def test_small_budget_still_finishes_several_trials(yeast4) -> None:
    X, y = yeast4
    started = time.monotonic()
    result = autoimb.search(X[:1000], y[:1000], metric="f1", time_budget=10, random_state=0)
    elapsed = time.monotonic() - started
    assert (result.leaderboard["state"] == "COMPLETE").sum() >= 3
    assert elapsed < 10 + 5


@pytest.mark.slow
def test_search_beats_the_obvious_baseline(yeast4) -> None:
    """Honest F1 of the search's winner against a class-weighted LightGBM at threshold 0.5."""
    X, y = yeast4
    result = autoimb.search(X, y, metric="f1", time_budget=20, random_state=0)
    data = validate(X, y)
    cv = CrossValidation(data, 5, random_state=0)
    baseline = {"weighting": {"name": "balanced"}, "model": {"name": "lightgbm"}}
    oof = evaluate(baseline, cv, get_metric("f1"), random_state=0).oof
    f1 = get_metric("f1").score_labels(data.y, (oof[:, 1] >= 0.5).astype(int))
    assert result.best_score > f1


# The winner's ensemble selection for six classes (test_ensemble's) is left out where the
# search's rule is the test: it takes most of a 20 s search here.
ALONE = {"ensemble": False, "importance": False}


def test_multiclass_search_scales_classes(glass) -> None:
    X, y = glass
    result = autoimb.search(
        X, y, metric="f1", n_trials=3, space="fast", cv=3, random_state=0, **ALONE
    )
    assert len(result.best_config["class_scale"]) == 6
    assert list(result.classes_) == sorted(y.unique())
    assert set(result.best_pipeline.predict(X)) <= set(y.unique())
    assert result.model_card()["positive_class"] is None  # macro metrics weigh every class
    assert result.model_card()["decision"]["pos_label"] is None


@pytest.mark.slow
def test_multiclass_predict_is_the_argmax_of_the_scaled_probabilities(glass) -> None:
    """As documented: not argmax(predict_proba), but the class scaling tuned for the metric."""
    X, y = glass
    result = autoimb.search(
        X, y, metric="f1", n_trials=3, space="fast", cv=3, random_state=0, **ALONE
    )
    pipeline, scale = result.best_pipeline, np.asarray(result.best_config["class_scale"])
    scaled = pipeline.classes_[np.argmax(pipeline.predict_proba(X) * scale, axis=1)]
    np.testing.assert_array_equal(pipeline.predict(X), scaled)
    clf = autoimb.AutoImbClassifier("f1", n_trials=3, space="fast", cv=3, random_state=0, **ALONE)
    np.testing.assert_array_equal(clf.fit(X, y).predict(X), scaled)


def test_a_database_storage_warns_of_nothing_experimental(small_binary, tmp_path) -> None:
    """Optuna calls the heartbeats autoimb opens a database with experimental; the user asked
    for a storage, not for them."""
    X, y = small_binary
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        autoimb.search(X, y, metric="f1", n_trials=1, space="fast", storage=storage)
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]


def test_categorical_and_missing_values(hepatitis) -> None:
    X, y = hepatitis
    result = autoimb.search(X, y, metric="g_mean", n_trials=4, cv=3, random_state=0)
    assert result.best_pipeline.predict_proba(X).shape == (len(y), 2)


def test_string_labels_and_sample_weight_are_kept(small_binary) -> None:
    X, y = small_binary
    labels = y.map({0: "normal", 1: "defect"})
    weights = np.where(y == 1, 2.0, 1.0)
    result = autoimb.search(
        X,
        labels,
        metric="f1",
        n_trials=3,
        space="fast",
        cv=3,
        random_state=0,
        sample_weight=weights,
    )
    assert set(result.best_pipeline.classes_) == {"defect", "normal"}
    assert result.evidence.sample_weight is not None
    assert result.model_card()["positive_class"] == "defect"


def test_the_unit_of_sample_weight_does_not_change_the_search(small_binary) -> None:
    """Amounts in dollars or in cents weigh the rows alike: LightGBM's least leaf weight once
    read them as a hundred times heavier, and then the last bits of ``amount * 100 / mean``
    (not those of ``amount / mean``) changed the search's course."""
    X, y = small_binary
    amount = np.random.default_rng(0).lognormal(3, 1, len(y))
    kwargs = dict(metric="cost:fn=10,fp=1", n_trials=3, space="fast", cv=3, random_state=0)
    scores = []
    for weights in (amount, amount * 100.0):
        result = autoimb.search(X, y, sample_weight=weights, ensemble=False, **kwargs)
        assert result.evidence.sample_weight.mean() == pytest.approx(1.0)
        scores.append(result.leaderboard.sort_values("trial")["score"].tolist())
    np.testing.assert_array_equal(scores[0], scores[1])


def test_a_cost_leaderboard_is_ordered_lowest_first(small_binary) -> None:
    """A cost is minimised: its board's first row is the study's best (lowest) trial."""
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="cost:fn=10,fp=1", n_trials=4, space="fast", cv=3, random_state=0,
        ensemble=False,
    )  # fmt: skip
    board = result.leaderboard
    assert board.attrs == {"metric": "cost:fn=10,fp=1", "greater_is_better": False}
    scores = board["score"].dropna()
    assert scores.nunique() > 1 and scores.is_monotonic_increasing
    assert scores.iloc[0] == result.study.best_value == min(scores)


def test_a_failing_component_fails_only_its_trial(small_binary, broken_resampler) -> None:
    space = parse_space(
        "model: {logistic_regression: {}}\nresampler: {broken: {}, none: {}}\n"
        "initial: [{resampler: broken, model: logistic_regression},"
        " {resampler: none, model: logistic_regression}]"
    )
    X, y = small_binary
    result = autoimb.search(X, y, metric="f1", n_trials=2, space=space, cv=3)
    board = result.leaderboard
    failed = board[board["state"] == "FAIL"]
    assert len(failed) == 1
    assert broken_resampler in failed["error"].iloc[0]
    assert result.best_config["resampler"]["name"] == "none"


def test_every_trial_failing_gives_one_clear_error(small_binary, broken_resampler) -> None:
    space = parse_space("model: {logistic_regression: {}}\nresampler: {broken: {}}")
    X, y = small_binary
    with pytest.raises(autoimb.AutoImbError, match=rf"every trial failed.*{broken_resampler}"):
        autoimb.search(X, y, metric="f1", n_trials=2, space=space, cv=3)
    with pytest.raises(autoimb.AutoImbError) as failed:
        autoimb.search(X, y, metric="f1", n_trials=2, space=space, cv=3)
    # No trial was cut by the clock: more time would not help, and it is not advised.
    assert str(failed.value).endswith(f"{broken_resampler}. Check the data and the search space.")


def test_a_search_where_nothing_works_stops_long_before_its_budget(
    small_binary, broken_resampler
) -> None:
    """Every trial failing alike, in a space that still has strategies to try: the error
    came at the end of the budget (an hour's, for a user who gave an hour)."""
    space = parse_space(
        "model: {logistic_regression: {C: {type: float, low: 0.01, high: 10, log: true}}}\n"
        "resampler: {broken: {}}"
    )
    X, y = small_binary
    given = config.FAILURES_BEFORE_GIVING_UP
    with pytest.raises(autoimb.AutoImbError, match=rf"every trial failed \({given} failed, 0 "):
        autoimb.search(X, y, metric="f1", time_budget=600, space=space, cv=3)


def test_no_synthetic_row_reaches_a_validation_fold(small_binary) -> None:
    """A spy resampler sees only training rows of each fold, never a validation row."""
    seen: list[np.ndarray] = []

    class Spy:
        def fit_resample(self, X, y):
            seen.append(X.copy())
            return np.vstack([X, X[y == 1]]), np.concatenate([y, y[y == 1]])

    REGISTRY["resampler"]["spy"] = Component(
        "spy", "resampler", lambda p, c: Spy(), "Records its input."
    )
    try:
        X, y = small_binary
        data = validate(X, y)
        cv = CrossValidation(data, 3, random_state=0)
        config = {"resampler": {"name": "spy"}, "model": {"name": "logistic_regression"}}
        evaluation = evaluate(config, cv, get_metric("f1"), random_state=0)
        assert len(seen) == 3 and evaluation.oof.shape == (len(y), 2)
        for k, rows in enumerate(seen):
            fold = cv.fold(k)
            assert len(rows) == len(fold.train)
            np.testing.assert_array_equal(rows, fold.X_train)
            assert not set(fold.train) & set(fold.valid)
    finally:
        del REGISTRY["resampler"]["spy"]
    assert "spy" not in REGISTRY["resampler"]


def test_folds_are_lowered_for_tiny_minorities(small_binary) -> None:
    X, y = small_binary
    keep = np.concatenate([np.flatnonzero(y == 0)[:80], np.flatnonzero(y == 1)[:3]])
    with pytest.warns(UserWarning, match="using 3 folds") as caught:
        result = autoimb.search(
            X.iloc[keep], y.iloc[keep], metric="f1", n_trials=2, space="fast", cv=5, random_state=0
        )
    assert result.evidence.fold_ids.max() == 2
    assert {w.filename for w in caught if "using 3 folds" in str(w.message)} == {__file__}


def test_ranking_metric_still_carries_an_f1_threshold(small_binary) -> None:
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="average_precision", n_trials=2, space="fast", cv=3, random_state=0
    )
    assert 0 < result.best_config["threshold"] < 1
    report = result.report()
    assert "f1" in report["metrics"]
    # Rows and columns by the labels themselves, as y holds them.
    matrix = report["confusion_matrix"]
    assert list(matrix.index) == list(matrix.columns) == [0, 1]
    assert matrix.loc[1].sum() == (y == 1).sum()
    # The matrix and the metrics are those of the served threshold on the out-of-fold
    # probabilities, which here decides otherwise than argmax would.
    ev = result.evidence
    served = (ev.oof[:, 1] >= result.best_config["threshold"]).astype(int)
    assert (served != ev.oof.argmax(axis=1)).any()
    expected = sk_confusion_matrix(ev.y, served, labels=[0, 1])
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    assert report["metrics"]["f1"] == pytest.approx(f1_score(ev.y, served))
    assert report["metrics"]["average_precision"] == pytest.approx(
        average_precision_score(ev.y, ev.oof[:, 1])
    )


def test_classifier_is_a_scikit_learn_estimator(small_binary) -> None:
    from sklearn.base import clone

    X, y = small_binary
    clf = autoimb.AutoImbClassifier(
        metric="mcc", n_trials=4, space="fast", cv=3, random_state=0, ensemble=False
    )
    assert clone(clf).get_params()["metric"] == "mcc"
    clf.fit(X, y)
    assert clf.predict(X).shape == (len(y),)
    assert clf.predict_proba(X).shape == (len(y), 2)
    # best_score_ is the winner's score measured again on fresh folds, as the result reports
    # it: not the score on the folds that chose it, nor the study's best trial's.
    result = clf.result_
    assert len({result.best_score, result.search_score, result.study.best_value}) == 3
    assert clf.best_score_ == result.best_score
    assert clf.best_config_ == result.best_config


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_boosted_trees_continue_from_a_pretrained_model(model, small_binary, tmp_path) -> None:
    """Transfer: trees fitted on related data are the starting point of every trial's fit."""
    X, y = small_binary
    data = validate(X, y)
    config = {"model": {"name": model, "n_estimators": 7}}
    first = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    booster = first.model_.booster_ if model == "lightgbm" else first.model_.get_booster()
    later = StrategyPipeline(config, data.schema(), random_state=0, pretrained={model: booster})
    later.fit(data.X, data.y)
    trees = (
        later.model_.booster_.num_trees()
        if model == "lightgbm"
        else len(later.model_.get_booster().get_dump())
    )
    assert trees == 14
    space = parse_space(f"model: {{{model}: {{n_estimators: 5}}}}")
    result = autoimb.search(
        X,
        y,
        metric="f1",
        n_trials=1,
        space=space,
        cv=3,
        pretrained={model: booster},
        warm_start=None,
    )
    assert result.best_pipeline.predict(X).shape == (len(y),)


def _fitted_on(model: str, X, y):
    import lightgbm
    import xgboost

    made = lightgbm.LGBMClassifier if model == "lightgbm" else xgboost.XGBClassifier
    return made(n_estimators=5, verbose=-1 if model == "lightgbm" else None).fit(X, y)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_a_model_fitted_on_the_users_own_frame_is_continued(model, small_binary) -> None:
    """XGBoost refused its own booster's column names against the arrays the search gives
    it: every trial failed. Models of other kinds or other columns are refused at once."""
    from sklearn.ensemble import RandomForestClassifier

    from autoimb.exceptions import AutoImbError

    X, y = small_binary
    space = parse_space(f"model: {{{model}: {{n_estimators: 5}}}}")

    def search(pretrained):
        return autoimb.search(
            X, y, n_trials=1, space=space, cv=3, pretrained={model: pretrained}, warm_start=None
        )

    result = search(_fitted_on(model, X, y))
    fitted = result.best_pipeline.estimator.model_
    trees = (
        fitted.booster_.num_trees() if model == "lightgbm" else len(fitted.get_booster().get_dump())
    )
    assert trees == 10  # its 5 and the trial's 5
    assert any("assume the pretrained" in note for note in result.notes)
    with pytest.raises(AutoImbError, match=rf"pretrained\['{model}'\] must be"):
        search(RandomForestClassifier(n_estimators=3).fit(X, y))
    first = X.columns[0]
    with pytest.raises(
        AutoImbError, match=rf"reads 6 columns, .* models 7; it lacks \['{first}'\]"
    ):
        search(_fitted_on(model, X.iloc[:, 1:], y))
    with pytest.raises(AutoImbError, match="trained on columns in another order"):
        search(_fitted_on(model, X[X.columns[::-1]], y))


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_an_unfitted_model_to_continue_from_is_refused_in_autoimbs_words(
    model, small_binary
) -> None:
    """XGBoost's own NotFittedError came from inside it, where LightGBM's model was refused."""
    import lightgbm
    import xgboost

    X, y = small_binary
    unfitted = lightgbm.LGBMClassifier() if model == "lightgbm" else xgboost.XGBClassifier()
    space = parse_space(f"model: {{{model}: {{n_estimators: 5}}}}")
    with pytest.raises(AutoImbError, match=rf"pretrained\['{model}'\] must be .*got an unfitted"):
        autoimb.search(X, y, n_trials=1, space=space, cv=3, pretrained={model: unfitted})


@pytest.mark.skipif(
    int(__import__("xgboost").__version__.split(".")[0]) < 3,
    reason="XGBoost 2 does not repeat a continued fit for one seed (subsample < 1), whatever "
    "booster it starts from",
)
def test_one_seed_gives_one_leaderboard_when_continuing_an_xgboost_model(small_binary) -> None:
    """Every fit continued from one booster in memory, which kept XGBoost's random state
    from fit to fit (subsample < 1): each trial hung on the trials before it, and the same
    seed gave another leaderboard."""
    X, y = small_binary
    space = parse_space(
        "model: {xgboost: {n_estimators: {type: int, low: 10, high: 30}, subsample: 0.7}}"
    )
    pretrained = {"xgboost": _fitted_on("xgboost", X, y)}

    def scores() -> list[float]:
        result = autoimb.search(
            X,
            y,
            metric="f1",
            n_trials=4,
            space=space,
            cv=3,
            random_state=0,
            pretrained=pretrained,
            warm_start=None,
            ensemble=False,
            importance=False,
        )
        # without the draws of a finished trial's strategy again, which score nothing
        return result.leaderboard.sort_values("trial")["score"].dropna().tolist()

    assert scores() == scores()


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_a_model_of_a_column_the_search_leaves_out_names_it(model, small_binary) -> None:
    """A column constant in the data is left out of the models' columns: a model trained
    with it was refused as reading "7 columns, and the data has 6", naming none."""
    X, y = small_binary
    with_constant = X.assign(constant=1.0)
    space = parse_space(f"model: {{{model}: {{n_estimators: 5}}}}")
    with pytest.raises(AutoImbError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the constant column's drop
        autoimb.search(
            with_constant,
            y,
            n_trials=1,
            space=space,
            cv=3,
            pretrained={model: _fitted_on(model, with_constant, y)},
        )
    message = str(caught.value)
    assert "it reads ['constant'], which the search leaves out (constant," in message
    assert f"The search gives its models {list(X.columns)}" in message


def _booster_for(model: str, objective: str, n_classes: int, width: int):
    import lightgbm
    import xgboost

    rng = np.random.default_rng(0)
    X, y = rng.random((60, width)), rng.integers(0, n_classes, 60)
    many = {"num_class": n_classes} if n_classes > 2 and objective.startswith("multi") else {}
    if model == "lightgbm":
        params = {"verbose": -1, "objective": objective, **many}
        return lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=3)
    return xgboost.train({"objective": objective, **many}, xgboost.DMatrix(X, y), 3)


@pytest.mark.parametrize(
    ("model", "objective", "n_classes", "message"),
    [
        ("lightgbm", "multiclass", 3, r"for 3 classes \(objective 'multiclass'\), and y"),
        ("lightgbm", "regression", 2, "with objective 'regression', not a classifier's"),
        ("xgboost", "multi:softprob", 3, r"for 3 classes \(objective 'multi:softprob'\)"),
        ("xgboost", "reg:squarederror", 2, "objective 'reg:squarederror', not a classifier's"),
    ],
    ids=["lightgbm-3-classes", "lightgbm-regression", "xgboost-3-classes", "xgboost-regression"],
)
def test_a_pretrained_model_of_another_task_is_refused_before_any_trial(
    small_binary, model, objective, n_classes, message
) -> None:
    """Such a booster was accepted, and every trial of its model failed ("Number of classes
    must be 1 for non-multiclass training") or went on from a regression's scores."""
    X, y = small_binary
    space = parse_space(f"model: {{{model}: {{n_estimators: 5}}}}")
    booster = _booster_for(model, objective, n_classes, X.shape[1])
    with pytest.raises(
        AutoImbError, match=rf"pretrained\['{model}'\] was trained .*{message}.*2 classes"
    ):
        autoimb.search(X, y, n_trials=1, space=space, cv=3, pretrained={model: booster})


@pytest.mark.parametrize(("model", "library"), [("lightgbm", "LightGBM"), ("xgboost", "XGBoost")])
def test_a_pretrained_file_that_holds_no_model_is_refused_in_one_line(
    small_binary, tmp_path, model, library
) -> None:
    """LightGBM's own error came from inside it, XGBoost's with its C++ stack trace."""
    X, y = small_binary
    space = tmp_path / "space.yaml"
    space.write_text("model:\n  lightgbm: {}\n", encoding="utf-8")
    with pytest.raises(AutoImbError) as caught:
        searched = parse_space(f"model: {{{model}: {{}}}}")
        autoimb.search(X, y, n_trials=1, space=searched, cv=3, pretrained={model: space})
    message = str(caught.value)
    assert f"pretrained['{model}'] names {space}, which is not a" in message
    assert f"{library} model file (" in message and "\n" not in message
    assert "Stack trace" not in message


def test_a_pretrained_model_of_as_many_classes_is_continued(glass) -> None:
    X, y = glass
    classes = len(np.unique(y))
    space = parse_space("model: {lightgbm: {n_estimators: 3}}")
    booster = _booster_for("lightgbm", "multiclass", classes, X.shape[1])
    result = autoimb.search(
        X, y, n_trials=1, space=space, cv=3, pretrained={"lightgbm": booster}, warm_start=None
    )
    assert (result.leaderboard["state"] == "COMPLETE").all()
    with pytest.raises(AutoImbError, match=rf"for 2 classes.*y holds {classes} classes"):
        booster = _booster_for("lightgbm", "binary", 2, X.shape[1])
        autoimb.search(X, y, n_trials=1, space=space, cv=3, pretrained={"lightgbm": booster})


def test_a_pretrained_model_reads_the_columns_as_given(small_binary) -> None:
    """A features stage's added column failed every fit of a model continued from one
    trained on the columns alone."""
    X, y = small_binary
    space = parse_space(
        "features: {none: {}, anomaly_score: {n_estimators: 20}}\n"
        "model: {lightgbm: {n_estimators: 5}}"
    )
    result = autoimb.search(
        X,
        y,
        n_trials=4,
        space=space,
        cv=3,
        random_state=0,
        warm_start=None,
        pretrained={"lightgbm": _fitted_on("lightgbm", X, y)},
    )
    board = result.leaderboard
    assert (board["state"] == "COMPLETE").all() and (board["features"] == "none").all()


def test_an_ensemble_partner_starts_afresh_beside_a_pretrained_model(small_binary) -> None:
    """The pretrained booster is the trial's model's starting point, not a voting partner's:
    the partner also continued from it, and failed every fit after a features stage."""
    X, y = small_binary
    data = validate(X, y)
    booster = _fitted_on("lightgbm", X, y).booster_
    config = {
        "features": {"name": "anomaly_score", "n_estimators": 20},
        "model": {"name": "logistic_regression"},
        "ensemble": {"name": "soft_voting", "partner": "lightgbm"},
    }
    fitted = StrategyPipeline(
        config, data.schema(), random_state=0, pretrained={"lightgbm": booster}
    ).fit(data.X, data.y)
    assert fitted.predict_proba(data.X).shape == (len(y), 2)


def test_what_the_fitted_libraries_warn_of_inside_trials_is_not_the_users(small_binary) -> None:
    """NearMiss-3 warns whenever it cannot reach its ratio: shown, it came once per trial."""
    X, y = small_binary
    space = parse_space(
        "resampler: {near_miss: {version: 3, sampling_ratio: 1.0}}\n"
        "model: {logistic_regression: {}}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = autoimb.search(X, y, n_trials=2, space=space, cv=3, random_state=0)
    assert result.best_config["resampler"]["name"] == "near_miss"


def test_a_warning_about_the_data_shows_when_scikit_learns_tools_run_the_search(small_binary):
    """Placed on the Pipeline's line, the fold-count warning was quieted with the trials' own."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = small_binary
    keep = np.flatnonzero(y == 0)[:150].tolist() + np.flatnonzero(y == 1)[:2].tolist()
    clf = autoimb.AutoImbClassifier(n_trials=1, space="fast", cv=3, random_state=0)
    pipeline = Pipeline([("same", FunctionTransformer()), ("search", clf)])
    with pytest.warns(UserWarning, match=r"fewer than cv=3; using 2 folds") as said:
        pipeline.fit(X.iloc[keep], y.iloc[keep])
    fold_warning = next(w for w in said if "fewer than cv=3" in str(w.message))
    assert fold_warning.filename == __file__  # on the user's own line
    # cross_val_score's folds run through joblib's frames, past which the line is the user's.
    from sklearn.model_selection import cross_val_score

    constant = X.assign(same=1.0)
    with pytest.warns(UserWarning, match=r"constant or all-missing") as said:
        cross_val_score(
            autoimb.AutoImbClassifier(n_trials=1, space="fast", cv=3), constant, y, cv=2
        )
    assert {w.filename for w in said if "constant" in str(w.message)} == {__file__}


@pytest.mark.parametrize("metric", ["recall", "precision"])
def test_a_metric_one_trivial_rule_maximises_is_warned_of(small_binary, metric) -> None:
    X, y = small_binary
    with pytest.warns(UserWarning, match=rf"{metric} alone is highest when .*optimise 'f1'"):
        autoimb.search(X, y, metric=metric, n_trials=1, space="fast", cv=3, random_state=0)


def test_the_one_sided_warning_suggests_what_a_multi_class_search_can_take(glass) -> None:
    X, y = glass
    with pytest.warns(UserWarning, match=r"precision alone .* optimise 'f1' or 'balanced_accu"):
        autoimb.search(X, y, metric="precision", n_trials=1, space="fast", cv=3, random_state=0)
    # Over several classes, macro recall is balanced accuracy: nothing to warn of.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        autoimb.search(X, y, metric="recall", n_trials=1, space="fast", cv=3, random_state=0)
    assert not [w for w in caught if "alone is highest" in str(w.message)]


def test_a_metric_every_trial_scores_alike_on_is_warned_of(small_binary) -> None:
    """Precision of one's own is best where the threshold flags only the surest rows: every
    trial scored 1.0, the search picked one of equals, and nothing said so."""
    from autoimb.metrics.metric import Metric

    def precision(tp, fp, fn, tn):
        return np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-12), 0.0)

    X, y = small_binary
    mine = Metric("my_precision", "threshold", True, counts_fn=precision)
    tie = r"all 3 completed trials scored my_precision = 1\.0000:"
    with pytest.warns(UserWarning, match=tie) as said:
        result = autoimb.search(X, y, metric=mine, n_trials=3, cv=5, random_state=0)
    assert set(result.leaderboard["score"].dropna()) == {1.0}
    tied = next(str(w.message) for w in said if "completed trials scored" in str(w.message))
    assert "does not tell the strategies apart" in tied
    assert "precision by predicting almost no positives" in tied
    assert "'f1'" in tied and "'recall@precision>=0.9'" in tied
    assert next(w for w in said if "completed trials scored" in str(w.message)).filename == __file__


def test_data_every_strategy_separates_is_no_tie_of_the_metric() -> None:
    """Every trial's f1 is 1.0 where two columns give the class away: the data is easy, the
    metric is not at fault, and the trials rank the rows alike too."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(150, dtype=int), np.ones(30, dtype=int)]
    # Two such columns, so that every LightGBM tree (80% of the columns each) holds one.
    X = np.c_[y[:, None] * 10.0 + rng.normal(0, 0.1, (y.size, 2)), rng.normal(size=(y.size, 2))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = autoimb.search(X, y, metric="f1", n_trials=3, cv=3, random_state=0)
    assert set(result.leaderboard["score"].dropna()) == {1.0}
    assert not [w for w in caught if "completed trials scored" in str(w.message)]


def test_a_search_whose_trials_score_apart_warns_of_no_tie(small_binary) -> None:
    X, y = small_binary
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        autoimb.search(X, y, metric="f1", n_trials=4, space="fast", cv=3, random_state=0)
    assert not [w for w in caught if "completed trials scored" in str(w.message)]


@pytest.mark.slow
def test_a_ranking_metric_searches_when_a_fold_gives_a_class_no_weight() -> None:
    """Class 6 of glass weighted in 4 of its 9 rows: some fold holds none of them and has no
    macro roc_auc of its own, while the pooled score is defined (every trial failed)."""
    X, y = datasets.load("glass_multiclass", return_X_y=True)
    weights = np.ones(len(y))
    weights[np.flatnonzero(y.to_numpy() == 6)[4:]] = 0.0
    result = autoimb.search(
        X, y, sample_weight=weights, metric="roc_auc", n_trials=2, space="fast", random_state=0
    )
    assert np.isfinite(result.best_score)


def test_searches_in_two_threads_leave_the_process_as_they_found_it(small_binary) -> None:
    """The settings a search holds for the process (the thread error hook, Optuna's verbosity,
    the warnings filters, the BLAS pools) were each restored to what its search found: the
    first to end put back the original and the last its neighbour's. The pools are held by a
    search in a thread as in the main one."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    X, y = small_binary
    hook, verbosity = threading.excepthook, optuna.logging.get_verbosity()
    filters, pools = list(warnings.filters), [p["num_threads"] for p in threadpool_info()]
    first_running, second_running, first_done = (threading.Event() for _ in range(3))

    seen: list[int] = []  # the BLAS pools' sizes inside the first search's trials

    def waits(mine: threading.Event, other: threading.Event):
        def callback(study, trial) -> None:
            if mine is first_running:
                seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
            mine.set()
            other.wait(60)

        return [callback]

    search = {"space": "fast", "cv": 3, "n_trials": 2, "warm_start": None, "verbose": False}
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(
            autoimb.search, X, y, callbacks=waits(first_running, second_running), **search
        )
        assert first_running.wait(120)
        second = pool.submit(
            autoimb.search, X, y, callbacks=waits(second_running, first_done), **search
        )
        first.result(timeout=300)
        first_done.set()
        second.result(timeout=300)
    assert threading.excepthook is hook
    assert optuna.logging.get_verbosity() == verbosity
    assert list(warnings.filters) == filters
    assert [p["num_threads"] for p in threadpool_info()] == pools
    assert seen and set(seen) == {1}  # a search in a thread holds them too (small data: one)


def test_a_quieter_optuna_level_than_the_searchs_is_kept() -> None:
    from autoimb.engine.loop import quiet_optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.CRITICAL)
    try:
        with quiet_optuna():
            assert optuna.logging.get_verbosity() == optuna.logging.CRITICAL
    finally:
        optuna.logging.set_verbosity(before)


def test_the_libraries_warnings_show_after_a_search_whatever_another_thread_put_back(
    small_binary,
) -> None:
    """``catch_warnings`` saves and puts back the process's whole filter list: one that a
    host's thread began during a search and ended after it put the search's quieting back, and
    scikit-learn, NumPy, pandas … stayed silent for the rest of the process."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from autoimb._warnings import quiet_trials

    X, y = small_binary
    search, host = quiet_trials(), warnings.catch_warnings()
    search.__enter__()
    host.__enter__()  # begun during the search
    search.__exit__(None, None, None)
    host.__exit__(None, None, None)  # ended after it
    with warnings.catch_warnings(record=True) as shown:
        LogisticRegression(max_iter=1).fit(X, y)
    assert [w for w in shown if issubclass(w.category, ConvergenceWarning)]
    with quiet_trials(), warnings.catch_warnings(record=True) as shown:
        LogisticRegression(max_iter=1).fit(X, y)
    assert not [w for w in shown if issubclass(w.category, ConvergenceWarning)]


def test_a_copy_of_the_quieting_that_parallel_trials_left_behind_goes_with_the_search(
    small_binary,
) -> None:
    """scikit-learn's parallel tasks copy the filters by their patterns, the quieting as a plain
    filter; two trial threads' catch_warnings could leave that copy in the list (7 of 13
    searches with n_jobs=2), and the libraries' warnings were gone for the process."""
    import re

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from autoimb._warnings import _TRIAL_LIBRARIES

    X, y = small_binary

    def left_behind(study, trial) -> None:  # what the race leaves, made here for certain
        copied = ("ignore", None, Warning, re.compile(_TRIAL_LIBRARIES.pattern), 0)
        warnings.filters.insert(0, copied)  # in the list the search began with
        warnings.filters = [copied, *warnings.filters]  # and in a list put back in its place

    autoimb.search(X, y, n_trials=1, space="fast", cv=3, callbacks=[left_behind])
    with warnings.catch_warnings(record=True) as shown:
        LogisticRegression(max_iter=1).fit(X, y)
    assert [w for w in shown if issubclass(w.category, ConvergenceWarning)]


def test_a_verbose_search_without_a_stderr_finishes(small_binary, monkeypatch) -> None:
    """pythonw, a windowed app or a Windows service runs with ``sys.stderr`` None: the progress
    has nowhere to go, and the search must still return its result."""
    X, y = small_binary
    monkeypatch.setattr("sys.stderr", None)
    result = autoimb.search(X, y, metric="f1", n_trials=2, space="fast", verbose=True)
    assert 0 <= result.best_score <= 1
    assert len([t for t in result.study.trials if t.state.is_finished()]) >= 2
