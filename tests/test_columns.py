"""Formatted numbers and dates become numbers and identifier-like text is left out, the same way
at fit and predict."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import autoimb
from autoimb.data.conform import conform, warn_of_new_rows
from autoimb.data.dataset import validate
from autoimb.exceptions import AutoImbError, SchemaError


def _with_dates_and_ids(X: pd.DataFrame) -> pd.DataFrame:
    """ecoli1 with a signup time (ISO 8601 text, as a CSV holds it), a customer code and an
    amount as an export writes it."""
    n = len(X)
    times = pd.date_range("2021-03-01 08:00", periods=n, freq="7h")
    return X.assign(
        signup=times.strftime("%Y-%m-%d %H:%M:%S"),
        code=[f"K-{i:05d}" for i in range(n)],
        spent=[f"${v * 1000:,.2f}" for v in X["x0"] + 1],
    )


def test_iso_dates_become_days_and_their_varying_parts(small_binary) -> None:
    X, y = small_binary
    X = _with_dates_and_ids(X)
    with pytest.warns(UserWarning, match=r"Leaving out 1 text column.*\['code'\]"):
        data = validate(X, y)
    assert data.dates == {"signup": ["month", "weekday", "hour"]}
    assert data.dropped == ["code"]
    assert data.inputs == list(X.columns)
    first = pd.Timestamp(X["signup"].iloc[0], tz="UTC")
    assert data.X["signup"].iloc[0] == pytest.approx(
        (first - pd.Timestamp("1970-01-01", tz="UTC")).days + 8 / 24
    )
    assert data.X["signup.hour"].iloc[0] == 8.0
    assert data.X["signup.weekday"].iloc[0] == first.weekday()
    assert "signup" in data.numeric and "code" not in data.X.columns

    schema = data.schema()
    again = conform(X.iloc[:5], schema)  # raw rows, dates as text
    pd.testing.assert_frame_equal(again, data.X.iloc[:5][again.columns], check_dtype=False)
    pd.testing.assert_frame_equal(conform(data.X, schema), data.X, check_dtype=False)

    wrong = X.iloc[:3].assign(signup=["2022-01-01", "soon", None])
    with pytest.raises(SchemaError, match=r"holds 'soon' now \(1 row\(s\): 2, counting from 1\)"):
        conform(wrong, schema)
    # A million rows to look through: where the bad values are, and how many.
    typo = X.assign(**{X.columns[0]: X[X.columns[0]].astype(object)})
    typo.iloc[[4, 9, 30, 31], 0] = "12.5kg"
    with pytest.raises(SchemaError, match=r"'12.5kg'; 4 row\(s\): 5, 10, 31, …, counting from 1"):
        conform(typo, schema)


def test_a_column_named_as_a_date_part_is_refused_at_predict_as_at_fit(small_binary) -> None:
    """The model computes "signup.month" from "signup"; a given one would replace it unwarned."""
    X, y = small_binary
    X = _with_dates_and_ids(X).drop(columns="code")
    schema = validate(X, y).schema()
    given = X.assign(**{"signup.month": 1.0})
    with pytest.raises(AutoImbError, match=r"\['signup.month'\] named as the parts"):
        validate(given, y)
    with pytest.raises(
        SchemaError, match=r"\['signup.month'\] named as parts .*\['signup'\].*Drop them"
    ):
        conform(given, schema)


def test_a_datetime_column_is_a_date_too(small_binary) -> None:
    X, y = small_binary
    X = X.assign(day=pd.date_range("2020-01-01", periods=len(X), freq="D"))
    data = validate(X, y)
    assert data.dates == {"day": ["month", "weekday"]}  # midnight every day: no hour part
    assert data.X["day"].iloc[0] == pd.Timestamp("2020-01-01").toordinal() - 719163
    paris = pd.date_range("2020-01-01 23:30", periods=len(X), freq="37min", tz="Europe/Paris")
    zoned = validate(X.assign(day=paris), y)
    assert zoned.X["day"].iloc[0] == pytest.approx(18262 + 22.5 / 24)  # the instant, in days
    assert zoned.X["day.hour"].iloc[0] == 22.5  # in UTC, as text with any offset is read
    text = paris[:3].strftime("%Y-%m-%dT%H:%M:%S%z")  # the same instants, written out
    pd.testing.assert_frame_equal(
        conform(X.iloc[:3].assign(day=text), zoned.schema()), zoned.X.iloc[:3], check_dtype=False
    )


def test_python_dates_are_dates(small_binary) -> None:
    """A Parquet date column, or ``.dt.date``, holds Python dates: read as the same days."""
    X, y = small_binary
    days = pd.date_range("2020-01-01", periods=len(X), freq="D")
    as_objects = validate(X.assign(day=pd.Series(days.date, index=X.index)), y)
    as_stamps = validate(X.assign(day=days), y)
    assert as_objects.dates == as_stamps.dates == {"day": ["month", "weekday"]}
    pd.testing.assert_frame_equal(as_objects.X, as_stamps.X)


def test_dates_that_name_their_zone_in_training_but_not_at_predict_are_warned_of(
    small_binary,
) -> None:
    """Dates without a zone are read as UTC: a feed that drops the offset (or adds one) would
    shift every instant and hour silently."""
    X, y = small_binary
    paris = pd.date_range("2020-01-01 23:30", periods=len(X), freq="37min", tz="Europe/Paris")
    zoned = validate(X.assign(day=paris.strftime("%Y-%m-%dT%H:%M:%S%z")), y)
    naive = validate(X.assign(day=paris.tz_localize(None)), y)
    assert zoned.schema()["zoned_dates"] == ["day"] and naive.schema()["zoned_dates"] == []
    local = X.iloc[:3].assign(day=paris[:3].tz_localize(None).strftime("%Y-%m-%d %H:%M:%S"))
    with pytest.warns(UserWarning, match=r"'day'.*named a time zone.*read as UTC"):
        warn_of_new_rows(local, zoned.schema())
    with pytest.warns(UserWarning, match=r"'day'.*named no time zone.*name one"):
        warn_of_new_rows(X.iloc[:3].assign(day=paris[:3]), naive.schema())
    with warnings.catch_warnings():  # as in training, zoned or not; or already expanded
        warnings.simplefilter("error")
        warn_of_new_rows(X.iloc[:3].assign(day=paris[:3].tz_convert("UTC")), zoned.schema())
        warn_of_new_rows(local, naive.schema())
        warn_of_new_rows(zoned.X.iloc[:3], zoned.schema())
        old = {k: v for k, v in zoned.schema().items() if k != "zoned_dates"}
        warn_of_new_rows(local, old)  # a model saved before zones were recorded cannot tell


def test_text_that_repeats_or_that_the_user_names_is_kept(small_binary) -> None:
    X, y = small_binary
    codes = [f"K-{i:05d}" for i in range(len(X))]
    rng = np.random.default_rng(0)
    X = X.assign(code=codes, city=rng.choice(["a", "b", "c"], len(X)), ratio=rng.random(len(X)))
    with pytest.warns(UserWarning, match="Leaving out 1 text column"):
        assert validate(X, y).dropped == ["code"]  # a unique number (ratio) is a feature
    named = validate(X, y, categorical_features=["code", "city"])
    assert named.dropped == [] and named.categorical == ["code", "city"]
    labels = X.assign(code=[c[:-1] for c in codes])  # "K-0001" ten times over
    assert "code" in validate(labels, y).categorical


def test_row_numbers_and_numeric_identifiers_are_left_out(small_binary) -> None:
    X, y = small_binary
    order = np.argsort(y.to_numpy(), kind="stable")  # a file sorted by its target
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    rng = np.random.default_rng(0)
    gaps = np.sort(rng.choice(10**6, len(X), replace=False))  # ids issued with gaps
    X = X.assign(
        record=np.arange(1, len(X) + 1),  # a row number under a name that says nothing
        customer_id=gaps,
        amount=(rng.random(len(X)) * 10**5).round(),  # distinct whole numbers, not a count
    )
    X.insert(0, "Unnamed: 0", np.arange(len(X)) * 1.0)  # pandas' index, read back as floats
    with pytest.warns(UserWarning, match=r"Leaving out 3 column\(s\) of distinct whole numbers"):
        data = validate(X, y)
    assert data.dropped == ["Unnamed: 0", "record", "customer_id"]
    assert "amount" in data.numeric
    new = conform(X.iloc[:5].drop(columns=["record"]), data.schema())  # needed at predict: no
    assert list(new.columns) == list(data.X.columns)
    kept = validate(X, y, categorical_features=[])
    assert kept.dropped == [] and "record" in kept.numeric
    assert validate(X[["record"]], y).numeric == ["record"]  # all there is: a feature


def test_search_and_predict_on_raw_rows_with_dates(small_binary, tmp_path) -> None:
    X, y = small_binary
    X = _with_dates_and_ids(X)
    with pytest.warns(UserWarning, match="Leaving out"):
        result = autoimb.search(
            X, y, metric="f1", n_trials=2, space="fast", cv=3, random_state=0, ensemble=False
        )
    model = autoimb.load(result.save(tmp_path / "m.skops"))
    new = X.iloc[:30].assign(code="new customer")
    np.testing.assert_allclose(
        model.predict_proba(new), result.best_pipeline.predict_proba(X.iloc[:30])
    )
    estimator = autoimb.AutoImbClassifier(n_trials=1, space="fast", cv=3, ensemble=False)
    with pytest.warns(UserWarning, match="Leaving out"):
        estimator.fit(X, y)
    assert estimator.n_features_in_ == X.shape[1]


def test_blank_cells_are_missing_so_numbers_stay_numbers(small_binary) -> None:
    X, y = small_binary
    charges = X["x0"].map(lambda v: f"{v * 100:.2f}").astype(object)
    charges.iloc[[3, 50]] = " "  # as in a CSV export where an empty amount is a space
    data = validate(X.assign(charges=charges), y)
    assert "charges" in data.numeric and data.X["charges"].isna().sum() == 2
    new = conform(X.iloc[:4].assign(charges=["1.5", "", "  ", None]), data.schema())
    assert new["charges"].isna().tolist() == [False, True, True, True]


def test_numbers_written_with_currency_commas_or_percent_are_numbers(small_binary) -> None:
    X, y = small_binary
    X = X.assign(
        spent=[f"-${v * 1000:,.2f}" if v > 0.9 else f"€{v * 1000:,.0f}" for v in X["x0"]],
        share=[f"{v * 100:.1f} %" for v in X["x1"]],
        comma_decimal=[f"{v:.1f}".replace(".", ",") for v in X["x1"]],  # "0,5": not a number
    )
    X.loc[7, "spent"] = None
    data = validate(X, y)
    assert {"spent", "share"} <= set(data.numeric) and data.categorical == ["comma_decimal"]
    first = X["x0"].iloc[0] * 1000
    expected = -round(first, 2) if X["x0"].iloc[0] > 0.9 else round(first)
    assert data.X["spent"].iloc[0] == pytest.approx(expected)
    assert data.X["share"].iloc[0] == pytest.approx(round(X["x1"].iloc[0] * 100, 1))
    assert np.isnan(data.X["spent"].iloc[7])
    schema = data.schema()
    pd.testing.assert_frame_equal(conform(X.iloc[:9], schema), data.X.iloc[:9], check_dtype=False)
    plain = conform(X.iloc[:2].assign(spent=["1200", "$1,200,000.5"]), schema)
    assert plain["spent"].tolist() == [1200.0, 1_200_000.5]
    with pytest.raises(SchemaError, match=r"'spent' was numeric in training but holds .*'1,2'"):
        conform(X.iloc[:2].assign(spent=["$3", "1,2"]), schema)
    named = validate(X, y, categorical_features=["spent", "comma_decimal"])
    assert named.categorical == ["spent", "comma_decimal"]  # named text stays text


def test_missing_value_markers_in_a_column_of_numbers_are_missing(small_binary) -> None:
    """UCI's files write "?" for a missing value, spreadsheets "-" or "n/a"; a column of text
    keeps them as categories."""
    X, y = small_binary
    dose = X["x0"].map(lambda v: f"{v:.3f}").astype(object)
    dose.iloc[[2, 9]] = "?"
    dose.iloc[11] = " N/A "
    colour = pd.Series(np.where(X["x1"] > 0.5, "red", "?"), index=X.index)
    data = validate(X.assign(dose=dose, colour=colour), y)
    assert "dose" in data.numeric and data.X["dose"].isna().sum() == 3
    assert data.categorical == ["colour"] and "?" in set(data.X["colour"])
    new = conform(X.iloc[:3].assign(dose=["-", "0.5", "unknown"], colour="red"), data.schema())
    assert new["dose"].isna().tolist() == [True, False, True]
    with pytest.raises(SchemaError, match="'dose' was numeric in training but holds"):
        conform(X.iloc[:1].assign(dose=["lots"], colour="red"), data.schema())


def test_typed_number_columns_conform_as_floats_in_the_training_order() -> None:
    """Integer, nullable integer, boolean and float columns become floats together (a wide
    frame's columns are not converted one by one), beside text numbers and categories."""
    X = pd.DataFrame(
        {
            "count": [1, 2, 3, 4] * 5,
            "flag": [True, False] * 10,
            "colour": ["red", "blue", "green", "red"] * 5,
            "visits": pd.array([1, None, 3, 4] * 5, dtype="Int64"),
            "amount": ["1.5", "2", "", "4"] * 5,
            "rate": np.linspace(0.0, 1.0, 20),
        }
    )
    y = np.r_[np.zeros(14, dtype=int), np.ones(6, dtype=int)]
    data = validate(X, y)
    new = conform(X.iloc[:4], data.schema())
    assert list(new.columns) == list(data.X.columns)
    assert new["visits"].iloc[0] == 1.0 and np.isnan(new["visits"].iloc[1])
    assert new["flag"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert np.isnan(new["amount"].iloc[2]) and new["amount"].iloc[0] == 1.5
    pd.testing.assert_frame_equal(new, data.X.iloc[:4], check_dtype=False)
    with pytest.raises(SchemaError, match="'rate'"):
        conform(X.iloc[:4].assign(rate=[0.0, np.inf, 1.0, 2.0]), data.schema())


def test_a_boolean_column_read_back_as_true_false_text_predicts_the_same(small_binary) -> None:
    """A CSV file, or ``astype(str)``, writes a boolean column as "True"/"False"."""
    X, y = small_binary
    X = X.assign(flag=X["x0"] > X["x0"].median())
    model = autoimb.search(X, y, metric="f1", n_trials=1, space="fast", random_state=0)
    assert "flag" in model.best_pipeline.model_card_["schema"]["numeric"]
    expected = model.best_pipeline.predict_proba(X)
    as_text = X.assign(flag=X["flag"].astype(str))
    np.testing.assert_array_equal(model.best_pipeline.predict_proba(as_text), expected)
    lower = X.assign(flag=X["flag"].astype(str).str.lower().astype(object))
    lower.loc[3, "flag"] = None
    assert np.isfinite(model.best_pipeline.predict_proba(lower)).all()


def test_a_boolean_column_written_as_yes_no_is_told_the_spellings_it_takes(small_binary) -> None:
    """Not "was numeric in training": the column held true/false, and True/False text is read."""
    X, y = small_binary
    flag = X["x0"] > X["x0"].median()
    gaps = flag.astype(object).where(X.index % 7 > 0)  # as a CSV column with empty cells reads
    assert validate(X.assign(flag=gaps), y).schema()["booleans"] == ["flag"]
    schema = validate(X.assign(flag=flag), y).schema()
    for words in (("yes", "no"), ("t", "f")):
        said = "|".join(words)
        with pytest.raises(
            SchemaError,
            match=rf"'flag' was boolean \(true/false\) in training but holds '({said})'"
            r".*True / False \(any case\) or 1 / 0",
        ):
            conform(X.assign(flag=np.where(flag, *words)), schema)


def _fraud_like(X: pd.DataFrame) -> pd.DataFrame:
    """ecoli1 with a country (text), a zoned timestamp and flags: 1 or empty, "yes" or empty."""
    rng = np.random.default_rng(3)
    n = len(X)
    flag = np.where(rng.random(n) < 0.2, 1.0, np.nan)
    return X.assign(
        country=rng.choice(["US", "GB", "NG"], n),
        when=pd.date_range("2024-01-01", periods=n, freq="5h", tz="UTC"),
        chargeback=flag,
        verified=np.where(np.isnan(flag), None, "yes"),
    )


def test_columns_stored_by_pyarrow_read_as_their_pandas_twins(small_binary) -> None:
    """read_csv(dtype_backend="pyarrow") and read_parquet keep text as Arrow strings, whose
    failed number parses are NaN but not missing: text was taken for an all-missing number."""
    pytest.importorskip("pyarrow")
    X, y = small_binary
    plain = _fraud_like(X)
    arrow = plain.convert_dtypes(dtype_backend="pyarrow")
    assert isinstance(arrow["country"].dtype, pd.ArrowDtype)
    data, expected = validate(arrow, y), validate(plain, y)
    assert data.categorical == expected.categorical and "country" in data.categorical
    assert data.numeric == expected.numeric and data.zoned_dates == ["when"]
    pd.testing.assert_frame_equal(data.X, expected.X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no zone warning: the Arrow dates name their zone
        warn_of_new_rows(arrow.iloc[:30], data.schema())
        new = conform(arrow.iloc[:30], data.schema())
    pd.testing.assert_frame_equal(new, conform(plain.iloc[:30], data.schema()))


def test_numbers_among_markers_in_a_column_of_objects_are_numbers(small_binary) -> None:
    """Numbers with a "?" written over some (``col[::7] = "?"``) were read at fit as a
    category of nearly as many levels as rows, though predict read them as numbers, as fit
    did the same column written as text."""
    X, y = small_binary
    mixed = X["x0"].astype(object)
    mixed[::7] = "?"
    marked = X.assign(x0=mixed)
    model = autoimb.search(marked, y, n_trials=1, space="fast", random_state=0)
    schema = model.model_card()["schema"]
    assert "x0" in schema["numeric"] and "x0" not in schema["categorical"]
    data = validate(marked, y)
    expected = X["x0"].where(np.arange(len(X)) % 7 != 0)
    np.testing.assert_array_equal(data.X["x0"], expected)
    pd.testing.assert_frame_equal(data.X, validate(marked.astype({"x0": str}), y).X)
    np.testing.assert_array_equal(conform(marked, data.schema())["x0"], expected)


def test_a_duration_is_seconds_and_a_missing_one_is_missing(small_binary) -> None:
    """A duration read as raw numbers made a missing one int64's least value, which the
    imputer took for a real number; an Arrow duration became text categories instead."""
    X, y = small_binary
    waits = pd.to_timedelta(np.where(np.arange(len(X)) % 7 == 0, np.nan, np.arange(len(X))), "h")
    X = X.assign(wait=waits)
    data = validate(X, y)
    assert "wait" in data.numeric
    np.testing.assert_array_equal(data.X["wait"].isna(), waits.isna())
    assert data.X["wait"].iloc[1] == 3600.0
    new = conform(X.iloc[:8], data.schema())
    np.testing.assert_array_equal(new["wait"], data.X["wait"].iloc[:8])
    pytest.importorskip("pyarrow")
    arrow = validate(X.convert_dtypes(dtype_backend="pyarrow"), y)
    pd.testing.assert_frame_equal(arrow.X, data.X)


def test_categorical_features_in_scikit_learns_forms(small_binary) -> None:
    """None (no column), a boolean mask and positions, as scikit-learn's estimators take
    them; a whole number beyond the columns that is a column's name says how to name it."""
    X, y = small_binary
    assert validate(X, y, categorical_features=None).categorical == []
    mask = [name in ("x1", "x3") for name in X.columns]
    assert validate(X, y, categorical_features=mask).categorical == ["x1", "x3"]
    assert validate(X, y, categorical_features=np.array(mask)).categorical == ["x1", "x3"]
    assert validate(X, y, categorical_features=[1, 3]).categorical == ["x1", "x3"]
    with pytest.raises(AutoImbError, match="a mask of 2 booleans, and X has 7 columns"):
        validate(X, y, categorical_features=[True, False])
    numbered = X.set_axis(range(10, 10 + X.shape[1]), axis=1)
    with pytest.raises(AutoImbError, match=r"a position, as in scikit-learn: '12' names"):
        validate(numbered, y, categorical_features=[12])
    assert validate(numbered, y, categorical_features=["12"]).categorical == ["12"]


def test_a_column_named_twice_in_categorical_features_is_one_column(small_binary) -> None:
    """By name and position, or a position and its negative: the frame held the column twice,
    every trial failed on it, and the search ran out its budget before saying so."""
    X, y = small_binary
    last = X.shape[1] - 1
    for named in (["x1", 1], ["x1", "x1"], [last, -1]):
        data = validate(X, y, categorical_features=named)
        assert data.X.columns.is_unique and data.X.shape[1] == X.shape[1]
        assert data.categorical == [X.columns[named[0]] if isinstance(named[0], int) else "x1"]
    result = autoimb.search(X, y, categorical_features=["x1", 1], n_trials=2, cv=3)
    assert result.leaderboard["state"].eq("COMPLETE").all()


def test_text_the_user_did_not_name_in_categorical_features_is_still_categories(
    small_binary,
) -> None:
    """As numbers, text would be all missing; naming one column must not turn the rest so."""
    X, y = small_binary
    X = _fraud_like(X)
    data = validate(X, y, categorical_features=["x0"])
    assert {"x0", "country"} <= set(data.categorical)
    assert data.X["country"].notna().all()
    conform(X.iloc[:5], data.schema())  # the training rows predict
    with pytest.warns(UserWarning, match=r"Leaving out 1 text column.*\['code'\]"):
        unnamed = validate(
            X.assign(code=[f"K-{i}" for i in range(len(X))]), y, categorical_features=["x0"]
        )
    assert unnamed.dropped == ["code"]


def test_a_value_or_nothing_column_is_a_flag_kept_as_a_category(small_binary) -> None:
    """Fraud and medical data mark an event by a value, its absence by an empty cell: whether
    it is there is the information. Only a column of one value everywhere, or of none, is
    constant."""
    X, y = small_binary
    X = _fraud_like(X).assign(always=1.0, never=np.nan)
    with pytest.warns(UserWarning, match=r"Dropping 2 constant or all-missing column\(s\)"):
        data = validate(X, y)
    assert data.dropped == ["always", "never"]
    assert {"chargeback", "verified"} <= set(data.categorical)
    assert data.X["chargeback"].nunique(dropna=False) == 2
    new = conform(X.iloc[:40], data.schema())
    assert (new["chargeback"].isna() == X["chargeback"].iloc[:40].isna()).all()


def test_categories_training_never_saw_in_most_new_rows_are_warned_of(small_binary) -> None:
    X, y = small_binary
    X = _fraud_like(X)
    data = validate(X, y)
    schema = {**data.schema(), "categories": data.categories()}
    assert schema["categories"]["country"] == ["GB", "NG", "US"]
    with pytest.warns(
        UserWarning, match=r"'country': 100% .*e\.g\. '(gb|ng|us)'.*but for letter case"
    ):
        warn_of_new_rows(X.assign(country=X["country"].str.lower()), schema)
    with pytest.warns(UserWarning, match=r"'country': 100% .*e\.g\. 'ZZ'; training had") as caught:
        warn_of_new_rows(X.assign(country="ZZ"), schema)
    assert "letter case" not in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_of_new_rows(X, schema)  # training's own values
        warn_of_new_rows(X.assign(country=np.where(X.index < 100, "ZZ", X["country"])), schema)
        warn_of_new_rows(X.iloc[:5].assign(country="ZZ"), schema)  # a few rows: a new product


def test_columns_named_but_for_case_or_spaces_are_pointed_out(small_binary) -> None:
    X, y = small_binary
    data = validate(X, y)
    renamed = X.rename(columns={"x0": "X0", "x1": " x1"})
    with pytest.raises(SchemaError, match=r"X has 'X0' for 'x0', ' x1' for 'x1': column names"):
        conform(renamed, data.schema())


def test_rows_without_a_value_the_model_uses_are_warned_of(small_binary) -> None:
    X, y = small_binary
    schema = validate(X, y).schema()
    empty = X.head(5).astype(float)
    empty.iloc[[1, 3]] = np.nan
    with pytest.warns(UserWarning, match=r"2 row\(s\) of X hold no value in any column"):
        warn_of_new_rows(empty, schema)


@pytest.mark.parametrize("form", ["array", "rows"])
def test_new_rows_as_an_array_or_lists_are_warned_of_as_a_frame_is(form) -> None:
    """An array's columns are training's, in order: they went unchecked (every category new,
    rows without a value) where a frame's were warned of."""
    X = pd.DataFrame({"num": np.arange(40.0), "country": ["US", "FR"] * 20})
    data = validate(X, np.arange(40) % 4 == 0)
    schema = {**data.schema(), "categories": data.categories()}  # as a model card holds it
    new = X.assign(country="us")
    new.iloc[[1, 3]] = np.nan
    given = new.to_numpy() if form == "array" else new.to_numpy().tolist()
    with pytest.warns(UserWarning) as caught:
        warn_of_new_rows(given, schema)
    said = [str(w.message) for w in caught]
    assert any("2 row(s) of X hold no value" in s for s in said), said
    assert any("column 'country': 100% of its values were never seen" in s for s in said), said


@pytest.mark.skipif(
    int(pd.__version__.split(".")[0]) < 3,
    reason="pandas < 3 warns of mixed time zones, and the zone check catches that warning",
)
def test_predicting_from_threads_leaves_the_warnings_filters_as_they_were() -> None:
    """A prediction server's threads: the date column's zone check caught warnings around its
    parse, and overlapping catches left an "ignore every warning" filter behind for good."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "when": pd.date_range("2024-01-01", periods=n, freq="7h").strftime("%Y-%m-%d %H:%M"),
        }
    )
    y = pd.Series((X["a"] + rng.normal(scale=0.5, size=n) > 1.3).astype(int))
    result = autoimb.search(X, y, n_trials=1, space="fast", cv=3, warm_start=None)
    filters = list(warnings.filters)

    def predict(_: int) -> None:
        for _ in range(30):
            result.best_pipeline.predict(X.iloc[:50])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(predict, range(8)))
    assert list(warnings.filters) == filters


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        (
            lambda i: f"{1 + i % 28:02d}/{1 + i % 12:02d}/2024",
            r"holds dates written as '01/01/2024'",
        ),
        (lambda i: f"Jan {1 + i % 28}, 2024", r"holds dates written as 'Jan 1, 2024'"),
        (
            lambda i: f"{i / 7:.2f} GB",
            r"holds numbers written with text around them \(e.g. '0.00 GB'\)",
        ),
        (
            lambda i: f"({i / 7:.3f})" if i % 3 else f"{i / 7:.3f}",
            r"holds numbers written with text around them .*'\(0.143\)'",
        ),
        (lambda i: "n.a." if i % 3 == 0 else str(i), r"holds numbers but for \['n.a.'\] in 20 row"),
    ],
    ids=["day-first", "month-name", "unit", "brackets", "a-third-marked"],
)
def test_text_columns_of_numbers_or_dates_in_forms_not_read_are_warned_of(cells, said) -> None:
    """As an export writes them: read as categories or left out, they lost their order, and
    the search said nothing."""
    X = pd.DataFrame({"x": np.arange(60.0), "written": [cells(i) for i in range(60)]})
    with pytest.warns(UserWarning, match=r"Column 'written' " + said):
        validate(X, np.arange(60) % 4 == 0)


@pytest.mark.parametrize(
    "cells",
    [
        lambda i: f"{i % 5}.{i % 7}.{10 + i % 40}",  # app versions
        lambda i: f"{10 + i % 5}-{10 + i % 3}-{400 + i % 60}",  # product codes
        lambda i: f"{1000 + i % 9} {'ABCD'[i % 4]}{'XYZ'[i % 3]}",  # Dutch postcodes
        lambda i: f"{i % 4}WD",  # drive types
        lambda i: f"{3 + i % 3}G",  # network generations
    ],
    ids=["versions", "codes", "postcodes", "drive", "generations"],
)
def test_text_that_only_resembles_dates_or_measures_is_not_warned_of(cells) -> None:
    X = pd.DataFrame({"x": np.arange(60.0), "written": [cells(i) for i in range(60)]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate(X, np.arange(60) % 4 == 0)
    assert not [w for w in caught if "Column 'written' holds" in str(w.message)]
