"""A trial past its time cap stops inside the model fit where the model allows it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from autoimb.data.dataset import validate
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.exceptions import TrialTimeout

STOPPABLE = [
    {"model": {"name": "lightgbm", "n_estimators": 200}},
    {"model": {"name": "xgboost", "n_estimators": 200}},
    {"model": {"name": "random_forest", "n_estimators": 60}},
    {"model": {"name": "extra_trees", "n_estimators": 60}},
    {"model": {"name": "balanced_random_forest", "n_estimators": 60}},
    {"model": {"name": "lightgbm", "n_estimators": 20}, "ensemble": {"name": "bagging"}},
]


def _fit(config: dict, data, deadline: float | None) -> StrategyPipeline:
    pipeline = StrategyPipeline(config, data.schema(), random_state=0)
    preprocessor = pipeline.make_preprocessor().fit(data.X)
    return pipeline.fit_transformed(
        preprocessor, preprocessor.transform(data.X), data.y, deadline=deadline
    )


@pytest.mark.parametrize("config", STOPPABLE, ids=lambda c: "-".join(v["name"] for v in c.values()))
def test_a_fit_past_its_deadline_stops(config: dict, small_binary) -> None:
    data = validate(*small_binary)
    with pytest.raises(TrialTimeout, match="time cap"):
        _fit(config, data, deadline=time.monotonic() - 1.0)


@pytest.mark.parametrize("name", ["random_forest", "extra_trees", "balanced_random_forest"])
def test_a_forest_is_the_same_with_and_without_a_deadline(name: str, small_binary) -> None:
    """A trial's forests (with a deadline) and the final refit's (without) must agree."""
    data = validate(*small_binary)
    config = {"model": {"name": name, "n_estimators": 60}}
    capped = _fit(config, data, deadline=time.monotonic() + 600)
    free = _fit(config, data, deadline=None)
    assert len(capped.model_.estimators_) == 60
    assert capped.model_.warm_start is False
    np.testing.assert_array_equal(capped.predict_proba(data.X), free.predict_proba(data.X))


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_forests_grown_in_chunks_equal_one_fit_wherever_the_chunks_end(
    name: str, small_binary, monkeypatch
) -> None:
    """Chunks are sized by the time their trees take, so where they end varies from run to run;
    one tree per chunk is the extreme case."""
    from autoimb.engine.space import component_defaults
    from autoimb.stages import REGISTRY, FitContext, base

    data = validate(*small_binary)
    X = np.nan_to_num(data.X.to_numpy(dtype=float))
    ctx = FitContext(
        class_counts=np.bincount(data.y),
        n_features=X.shape[1],
        random_state=0,
        defaults=component_defaults(),
    )
    component = REGISTRY["model"][name]
    whole = component.make({"n_estimators": 60}, ctx).fit(X, data.y)
    chunked = component.fit(component.make({"n_estimators": 60}, ctx), X, data.y, {}, None)
    np.testing.assert_array_equal(chunked.predict_proba(X), whole.predict_proba(X))
    monkeypatch.setattr(base, "CHUNK_SECONDS", 0.0)
    one_by_one = component.fit(component.make({"n_estimators": 60}, ctx), X, data.y, {}, None)
    assert len(one_by_one.estimators_) == 60 and one_by_one.warm_start is False
    np.testing.assert_array_equal(one_by_one.predict_proba(X), whole.predict_proba(X))


SLOW_FOREST = {"name": "extra_trees", "n_estimators": 30, "max_features": 1.0}
VOTING = {"name": "soft_voting", "partner": "logistic_regression"}


@pytest.mark.parametrize(
    "config",
    [
        {"model": SLOW_FOREST},
        {"model": SLOW_FOREST, "ensemble": VOTING},
    ],
    ids=["forest", "forest-in-a-voting-ensemble"],
)
def test_a_forest_looks_at_its_deadline_after_its_first_tree(config: dict, monkeypatch) -> None:
    """Chunks are sized by time, not by count: a forest of 30 slow trees, alone or as an
    ensemble's member, stops soon after its deadline, where a first chunk of 25 trees (or a
    member fitted whole) would have run to most of the whole fit."""
    import pandas as pd
    from sklearn.datasets import make_classification

    from autoimb.stages import base

    X, y = make_classification(2000, 40, weights=[0.8], random_state=0)
    data = validate(pd.DataFrame(X), y)
    started = time.monotonic()
    _fit(config, data, deadline=None)
    whole = time.monotonic() - started
    monkeypatch.setattr(base, "CHUNK_SECONDS", 2 * whole / 30)  # about two trees a chunk
    started = time.monotonic()
    with pytest.raises(TrialTimeout, match="time cap"):
        _fit(config, data, deadline=started + whole / 5)
    assert time.monotonic() - started < 0.6 * whole


@pytest.mark.slow
def test_a_trial_cut_at_its_time_cap_is_recorded_pruned_not_failed(yeast4, tmp_path) -> None:
    import autoimb

    space = tmp_path / "slow.yaml"
    space.write_text(
        "name: slow\ndescription: A quick strategy, then one far too slow for the budget.\n"
        "initial:\n  - {model: logistic_regression}\n  - {model: random_forest}\n"
        "model:\n  logistic_regression: {}\n  random_forest:\n    n_estimators: 40000\n"
    )
    X, y = yeast4
    result = autoimb.search(
        X, y, metric="f1", time_budget=6, space=space, warm_start=None, random_state=0
    )
    slow = result.study.trials[1]
    assert slow.state.name == "PRUNED"
    assert "time cap" in slow.user_attrs["stopped"] and "error" not in slow.user_attrs
    board = result.leaderboard
    assert "time cap" in board.loc[board.trial == 1, "stopped"].iloc[0]
    assert result.model_card()["trial"] != 1


ENDLESS = [
    {"model": {"name": "lightgbm", "n_estimators": 10**6}},
    {"model": {"name": "xgboost", "n_estimators": 10**6}},
    {"model": {"name": "random_forest", "n_estimators": 10**5}},
    {"model": {"name": "extra_trees", "n_estimators": 10**5}},
    {"model": {"name": "balanced_random_forest", "n_estimators": 10**5}},
    {"model": {"name": "lightgbm", "n_estimators": 10**6}, "ensemble": {"name": "bagging"}},
]


@pytest.mark.parametrize("config", ENDLESS, ids=lambda c: "-".join(v["name"] for v in c.values()))
def test_a_fit_that_cannot_end_before_its_deadline_stops_at_its_pace(config) -> None:
    """Stopped early, with the reason, instead of running to a deadline it cannot meet: that
    time goes to other trials. Noisy labels, so that boosting never runs out of splits and
    ends by itself: a million rounds (a hundred thousand trees) on them cannot end in a
    minute."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(4000, 20, flip_y=0.2, weights=[0.85], random_state=0)
    data = validate(pd.DataFrame(X), y)
    with pytest.raises(TrialTimeout, match="at its pace"):
        _fit(config, data, deadline=time.monotonic() + 60)


def test_the_pace_starts_again_with_each_fit_and_lets_one_that_fits_end() -> None:
    from autoimb.stages.base import Pace

    nearly_out = Pace(time.monotonic() + 0.5, "a fit")
    nearly_out(1, 100)
    time.sleep(0.05)
    nearly_out(2, 100)  # too little time left for stopping early to be worth a wrong stop

    pace = Pace(time.monotonic() + 60, "a fit")
    for done in range(1, 4):  # a fit of three quick steps ends
        pace(done, 3)
    time.sleep(0.05)
    pace(1, 3)  # the next member's fit: its pace is measured from its own first step
    pace(2, 3)
    pace = Pace(time.monotonic() + 2.0, "a fit")
    pace(1, 100)
    for done in (2, 3):  # a few steps are measured before a fit of many is judged
        time.sleep(0.05)
        pace(done, 100)
    time.sleep(0.05)
    with pytest.raises(TrialTimeout, match=r"a fit after 4 of 100: at its pace the rest needs"):
        pace(4, 100)


def test_one_slow_step_among_quick_ones_is_no_pace() -> None:
    """A busy machine paused one LightGBM round for 1.3 s among rounds of 0.01 s: judged on
    it, the fit was stopped as needing 265 s."""
    from autoimb.stages.base import Pace

    pace = Pace(time.monotonic() + 2.5, "a fit")
    pace(1, 200)
    time.sleep(0.3)  # the one slow round
    for done in range(2, 200):
        pace(done, 200)


def test_folds_that_cannot_all_end_before_the_deadline_stop_after_the_first(
    small_binary, monkeypatch
) -> None:
    from autoimb.engine import evaluate as evaluation
    from autoimb.metrics.registry import get_metric

    data = validate(*small_binary)
    fit_fold = evaluation.fit_fold

    def slow_fold(*args, **kwargs):
        time.sleep(1.5)
        return fit_fold(*args, **kwargs)

    monkeypatch.setattr(evaluation, "fit_fold", slow_fold)
    cv = evaluation.CrossValidation(data, 5, random_state=0)
    config = {"model": {"name": "logistic_regression"}}
    with pytest.raises(TrialTimeout, match="between folds after 1 of 5: at its pace"):
        evaluation.evaluate(
            config, cv, get_metric("f1"), deadline=time.monotonic() + 4.0, random_state=0
        )


def test_folds_timed_on_a_smaller_sample_say_whether_a_larger_one_can_end(
    small_binary, monkeypatch
) -> None:
    """Scaled by rows, a sample's folds stop a larger evaluation that cannot end before its
    deadline before its first fit, and let one that can run to its end."""
    from autoimb.engine import evaluate as evaluation
    from autoimb.engine.evaluate import FoldTime
    from autoimb.metrics.registry import get_metric

    data = validate(*small_binary)
    cv = evaluation.CrossValidation(data, 5, random_state=0)
    third = len(cv.splits[0][0]) // 3
    fits: list[int] = []
    fit_fold = evaluation.fit_fold

    def counted(*args, **kwargs):
        fits.append(1)
        return fit_fold(*args, **kwargs)

    monkeypatch.setattr(evaluation, "fit_fold", counted)
    config, f1 = {"model": {"name": "logistic_regression"}}, get_metric("f1")
    slow = [FoldTime(fit=10.0, rows=third, predict=0.1)]  # ≈30 s a fold on all rows
    with pytest.raises(TrialTimeout, match=r"before fold 1 of 5: at ≈30\.\d s a fold"):
        evaluation.evaluate(config, cv, f1, deadline=time.monotonic() + 20, measured=slow)
    assert not fits
    # One fold of ≈6 s fits in 10 s, though five would not: scaled by rows, a sample's times
    # overstate an undersampling strategy's, so they judge the next fold only.
    overstated = [FoldTime(fit=2.0, rows=third, predict=0.0)]
    done = evaluation.evaluate(config, cv, f1, deadline=time.monotonic() + 10, measured=overstated)
    assert len(fits) == 5
    quick = [FoldTime(fit=0.5, rows=third, predict=0.1)]  # 5 folds of ≈1.6 s in a minute
    done = evaluation.evaluate(config, cv, f1, deadline=time.monotonic() + 60, measured=quick)
    assert len(fits) == len(done.fold_times) + 5 == 10
    assert [t.rows for t in done.fold_times] == [len(train) for train, _ in cv.splits]
    evaluation.evaluate(config, cv, f1, measured=slow)  # no deadline: nothing to judge by
    assert len(fits) == 15
