"""A user's own splitter (or splits) as cv: drawn the same for the same seed, resumed onto the
same folds, drawn anew for the fresh-fold measure, and refused or warned of, with a fix that
fits, where it cannot give honest scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import (
    KFold,
    LeaveOneGroupOut,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

import autoimb
from autoimb.cli.console import as_options
from autoimb.data.dataset import validate
from autoimb.datasets import load
from autoimb.engine.evaluate import CrossValidation
from autoimb.engine.remeasure import FRESH
from autoimb.engine.splits import as_folds
from autoimb.exceptions import AutoImbError

FAST = {"space": "fast", "n_trials": 3, "random_state": 0, "importance": False, "ensemble": False}


@pytest.fixture(scope="module")
def data():
    """hepatitis: 155 rows, 32 positives."""
    X, y = load("hepatitis", return_X_y=True)
    return X, np.asarray(y)


def test_a_shuffling_splitter_without_a_seed_draws_with_the_searchs(data, tmp_path) -> None:
    """StratifiedKFold(3, shuffle=True) drew other folds in each run: the same seed gave
    another leaderboard, and a resumed study went on with other folds than its trials'."""
    X, y = data
    cv = StratifiedKFold(3, shuffle=True)
    first = autoimb.search(X, y, cv=cv, **FAST)
    again = autoimb.search(X, y, cv=cv, **FAST)
    assert first.leaderboard["score"].tolist() == again.leaderboard["score"].tolist()
    assert (first.evidence.fold_ids == again.evidence.fold_ids).all()
    assert cv.random_state is None  # the user's splitter is left as given
    assert "shuffled with the search's seed" in first.study.user_attrs["autoimb"]["folds"]
    storage = str(tmp_path / "study.log")
    made = autoimb.search(X, y, cv=cv, storage=storage, **{**FAST, "n_trials": 2})
    resumed = autoimb.search(X, y, cv=cv, storage=storage, **{**FAST, "random_state": 1})
    assert (made.evidence.fold_ids == resumed.evidence.fold_ids).all()  # the study's seed
    # A study made before such splitters drew with the search's seed: told so, not "A, not A".
    study = resumed.study
    recorded = dict(study.user_attrs["autoimb"])
    recorded["folds"] = recorded["folds"].removesuffix(", shuffled with the search's seed")
    study.set_user_attr("autoimb", recorded)
    with pytest.raises(AutoImbError, match=r"each run drew other folds, which cannot be drawn"):
        autoimb.search(X, y, cv=cv, storage=storage, **FAST)


def test_a_splitter_seeded_as_the_fresh_split_would_be_is_still_measured_afresh(data) -> None:
    """Seed 1 for the splitter and 0 for the search: the fresh split's seed (0 + 1) drew the
    search's own folds, and best_score was called optimistic, "the same when drawn anew"."""
    X, y = data
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    result = autoimb.search(X, y, cv=cv, **FAST)
    assert result.score_basis == FRESH, result.notes
    assert as_folds(cv).fresh_seeds(0) == (2, 3)  # the third split neither
    assert as_folds(StratifiedKFold(3, shuffle=True, random_state=2)).fresh_seeds(0) == (1, 3)


def test_a_splitter_seeded_with_a_random_state_is_described_alike_in_every_run(
    data, tmp_path
) -> None:
    """Its repr held the RandomState's memory address (and a line break): no resume matched."""
    X, y = data
    described = [
        as_folds(StratifiedKFold(3, shuffle=True, random_state=np.random.RandomState(0)))
        for _ in range(2)
    ]
    assert described[0].describe() == described[1].describe()
    assert " at 0x" not in described[0].describe() and "\n" not in described[0].describe()
    storage = str(tmp_path / "study.log")
    runs = [
        autoimb.search(
            X,
            y,
            cv=StratifiedKFold(3, shuffle=True, random_state=np.random.RandomState(0)),
            storage=storage,
            **{**FAST, "n_trials": 2},
        )
        for _ in range(2)
    ]
    assert (runs[0].evidence.fold_ids == runs[1].evidence.fold_ids).all()


@pytest.mark.parametrize(
    "holdout", [ShuffleSplit(1), StratifiedShuffleSplit(1, test_size=0.3)], ids=["ss", "sss"]
)
def test_a_single_holdout_is_refused_before_the_trials(data, holdout) -> None:
    """Every trial failed, then: "Cross-fitting needs at least 2 folds, got 1"."""
    X, y = data
    with pytest.raises(AutoImbError, match=r"cv=\w*ShuffleSplit\(n_splits=1, .* makes 1 split"):
        autoimb.search(X, y, cv=holdout, **FAST)


@pytest.mark.parametrize(
    "splitter, said",
    [
        (KFold(1000), "Cannot have number of splits n_splits=1000 greater than"),
        (StratifiedKFold(140), "n_splits=140 cannot be greater than the number of members"),
    ],
    ids=["more-folds-than-rows", "more-folds-than-a-class-holds"],
)
def test_a_splitter_of_more_folds_than_the_data_holds_is_refused_with_the_fix(
    data, splitter, said
) -> None:
    """scikit-learn's own ValueError came out raw, while cv=1000 is lowered to fit."""
    X, y = data
    with pytest.raises(AutoImbError, match=rf"cannot split the 155 rows \({said}.*fewer folds"):
        autoimb.search(X, y, cv=splitter, **FAST)
    assert splitter.n_splits in (1000, 140)  # the user's splitter is left as given


def test_folds_that_validate_no_row_of_a_class_are_warned_of(data) -> None:
    """40 folds of 32 positives: 8 folds scored 0.0 F1 (nan average precision), unsaid."""
    X, y = data
    with pytest.warns(UserWarning, match=r"fold\(s\) \[0, 1, 2, 35.* of 40 validate no row of"):
        CrossValidation(validate(X, y), as_folds(StratifiedKFold(40)), random_state=0)


def test_the_estimator_refuses_a_generator_of_splits(data) -> None:
    """A generator cannot be cloned ("cannot pickle 'generator' object") and a second fit
    found it used up."""
    X, y = data
    clf = autoimb.AutoImbClassifier(cv=KFold(3).split(X), **FAST)
    with pytest.raises(AutoImbError, match=r"Pass a list of \(train, valid\) index pairs"):
        clf.fit(X, y)
    with pytest.raises(AutoImbError, match="clone"):
        clone(clf)


def test_groups_that_cannot_hold_a_class_out_say_so_and_how_to_fix_it(data) -> None:
    """It said "Collect more examples of it or drop it" of a class with 32 rows."""
    X, y = data
    with pytest.raises(AutoImbError, match=r"hold one group for all 155 rows") as e:
        autoimb.search(X, y, groups=np.zeros(len(y)), **FAST)
    assert "leave out the groups (groups=, --group" in str(e.value)
    assert "leave out the groups (--group) if" in as_options(str(e.value))
    groups = np.where(y == 1, -1, np.arange(len(y)) % 7)
    with pytest.raises(AutoImbError, match=r"all its rows are in group -1.* finer groups"):
        autoimb.search(X, y, groups=groups, **FAST)


def test_a_training_part_without_a_class_is_given_a_fix_that_fits(data) -> None:
    """Both were told to use StratifiedGroupKFold: one has no groups, the other no splitter
    can help."""
    X, y = data
    order = np.argsort(y, kind="stable")
    with pytest.raises(AutoImbError, match=r"lack class\(es\) \[1\].*\(StratifiedKFold\)"):
        autoimb.search(X.iloc[order], y[order], cv=KFold(3), **FAST)
    groups = np.where(y == 1, -1, np.arange(len(y)) % 7)
    with pytest.raises(AutoImbError, match=r"every row of class 1 is in group -1, so the fold"):
        autoimb.search(X, y, groups=groups, cv=LeaveOneGroupOut(), **FAST)


def test_a_training_part_whose_rows_of_a_class_all_weigh_nothing_is_refused(data) -> None:
    """Fold 0 learned the positives only from rows of weight 0: no model learns them."""
    X, y = data
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    weights = np.ones(len(y))
    weights[(y == 1) & ~np.isin(np.arange(len(y)), splits[0][1])] = 0.0
    with pytest.raises(AutoImbError, match=r"fold 0's training rows hold class\(es\) \[1\] only"):
        autoimb.search(X, y, cv=splits, sample_weight=weights, **FAST)
