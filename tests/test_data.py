"""Bad input is refused with a message that names the problem and the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import autoimb
from autoimb.data.conform import conform
from autoimb.data.dataset import validate
from autoimb.data.preprocess import Preprocessor
from autoimb.exceptions import AutoImbError, SchemaError


def _frame(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], n)})
    y = np.array([1] * 8 + [0] * (n - 8))
    return X, y


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda X, y: (X, np.zeros(len(y))), "only one class"),
        (lambda X, y: (X, np.r_[2, y[1:]]), "single example"),
        (lambda X, y: (X, np.r_[np.nan, y[1:]]), "missing labels"),
        (lambda X, y: (X, y[:-1]), "same number of rows"),
        (lambda X, y: (X.iloc[:0], y[:0]), r"0 sample\(s\)|only one class"),
        (lambda X, y: (X.assign(a=np.r_[np.inf, X["a"][1:]]), y), "infinite"),
        # Read as float32 by the tree models: every trial that met it failed.
        (lambda X, y: (X.assign(a=X["a"] * 1e200), y), r"beyond ±3.4e38"),
        (lambda X, y: (X.assign(a=["-4e38", *X["a"][1:].astype(str)]), y), "beyond ±3.4e38"),
        (lambda X, y: (pd.concat([X, X["a"]], axis=1), y), "duplicated column"),
        (lambda X, y: (X, y + 0.5), "regression"),
        (lambda X, y: (X, np.arange(len(y)) % 60), "more than the 50"),
    ],
    ids=[
        "one-class",
        "singleton",
        "nan-target",
        "lengths",
        "empty",
        "inf",
        "beyond-float32",
        "beyond-float32-text",
        "dup-cols",
        "regression",
        "many-classes",
    ],
)
def test_bad_training_data_is_refused(mutate, match) -> None:
    X, y = mutate(*_frame(120))
    with pytest.raises(AutoImbError, match=match):
        validate(X, y)


def test_constant_and_empty_columns_are_dropped_with_a_warning() -> None:
    X, y = _frame()
    X = X.assign(constant=1.0, empty=np.nan)
    with pytest.warns(UserWarning, match="Dropping 2 constant or all-missing"):
        data = validate(X, y)
    assert list(data.X.columns) == ["b", "a"]
    assert data.dropped == ["constant", "empty"]


def test_numpy_input_bool_labels_and_categories() -> None:
    X, y = _frame()
    data = validate(X.to_numpy(), y.astype(bool))
    assert data.categorical == ["x1"] and list(data.classes) == [False, True]
    assert data.pos_label == 1


def test_wide_data_is_accepted() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 60))
    y = np.r_[[1] * 10, [0] * 20]
    assert validate(X, y).X.shape == (30, 60)


def test_predict_time_columns_are_checked() -> None:
    X, y = _frame()
    schema = validate(X, y).schema()
    with pytest.raises(SchemaError, match=r"lacks 1 column.*\['b'\]"):
        conform(X[["a"]], schema)
    with pytest.raises(SchemaError, match="'a' was numeric in training"):
        conform(X.assign(a="text"), schema)
    # Numbers in a text category are its text: 3.0 is the category "3" (unseen ones warned).
    assert conform(X.assign(b=3.0), schema)["b"].tolist() == ["3"] * len(X)


def test_columns_without_the_training_names_are_taken_in_order() -> None:
    X, y = _frame()
    by_name = conform(X, validate(X, y).schema())
    with pytest.warns(
        UserWarning, match="does not have valid feature names.*in the training order"
    ):
        by_position = conform(X.to_numpy(), validate(X, y).schema())
    pd.testing.assert_frame_equal(by_position, by_name)
    from_array = validate(X.to_numpy(), y).schema()
    with pytest.warns(UserWarning, match="trained without feature names"):
        renamed = conform(X, from_array)
    assert renamed["x1"].tolist() == X["b"].tolist()
    with pytest.raises(SchemaError, match=r"lacks 1 column.*\['x1'\]"):
        conform(X.rename(columns={"a": "x0"}), from_array)  # some names known: by name


def test_integer_column_names_are_no_feature_names_to_lose_at_predict(small_binary) -> None:
    """As in scikit-learn, only string column names are feature names: a model trained on a
    frame with integer ones takes an array without a warning."""
    X, y = small_binary
    X = X.set_axis(range(X.shape[1]), axis=1)
    model = autoimb.search(X, y, metric="f1", n_trials=1, space="fast", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # scikit-learn's feature-name warnings
        from_array = model.best_pipeline.predict_proba(X.to_numpy())
    np.testing.assert_array_equal(from_array, model.best_pipeline.predict_proba(X))


def test_a_pyarrow_or_polars_table_keeps_its_column_names(small_binary) -> None:
    """A table of another library was read as an array: its names became x0, x1 … and its
    columns in another order at predict were matched by position, in silence."""
    pa = pytest.importorskip("pyarrow")
    X, y = small_binary
    X = X.rename(columns={"x0": "mcg", "x1": "gvh"}).assign(site=np.resize(["a", "b", "c"], len(X)))
    model = autoimb.search(pa.Table.from_pandas(X), y, n_trials=1, space="fast", random_state=0)
    schema = model.model_card()["schema"]
    assert schema["inputs"] == list(X.columns) and "site" in schema["categorical"]
    expected = model.predict_proba(X)
    reordered = X[X.columns[::-1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # matched by name: nothing to warn of
        np.testing.assert_array_equal(
            model.predict_proba(pa.Table.from_pandas(reordered, preserve_index=False)), expected
        )
    estimator = autoimb.AutoImbClassifier(n_trials=1, space="fast", random_state=0)
    estimator.fit(pa.Table.from_pandas(X), y)
    assert list(estimator.feature_names_in_) == list(X.columns)
    pl = pytest.importorskip("polars")
    np.testing.assert_array_equal(model.predict_proba(pl.from_pandas(reordered)), expected)


def test_search_refuses_bad_budgets_and_names(small_binary) -> None:
    X, y = small_binary
    with pytest.raises(AutoImbError, match=r"time_budget .seconds. or n_trials"):
        autoimb.search(X, y, metric="f1")
    with pytest.raises(AutoImbError, match="time_budget must be a positive"):
        autoimb.search(X, y, metric="f1", time_budget=0)
    with pytest.raises(AutoImbError, match="n_trials must be a positive"):
        autoimb.search(X, y, metric="f1", n_trials=-1)
    with pytest.raises(AutoImbError, match=r"unknown metric|Unknown metric"):
        autoimb.search(X, y, metric="f_one", n_trials=1)
    with pytest.raises(AutoImbError, match="cv must be at least 2 folds"):
        autoimb.search(X, y, metric="f1", n_trials=1, cv=1)


def test_binary_metric_refused_for_multiclass(glass) -> None:
    X, y = glass
    with pytest.raises(AutoImbError, match="defined for two classes") as refused:
        autoimb.search(X, y, metric="cost:fn=5,fp=1", n_trials=1)
    # MCC over several classes is one correlation, not a mean over them: not offered as one.
    assert "'mcc'" not in str(refused.value) and "'balanced_accuracy'" in str(refused.value)
    with pytest.raises(AutoImbError, match=r"such as 'f1' \(macro\) or 'balanced_accuracy'"):
        autoimb.search(X, y, metric="recall@precision>=0.9", n_trials=1)


def test_a_column_training_dropped_as_empty_raises_no_warning_when_it_is_empty_again() -> None:
    from autoimb.data.conform import warn_of_new_rows

    X, y = _frame()
    X = X.assign(empty=np.nan)
    with pytest.warns(UserWarning, match="all-missing"):
        schema = validate(X, y).schema()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_of_new_rows(X, schema)
    with pytest.warns(UserWarning, match=r"\['a'\] are missing in every row"):
        warn_of_new_rows(X.assign(a=np.nan), schema)


def test_rows_all_lacking_a_column_training_mostly_lacked_raise_no_warning() -> None:
    """A flag most training rows leave empty is empty in a whole batch as a matter of course:
    the model reads "empty" as it learnt it, so nothing goes without the column. A column
    training seldom lacked, all missing, is still news."""
    from autoimb.data.conform import warn_of_new_rows
    from autoimb.engine.model_card import missing_shares

    X, y = _frame(400)
    X = X.assign(flag=np.where(np.arange(len(X)) % 10 == 0, 1.0, np.nan))
    data = validate(X, y)
    schema = {**data.schema(), "missing_shares": missing_shares(data)}
    assert schema["missing_shares"] == {"flag": 0.9}
    batch = X[X["flag"].isna()].head(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_of_new_rows(batch, schema)
    with pytest.warns(UserWarning, match=r"\['a'\] are missing in every row"):
        warn_of_new_rows(batch.assign(a=np.nan), schema)
    # A date is read into parts; new rows name the date, so its share is kept by its name.
    when = pd.Series(pd.date_range("2024-01-01", periods=len(X), freq="7h")).where(X["flag"] == 1)
    dated = validate(X.assign(when=when), y)
    assert missing_shares(dated)["when"] == 0.9
    unlikely = pd.concat([batch] * 10)  # 300 rows: 0.9 ** 300 is no chance
    with pytest.warns(UserWarning, match=r"\['flag'\] are missing in every row"):
        warn_of_new_rows(unlikely, schema)


def test_a_pandas_category_column_of_numbers_is_a_category() -> None:
    """The user typed it: region codes 1-29 are no quantity, as HistGradientBoosting's
    categorical_features="from_dtype" reads them too."""
    X, y = _frame()
    X["region"] = pd.Categorical(np.arange(len(X)) % 4 + 1)
    data = validate(X, y)
    assert "region" in data.schema()["categorical"]
    assert "region" not in data.schema()["numeric"]
    # At predict, the codes as numbers or as the category are the same categories.
    as_numbers = conform(X.assign(region=np.arange(len(X)) % 4 + 1), data.schema())
    assert as_numbers["region"].tolist() == conform(X, data.schema())["region"].tolist()


def test_a_float32_category_is_the_same_category_as_float64s(small_binary) -> None:
    """A float32 0.1 was the category "0.10000000149011612" and a float64 0.1 "0.1": a model
    trained on one read every row of the other (or of a CSV) as an unseen category."""
    X, y = small_binary
    dose = np.where(np.arange(len(X)) % 3 == 0, 0.1, 0.3)
    X = X.assign(dose=dose)
    model = autoimb.search(
        X, y, n_trials=1, space="fast", random_state=0, categorical_features=["dose"]
    )
    assert model.model_card()["schema"]["categories"]["dose"] == ["0.1", "0.3"]
    expected = model.predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no category is unseen
        np.testing.assert_array_equal(model.predict_proba(X.astype({"dose": "float32"})), expected)
        np.testing.assert_array_equal(model.predict_proba(X.astype({"dose": str})), expected)
        # A float32 widened to float64 (concatenated with a float64 frame) writes its digits.
        widened = X.astype({"dose": "float32"}).astype({"dose": float})
        np.testing.assert_array_equal(model.predict_proba(widened), expected)
    narrow = validate(X.astype({"dose": "float32"}), y, categorical_features=["dose"])
    assert sorted(narrow.X["dose"].unique()) == ["0.1", "0.3"]
    # A model saved before learnt float64's digits of the float32: they are still matched.
    saved = Preprocessor(("dose",), ()).fit(
        pd.DataFrame({"dose": X["dose"].astype("float32").astype(float).astype(str)})
    )
    assert saved.categories_ == [["0.10000000149011612", "0.30000001192092896"]]
    codes = saved.transform(narrow.X[["dose"]])[:, 0]
    np.testing.assert_array_equal(codes, np.where(dose == 0.1, 0.0, 1.0))


def test_one_row_holding_most_of_the_weight_is_warned_of() -> None:
    X, y = _frame()
    weights = np.ones(len(y))
    weights[5] = 1e9
    with pytest.warns(UserWarning, match=r"gives row 5 \(counting from 0\) 100% of all the weight"):
        validate(X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate(X, y, sample_weight=np.linspace(1, 20, len(y)))  # uneven, none dominant


def _with_merchants(n_values: int = 800) -> tuple[pd.DataFrame, np.ndarray]:
    """yeast4 with a merchant column: a few frequent values and a long tail (395 in all)."""
    X, y = autoimb.datasets.load("yeast4", return_X_y=True)
    rng = np.random.default_rng(0)
    weights = 1 / np.arange(1, n_values + 1)
    merchant = rng.choice(n_values, size=len(y), p=weights / weights.sum())
    return X.assign(merchant=[f"M{m:04d}" for m in merchant]), y


def test_a_category_of_many_values_keeps_its_most_frequent_and_says_so() -> None:
    """A merchant column of 20,000 values, each its own code, made SMOTE-NC fill gigabytes and
    LightGBM keep a bin per value; the rare values share the code of a value new at prediction."""
    from autoimb import config

    X, y = _with_merchants()
    with pytest.warns(UserWarning, match=r"'merchant' holds 395 values; the models see its 255"):
        data = validate(X, y)
    preprocessor = Preprocessor(("merchant",), ()).fit(data.X)
    assert preprocessor.cardinalities == (config.MOST_CATEGORIES + 1,)
    counts = data.X["merchant"].value_counts()
    assert set(counts.index[:100]) <= set(preprocessor.categories_[0])
    codes = preprocessor.transform(data.X)[:, 0]
    new = preprocessor.transform(pd.DataFrame({"merchant": ["M9999"]}))[0, 0]
    left = ~data.X["merchant"].isin(preprocessor.categories_[0]).to_numpy()
    assert left.sum() > 100
    assert (codes[left] == new).all()
    assert (codes[~left] < new).all()
    with warnings.catch_warnings():  # a column of few values is not warned of
        warnings.simplefilter("error")
        validate(X.assign(merchant=X["merchant"].str[:3]), y)
