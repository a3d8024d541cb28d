"""Folds the user controls: groups never straddle a fold, time order is kept, and every step
that validates (trials, thresholds, ensembles, the fresh-fold measure) uses the same folds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
)

import autoimb
from autoimb.cli.console import as_options
from autoimb.data.dataset import validate
from autoimb.engine.evaluate import CrossValidation
from autoimb.engine.remeasure import CHOSEN_ON, FRESH
from autoimb.engine.splits import as_folds
from autoimb.exceptions import AutoImbError

FAST = {"space": "fast", "random_state": 0, "n_trials": 4}


def _patients(n: int) -> np.ndarray:
    """Seven rows per patient, like repeated visits."""
    return np.arange(n) // 7


def test_group_folds_never_put_a_group_on_both_sides(yeast4) -> None:
    X, y = yeast4
    groups = _patients(len(y))
    cv = CrossValidation(validate(X, y), as_folds(5, groups, n_rows=len(y)), random_state=0)
    assert cv.folds.kind == "group" and cv.n_splits == 5
    for train, valid in cv.splits:
        assert not set(groups[train]) & set(groups[valid])
    assert (cv.fold_ids >= 0).all()


def test_a_search_with_groups_keeps_each_group_in_one_fold(yeast4) -> None:
    X, y = yeast4
    groups = _patients(len(y))
    result = autoimb.search(X, y, metric="f1", groups=groups, ensemble=False, **FAST)
    folds = result.evidence.fold_ids
    # Every row of a group was validated in the same fold: no model saw part of its group.
    per_group = pd.Series(folds).groupby(groups).nunique()
    assert (per_group == 1).all()
    attrs = result.study.user_attrs["autoimb"]
    assert attrs["split"] == "group" and "group" in attrs["folds"]
    assert result.score_basis == FRESH  # grouped folds can be drawn anew


def test_groups_that_fill_one_fold_each_are_not_called_fresh_folds(small_binary) -> None:
    """With one group per fold every seed draws the same folds: best_score was labelled
    "cross-validated on fresh folds" and was the very score that chose the winner."""
    X, y = small_binary
    groups = np.arange(len(y)) % 4
    result = autoimb.search(
        X,
        y,
        metric="f1",
        n_trials=6,
        cv=5,
        groups=groups,
        space="fast",
        random_state=0,
        warm_start=None,
        ensemble=False,
        importance=False,
    )
    assert result.score_basis == CHOSEN_ON and result.best_score == result.search_score
    assert "4 group folds come out the same when drawn anew" in " ".join(result.notes)


def test_group_labels_of_mixed_types_are_compared_as_text(yeast4) -> None:
    """Integer ids with some rows "unknown" failed to sort inside np.unique; as text, 7 and "7"
    name one group, as they would read from a CSV."""
    X, y = yeast4
    groups = pd.Series(np.arange(len(y)) % 20, dtype=object)
    groups[[3, 50, 400]] = "unknown"
    groups[groups == 7] = ["7" if i % 2 else 7 for i in range((groups == 7).sum())]
    result = autoimb.search(X, y, groups=groups, cv=3, n_trials=1, space="fast", ensemble=False)
    per_group = pd.Series(result.evidence.fold_ids).groupby(groups.astype(str)).nunique()
    assert (per_group == 1).all() and "unknown" in per_group.index
    from autoimb.engine.splits import as_folds

    numbers = np.array([1, 1.0, 2, True, 3], dtype=object)  # numbers of several types: as before
    assert len(np.unique(as_folds(3, numbers, n_rows=5).groups)) == 3


def test_given_splits_that_validate_alike_but_train_otherwise_are_other_folds() -> None:
    from autoimb.engine.splits import as_folds

    rows = np.arange(12)
    growing = [(rows[: 4 * k], rows[4 * k : 4 * k + 4]) for k in (1, 2)]
    sliding = [(rows[4 * k - 4 : 4 * k], rows[4 * k : 4 * k + 4]) for k in (1, 2)]
    assert as_folds(growing, n_rows=12).identity() != as_folds(sliding, n_rows=12).identity()


def test_time_order_validates_only_later_rows_and_says_it_cannot_redraw(yeast4) -> None:
    X, y = yeast4
    result = autoimb.search(X, y, metric="f1", cv=TimeSeriesSplit(3), ensemble=False, **FAST)
    scored = len(result.evidence.y)
    assert scored == len(y) - len(y) // 4  # the first block is never validated
    assert "cannot be drawn anew" in " ".join(result.notes)
    assert result.score_basis == CHOSEN_ON


def test_a_list_of_splits_and_a_splitter_object_are_used_as_given(yeast4) -> None:
    X, y = yeast4
    splits = list(KFold(3, shuffle=True, random_state=1).split(X))
    result = autoimb.search(X, y, metric="average_precision", cv=splits, **FAST)
    assert result.study.user_attrs["autoimb"]["folds"] == "3 given splits"
    grouped = autoimb.search(
        X, y, metric="average_precision", cv=GroupKFold(4), groups=_patients(len(y)), **FAST
    )
    assert "GroupKFold" in grouped.study.user_attrs["autoimb"]["folds"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cv": GroupKFold(3)}, "pass groups="),
        ({"cv": ShuffleSplit(3, random_state=0)}, "overlap an earlier fold"),
        ({"cv": 1}, "at least 2 folds"),
        ({"cv": "five"}, "cv must be a number of folds"),
        ({"groups": [1, 2, 3]}, "one label per row"),
        ({"groups": "id"}, "one label per row"),
        ({"cv": [([0, 1], [2, 3])]}, "at least 2"),
        ({"groups": "PATIENTS", "advice": True}, "advice=True"),
        ({"groups": "PATIENTS", "cv": KFold(3)}, r"also trains on \(e\.g\. \d+\): the score"),
    ],
    ids=[
        "group-splitter-no-groups",
        "overlap",
        "one-fold",
        "text",
        "short",
        "text-groups",
        "one-split",
        "advice",
        "groups-split-apart",
    ],
)
def test_folds_that_cannot_work_are_refused_before_the_search(yeast4, kwargs, message) -> None:
    X, y = yeast4
    if kwargs.get("groups") == "PATIENTS":
        kwargs = {**kwargs, "groups": _patients(len(y))}
    with pytest.raises(AutoImbError, match=message):
        autoimb.search(X, y, metric="f1", **{**FAST, **kwargs})


def test_folds_training_without_a_class_name_it_and_a_fix_that_fits_their_kind(glass) -> None:
    """A time split said "only 5 of 6" and advised StratifiedGroupKFold, which cannot keep
    time order."""
    X, y = glass
    shuffled = np.random.default_rng(0).permutation(np.flatnonzero(y.to_numpy() != 6))
    order = np.r_[shuffled[:60], np.flatnonzero(y.to_numpy() == 6), shuffled[60:]]
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    late = r"lack class\(es\) \[6\] \(5 of 6 held\): in time order class 6 first comes at row 61"
    with pytest.raises(
        AutoImbError, match=late + r".*fewer splits.*\(2 splits of TimeSeriesS"
    ) as e:
        autoimb.search(X, y, metric="f1", cv=TimeSeriesSplit(5), **FAST)
    # The command line's time folds are --cv and --cv-split: its fix names those.
    said = as_options(str(e.value))
    assert (
        "Use a smaller --cv, so that the first training part reaches it (--cv 2 does), or "
        "--cv-split stratified"
        in said
        and "TimeSeriesSplit" not in said
    )
    two = late + r" of 214 \(from 1\)\. Use a smaller test_size or gap"
    with pytest.raises(AutoImbError, match=two):
        autoimb.search(X, y, metric="f1", cv=TimeSeriesSplit(2, test_size=90), **FAST)
    with pytest.raises(
        AutoImbError, match=r"class 7 first comes at row 186 of 214 \(from 1\), t"
    ) as e:
        autoimb.search(*glass, metric="f1", cv=TimeSeriesSplit(3), **FAST)
    said = as_options(str(e.value))
    assert said.endswith(
        "of 2 time folds. Use --cv-split stratified if the rows do not depend on their order."
    )
    # Folds not in time order: another splitter can keep every class.
    sixes = np.flatnonzero(y.to_numpy() == 6)
    pairs = [(np.setdiff1d(np.arange(len(y)), part), part) for part in (sixes, np.arange(60))]
    with pytest.raises(AutoImbError, match=r"fold 0's .* class\(es\) \[6\] .*\(StratifiedKFold\)"):
        autoimb.search(X, y, metric="f1", cv=pairs, **FAST)


def test_a_study_is_resumed_only_with_the_same_folds(yeast4, tmp_path) -> None:
    X, y = yeast4
    storage = str(tmp_path / "study.log")
    autoimb.search(X, y, metric="f1", storage=storage, **{**FAST, "n_trials": 2})
    with pytest.raises(AutoImbError, match="5 stratified folds, not 5 group folds"):
        autoimb.search(
            X, y, metric="f1", storage=storage, groups=_patients(len(y)), **{**FAST, "n_trials": 2}
        )


def test_the_estimator_takes_groups_in_fit(yeast4) -> None:
    X, y = yeast4
    clf = autoimb.AutoImbClassifier("f1", n_trials=3, space="fast", random_state=0)
    clf.fit(X, y, groups=_patients(len(y)))
    assert clf.result_.study.user_attrs["autoimb"]["split"] == "group"


def _one_signal_per_patient(n_patients: int = 40, positives: int = 3):
    """Rows of a patient alike and nothing else to learn from: a patient on both sides of a
    fold scores near 1, honest folds far lower."""
    rng = np.random.default_rng(0)
    per_patient = rng.normal(size=(n_patients, 6))
    labels = np.zeros(n_patients, dtype=int)
    labels[rng.choice(n_patients, positives, replace=False)] = 1
    patient = np.repeat(np.arange(n_patients), 3)
    X = pd.DataFrame(per_patient[patient] + 0.05 * rng.normal(size=(len(patient), 6)))
    return X.add_prefix("x"), labels[patient], patient


@pytest.mark.parametrize("splits", ["splitter", "pairs"])
def test_groups_with_folds_that_ignore_them_are_refused(splits) -> None:
    X, y, patient = _one_signal_per_patient()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    given = cv if splits == "splitter" else list(cv.split(X, y))
    with pytest.raises(AutoImbError, match=r"groups= is given, and fold 0 validates \d+ group"):
        autoimb.search(X, y, metric="f1", groups=patient, cv=given, **FAST)


def test_grouped_folds_are_as_many_as_the_groups_that_hold_the_smallest_class() -> None:
    X, y, patient = _one_signal_per_patient(positives=3)
    with pytest.warns(UserWarning, match=r"smallest class has only 3 groups, fewer than cv=5"):
        result = autoimb.search(X, y, metric="average_precision", groups=patient, **FAST)
    folds = result.evidence.fold_ids
    assert folds.max() <= 2  # fewer still where the grouping leaves a fold without a positive
    assert all(y[folds == k].any() for k in range(folds.max() + 1))
    assert all(np.isfinite(s) for s in result.leaderboard["score"].dropna())


def test_a_shuffling_splitter_of_the_users_is_drawn_anew_for_the_fresh_measure() -> None:
    X, y, patient = _one_signal_per_patient(positives=8)
    cv = StratifiedGroupKFold(3, shuffle=True, random_state=0)
    result = autoimb.search(X, y, metric="f1", groups=patient, cv=cv, ensemble=False, **FAST)
    assert result.score_basis == FRESH, result.notes
    assert cv.random_state == 0  # the user's own splitter is left as it was


def test_a_class_with_fewer_than_two_rows_per_fold_is_warned_of() -> None:
    """Seven positives in five folds: one or two per fold, so fold scores move in big steps."""
    from autoimb.engine.fold_counts import n_folds_for

    with pytest.warns(UserWarning, match=r"only 7 rows: each of the 5 .* holds 1 or 2"):
        assert n_folds_for(np.array([300, 7]), 5) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert n_folds_for(np.array([300, 10]), 5) == 5


def test_the_model_card_records_the_folds_the_search_drew(small_binary) -> None:
    """Ten folds asked of a class with three rows: the card says three, as the notes do; the
    study keeps the ten asked, which a resume is compared with."""
    X, y = small_binary
    keep = (
        np.flatnonzero(np.asarray(y) == 0).tolist()
        + np.flatnonzero(np.asarray(y) == 1)[:3].tolist()
    )
    X, y = X.iloc[keep], np.asarray(y)[keep]
    with pytest.warns(UserWarning, match="using 3 folds instead"):
        result = autoimb.search(X, y, cv=10, n_trials=1, space="fast", random_state=0)
    card = result.model_card()
    assert (card["cv"], card["folds"]) == (3, "3 stratified folds")
    assert result.study.user_attrs["autoimb"]["cv"] == 10


def _splits_the_search_cannot_use(n: int) -> dict[str, list]:
    half = np.arange(n) % 2 == 0
    made_for_more = list(StratifiedKFold(3).split(np.zeros(n + 600), np.arange(n + 600) % 2))
    return {
        "fit only the rows they were made for": made_for_more,
        "not masks": [(half, ~half), (~half, half)],
        r"cv's train indices must be one flat array of row numbers; got shape \(\d+, 1\)": [
            (np.flatnonzero(half)[:, None], np.flatnonzero(~half)[:, None]),
            (np.flatnonzero(~half)[:, None], np.flatnonzero(half)[:, None]),
        ],
        r"cv's valid indices must be whole row numbers; got 1\.5 among them": [
            (np.flatnonzero(half), np.flatnonzero(~half) + 0.5),
            (np.flatnonzero(~half), np.flatnonzero(half).astype(float)),
        ],
        "trains on .* of the rows it validates": [
            (np.arange(n), np.flatnonzero(half)),
            (np.arange(n), np.flatnonzero(~half)),
        ],
    }


@pytest.mark.parametrize("message", list(_splits_the_search_cannot_use(4)))
def test_index_pairs_the_search_cannot_use_are_refused_with_the_fix(yeast4, message) -> None:
    X, y = yeast4
    with pytest.raises(AutoImbError, match=message):
        autoimb.search(X, y, cv=_splits_the_search_cannot_use(len(y))[message], n_trials=1)


@pytest.mark.parametrize(
    "dtype", ["string", "boolean", "datetime64[ns]"], ids=["string", "boolean", "datetime"]
)
def test_groups_missing_a_label_of_any_pandas_kind_are_refused(yeast4, dtype) -> None:
    X, y = yeast4
    labels = {"string": [f"p{i % 10}" for i in range(len(y))], "boolean": np.arange(len(y)) % 2}
    labels["datetime64[ns]"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(labels["boolean"], "D")
    groups = pd.Series(labels[dtype]).astype(dtype)
    groups[5] = None
    with pytest.raises(AutoImbError, match="groups has missing values"):
        autoimb.search(X, y, groups=groups, n_trials=1)


def test_a_study_resumed_on_other_groups_is_refused(yeast4, tmp_path) -> None:
    """Its record said "5 group folds" alone: other groups resumed it, and the model saved
    before, scored on the first groups' folds, was kept against trials scored on harsher ones."""
    X, y = yeast4
    first = np.arange(len(y)) % 40
    search = dict(cv=3, n_trials=1, space="fast", storage=str(tmp_path / "s.log"), random_state=0)
    search |= dict(ensemble=False, importance=False, warm_start=None)
    autoimb.search(X, y, groups=first, **search)
    autoimb.search(X, y, groups=first.astype(str), **search)  # the same groups, as text
    with pytest.raises(AutoImbError, match=r"searched on 3 group folds of other groups"):
        autoimb.search(X, y, groups=np.arange(len(y)) % 7, **search)


def test_a_class_whose_weight_lies_in_one_group_is_refused_with_the_reason() -> None:
    """Positives in three patients, but only one patient's rows weigh anything: no group fold
    can both train and validate on them (the search scored F1 0.0 and blamed the data)."""
    X, y, patient = _one_signal_per_patient(positives=3)
    weights = np.ones(len(y))
    weighed_patient = np.unique(patient[y == 1])[0]
    weights[(y == 1) & (patient != weighed_patient)] = 0.0
    with pytest.raises(AutoImbError, match=r"fewer than 2 groups of positive weight.*give more"):
        autoimb.search(X, y, metric="f1", groups=patient, sample_weight=weights, **FAST)


def test_folds_are_counted_in_rows_that_weigh_something(yeast4) -> None:
    """All but four of yeast4's 51 positives weigh 0: four folds, as for four positives."""
    X, y = yeast4
    y = np.asarray(y)
    weights = np.ones(len(y))
    weights[np.flatnonzero(y == 1)[4:]] = 0.0
    with pytest.warns(UserWarning, match="only 4 rows of positive weight, fewer than cv=5"):
        result = autoimb.search(X, y, metric="average_precision", sample_weight=weights, **FAST)
    assert result.evidence.fold_ids.max() == 3
    weights[np.flatnonzero(y == 1)[1:]] = 0.0
    with pytest.raises(AutoImbError, match="fewer than 2 rows of positive weight"):
        autoimb.search(X, y, metric="average_precision", sample_weight=weights, **FAST)


@pytest.mark.parametrize("counted", [2, 3, 5])
def test_each_fold_validates_its_share_of_the_positives_that_weigh_something(
    small_binary, counted
) -> None:
    """Stratified on the class alone, the few positives of positive weight fell in some folds
    and not others: a fold trained without any (every trial near 0)."""
    X, y = small_binary
    y = np.asarray(y)
    weights = np.ones(len(y))
    weights[np.flatnonzero(y == 1)[counted:]] = 0.0
    weights[np.flatnonzero(y == 0)[:3]] = 0.0  # a stratum too small to share: its class alone
    data = validate(X, y, sample_weight=weights)
    weighed_positive = (y == 1) & (weights > 0)
    for seed in range(5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fewer folds than asked, said elsewhere
            cv = CrossValidation(data, 5, random_state=seed)
        held = [int(weighed_positive[valid].sum()) for _, valid in cv.splits]
        assert max(held) - min(held) <= 1, (seed, held)


COPIES = "repeat another row of their class exactly"
ONE_TRIAL = {"space": "fast", "random_state": 0, "n_trials": 1, "cv": 3, "ensemble": False}


def _minority_repeated(yeast4, times: int) -> tuple[pd.DataFrame, pd.Series]:
    """yeast4 with each positive row repeated, as oversampling before the search does."""
    X, y = yeast4
    positive = y == 1
    return (
        pd.concat([X] + [X[positive]] * (times - 1), ignore_index=True),
        pd.concat([y] + [y[positive]] * (times - 1), ignore_index=True),
    )


def _searched(X, y, **kwargs) -> tuple[autoimb.SearchResult, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = autoimb.search(X, y, metric="f1", **{**ONE_TRIAL, **kwargs})
    return result, [str(w.message) for w in caught]


def test_rows_copied_by_oversampling_are_warned_of_and_noted(yeast4) -> None:
    """Copies on both sides of a random fold score memory (F1 0.99 on the folds, 0.22 on
    held-out rows): the search warns once, with the fixes, and its notes and card keep it."""
    result, said = _searched(*_minority_repeated(yeast4, 5))
    warned = [text for text in said if COPIES in text]
    assert len(warned) == 1
    assert "204 of the 255 rows of class 1 (80%)" in warned[0]
    assert "best_score and its interval are optimistic" in warned[0]
    assert "groups=pd.util.hash_pandas_object(X, index=False)" in warned[0]
    assert "X.drop_duplicates()" in warned[0]
    assert "--group COL" in as_options(warned[0])  # the command line's fix
    noted = [note for note in result.notes if COPIES in note]
    assert len(noted) == 1 and "204 of the 255 rows of class 1" in noted[0]
    assert noted[0] in result.best_pipeline.model_card_["notes"]  # so `autoimb report` shows it


def test_data_without_copies_enough_to_matter_is_not_warned_of(yeast4) -> None:
    """yeast4's 31 repeated negatives are 2% of their class: natural, and not said; every row
    given twice (an export that repeats rows) is."""
    result, said = _searched(*yeast4)
    assert not [text for text in said if COPIES in text or "conflicting labels" in text]
    assert not [note for note in result.notes if COPIES in note]
    X, y = yeast4
    _, said = _searched(pd.concat([X, X], ignore_index=True), pd.concat([y, y], ignore_index=True))
    assert [text for text in said if "51 of the 102 rows of class 1 (50%)" in text]


def test_rows_with_one_set_of_features_and_two_labels_are_counted(yeast4) -> None:
    """Thirty negatives given again as positives: 60 rows no model can tell apart."""
    X, y = yeast4
    negatives = X[y == 0].drop_duplicates().iloc[:30]
    X = pd.concat([X, negatives], ignore_index=True)
    y = pd.concat([y, pd.Series(1, index=range(30), name=y.name)], ignore_index=True)
    result, said = _searched(X, y)
    assert [text for text in said if "60 rows share their features" in text]
    assert [note for note in result.notes if "60 rows share their features" in note]


def test_groups_that_keep_copies_together_are_left_to_the_user(yeast4) -> None:
    X, y = _minority_repeated(yeast4, 5)
    from autoimb.engine.copies import copies_note

    groups = pd.util.hash_pandas_object(X, index=False)
    result, said = _searched(X, y, groups=groups)
    assert not [text for text in said if COPIES in text]
    assert not [note for note in result.notes if COPIES in note]
    data = validate(X, y)
    assert COPIES in copies_note(data, as_folds(3))  # what the same rows say without them
    assert copies_note(data, as_folds(3, groups, n_rows=len(y))) is None


def test_copies_are_counted_per_class_among_many_rows() -> None:
    """A thousand minority rows given twice among a hundred thousand: each class's copies."""
    from autoimb.engine.copies import copied_rows

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100_000, 20))).add_prefix("x")
    X["kind"] = rng.choice(["a", "b", "c"], len(X))
    y = np.r_[np.ones(1_000, dtype=int), np.zeros(99_000, dtype=int)]
    data = validate(pd.concat([X, X.iloc[:1_000]], ignore_index=True), np.r_[y, y[:1_000]])
    found = copied_rows(data, as_folds(5))
    assert found is not None and found.copies.tolist() == [0, 1_000]


def test_a_search_hashes_its_rows_once(yeast4, monkeypatch) -> None:
    """Copies are looked for at the search's start and end, and the study records the data's
    fingerprint: the three read one hash of the rows (0.2 s per million rows each)."""
    X, y = yeast4
    hashed, real = [], pd.util.hash_pandas_object
    monkeypatch.setattr(
        pd.util,
        "hash_pandas_object",
        lambda obj, **kw: hashed.append(list(obj.columns)) or real(obj, **kw),
    )
    _searched(X, y)
    assert hashed.count(list(X.columns)) == 1
