"""Multi-fidelity on large data: trials climb from subsamples that keep every minority row."""

from __future__ import annotations

import time
from itertools import pairwise

import numpy as np
import pytest

import autoimb
from autoimb import config
from autoimb.data.dataset import validate
from autoimb.engine.budget import fidelities
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.splits import as_folds
from autoimb.metrics.registry import get_metric


def test_fidelities_grow_by_a_factor_and_end_with_all_rows() -> None:
    assert fidelities(1_000) == [1.0]
    steps = fidelities(1_000_000)
    assert steps[-1] == 1.0 and len(steps) == 4
    assert all(b / a == pytest.approx(3) for a, b in pairwise(steps))
    assert 1_000_000 * steps[0] >= config.FIDELITY_MIN_ROWS


def test_a_subsample_keeps_every_minority_row_and_the_validation_rows(yeast4) -> None:
    X, y = yeast4
    cv = CrossValidation(validate(X, y), 3, random_state=0)
    rows = cv.subsample(0, 0.2, seed=0)
    train, valid = cv.splits[0]
    assert set(rows) <= set(train)
    assert set(train[y.to_numpy()[train] == 1]) <= set(rows)
    majority = np.sum(y.to_numpy()[train] == 0)
    assert np.sum(y.to_numpy()[rows] == 0) == int(majority * 0.2)
    fold = cv.fold(0, rows)
    np.testing.assert_array_equal(fold.valid, valid)
    np.testing.assert_array_equal(fold.X_train, cv.fold(0).X_train[np.searchsorted(train, rows)])
    low = evaluate(
        {"model": {"name": "lightgbm", "n_estimators": 20}},
        cv,
        get_metric("f1"),
        fraction=0.2,
        random_state=0,
    )
    assert low.oof.shape == (len(y), 2) and np.all(low.oof.sum(axis=1) > 0)


def test_a_subsample_of_folds_listed_in_any_order_keeps_each_row_with_its_label(yeast4) -> None:
    """Index pairs of the user's own (or a ShuffleSplit's) list their rows unsorted."""
    X, y = yeast4
    shuffled = np.random.default_rng(0).permutation(len(y))
    parts = np.array_split(shuffled, 3)
    pairs = [(np.concatenate(parts[:k] + parts[k + 1 :]), parts[k]) for k in range(3)]
    cv = CrossValidation(validate(X, y), as_folds(pairs, n_rows=len(y)), random_state=0)
    rows = cv.subsample(0, 0.2, seed=0)
    fold = cv.fold(0, rows)
    preprocessor = cv.fold(0).preprocessor
    np.testing.assert_array_equal(fold.X_train, preprocessor.transform(X.iloc[rows]))


def test_search_climbs_fidelities_with_successive_halving(yeast4, monkeypatch) -> None:
    """With the threshold lowered, yeast4 (1,484 rows) is searched as large data is."""
    monkeypatch.setattr(config, "FIDELITY_MIN_ROWS", 300)
    X, y = yeast4
    result = autoimb.search(
        X,
        y,
        metric="average_precision",
        n_trials=8,
        space="fast",
        cv=3,
        random_state=0,
        warm_start=None,
    )
    assert result.study.pruner.__class__.__name__ == "SuccessiveHalvingPruner"
    fractions = {t.user_attrs.get("fraction") for t in result.study.trials}
    assert 1.0 in fractions
    assert result.study.best_trial.user_attrs["fraction"] == 1.0
    # The first trial has no other to lose to at a rung, so it goes straight to all rows; the
    # later ones that finished climbed every rung.
    first, *later = result.study.trials
    assert first.state.name == "COMPLETE" and not first.intermediate_values
    climbed = [t for t in later if t.state.name == "COMPLETE"]
    assert climbed
    assert all(len(t.intermediate_values) == len(fidelities(len(y))) - 1 for t in climbed)
    # Halving acts at its first rung, the smallest sample, where pruning saves the most.
    rungs = fidelities(len(y))
    pruned = [t for t in result.study.trials if t.state.name == "PRUNED"]
    assert pruned and all(t.user_attrs["fraction"] == rungs[0] for t in pruned)
    assert all("not promoted past" in t.user_attrs["stopped"] for t in pruned)
    # What measuring a finished trial again costs is its cross-validation on all rows, not
    # its smaller rungs: the reserve and the fresh-fold measure both count that.
    assert all(0 < t.user_attrs["cv_seconds"] < t.user_attrs["seconds"] for t in climbed)


def test_a_trial_whose_sample_says_all_rows_cannot_end_in_time_stops_before_them(
    yeast4, monkeypatch, tmp_path
) -> None:
    """A logistic regression never looks at the clock: a fold of it started too late ran
    past the deadline by all its length. Here each fit on the sample is timed at 20 s (the
    clock folds are timed on jumps ahead during it): the sample's three folds fit in the 45 s
    a trial may take, a fold on all rows, about three times the rows, would not, and the trial
    stops before fitting one, as a trial cut by the clock: pruned, with the reason."""
    from types import SimpleNamespace

    from autoimb.engine import evaluate as evaluation
    from autoimb.engine import run

    monkeypatch.setattr(config, "FIDELITY_MIN_ROWS", 300)  # rungs of 1/3 and all rows
    clock = SimpleNamespace(monotonic=time.monotonic, ahead=0.0, sampling=False)
    clock.perf_counter = lambda: time.perf_counter() + clock.ahead
    fits: list[int] = []
    fit_fold, cross_validate = evaluation.fit_fold, run.evaluate

    def timed_fit(*args, **kwargs):
        fits.append(1)
        pipeline = fit_fold(*args, **kwargs)
        clock.ahead += 20.0 if clock.sampling else 0.0
        return pipeline

    calls: list[tuple[float, int]] = []  # each cross-validation's rung, and the folds it fitted

    def counted(*args, fraction: float = 1.0, **kwargs):
        before, clock.sampling = len(fits), fraction < 1.0
        try:
            return cross_validate(*args, fraction=fraction, **kwargs)
        finally:
            calls.append((fraction, len(fits) - before))

    monkeypatch.setattr(evaluation, "time", clock)
    monkeypatch.setattr(evaluation, "fit_fold", timed_fit)
    monkeypatch.setattr(run, "evaluate", counted)
    space = tmp_path / "linear.yaml"
    space.write_text(
        "name: linear\ndescription: A model that never looks at the clock.\n"
        "model:\n  logistic_regression:\n    C: {type: float, low: 0.01, high: 10.0, log: true}\n"
    )
    X, y = yeast4
    result = autoimb.search(
        X,
        y,
        time_budget=3 * 45,  # a trial may take a third
        n_trials=2,
        space=space,
        cv=3,
        random_state=0,
        warm_start=None,
        importance=False,
    )
    # The first trial goes straight to all rows; the second fits its sample, then no fold on
    # all rows.
    sample = fidelities(len(y))[0]
    assert calls == [(1.0, 3), (sample, 3), (1.0, 0)]
    first, second = result.study.trials
    assert first.state.name == "COMPLETE"
    assert second.state.name == "PRUNED" and "error" not in second.user_attrs
    assert "before fold 1 of 3" in second.user_attrs["stopped"]
    assert "a smaller sample's fastest" in second.user_attrs["stopped"]
    assert second.user_attrs["fraction"] == sample
