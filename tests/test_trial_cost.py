"""Trials fit a share of an averaged ensemble's members; the final model has them all, and the
time kept for its refit counts them all."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

import autoimb
from autoimb import config
from autoimb.data.dataset import validate
from autoimb.engine.budget import TrialClock, fresh_split_plan, refit_seconds
from autoimb.engine.pipeline import StrategyPipeline, grown_seconds, growth_at_refit, stage_growth
from autoimb.engine.space import component_defaults
from autoimb.stages import REGISTRY, FitContext
from autoimb.stages.base import FOREST_CHUNK

AVERAGED = [
    (stage, name)
    for stage, names in REGISTRY.items()
    for name, component in names.items()
    if component.members is not None
]


def _context(share: float) -> FitContext:
    return FitContext(
        class_counts=np.array([90, 10]),
        n_features=4,
        random_state=0,
        defaults=component_defaults(),
        member_share=share,
    )


def test_the_averaged_ensembles_are_declared() -> None:
    names = {name for _, name in AVERAGED}
    assert {"random_forest", "extra_trees", "balanced_random_forest", "bagging"} <= names
    # Boosting rounds are not averaged: fewer of them is another model, not a cheaper look.
    assert not {"lightgbm", "xgboost", "rusboost"} & names


@pytest.mark.parametrize(("stage", "name"), AVERAGED, ids=[f"{s}-{n}" for s, n in AVERAGED])
def test_a_search_builds_a_share_of_the_members(stage: str, name: str) -> None:
    seen: list[dict] = []
    component = dataclasses.replace(
        REGISTRY[stage][name], build=lambda params, ctx: seen.append(dict(params))
    )
    count = 40 * component.fewest_members
    component.make({component.members: count}, _context(0.25))
    component.make({component.members: count}, _context(1.0))
    component.make({component.members: 2}, _context(0.25))
    searched, full, tiny = (params[component.members] for params in seen)
    assert searched == 10 * component.fewest_members
    assert full == count
    assert tiny == min(2, component.fewest_members)  # never more than asked for


def test_the_final_refit_grows_the_forest_whole(small_binary) -> None:
    data = validate(*small_binary)
    strategy = {"model": {"name": "random_forest", "n_estimators": 100}}
    searched = StrategyPipeline(strategy, data.schema(), random_state=0, member_share=0.25)
    whole = StrategyPipeline(strategy, data.schema(), random_state=0)
    assert len(searched.fit(data.X, data.y).model_.estimators_) == 25
    assert len(whole.fit(data.X, data.y).model_.estimators_) == 100


def test_a_searched_forest_winner_is_refitted_with_every_tree(small_binary, tmp_path) -> None:
    space = tmp_path / "forest.yaml"
    space.write_text(
        "name: forest\ndescription: One forest.\ninitial:\n  - {model: extra_trees}\n"
        "model:\n  extra_trees:\n    n_estimators: 120\n"
    )
    X, y = small_binary
    result = autoimb.search(
        X, y, metric="average_precision", n_trials=2, space=space, warm_start=None, random_state=0
    )
    assert result.study.trials[0].user_attrs["config"]["model"]["n_estimators"] == 120
    forest = result.best_pipeline.estimator.model_
    assert type(forest).__name__ == "ExtraTreesClassifier"
    assert len(forest.estimators_) == 120


def test_growth_at_refit_counts_members_of_partners_too() -> None:
    grow = 1 / config.SEARCH_MEMBER_SHARE
    assert growth_at_refit({"model": {"name": "lightgbm"}}) == 1.0
    assert growth_at_refit({"model": {"name": "random_forest"}}) == grow
    assert (
        growth_at_refit({"model": {"name": "lightgbm"}, "features": {"name": "anomaly_score"}})
        == grow
    )
    voting = {
        "model": {"name": "lightgbm"},
        "ensemble": {"name": "soft_voting", "partner": "extra_trees"},
    }
    assert growth_at_refit(voting) == grow


def test_growth_at_refit_multiplies_the_shares_of_a_bag_of_forests(small_binary) -> None:
    """Bagging a forest fits a share of the bags and a share of each forest's trees."""
    bagged = {
        "model": {"name": "extra_trees", "n_estimators": 375},
        "ensemble": {"name": "bagging", "n_estimators": 9},
    }
    assert growth_at_refit(bagged) == pytest.approx((9 / 3) * (375 / 94))
    # What the search's fit builds, against the refit.
    data = validate(*small_binary)
    searched = StrategyPipeline(bagged, data.schema(), random_state=0, member_share=0.25)
    bags = searched.fit(data.X, data.y).model_
    assert len(bags.estimators_) == 3
    assert [len(forest.estimators_) for forest in bags.estimators_] == [94] * 3
    # A share below the fewest members a component allows grows by what it builds.
    few = {"model": {"name": "extra_trees", "n_estimators": 88}}
    assert growth_at_refit(few) == pytest.approx(88 / max(22, FOREST_CHUNK))


def test_only_the_parts_that_grow_are_grown_in_the_refit_estimate(small_binary) -> None:
    """A forest voting with a LightGBM after SMOTE: the forest's time grows by its share, the
    partner's and the resampling's stay as they were."""
    voting = {
        "resampler": {"name": "smote"},
        "model": {"name": "random_forest"},
        "ensemble": {"name": "soft_voting", "partner": "lightgbm"},
    }
    grow = growth_at_refit(voting)
    assert stage_growth(voting) == {
        "features": 1.0, "augmenter": 1.0, "resampler": 1.0, "model": grow, "partner": 1.0,
    }  # fmt: skip
    data = validate(*small_binary)
    fitted = StrategyPipeline(voting, data.schema(), random_state=0, member_share=0.25)
    parts = fitted.fit(data.X, data.y).stage_seconds_
    assert parts["model"] > 0 and parts["partner"] > 0 and parts["resampler"] > 0
    whole = sum(parts.values()) + 0.5  # half a second of predicting, not grown
    grown = grown_seconds(voting, whole, parts)
    unchanged = sum(parts.values()) - parts["model"]
    assert grown == pytest.approx(0.5 + grow * parts["model"] + unchanged)
    assert whole < grown < whole * grow  # less than growing the whole fit
    # Trees grown to a leaf size cost far more than linearly in rows: the forest's part grows
    # twice more by all rows over a fold's, the rest does not.
    rows = grown_seconds(voting, whole, parts, rows_factor=1.25)
    assert rows == pytest.approx(0.5 + 1.25**2 * grow * parts["model"] + unchanged)


def test_on_small_data_a_forests_refit_grows_by_its_members_not_the_rows_cubed(small_binary):
    """On a few thousand rows a forest's fit is about linear in rows or less (its fixed costs
    weigh more): grown by the rows twice more too, a 0.5 s refit of extra trees on 1,484 rows
    was reckoned at 2.9 s, and a short resume passed over the study's best for it."""
    X, y = small_binary
    assert len(X) < config.SUPERLINEAR_FIT_ROWS
    result = autoimb.search(X, y, n_trials=2, cv=3, ensemble=False, importance=False)
    done = [t for t in result.study.trials if "growth" in t.user_attrs]
    forests = [t for t in done if growth_at_refit(t.user_attrs["config"]) > 1.0]
    assert forests  # the baselines: a balanced random forest second
    for trial in forests:
        assert 1.0 < trial.user_attrs["growth"] <= growth_at_refit(trial.user_attrs["config"])


@dataclasses.dataclass
class _Folding:
    """The folds and preprocessing costs of a cross-validation, as the clock sees them."""

    n_splits: int
    rows_seconds: float
    split_seconds: float


def _clock(**given) -> TrialClock:
    """A clock with no deadline, 5 folds and nothing kept for advice, besides what is given."""
    defaults = {
        "time_budget": 100.0,
        "deadline": None,
        "share_after": 0.0,
        "remeasure": False,
        "cv": _Folding(5, 0.0, 0.0),
        "growth": {},
        "cv_seconds": {},
    }
    return TrialClock(**{**defaults, **given})


def test_a_trial_may_take_a_few_times_the_search_pace_once_it_is_known() -> None:
    """A trial far dearer than the search's pace is cut (then pruned, with why), so it cannot
    take the time of many cheap ones; the budget's share caps it until the pace is known."""
    budget, started = 300.0, 1000.0
    share = budget * config.TRIAL_SHARE
    seen = {n: 2.0 for n in range(config.PACE_TRIALS - 1)}

    def longest(cv_seconds: dict[int, float]) -> float:
        clock = _clock(
            time_budget=budget,
            deadline=started + 10 * budget,
            fit_seconds={0: 1.0},
            contenders=list,
            cv_seconds=cv_seconds,
        )
        return clock.trial_deadline(started) - started

    assert longest(seen) == pytest.approx(share)
    assert longest({**seen, 99: 2.0}) == pytest.approx(
        max(config.PACE_FACTOR * 2.0, config.PACE_FLOOR_SECONDS)
    )
    assert longest({**seen, 99: 2.0}) < share
    fast = {n: 0.1 for n in range(config.PACE_TRIALS)}
    assert longest(fast) == pytest.approx(config.PACE_FLOOR_SECONDS)


def test_one_estimate_of_the_refit_for_the_reserve_and_after_the_trials() -> None:
    fit_seconds, growth = {0: 4.0, 1: 8.0}, {0: 1.0, 1: 4.0}
    clock = _clock(fit_seconds=fit_seconds, growth=growth, contenders=lambda: [1])
    refit = refit_seconds(fit_seconds, growth, [1], 5)
    assert refit == pytest.approx(8.0 * 4.0 * config.REFIT_MARGIN / 4)
    assert clock.reserve() == pytest.approx(refit + 0.5)


def test_the_reserve_passes_over_a_contender_whose_refit_outlasts_the_time_left() -> None:
    """With 2 minority rows nearly every trial is within noise of the best; reserving for a
    dear ensemble the time left could never refit ended an 8 s search at 3.2 s, after which
    the finish passed it over anyway."""
    fit_seconds = {0: 0.2, 1: 20.0, 2: 0.4}
    refits = {n: refit_seconds(fit_seconds, {}, [n], 5) for n in fit_seconds}

    def reserve(left: float, contenders: list[int]) -> float:
        deadline = time.monotonic() + left
        clock = _clock(deadline=deadline, fit_seconds=fit_seconds, contenders=lambda: contenders)
        return clock.reserve()

    assert refits[1] > 4.0 > refits[2]
    assert reserve(4.0, [1, 2]) == pytest.approx(refits[2] + 0.5)  # the next that fits
    assert reserve(60.0, [1, 2]) == pytest.approx(refits[1] + 0.5)  # it fits: kept for it
    assert reserve(4.0, [1]) == pytest.approx(refits[0] + 0.5)  # the cheapest to refit


def test_a_resume_with_no_time_for_trials_names_the_trial_it_can_serve() -> None:
    """Warned that the best trial would be cross-validated again and refitted, a short resume
    served a far worse one: its refit did not fit in the time left, and the warning says so."""
    from autoimb.engine.run_text import no_time_for_trials

    fit_seconds, cv_seconds = {0: 0.2, 1: 20.0}, {0: 0.3, 1: 10.0}

    def warning(left: float) -> str:
        clock = _clock(
            deadline=time.monotonic() + left,
            fit_seconds=fit_seconds,
            cv_seconds=cv_seconds,
            contenders=lambda: [1, 0],
            earlier={0, 1},
        )
        return no_time_for_trials(clock)

    passed_over = warning(4.0)  # trial 1 takes ≈16 s, trial 0 under one
    assert "the best trial" not in passed_over
    assert "trial 0, from an earlier run" in passed_over
    assert "the study's choice, trial 1, would take ≈16.5 s" in passed_over
    # Time for neither: the finish serves the study's choice anyway.
    assert "the best trial, from an earlier run" in warning(0.01)
    assert "the best trial, from an earlier run" in warning(60.0)


def test_the_reserve_covers_the_trial_the_search_would_choose(small_binary) -> None:
    """The refit reserved for is the steady winner's (autoimb.posthoc.steady), not always the
    top-scoring trial's: a dear top trial within noise of a cheap steadier one kept trials
    from running that the budget had room for."""
    import optuna

    from autoimb.engine.evaluate import CrossValidation
    from autoimb.engine.run import _Objective
    from autoimb.engine.settings import SearchSettings
    from autoimb.engine.space import load_space
    from autoimb.metrics.registry import get_metric
    from autoimb.posthoc.steady import Candidate

    X, y = small_binary
    data = validate(X, y)
    settings = SearchSettings(metric=get_metric("f1"), space=load_space("fast"))
    study = optuna.create_study(direction="maximize")
    objective = _Objective(study, settings, data, CrossValidation(data, 3, 0), 0)
    top = Candidate(0, 0.80, [0.9, 0.6, 0.8, 0.9, 0.8], steady=0.70, seconds=9.0)
    steadier = Candidate(1, 0.78, [0.8, 0.7, 0.8, 0.8, 0.8], steady=0.75, seconds=1.0)
    objective.candidates += [top, steadier]
    objective.fit_seconds.update({0: 8.0, 1: 1.0})
    objective.cv_seconds.update({0: 12.0, 1: 2.0})
    assert objective._contenders() == [steadier.number, top.number]
    # Bounded by trials only, both contenders are cross-validated again (2 + 12 s, what their
    # cross-validation took), and the winner on a third split (at most the dearer one's 12 s).
    assert objective.clock.reserve() == pytest.approx(
        refit_seconds(objective.fit_seconds, objective.growth, [1], 3) + 14.0 + 12.0 + 0.5
    )


def test_the_reserve_covers_the_fresh_split_of_the_contenders_within_its_share() -> None:
    fit_seconds = {0: 2.0, 1: 3.0, 2: 4.0, 3: 5.0}

    def clock(budget: float) -> TrialClock:
        return _clock(
            time_budget=budget,
            remeasure=True,
            fit_seconds=fit_seconds,
            contenders=lambda: [0, 1, 2, 3],
            cv_seconds=fit_seconds,
        )

    refit = refit_seconds(fit_seconds, {}, [0], 5) + 0.5
    # 15% of 60 s holds the first three (2 + 3 + 4 s), not the fourth; then the winner on a
    # third split (at most 4 s).
    assert clock(60.0).reserve() == pytest.approx(refit + 9.0 + 4.0)
    # 15% of 10 s holds none: a cross-validation is too large a share; trials are worth more.
    assert clock(10.0).reserve() == pytest.approx(refit)
    assert fresh_split_plan([0, 1, 2, 3], fit_seconds, None) == [0, 1, 2, 3]


@pytest.mark.parametrize("nest", [True, False])
@pytest.mark.parametrize(("max_size", "candidates", "folds"), [(20, 20, 5), (20, 3, 3), (5, 12, 5)])
def test_the_calls_of_a_full_selection_are_what_its_plan_needs(max_size, candidates, folds, nest):
    from autoimb.posthoc.greedy import plan_steps, planned_calls

    calls = planned_calls(max_size, candidates, folds, nest)
    assert plan_steps(max_size, candidates, folds, nest, calls) == (max_size, nest)
    assert plan_steps(max_size, candidates, folds, nest, calls - candidates)[0] < max_size


def test_a_short_selection_keeps_its_nested_comparison_when_it_fits() -> None:
    from autoimb.posthoc.greedy import plan_steps, planned_calls

    # 11 candidates, 5 folds: three nested steps need 226 scores, pruning three members
    # included (counting the pruning of twenty members left no room for nesting).
    assert planned_calls(3, 11, 5, True) == 226
    assert plan_steps(20, 11, 5, True, 230) == (3, True)
    assert plan_steps(20, 11, 5, True, 200) == (plan_steps(20, 11, 5, False, 200)[0], False)


def test_the_reserve_keeps_what_the_selection_takes_at_most_its_share() -> None:
    asked: list[int] = []

    def clock(estimate: float | None) -> TrialClock:
        def selection(candidates: int) -> float | None:
            asked.append(candidates)
            return estimate

        return _clock(fit_seconds={0: 1.0, 1: 1.0}, contenders=lambda: [0], selection=selection)

    refit = refit_seconds({0: 1.0}, {}, [0], 5) + 0.5
    most = config.ENSEMBLE_SHARE * 100.0
    assert clock(1.5).reserve() == pytest.approx(refit + 1.5)
    assert clock(1e3).reserve() == pytest.approx(refit + most)
    assert clock(None).reserve() == pytest.approx(refit + most)  # not timed yet
    assert asked[0] == 3  # the two finished trials and the one about to
    short = clock(1e3)
    short.time_budget = 10.0  # 5% is 0.5 s: the nested comparison is kept its second
    assert short.reserve() == pytest.approx(refit + config.ENSEMBLE_MIN_SECONDS)
    short.time_budget = 4.0  # but no more than twice the share
    assert short.reserve() == pytest.approx(refit + 2 * config.ENSEMBLE_SHARE * 4.0)


def test_the_selection_is_timed_on_the_first_trials_predictions(small_binary) -> None:
    import optuna

    from autoimb.engine.evaluate import CrossValidation, evaluate
    from autoimb.engine.run import _Objective
    from autoimb.engine.settings import SearchSettings
    from autoimb.engine.space import load_space
    from autoimb.metrics.registry import get_metric
    from autoimb.posthoc.selection_time import full_selection_calls

    data = validate(*small_binary)
    metric = get_metric("f1")
    settings = SearchSettings(metric=metric, space=load_space("fast"), time_budget=100.0)
    cv = CrossValidation(data, 3, 0)
    objective = _Objective(optuna.create_study(direction="maximize"), settings, data, cv, 0)
    assert objective._selection_seconds(20) is None
    oof = evaluate({"model": {"name": "logistic_regression"}}, cv, metric, random_state=0).oof
    objective._time_a_score(oof)
    assert objective.score_seconds > 0
    assert objective._selection_seconds(20) == pytest.approx(
        objective.score_seconds * full_selection_calls(20, 3)
    )
    off = _Objective(
        optuna.create_study(direction="maximize"),
        SearchSettings(metric=metric, space=load_space("fast"), ensemble=False),
        data,
        cv,
        0,
    )
    assert off.clock.selection is None


def test_the_selection_leaves_the_race_the_time_kept_for_it() -> None:
    """After the trials, the ensemble selection may take half of what is left, but not the
    time the search kept for the single winner's refit and race, beyond its own keep."""
    clock = _clock(
        remeasure=True,
        fit_seconds={0: 1.0, 1: 1.0, 2: 1.0},
        contenders=lambda: [0, 1, 2],
        cv_seconds={0: 3.0, 1: 3.0, 2: 3.0},
        selection=lambda candidates: 2.0,
    )
    # The three contenders again (9 s), the winner on a third split (3 s) and its refit.
    after = 12.0 + refit_seconds({0: 1.0}, {}, [0], 5) + 0.5
    assert clock.after_selection() == pytest.approx(after)
    assert clock.reserve() == pytest.approx(after + 2.0)
    assert clock.selection_limit(30.0) == pytest.approx(15.0)  # half of what is left
    assert clock.selection_limit(20.0) == pytest.approx(20.0 - after)  # the race's time kept
    assert clock.selection_limit(13.0) == pytest.approx(2.0)  # its own keep, at least
    assert clock.selection_limit(0.1) == pytest.approx(0.1)


def test_preprocessing_the_trials_reused_is_counted_for_fresh_splits_and_the_refit() -> None:
    """Trials reuse their folds' preprocessed matrices; a fresh split prepares its own, and a
    refit preprocesses all rows for each member (1,617 columns: 1.5 s a split, once uncounted,
    and a 10 s search ended at 11.3 s)."""
    cv_seconds = {0: 2.0, 1: 3.0}
    clock = _clock(
        time_budget=None,
        remeasure=True,
        fit_seconds={0: 1.0, 1: 1.0},
        contenders=lambda: [0, 1],
        cv_seconds=cv_seconds,
        cv=_Folding(5, rows_seconds=0.4, split_seconds=2.0),
    )
    refit = refit_seconds({0: 1.0}, {}, [0], 5, prepare=0.4)
    assert refit == pytest.approx(refit_seconds({0: 1.0}, {}, [0], 5) + 0.4)
    # Both contenders on a fresh split (its folds prepared once), the winner on a third one.
    assert clock.after_selection() == pytest.approx(refit + (2.0 + 5.0) + (2.0 + 3.0) + 0.5)
    assert refit_seconds({0: 1.0, 1: 1.0}, {}, [0, 1], 5, prepare=0.4) == pytest.approx(
        2 * refit_seconds({0: 1.0}, {}, [0], 5) + 0.8
    )
    # The preparation counts against the fresh split's share of the budget.
    assert fresh_split_plan([0, 1], cv_seconds, 60.0) == [0, 1]
    assert fresh_split_plan([0, 1], cv_seconds, 60.0, prepare=5.0) == [0]


def test_a_cross_validation_times_the_preparation_of_its_folds(small_binary, monkeypatch) -> None:
    from autoimb.engine.evaluate import CrossValidation

    data = validate(*small_binary)
    cv = CrossValidation(data, 3, 0)
    assert cv.rows_seconds == 0.0 and cv.split_seconds == 0.0
    for k in range(3):
        cv.fold(k)
    assert cv.rows_seconds > 0
    assert cv.split_seconds == pytest.approx(3 * cv.rows_seconds)
    cv.release()  # the times outlive the matrices
    assert cv.split_seconds == pytest.approx(3 * cv.rows_seconds)
    monkeypatch.setattr(config, "SHARED_MATRIX_ROWS", 10)
    shared = CrossValidation(data, 3, 0)
    shared.fold(0)
    assert shared.rows_seconds > 0
    # Every split shares the one matrix: a fresh split prepares nothing.
    assert shared.split_seconds == 0.0
    assert shared.resplit(1).rows_seconds == shared.rows_seconds


def test_a_resumed_search_keeps_time_for_an_earlier_runs_winner(small_binary, tmp_path) -> None:
    """A 5 s resumed search ran 9 s: the winner of the run before was cross-validated again
    and refitted after the trials, which had run to the deadline reserving nothing for it."""
    import optuna

    import autoimb
    from autoimb.engine.evaluate import CrossValidation
    from autoimb.engine.run import _Objective
    from autoimb.engine.settings import SearchSettings
    from autoimb.engine.space import load_space
    from autoimb.engine.storage import make_storage
    from autoimb.metrics.registry import get_metric

    X, y = small_binary
    storage = str(tmp_path / "study.log")
    first = autoimb.search(X, y, metric="f1", n_trials=3, space="fast", cv=3, storage=storage)
    study = optuna.load_study(study_name=first.study.study_name, storage=make_storage(storage))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all({"fit_seconds", "growth", "cv_seconds"} <= set(t.user_attrs) for t in done)

    data = validate(X, y)
    settings = SearchSettings(metric=get_metric("f1"), space=load_space("fast"), time_budget=5.0)
    objective = _Objective(study, settings, data, CrossValidation(data, 3, 0), 0)
    assert objective.earlier == {t.number for t in done}
    winner = objective._contenders()[0]
    assert winner in objective.earlier
    refit = refit_seconds(objective.fit_seconds, objective.growth, [winner], 3)
    # Its cross-validation again, then its refit, before anything else kept back.
    assert objective.clock.after_selection() >= objective.cv_seconds[winner] + refit
    started = time.monotonic()
    assert objective.clock.trial_deadline(started) <= settings.deadline - refit


def test_parallel_trials_refit_their_winner_with_the_threads_each_trial_had() -> None:
    """The refit's time is estimated from the trials' fits: with n_jobs=2 on 20k rows each
    trial's model had half the cores and the refit all of them, and two LightGBM threads on a
    busy machine ran the refit 4 times past the budget."""
    import joblib
    from sklearn.datasets import make_classification

    from autoimb.engine.budget import model_threads
    from autoimb.engine.space import parse_space

    if joblib.cpu_count() < 2:
        pytest.skip("one core: every model has one thread however many trials run")
    n = config.SMALL_DATA_ROWS
    X, y = make_classification(n_samples=n, n_features=4, weights=[0.95], random_state=0)
    result = autoimb.search(
        X, y, n_trials=2, n_jobs=2, space=parse_space("model: {logistic_regression: {}}"),
        cv=2, ensemble=False, importance=False, random_state=0,
    )  # fmt: skip
    served = result.best_pipeline.estimator
    assert isinstance(served, StrategyPipeline)
    assert served.n_threads == model_threads(2, n) < model_threads(1, n)


def test_threads_per_model_count_the_cores_this_process_may_use() -> None:
    """A container or a CPU mask gives a process fewer cores than the host has: counted on
    the host, parallel trials ran more threads than there were cores."""
    import shutil
    import subprocess
    import sys

    if shutil.which("taskset") is None:
        pytest.skip("no taskset here to give a process one core")
    code = "from autoimb.engine.budget import model_threads; print(model_threads(1, 10**6))"
    done = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"taskset cannot pin a process here: {done.stderr.strip()[:200]}")
    assert done.stdout.strip() == "1"


def test_numpy_and_scikit_learns_thread_pools_keep_to_the_threads_per_model(small_binary) -> None:
    """LightGBM and XGBoost were told one thread on small data, but the BLAS and OpenMP pools
    of numpy and scikit-learn (logistic regression, neighbours for SMOTE) took every core in
    each trial; they keep to it for the search, and are given back after it."""
    from threadpoolctl import threadpool_info

    def pools() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info()}

    before, seen = pools(), []
    X, y = small_binary
    autoimb.search(
        X, y, n_trials=2, space="fast", cv=3, random_state=0,
        callbacks=[lambda study, trial: seen.append(pools())],
    )  # fmt: skip
    assert seen and all(during == {1} for during in seen)
    assert pools() == before
