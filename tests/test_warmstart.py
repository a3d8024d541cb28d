"""Warm starts: a new search begins from strategies that did well before."""

from __future__ import annotations

import optuna
import pytest
from sklearn.datasets import make_classification

import autoimb
from autoimb.data.dataset import validate
from autoimb.engine.space import load_space
from autoimb.engine.storage import make_storage
from autoimb.engine.study import available_components
from autoimb.engine.transfer import as_trial_params, check_own_strategies, portfolio, strategies
from autoimb.stages import STAGES


def test_portfolio_strategies_fit_the_default_space() -> None:
    space = load_space("default")
    available = {stage: list(components) for stage, components in space.stages.items()}
    for stage in ("features", "augmenter", "resampler", "weighting", "model"):
        available.setdefault(stage, ["none"])
    entries = portfolio()
    assert entries, "the shipped portfolio is empty"
    fitting = [as_trial_params(config, space, available) for config in entries]
    assert all(params is not None for params in fitting)


def test_an_earlier_study_seeds_the_next(small_binary) -> None:
    X, y = small_binary
    first = autoimb.search(
        X, y, metric="f1", n_trials=4, space="fast", cv=3, random_state=0, warm_start=None
    )
    best = first.study.best_trial.user_attrs["config"]  # best_config may be an ensemble
    second = autoimb.search(
        X, y, metric="f1", n_trials=4, space="fast", cv=3, random_state=1, warm_start=first.study
    )
    configs = [t.user_attrs["config"] for t in second.study.trials]
    expected = {k: v for k, v in best.items() if k != "threshold"}
    assert expected in configs


def test_a_strategy_outside_the_space_is_skipped() -> None:
    space = load_space("fast")
    available = {s: list(space.stages.get(s, {"none": {}})) for s in STAGES}
    outside = {"model": {"name": "xgboost"}}
    assert as_trial_params(outside, space, available) is None
    too_big = {"model": {"name": "lightgbm", "n_estimators": 10_000}}
    assert as_trial_params(too_big, space, available) is None


def test_an_ensembles_config_warm_starts_its_members() -> None:
    """``best_config`` of an ensemble, passed back as a warm start, queues each member."""
    lgbm = {"model": {"name": "lightgbm"}, "resampler": {"name": "smote"}}
    forest = {"model": {"name": "random_forest"}}
    ensemble = {"weights": {"3": 0.5, "7": 0.5}, "members": {"3": lgbm, "7": forest}}
    assert strategies([ensemble, {"model": {"name": "xgboost"}}]) == [
        lgbm,
        forest,
        {"model": {"name": "xgboost"}},
    ]


def test_bad_warm_start_is_refused() -> None:
    with pytest.raises(autoimb.AutoImbError, match="warm_start must be"):
        strategies(42)


def test_warm_start_from_storage(tmp_path, small_binary) -> None:
    X, y = small_binary
    log = str(tmp_path / "earlier.log")
    autoimb.search(
        X,
        y,
        metric="f1",
        n_trials=3,
        space="fast",
        cv=3,
        storage=log,
        study_name="earlier",
        warm_start=None,
    )
    assert len(strategies((log, "earlier"))) == 3
    with pytest.raises(autoimb.AutoImbError, match="no study 'nope'"):
        strategies((log, "nope"))
    assert isinstance(
        optuna.load_study(study_name="earlier", storage=make_storage(log)),
        optuna.Study,
    )


def test_the_portfolio_has_an_order_per_metric_family() -> None:
    threshold, ranking = portfolio("threshold"), portfolio("ranking")
    assert len(threshold) == len(ranking) == 8
    assert threshold != ranking, "one order served both families"
    first = first_trials_of(metric="average_precision")
    space = load_space("default")
    available = {stage: list(space.stages.get(stage, {"none": {}})) for stage in STAGES}
    expected = [as_trial_params(c, space, available) for c in ranking]
    assert first[len(space.initial) : len(space.initial) + 8] == expected


def first_trials_of(metric: str) -> list[dict]:
    """What a default search enqueues first for ``metric``, in order."""
    from autoimb.engine.settings import SearchSettings
    from autoimb.engine.study import first_trials
    from autoimb.metrics.registry import get_metric

    X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    settings = SearchSettings(metric=get_metric(metric), space=load_space("default"))
    return first_trials(settings, validate(X, y))


def test_a_list_of_strategies_is_tried_first(small_binary) -> None:
    X, y = small_binary
    mine = {
        "resampler": {"name": "random_under", "sampling_ratio": 0.5},
        "weighting": {"name": "none"},
        "model": {"name": "logistic_regression", "C": 0.5},
    }
    result = autoimb.search(
        X, y, metric="f1", n_trials=5, space="fast", cv=3, random_state=0, warm_start=[mine]
    )
    configs = [t.user_attrs.get("config", {}) for t in result.study.trials]
    assert any(
        c.get("model", {}).get("C") == 0.5 and c["resampler"]["name"] == "random_under"
        for c in configs
    )


def test_own_strategies_named_wrong_are_refused_before_any_trial(small_binary, tmp_path) -> None:
    X, y = small_binary
    log = tmp_path / "never.log"
    for strategy, match in [
        ({"model": {"name": "lightgbn"}}, r"unknown model 'lightgbn'"),
        ({"modle": {"name": "lightgbm"}}, r"'modle', which is no stage \(did you mean 'model'"),
        ({"model": {"name": "lightgbm", "num_leave": 3}}, r"no parameter 'num_leave' \(did you"),
        ({"model": 5}, r"give its model as a component's name"),
    ]:
        with pytest.raises(autoimb.AutoImbError, match=match):
            autoimb.search(X, y, n_trials=1, warm_start=[strategy], storage=str(log))
    assert not log.exists()


def test_own_strategies_the_space_cannot_run_are_named_with_why(small_binary) -> None:
    X, y = small_binary
    space = load_space("fast")
    available = available_components(space, validate(X, y))
    with pytest.warns(UserWarning, match=r"strategy 1 is left out: its model 'xgboost' is not in"):
        check_own_strategies([{"model": {"name": "xgboost"}}], space, available, "threshold")
    with pytest.warns(UserWarning, match=r"strategy 2 is left out: .*C=1000000.0.* searches"):
        check_own_strategies(
            [{"model": "lightgbm"}, {"model": {"name": "logistic_regression", "C": 1e6}}],
            space,
            available,
            "threshold",
        )
    # What the space does not search runs at its default: a strategy asking otherwise would
    # run as another, unsaid.
    lightgbm = {"name": "lightgbm", "colsample_bytree": 0.5}
    with pytest.warns(
        UserWarning, match=r"has colsample_bytree=0.5, and space 'fast' runs it at 0.8"
    ):
        check_own_strategies([{"model": lightgbm}], space, available, "threshold")
    forest = {"model": "balanced_random_forest", "weighting": {"name": "balanced"}}
    with pytest.warns(UserWarning, match=r"'balanced_random_forest' takes no class weights"):
        check_own_strategies([forest], space, available, "threshold")
    with pytest.warns(UserWarning, match=r"strategy 1 is left out: .*C='0.5'.* searches numbers"):
        check_own_strategies(
            [{"model": {"name": "logistic_regression", "C": "0.5"}}], space, available, "ranking"
        )
    # A stage given by its name alone is that component at its defaults.
    assert strategies([{"model": "lightgbm"}]) == [{"model": {"name": "lightgbm"}}]


def test_a_misspelt_earlier_study_leaves_no_study_behind(small_binary, tmp_path) -> None:
    """It was refused once this search's study was written, which the corrected call then
    resumed without its first trials (no baseline, no warm start)."""
    X, y = small_binary
    earlier = tmp_path / "earlier.log"
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=str(earlier), random_state=0)
    mine = tmp_path / "mine.log"
    with pytest.raises(autoimb.AutoImbError, match="warm_start: no study 'earlierr'"):
        autoimb.search(
            X, y, n_trials=1, cv=3, storage=str(mine), warm_start=(str(earlier), "earlierr")
        )
    assert not mine.exists() and not (tmp_path / "typo.log").exists()
    with pytest.raises(autoimb.AutoImbError, match="warm_start: no study"):
        autoimb.search(X, y, n_trials=1, cv=3, warm_start=(str(tmp_path / "typo.log"), "x"))
    assert not (tmp_path / "typo.log").exists()


def test_a_warm_start_of_no_accepted_form_leaves_no_study_behind(small_binary, tmp_path) -> None:
    """A form other than a list was let through and refused once the study was written: the
    corrected rerun found a study "created with other settings" and no trial in it."""
    X, y = small_binary
    log = tmp_path / "never.log"
    for warm_start, match in [
        ("foo", r"warm_start must be .* got 'foo'"),
        ({"model": "lightgbm"}, r"got one config, a dict: wrap it in a list, warm_start=\[\{"),
    ]:
        with pytest.raises(autoimb.AutoImbError, match=match):
            autoimb.search(
                X, y, n_trials=2, cv=3, space="fast", storage=str(log), warm_start=warm_start
            )
    assert not log.exists()


def test_a_study_autoimb_did_not_run_is_refused_as_a_warm_start(small_binary) -> None:
    """Its trials carry no strategy config, and the search queued nothing, saying nothing."""
    X, y = small_binary
    other = optuna.create_study(direction="maximize")
    other.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    with pytest.raises(autoimb.AutoImbError, match=r"holds no autoimb trial \(none of its 3"):
        autoimb.search(X, y, n_trials=1, cv=3, space="fast", warm_start=other)


@pytest.mark.slow
def test_a_multi_class_best_config_warm_starts_a_search() -> None:
    """It carries the class factors of its decision, as a threshold is carried: not a stage."""
    X, y = autoimb.datasets.load("glass_multiclass", return_X_y=True)
    first = autoimb.search(X, y, metric="f1", n_trials=1, space="fast", cv=3, random_state=0)
    assert "class_scale" in first.best_config
    again = autoimb.search(
        X, y, metric="f1", n_trials=4, space="fast", cv=3, warm_start=[first.best_config]
    )
    assert len(again.leaderboard) == 4


def test_own_strategies_given_to_a_study_that_goes_on_are_run(small_binary, tmp_path) -> None:
    """They were queued only when the study was created: given on a resume, ignored unsaid."""
    X, y = small_binary
    log = str(tmp_path / "study.log")
    kwargs = {"space": "fast", "cv": 3, "storage": log, "random_state": 0}
    autoimb.search(X, y, n_trials=1, warm_start=None, **kwargs)
    mine = {"model": {"name": "logistic_regression", "C": 0.05}}
    resumed = autoimb.search(X, y, n_trials=3, warm_start=[mine], **kwargs)  # 2 baselines left
    ran = [t.params for t in resumed.study.trials if t.state.is_finished()]
    assert any(p.get("model.logistic_regression.C") == 0.05 for p in ran), ran


def test_own_strategies_the_budget_did_not_reach_are_named(small_binary) -> None:
    X, y = small_binary
    mine = {"model": {"name": "logistic_regression", "C": 0.05}}
    result = autoimb.search(X, y, n_trials=1, space="fast", cv=3, warm_start=[mine])
    assert any("did not run in this budget" in note for note in result.notes), result.notes
