"""Bad input gets the library's own one-line error naming the problem and the fix."""

from __future__ import annotations

import dataclasses
import multiprocessing
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest

import autoimb
from autoimb.config import STUDY_ATTR
from autoimb.data.conform import conform
from autoimb.data.dataset import validate
from autoimb.engine.space import parse_space
from autoimb.exceptions import AutoImbError, SchemaError

FAST = {"metric": "f1", "n_trials": 1, "space": "fast", "cv": 3, "random_state": 0}


def _named(data):
    """Rows named as a customer table's are, not numbered afresh."""
    return data.rename(index=lambda i: f"customer-{i}")


@pytest.fixture(scope="module")
def searched(small_binary):
    X, y = small_binary
    return autoimb.search(X, y, **FAST)


@pytest.fixture(scope="module")
def fitted(searched):
    return searched.best_pipeline


_NOT_A_PATH = r"path must be a file path \(str or pathlib.Path\); got NoneType None"


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda result, folder: autoimb.load(folder / "kept.joblib", trust="no"),
            r"trust must be True or False; got str 'no'",
        ),
        (
            lambda result, folder: autoimb.load(folder / "kept.joblib", trust="False"),
            r"trust must be True or False; got str 'False'",
        ),
        (
            lambda result, folder: result.save(folder / "kept.skops", overwrite="false"),
            r"overwrite must be True or False; got str 'false'",
        ),
        (lambda result, folder: result.save(None), _NOT_A_PATH),
        (lambda result, folder: result.report_html(None), _NOT_A_PATH),
        (lambda result, folder: autoimb.load(None), _NOT_A_PATH),
    ],
    ids=[
        "trust-as-text-no",
        "trust-as-text-false",
        "overwrite-as-text",
        "save-to-none",
        "report-to-none",
        "load-none",
    ],
)
def test_files_are_neither_opened_nor_replaced_on_bad_input(searched, tmp_path, call, message):
    """A text "no" is true by Python's truth: trust="no" opened the pickle."""
    searched.save(tmp_path / "kept.joblib")
    searched.save(tmp_path / "kept.skops")
    before = {path: path.stat().st_mtime_ns for path in tmp_path.iterdir()}
    with pytest.raises(AutoImbError, match=message):
        call(searched, tmp_path)
    assert {path: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X, y: {"sample_weight": ["a"] * len(y)}, "sample_weight must be numbers"),
        (lambda X, y: {"sample_weight": np.r_[np.nan, np.ones(len(y) - 1)]}, "got 1 NaN or inf"),
        (lambda X, y: {"sample_weight": np.r_[-1, np.ones(len(y) - 1)]}, "got 1 below 0"),
        (lambda X, y: {"sample_weight": np.zeros(len(y))}, "positive somewhere; got all zero"),
        (
            lambda X, y: {"sample_weight": (np.asarray(y) == 0).astype(float)},
            r"gives class\(es\) \[1\] no weight at all",
        ),
        (
            lambda X, y: {"sample_weight": np.ones((len(y) // 2, 2))},
            r"sample_weight must be one weight per row, 1-D; got shape \(168, 2\)",
        ),
        (
            lambda X, y: {"sample_weight": np.where(np.asarray(y) == 0, 1.0, 1e50)},
            r"gives class\(es\) \[0\] no weight at all .*under a 10\^40th",
        ),
        (lambda X, y: {"categorical_features": [99]}, "categorical_features holds index 99"),
        (
            lambda X, y: {"categorical_features": 0},
            r"categorical_features must be 'auto' or a list of column names or indices; got 0",
        ),
        (
            lambda X, y: {"pretrained": [1]},
            r"pretrained must be None or a dict of the models to continue from; got list \[1\]",
        ),
        (lambda X, y: {"storage": "/no/such/folder/study.log"}, "does not exist"),
        (
            lambda X, y: {"storage": True},
            r"storage must be None, a journal file path, a database URL or an Optuna storage; "
            r"got bool True",
        ),
        (lambda X, y: {"storage": 123}, r"storage must be None, .*; got int 123"),
        (  # it was taken for the folder the process runs in
            lambda X, y: {"storage": ""},
            r"storage must be None, .*; got empty text ''\. Leave storage out \(None\) to keep",
        ),
        (lambda X, y: {"storage": "  "}, r"storage must be None, .*; got empty text '  '"),
        (
            lambda X, y: {"storage": "sqlite:///no/such/folder/study.db"},
            r"the folder 'no/such/folder' does not exist; create it",
        ),
        (
            lambda X, y: {"X": X.assign(bag=[[1, 2]] * len(X))},
            "column 'bag' holds list values, which no model can read: each cell is passed",
        ),
        (
            lambda X, y: {"X": X.assign(label=np.asarray(y)), "y": pd.Series(y, name="label")},
            r"X still holds the label column 'label'.*X.drop\(columns='label'\)",
        ),
        (  # a file read without a header names its columns 0, 1, ...: the label is 8
            lambda X, y: {
                "X": X.set_axis(range(X.shape[1]), axis=1).assign(**{"8": np.asarray(y)}),
                "y": pd.Series(y, name=8),
            },
            r"X still holds the label column 8.*X.drop\(columns=8\)",
        ),
        (lambda X, y: {"y": "label"}, r"y is the text 'label', not labels.*--target label"),
        (
            lambda X, y: {
                "X": X.set_axis([0, *X.columns[1:]], axis=1).assign(**{"0": X.iloc[:, 0]})
            },
            r"names differ only in type, \[\[0, '0'\]\]: the model names its columns by",
        ),
        (
            lambda X, y: {
                "X": X.assign(
                    when=pd.date_range("2024-01-01", periods=len(X), freq="5h"),
                    **{"when.month": 1.0 + np.arange(len(X)) % 3},
                )
            },
            r"X has column\(s\) \['when.month'\] named as the parts a date column is read into",
        ),
        (lambda X, y: {"X": X.to_dict("records")}, r"list of records \(dicts\); pass pd.Da"),
        (
            lambda X, y: {"X": X.to_dict("list")},
            r"X is a dict of columns; pass pd.DataFrame\(X\), whose columns are its keys",
        ),
        (
            lambda X, y: {"X": X.to_dict("series")},
            r"X is a dict of columns; pass pd.DataFrame\(X\)",
        ),
        (
            lambda X, y: {"y": pd.DataFrame({"label": y, "again": y})},
            r"y must be one column of labels \(1-D\); got shape \(336, 2\)\. Pass the label "
            r"column alone: y\['label'\] \(y has columns \['label', 'again'\]\)",
        ),
        (
            lambda X, y: {"y": np.c_[y, y]},
            r"y must be one column of labels \(1-D\); got shape \(336, 2\)\. Pass the label "
            r"column alone: y\[:, 0\]",
        ),
        (
            lambda X, y: {"pretrained": {"lightgbn": None}},
            r"pretrained has 'lightgbn'.*did you mean 'lightgbm'",
        ),
        (
            lambda X, y: {
                "pretrained": {"xgboost": None},
                "space": parse_space("model: {lightgbm: {}}"),
            },
            "this search does not fit xgboost on this data",
        ),
        (lambda X, y: {"callbacks": print}, r"callbacks must be a list of functions"),
        (
            lambda X, y: {"callbacks": [lambda trial: None]},
            r"each callback must be callable as f\(study, trial\); got <lambda>",
        ),
        (lambda X, y: {"callbacks": ["stop"]}, r"each callback must be a function; got 'stop'"),
        (
            lambda X, y: {"X": _named(X), "y": _named(y).sample(frac=1, random_state=0)},
            r"y's index holds X's row labels in another order.*Pass y.loc\[X.index\]",
        ),
        (  # y.loc[X.index] would give each repeated label's every row
            lambda X, y: {
                "X": X.set_axis(np.arange(len(X)) // 2),
                "y": y.set_axis(np.arange(len(X)) // 2).sample(frac=1, random_state=0),
            },
            r"X's index repeats row labels.*pass y.to_numpy\(\) if the order is already X's, "
            r"or else give X and y one index of unique labels",
        ),
        (
            lambda X, y: {
                "X": _named(X),
                "sample_weight": _named(y + 1.0).sample(frac=1, random_state=0),
            },
            r"sample_weight's index holds X's row labels in another order",
        ),
        (
            lambda X, y: {"X": _named(X), "groups": _named(X.index.to_series() // 7)[::-1]},
            r"groups' index holds X's row labels in another order.*another row's group",
        ),
        (
            lambda X, y: {"X": X.assign(patient=np.arange(len(X)) // 7), "groups": "patient"},
            r"groups is the text 'patient', not one label .*pass groups=X\['patient'\] and X",
        ),
        (
            lambda X, y: {"groups": "patient"},
            r"groups is the text 'patient', not one label per row; pass each row's group",
        ),
        (lambda X, y: {"ensemble": "false"}, r"ensemble must be True or False; got str 'false'"),
        (lambda X, y: {"importance": "no"}, r"importance must be True or False; got str 'no'"),
        (lambda X, y: {"advice": "False"}, r"advice must be True or False; got str 'False'"),
        (
            lambda X, y: {"verbose": "quiet"},
            r"verbose must be True, False \(or 0, 1\) or None \(shown where .*got str 'quiet'",
        ),
    ],
    ids=[
        "weights-as-text",
        "weights-nan",
        "weights-negative",
        "weights-all-zero",
        "a-class-weighs-nothing",
        "weights-2d",
        "a-class-weighs-nothing-in-float32",
        "category-index",
        "categories-as-a-number",
        "pretrained-as-a-list",
        "storage-folder",
        "storage-as-a-flag",
        "storage-as-a-number",
        "storage-empty",
        "storage-blank",
        "sqlite-storage-folder",
        "lists-in-a-column",
        "label-left-in-X",
        "label-left-in-X-named-by-a-number",
        "label-column-name-as-y",
        "names-alike-as-text",
        "a-column-named-as-a-date-part",
        "records",
        "dict-of-columns",
        "dict-of-series",
        "y-two-columns-frame",
        "y-two-columns-array",
        "pretrained-misspelt",
        "pretrained-not-searched",
        "callbacks-not-a-list",
        "callback-of-one-argument",
        "callback-not-a-function",
        "labels-in-other-row-order",
        "labels-in-other-row-order-repeating-labels",
        "weights-in-other-row-order",
        "groups-in-other-row-order",
        "groups-as-a-column-name",
        "groups-as-text",
        "ensemble-as-text",
        "importance-as-text",
        "advice-as-text",
        "verbose-as-text",
    ],
)
def test_search_refuses_bad_input_with_its_own_message(small_binary, change, message) -> None:
    X, y = small_binary
    kwargs = {**FAST, **change(X, y)}
    X, y = kwargs.pop("X", X), kwargs.pop("y", y)
    with pytest.raises(AutoImbError, match=message):
        autoimb.search(X, y, **kwargs)


@pytest.mark.parametrize("torch", [True, False], ids=["torch", "no-torch"])
def test_pretrained_weights_for_a_space_without_mlp_say_why(
    small_binary, monkeypatch, torch
) -> None:
    """With torch installed, the fast space's refusal still said to install it."""
    from autoimb.engine import pretrained

    monkeypatch.setattr(pretrained, "TORCH_AVAILABLE", torch)
    X, y = small_binary
    with pytest.raises(AutoImbError, match="does not fit mlp on this data") as caught:
        autoimb.search(X, y, **{**FAST, "pretrained": {"mlp": {}}})
    assert ("pip install autoimb[deep]" in str(caught.value)) is not torch
    assert ("the space searches no mlp; space='deep' does" in str(caught.value)) is torch


def test_a_column_that_recodes_the_labels_is_warned_about(small_binary) -> None:
    """Known only once the label is (a churn date, a "closed" status) or the label again."""
    X, y = small_binary
    X = X.assign(status=np.where(np.asarray(y) == 1, "closed", "open"))
    with pytest.warns(UserWarning, match=r"column\(s\) 'status' match the labels one-to-one"):
        autoimb.search(X, y, **FAST)


def test_labels_numbered_afresh_beside_shuffled_rows_are_warned_of(small_binary) -> None:
    """``pd.Series(encoder.fit_transform(df.label))`` beside ``df.sample(frac=1)``'s columns:
    the same labels 0 … n-1 in another order, but the fresh index names no rows."""
    X, y = small_binary
    shuffled = X.sample(frac=1, random_state=0)
    labels = pd.Series(np.asarray(y)[X.index.get_indexer(shuffled.index)])
    with pytest.warns(UserWarning, match=r"unless the index numbered 0, 1, 2 … names no rows"):
        result = autoimb.search(shuffled, labels, **FAST)
    assert result.best_score > 0.5
    # the same by position, said so: no word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = autoimb.search(shuffled, labels.to_numpy(), **FAST)
    assert again.best_score == result.best_score


def test_a_column_filled_on_one_class_only_is_warned_about(small_binary) -> None:
    """A churn reason, a cancellation date: present on the churned rows alone, so being there
    tells the label, though its values (and its blanks) do not map one-to-one."""
    X, y = small_binary
    positive = np.asarray(y) == 1
    reasons = np.resize(np.array(["price", "service", "moved"], dtype=object), len(y))
    X = X.assign(reason=np.where(positive, reasons, None))
    with pytest.warns(UserWarning, match=r"column\(s\) 'reason' hold a value on the rows of one"):
        autoimb.search(X, y, **FAST)


def test_labels_that_differ_only_by_case_or_space_are_warned_about(small_binary) -> None:
    X, y = small_binary
    labels = np.where(np.asarray(y) == 1, "yes", "no").astype(object)
    labels[:3] = " Yes"
    with pytest.warns(UserWarning, match="differ only by case or spaces"):
        autoimb.search(X, labels, **FAST)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (lambda X: X.iloc[:0], "no rows"),
        (lambda X: X.assign(**{X.columns[0]: np.inf}), "infinite values"),
        (lambda X: X.assign(**{X.columns[0]: 1e39}), "beyond ±3.4e38"),
    ],
    ids=["no-rows", "inf", "beyond-float32"],
)
def test_predict_refuses_what_training_refuses(fitted, small_binary, rows, message) -> None:
    X, _ = small_binary
    with pytest.raises(AutoImbError, match=message):
        fitted.predict(rows(pd.DataFrame(X)))


def test_a_budget_no_trial_fits_in_says_what_to_raise(too_much_for_half_a_second) -> None:
    X, y = too_much_for_half_a_second
    with pytest.raises(AutoImbError, match=r"no trial completed.*time_budget=.*space='fast'"):
        autoimb.search(X, y, metric="f1", time_budget=0.5, random_state=0)


def test_a_budget_too_short_to_start_a_trial_says_what_to_raise(small_binary) -> None:
    X, y = small_binary  # the queued strategies never start: not "every trial failed"
    with pytest.raises(AutoImbError, match=r"no trial completed.*time_budget="):
        autoimb.search(X, y, metric="f1", time_budget=0.01, random_state=0)


def test_numpy_numbers_and_arrays_are_taken_as_python_ones(small_binary) -> None:
    """What a parameter grid or ``X.columns`` gives: a NumPy budget, an Index of names."""
    X, y = small_binary
    X = X.assign(site=np.where(np.arange(len(y)) % 2, "a", "b"))
    names = X.columns[X.columns == "site"]  # a pandas Index
    for given in (names, names.to_numpy()):
        data = validate(X, y, categorical_features=given)
        assert "site" in data.schema()["categorical"]
    fast = {k: v for k, v in FAST.items() if k != "n_trials"}
    result = autoimb.search(X, y, time_budget=np.float32(60), n_trials=np.int64(1), **fast)
    assert len(result.leaderboard) >= 1


def test_a_trial_that_fails_is_named_in_the_notes(small_binary, monkeypatch) -> None:
    """A booster of three classes fails every LightGBM trial on two: the search goes on with
    the other models and says why those failed. (``pretrained=`` refuses such a booster
    before any trial, so the trials are handed it behind the check's back.)"""
    import lightgbm

    from autoimb.stages import REGISTRY

    X, y = small_binary
    rng = np.random.default_rng(0)
    other = lightgbm.Dataset(rng.random((60, X.shape[1])), rng.integers(0, 3, 60))
    params = {"verbose": -1, "objective": "multiclass", "num_class": 3}
    booster = lightgbm.train(params, other, num_boost_round=3)
    handed = dataclasses.replace(
        REGISTRY["model"]["lightgbm"], fit_params=lambda ctx: {"init_model": booster}
    )
    monkeypatch.setitem(REGISTRY["model"], "lightgbm", handed)
    space = parse_space("model: {lightgbm: {}, logistic_regression: {}}")
    result = autoimb.search(X, y, n_trials=4, cv=3, space=space, random_state=0)
    failed = [note for note in result.notes if "trials failed" in note]
    assert len(failed) == 1 and "LightGBMError" in failed[0] and "\n" not in failed[0]


def test_a_numpy_random_state_seeds_the_search_as_in_scikit_learn(small_binary) -> None:
    X, y = small_binary
    kwargs = {**FAST, "n_trials": 2}
    runs = [
        autoimb.search(X, y, **{**kwargs, "random_state": np.random.RandomState(5)})
        for _ in range(2)
    ]
    seeds = [run.study.user_attrs[STUDY_ATTR]["seed"] for run in runs]
    assert seeds[0] == seeds[1] and isinstance(seeds[0], int)
    assert runs[0].leaderboard["score"].tolist() == runs[1].leaderboard["score"].tolist()


def test_a_numpy_integer_seed_is_kept_in_a_database_storage(small_binary, tmp_path) -> None:
    X, y = small_binary
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    result = autoimb.search(X, y, **{**FAST, "random_state": np.int64(3)}, storage=storage)
    assert result.study.user_attrs[STUDY_ATTR]["seed"] == 3


@pytest.mark.parametrize(
    ("random_state", "message"),
    [
        (-1, "random_state must be an integer from 0 to 4294967295; got -1"),
        ("0", "random_state must be None, an integer or a numpy RandomState"),
    ],
    ids=["negative", "text"],
)
def test_a_seed_numpy_cannot_take_is_refused_with_its_range(
    small_binary, random_state, message
) -> None:
    X, y = small_binary
    with pytest.raises(AutoImbError, match=message):
        autoimb.search(X, y, **{**FAST, "random_state": random_state})


@pytest.mark.parametrize(
    ("estimator", "n_jobs"), [(False, -1), (False, -2), (True, -1)], ids=["-1", "-2", "estimator"]
)
def test_negative_n_jobs_counts_from_the_cores_as_in_joblib(small_binary, estimator, n_jobs):
    X, y = small_binary
    if estimator:
        fitted = autoimb.AutoImbClassifier(**FAST, n_jobs=n_jobs).fit(X, y)
    else:
        fitted = autoimb.search(X, y, **FAST, n_jobs=n_jobs).best_pipeline
    assert fitted.predict(X).shape == y.shape
    with pytest.raises(AutoImbError, match=r"n_jobs must be a positive integer, or a negative"):
        autoimb.search(X, y, **FAST, n_jobs=0)


def _n_jobs_in_a_pool_worker(_: object) -> tuple[list[int], list[str]]:
    """check_n_jobs's readings, and the warnings of a short search, in a pool's process."""
    from autoimb._checks import check_n_jobs

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        counts = [check_n_jobs("n_jobs", value) for value in (None, 3, -1, -2)]
        autoimb.search(X, y, **{**FAST, "n_trials": 2}, n_jobs=2)
    return counts, [str(warning.message) for warning in caught]


def test_n_jobs_keeps_its_meaning_inside_a_multiprocessing_pool():
    """A pool's process is daemonic, where joblib reads any n_jobs as 1 and warns of loky;
    trials run in threads, which work there."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        counts, said = pool.map(_n_jobs_in_a_pool_worker, [None])[0]
    cores = joblib.cpu_count()
    assert counts == [1, 3, cores, max(cores - 1, 1)]
    assert not [message for message in said if "Loky" in message], said


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (lambda X: X.to_dict("list"), r"X is a dict of columns; pass pd.DataFrame\(X\)"),
        (
            lambda X: X.iloc[0].to_dict(),
            r"X is a dict of one row's values; pass pd.DataFrame\(\[X\]\)",
        ),
        (lambda X: X.to_dict("records"), r"X is a list of records \(dicts\); pass pd.DataFrame"),
    ],
    ids=["columns", "one-row", "records"],
)
def test_a_dict_at_predict_is_named_with_the_frame_to_make_of_it(
    fitted, small_binary, given, message
) -> None:
    """It said "X must be 2-D; got an array of shape ()", which named no dict and no fix."""
    X, _ = small_binary
    for call in (fitted.predict, fitted.predict_proba):
        with pytest.raises(AutoImbError, match=message):
            call(given(X))
    np.testing.assert_array_equal(
        fitted.predict(pd.DataFrame(X.to_dict("list"))), fitted.predict(X)
    )
    np.testing.assert_array_equal(
        fitted.predict(pd.DataFrame([X.iloc[0].to_dict()])), fitted.predict(X)[:1]
    )


def test_a_row_passed_as_a_series_is_refused_with_the_fix(fitted, small_binary) -> None:
    X, _ = small_binary
    with pytest.raises(
        SchemaError, match=r"got a pandas Series.*df\.iloc\[\[0\]\].*to_frame\(\)\.T"
    ):
        fitted.predict(X.iloc[0])
    np.testing.assert_array_equal(fitted.predict(X.iloc[[0]]), fitted.predict(X)[:1])
    np.testing.assert_array_equal(fitted.predict(X.iloc[0].to_frame().T), fitted.predict(X)[:1])


def test_one_weight_for_every_row_is_read_as_scikit_learn_reads_it(small_binary) -> None:
    X, y = small_binary
    assert (validate(X, y, sample_weight=2.5).sample_weight == 1.0).all()  # in mean units
    column = np.arange(1.0, len(y) + 1)[:, None]  # a column, as y may be given
    np.testing.assert_array_equal(
        validate(X, y, sample_weight=column).sample_weight,
        validate(X, y, sample_weight=column[:, 0]).sample_weight,
    )


def test_numbers_where_training_had_dates_are_refused_without_a_pandas_warning(small_binary):
    X, y = small_binary
    X = X.assign(when=pd.date_range("2024-01-01", periods=len(X), freq="h").strftime("%Y-%m-%d"))
    schema = validate(X, y).schema()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SchemaError, match=r"held dates in training but holds 1700000000 now"):
            conform(X.assign(when=1_700_000_000), schema)
        # Numbers among text (an object column): pandas will read them as instants since 1970.
        mixed = pd.Series([1.7e9] * len(X), dtype=object, index=X.index)
        with pytest.raises(SchemaError, match=r"held dates in training but holds 1700000000.0"):
            conform(X.assign(when=mixed), schema)


def test_a_frame_of_other_width_for_a_model_fitted_on_an_array_is_counted(small_binary):
    """The model's columns were named x0, x1, … by autoimb, not by the user: the frame is
    refused for its width, in scikit-learn's words, not for lacking those names."""
    X, y = small_binary
    model = autoimb.search(X.to_numpy(), y, **FAST).best_pipeline
    wider = pd.DataFrame(np.c_[X.to_numpy(), np.zeros(len(X))], columns=[*"abcdefgh"])
    with pytest.raises(SchemaError, match=r"X has 8 features, but the model was trained on 7"):
        model.predict(wider)


def test_an_array_with_a_constant_column_is_searched_and_predicted(hepatitis) -> None:
    """The constant column is dropped in training: the training rows without it, named as an
    array's columns are (x0, x1 …), are matched by those names at the refit, not refused for
    holding one column fewer than the array."""
    X, y = hepatitis
    array = np.column_stack([X.select_dtypes("number").to_numpy(), np.ones(len(X))])
    found = autoimb.search(array, y.to_numpy(), metric="f1", n_trials=1, space="fast", cv=3)
    assert found.predict(array).shape == (len(array),)
