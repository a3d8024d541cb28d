"""The winner's permutation importance: real fits, out of fold, within the budget."""

from __future__ import annotations

import json
import time

import numpy as np
import optuna
import pandas as pd
import pytest

import autoimb
from autoimb import config
from autoimb.data.dataset import validate
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.finish import finish
from autoimb.engine.importance import (
    FoldModel,
    OutOfTime,
    capped_rows,
    permutation_importance,
    winner_importance,
)
from autoimb.engine.outcome import Predictions, SearchOutcome
from autoimb.engine.settings import SearchSettings
from autoimb.engine.stopped import finish_study
from autoimb.metrics.registry import get_metric

LIGHTGBM = {"model": {"name": "lightgbm", "n_estimators": 50}}
LOGISTIC = {"weighting": {"name": "balanced"}, "model": {"name": "logistic_regression"}}


@pytest.fixture(scope="module")
def planted(yeast4):
    """yeast4 with a text column that carries the label (missing in a tenth of the rows), and
    a numeric and a text column of pure noise; LightGBM fitted on 3 folds."""
    X, y = yeast4
    rng = np.random.default_rng(1)
    positive = (y == y.value_counts().idxmin()).to_numpy()
    site = np.where(
        rng.random(len(y)) < np.where(positive, 0.7, 0.05),
        "north",
        rng.choice(["south", "east"], len(y)),
    )
    X = X.assign(
        site=site, noise=rng.normal(size=len(y)), noise_text=rng.choice(["a", "b"], len(y))
    )
    X.loc[rng.random(len(y)) < 0.1, "site"] = np.nan
    data = validate(X, y)
    cv = CrossValidation(data, 3, random_state=0)
    fitted = evaluate(LIGHTGBM, cv, get_metric("f1"), random_state=0, keep_models=True)
    return data, cv, [FoldModel(m.valid, ((m.pipeline, 1.0),)) for m in fitted.models]


@pytest.mark.parametrize(("metric", "score"), [("f1", "average_precision"), ("roc_auc", "roc_auc")])
def test_the_planted_column_leads_and_text_noise_does_not_count(planted, metric, score):
    data, _, folds = planted
    table = permutation_importance(folds, data, get_metric(metric), n_folds=3, seed=0)
    assert list(table.columns) == ["feature", "importance", "std"]
    assert sorted(table["feature"]) == sorted(data.X.columns)
    assert table["importance"].is_monotonic_decreasing
    by_name = table.set_index("feature")
    site = by_name.loc["site"]
    assert site["importance"] > 2 * site["std"] > 0  # shuffling it costs, fold after fold
    assert site["importance"] > by_name.loc[["noise", "noise_text"], "importance"].max()
    assert abs(by_name.loc["noise_text", "importance"]) < 0.03
    assert table.attrs == {"score": score, "rows": len(data.y), "folds": 3, "repeats": 3}


def test_the_same_seed_gives_the_same_table(planted):
    data, _, folds = planted
    first = permutation_importance(folds, data, get_metric("f1"), n_folds=3, seed=0)
    again = permutation_importance(folds, data, get_metric("f1"), n_folds=3, seed=0)
    other = permutation_importance(folds, data, get_metric("f1"), n_folds=3, seed=1)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(
        first.set_index("feature")["importance"], other.set_index("feature")["importance"]
    )


def test_large_folds_keep_their_rare_rows_and_their_class_balance(yeast4):
    y = validate(*yeast4).y
    valid = np.arange(len(y))
    rare = np.flatnonzero(y != np.argmax(np.bincount(y)))
    rows, factor = capped_rows(valid, y, 300, np.random.default_rng(0))
    assert len(rows) == 300 and set(rare) <= set(rows)
    # Weighted, the sample has the fold's class counts again.
    for label, count in enumerate(np.bincount(y)):
        assert factor[y[rows] == label].sum() == pytest.approx(count)
    rows, factor = capped_rows(valid, y, 60, np.random.default_rng(0))
    assert len(rows) == 60 and np.isin(rows, rare).sum() == 30
    assert factor[np.isin(rows, rare)].sum() == pytest.approx(len(rare))
    small, ones = capped_rows(valid[:100], y, 300, np.random.default_rng(0))
    np.testing.assert_array_equal(small, valid[:100])
    assert (ones == 1).all()


def test_a_row_cap_scores_fewer_rows_and_finds_the_same_leader(planted):
    data, _, folds = planted
    table = permutation_importance(folds, data, get_metric("f1"), n_folds=3, max_rows=600)
    assert table.attrs["rows"] == 600
    assert table["feature"].iloc[0] in {"x0", "site"}


def test_no_time_left_stops_it(planted):
    data, _, folds = planted
    with pytest.raises(OutOfTime):
        permutation_importance(
            folds, data, get_metric("f1"), n_folds=3, deadline=time.monotonic() - 1
        )


def test_it_stops_after_a_fold_when_the_folds_left_would_overrun(planted):
    """Fetching a fold may fit it; when the folds still to come would end past the deadline at
    the pace of the first, the time goes to the refit instead of to an unfinished table."""
    data, _, folds = planted
    fetched = []

    def slow():
        for fold in folds:
            fetched.append(fold)
            time.sleep(1.0)
            yield fold

    with pytest.raises(OutOfTime, match="2 remaining folds"):
        permutation_importance(
            slow(), data, get_metric("f1"), n_folds=3, deadline=time.monotonic() + 2.5
        )
    assert len(fetched) == 1
    table = permutation_importance(
        iter(folds), data, get_metric("f1"), n_folds=3, deadline=time.monotonic() + 60
    )
    assert table.attrs["folds"] == 3


class _Slow:
    """A fold model whose every prediction takes a fixed time: a wide or slow winner."""

    def __init__(self, fold: FoldModel, seconds: float, calls: list[int]) -> None:
        self.valid, self.fold, self.seconds, self.calls = fold.valid, fold, seconds, calls

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(frame))
        time.sleep(self.seconds)
        return self.fold.predict_proba(frame)


def test_a_fold_that_cannot_finish_is_given_up_after_one_prediction(planted, monkeypatch):
    """Wide data: one column's shuffled copies per call, each call slow; the fold's calls left
    would end past the deadline, so it stops at once instead of running up to the deadline."""
    data, _, folds = planted
    monkeypatch.setattr("autoimb.config.IMPORTANCE_BATCH_CELLS", 1)
    calls: list[int] = []
    slow = [_Slow(fold, 0.2, calls) for fold in folds]
    started = time.monotonic()
    with pytest.raises(OutOfTime, match=r"prediction call\(s\) still to make on a fold"):
        permutation_importance(
            slow, data, get_metric("f1"), n_folds=3, deadline=time.monotonic() + 1.5
        )
    assert time.monotonic() - started < 1.0
    assert len(calls) <= 2  # the unshuffled rows, then at most one column's copies


def test_a_call_holds_at_most_the_cells_allowed(planted, monkeypatch):
    data, _, folds = planted
    monkeypatch.setattr("autoimb.config.IMPORTANCE_BATCH_CELLS", 20_000)
    calls: list[int] = []
    table = permutation_importance(
        [_Slow(folds[0], 0.0, calls)], data, get_metric("f1"), n_folds=1, max_rows=200
    )
    width = data.X.shape[1]
    assert len(table) == width
    base, *shuffled = calls
    assert base == 200 and max(shuffled) * width <= 20_000
    assert sum(shuffled) == 200 * config.IMPORTANCE_REPEATS * width


def test_an_ensemble_on_text_columns_is_fitted_on_each_fold_and_blended(hepatitis):
    """No fold models at hand (an ensemble won): its members are fitted on each fold again."""
    data = validate(*hepatitis)
    cv = CrossValidation(data, 3, random_state=0)
    outcome = SearchOutcome(None, cv, Predictions(True), 0, {}, {})
    settings = SearchSettings(metric=get_metric("mcc"), space=None)
    notes: list[str] = []
    entry = winner_importance(
        {0: LOGISTIC, 1: LIGHTGBM},
        {0: 0.5, 1: 0.5},
        [],
        outcome,
        settings,
        data,
        1,
        after=0.0,
        notes=notes,
    )
    assert notes == []
    assert entry["score"] == "average_precision" and entry["folds"] == 3
    assert {f["feature"] for f in entry["features"]} == set(data.X.columns)
    assert max(f["importance"] for f in entry["features"]) > 0
    assert json.loads(json.dumps(entry)) == entry  # plain types, for the model card


def test_no_time_for_the_fits_leaves_a_note_instead(hepatitis):
    data = validate(*hepatitis)
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"seconds": 4.0}))
    outcome = SearchOutcome(
        study, CrossValidation(data, 3, random_state=0), Predictions(True), 0, {}, {}
    )
    settings = SearchSettings(metric=get_metric("f1"), space=None, time_budget=10.0)
    settings.started = time.monotonic() - 8.0  # 2 s left, and the fits took 4 s
    notes: list[str] = []
    entry = winner_importance(
        {0: LIGHTGBM}, {0: 1.0}, [], outcome, settings, data, 1, after=0.0, notes=notes
    )
    assert entry is None
    assert len(notes) == 1 and notes[0].startswith("No feature importance: fitting the winner")


def test_the_search_result_and_its_saved_model_carry_it(hepatitis, tmp_path):
    X, y = hepatitis
    result = autoimb.search(
        X, y, metric="f1", n_trials=3, space="fast", cv=3, random_state=0, ensemble=False
    )
    table = result.feature_importance
    assert list(table.columns) == ["feature", "importance", "std"]
    assert set(table["feature"]) == set(validate(X, y).X.columns)
    assert table["importance"].is_monotonic_decreasing
    assert table.attrs["score"] == "average_precision" and table.attrs["folds"] == 3
    saved = autoimb.load(result.save(tmp_path / "m.skops")).model_card_["feature_importance"]
    assert saved == result.model_card()["feature_importance"]


@pytest.mark.slow
def test_a_resumed_studys_winner_reuses_its_cross_validation_run_again(small_binary):
    """A resumed study holds no predictions of its earlier trials: the winner's are computed
    again, and those fold models measure the importance, with no fit of their own."""
    X, y = small_binary
    first = autoimb.search(
        X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0, ensemble=False
    )
    # The same trials, recorded as so slow that fitting the winner once more would not fit in
    # the budget: only the fold models of the recomputed predictions can give the importance.
    study = optuna.create_study(direction="maximize")
    for trial in first.study.get_trials(states=[optuna.trial.TrialState.COMPLETE]):
        study.add_trial(
            optuna.trial.create_trial(
                value=trial.value,
                params=trial.params,
                distributions=trial.distributions,
                user_attrs={**trial.user_attrs, "seconds": 1e6},
            )
        )
    data = validate(X, y)
    outcome = SearchOutcome(
        study, CrossValidation(data, 3, random_state=0), Predictions(True), 0, {}, {}
    )
    settings = SearchSettings(
        metric=get_metric("f1"), space=None, cv=3, remeasure=False, time_budget=600.0
    )
    resumed = finish(outcome, settings, data)
    assert not [n for n in resumed.notes if "feature importance" in n]
    table = resumed.feature_importance
    assert table is not None and table.attrs["folds"] == 3
    assert set(table["feature"]) == set(data.X.columns)
    stopped = finish_study(first.study, data, get_metric("f1"), None)  # Ctrl-C: the model now
    assert stopped.feature_importance is None


def test_it_can_be_switched_off(small_binary):
    X, y = small_binary
    kwargs = {"metric": "f1", "n_trials": 2, "space": "fast", "cv": 3, "random_state": 0}
    assert autoimb.search(X, y, **kwargs).feature_importance is not None
    assert autoimb.search(X, y, importance=False, **kwargs).feature_importance is None
    clf = autoimb.AutoImbClassifier(importance=False, **kwargs).fit(X, y)
    assert clf.get_params()["importance"] is False
    assert clf.result_.feature_importance is None


@pytest.mark.slow
def test_importance_of_a_search_bounded_by_trials_takes_no_longer_than_the_search(monkeypatch):
    """Without a time budget nothing else bounds it, and on a thousand columns it took half an
    hour for a search of seconds: it stops where it would outlast the search, with a note."""
    monkeypatch.setattr(config, "IMPORTANCE_MIN_SECONDS", 0.0)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1000, 400)), columns=[f"s{i}" for i in range(400)])
    y = (X.s0 + X.s1 + rng.normal(size=1000) > 3.0).astype(int)
    result = autoimb.search(X, y, metric="mcc", n_trials=1, space="fast", cv=3, random_state=0)
    assert result.feature_importance is None
    assert any(
        "on 400 columns it would take longer than the search itself" in n for n in result.notes
    )


def test_a_date_is_one_input_column_shuffled_whole(yeast4):
    """The user gave one date; the model reads its days and parts. Shuffled apart, each part
    would keep the others' information: the date is shuffled and reported as one column."""
    X, y = yeast4
    positive = (y == y.value_counts().idxmin()).to_numpy()
    days = pd.Timestamp("2021-01-04") + pd.to_timedelta(np.where(positive, 2, 0), unit="D")
    X = X.assign(when=(days + pd.to_timedelta(np.arange(len(y)) % 7 * 7, unit="D")))
    data = validate(X, y)
    assert {"when", "when.weekday"} <= set(data.X.columns)
    cv = CrossValidation(data, 3, random_state=0)
    fitted = evaluate(LIGHTGBM, cv, get_metric("f1"), random_state=0, keep_models=True)
    folds = [FoldModel(m.valid, ((m.pipeline, 1.0),)) for m in fitted.models]
    table = permutation_importance(folds, data, get_metric("f1"), n_folds=3, seed=0)
    assert sorted(table["feature"]) == sorted(X.columns)
    assert table["feature"].iloc[0] == "when"  # the weekday tells the classes apart


def test_a_nets_fits_on_the_folds_share_the_time_left_as_a_trials_do(small_binary, monkeypatch):
    """Fitted again on each fold, the winner's net may train until a cap; the first fold's net
    was given all the time left, and the folds after it none."""
    pytest.importorskip("torch")
    from autoimb.engine import importance

    data = validate(*small_binary)
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"seconds": 1.0}))
    cv = CrossValidation(data, 3, random_state=0)
    outcome = SearchOutcome(study, cv, Predictions(True), 0, {}, {})
    settings = SearchSettings(metric=get_metric("f1"), space=None, time_budget=300.0)
    settings.started = time.monotonic()
    caps: list[tuple[float, float]] = []  # (a net's time cap, the seconds then left)

    def spied(folds, *args, **kwargs):
        def watched():
            for fold in folds:
                for pipeline, _ in fold.members:
                    caps.append((pipeline.model_.max_time, settings.deadline - time.monotonic()))
                yield fold

        return permutation_importance(watched(), *args, **kwargs)

    monkeypatch.setattr(importance, "permutation_importance", spied)
    mlp = {"model": {"name": "mlp", "max_epochs": 3, "width": 16, "depth": 1}}
    notes: list[str] = []
    entry = winner_importance(
        {0: mlp}, {0: 1.0}, [], outcome, settings, data, 1, after=0.0, notes=notes
    )
    assert notes == [] and entry["folds"] == 3
    assert len(caps) == 3
    for k, (cap, left) in enumerate(caps):
        assert cap <= (left + 5.0) / (3 - k)  # this fold's share, not all that is left
