"""The command line's inputs: files in other encodings, options that name columns, and data a
saved model is given again."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ecoli_with_ids
from conftest import run_cli as run

import autoimb
from autoimb import datasets
from autoimb.cli.main import main
from autoimb.data.files import read_table
from autoimb.exceptions import AutoImbError

FAST = ["--space", "fast", "--cv", "3", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ecoli1 with an id column, searched once: its model and study."""
    folder = tmp_path_factory.mktemp("inputs")
    ecoli_with_ids(folder)
    done = run(
        "search", "ecoli.csv", "--target", "target", "--id", "row_id", "--n-trials", "1", *FAST,
        cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.parametrize("name", ["u16.csv", "u16.csv.gz"])
def test_a_utf16_file_with_its_byte_order_mark_is_read(tmp_path, name):
    frame = pd.DataFrame({"name": ["café", "naïve", "zoë"], "y": [0, 1, 0]})
    frame.to_csv(tmp_path / name, index=False, encoding="utf-16")
    pd.testing.assert_frame_equal(read_table(str(tmp_path / name)), frame)


@pytest.mark.parametrize("name", ["cp1252.csv", "cp1252.csv.gz"])
def test_a_file_that_is_not_utf8_is_refused_with_the_line_and_the_fix(tmp_path, name):
    frame = pd.DataFrame({"name": ["tea", "café", "naïve"], "y": [0, 1, 0]})
    frame.to_csv(tmp_path / name, index=False, encoding="cp1252")
    with pytest.raises(AutoImbError, match=r"is not UTF-8 text \(line 3: .*Save it as UTF-8"):
        read_table(str(tmp_path / name))


def test_a_file_is_read_as_what_it_holds_whatever_its_name_says(tmp_path):
    """A Parquet file saved as .csv is read; a workbook saved as .csv is named as one (its
    bytes are no text, and 'not UTF-8' sent the user to the wrong fix)."""
    frame = pd.DataFrame({"name": ["tea", "café", "naïve"], "y": [0, 1, 0]})
    frame.to_parquet(tmp_path / "table.csv")
    pd.testing.assert_frame_equal(read_table(str(tmp_path / "table.csv")), frame)
    with zipfile.ZipFile(tmp_path / "book.csv", "w") as book:  # what an .xlsx file is
        book.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(AutoImbError, match=r"book.csv is a ZIP archive \(an Excel workbook"):
        read_table(str(tmp_path / "book.csv"))


@pytest.mark.parametrize("budget", ["inf", "nan", "0", "-5"])
def test_a_budget_that_is_no_positive_number_is_refused_as_the_options_are_read(budget, capsys):
    assert main(["search", "none.csv", "--target", "y", "--time-budget", budget]) == 2
    assert f"expected a positive number, got {budget!r}" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", "99999999999", "1.5"])
def test_a_seed_numpy_cannot_take_is_refused_by_the_options_name(seed, capsys):
    """It was refused after the data was read, as ``random_state``, a name the command line
    never shows."""
    assert main(["search", "none.csv", "--target", "y", "--seed", seed]) == 2
    err = capsys.readouterr().err
    assert f"argument --seed: expected a whole number from 0 to 4294967295, got {seed!r}" in err


def test_a_labelled_row_without_a_group_is_refused_by_the_option_and_the_row(
    tmp_path, monkeypatch, capsys
):
    """The search's own check said "groups has missing values", naming neither --group nor
    the rows; a row without a label is left out before it is asked for a group."""
    frame = datasets.load("ecoli1").assign(patient=lambda f: (np.arange(len(f)) // 4).astype(str))
    frame.loc[[4, 9], "patient"] = ["", None]
    frame["target"] = frame["target"].astype(str)
    frame.loc[[9, 20], "target"] = [" ", None]  # row 9 has neither: left out, not refused
    frame.to_csv(tmp_path / "visits.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["search", "visits.csv", "--target", "target", "--group", "patient"]) == 2
    assert (
        "column 'patient' (--group) is empty in 1 labelled row(s) (data row(s) 5, counting from "
        "1); give every row a group"
    ) in capsys.readouterr().err


def test_a_pos_label_that_is_no_class_is_refused_before_a_new_study_is_announced(
    tmp_path, monkeypatch, capsys
):
    """ "starting a new study 'autoimb-2' beside the existing one" was said, and then the run
    was refused: no such study was made."""
    datasets.load("ecoli1").to_csv(tmp_path / "e.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["search", "e.csv", "--target", "target", "--n-trials", "1", *FAST]) == 0
    capsys.readouterr()
    again = ["search", "e.csv", "--target", "target", "--new-study", "--pos-label", "YES"]
    assert main(again) == 2
    err = capsys.readouterr().err
    assert "--pos-label 'YES' is not a class of the --target column ([0, 1])" in err
    assert "starting a new study" not in err


def test_report_options_that_name_columns_of_data_are_checked_against_the_model(
    searched, monkeypatch, capsys
):
    """--target without --data was ignored in silence; --target naming a feature was told as
    "the data lacks column 'x0'", pointing away from the slip."""
    monkeypatch.chdir(searched)
    assert main(["report", "ecoli.skops", "--target", "target", "--out", "r.html"]) == 2
    assert "--target names a column of --data, which is not given" in capsys.readouterr().err
    slip = ["report", "ecoli.skops", "--data", "ecoli.csv", "--target", "x0", "--out", "r.html"]
    assert main(slip) == 2
    assert (
        "--target 'x0' is a feature of the model; the search's labels were column 'target'"
    ) in capsys.readouterr().err
    assert not (searched / "r.html").exists()


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_study_name_is_refused(name, capsys):
    """It made a study named '' and a model file "DATA-.skops"."""
    assert main(["search", "none.csv", "--target", "y", "--study-name", name]) == 2
    assert f"argument --study-name: expected a study's name, got {name!r}" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "command",
    [
        ["search", "none.csv", "--target", "y"],
        ["worker", "none.csv", "--target", "y"],
        ["report", "none.skops"],
    ],
    ids=["search", "worker", "report"],
)
@pytest.mark.parametrize("storage", ["", "  "])
def test_an_empty_storage_is_refused_as_python_refuses_it(command, storage, capsys):
    """search took it for no --storage (a journal beside the model), where search(storage='')
    refused it: a script's empty variable would leave a worker's study alone, unshared."""
    assert main([*command, "--storage", storage]) == 2
    assert (
        f"argument --storage: expected a journal file path or a database URL, got {storage!r}"
    ) in capsys.readouterr().err


def test_na_values_before_data_takes_one_comma_separated_value(searched, monkeypatch):
    monkeypatch.chdir(searched)
    args = ["search", "--na-values", "ZZZ,?", "ecoli.csv", "--target", "target", "--id", "row_id"]
    assert main([*args, "--out", "na.skops", "--n-trials", "1", *FAST]) == 0
    assert autoimb.load(searched / "na.skops").model_card_["na_values"] == ["ZZZ", "?"]


def test_options_that_name_columns_are_checked(searched, monkeypatch, capsys):
    monkeypatch.chdir(searched)
    frame = pd.read_csv("ecoli.csv").assign(w=1.0)
    frame.loc[3, "w"] = -1.0
    frame.to_csv("weighted.csv", index=False)
    weighted = ["search", "weighted.csv", "--target", "target", "--weight", "w", "--n-trials", "1"]
    assert main([*weighted, *FAST]) == 2
    assert "the --weight column 'w' must be non-negative" in capsys.readouterr().err
    same = ["search", "ecoli.csv", "--target", "target", "--id", "target", "--n-trials", "1"]
    assert main([*same, *FAST]) == 2
    assert "--id 'target' is also the --target column" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--weight", "w", "--group", "w"], "--group 'w' is also the --weight column"),
        (["--id", "row_id", "--group", "row_id"], "--group 'row_id' is also the --id column"),
        (["--id", "w", "--weight", "w"], "--weight 'w' is also the --id column"),
    ],
)
def test_one_column_named_by_two_options_is_refused(searched, monkeypatch, capsys, options, said):
    """`--weight w --group w` split by the weights, and the real group column became a feature."""
    monkeypatch.chdir(searched)
    pd.read_csv("ecoli.csv").assign(w=1.0).to_csv("twice.csv", index=False)
    args = ["search", "twice.csv", "--target", "target", *options, "--n-trials", "1"]
    assert main([*args, *FAST]) == 2
    assert said in capsys.readouterr().err


def test_out_creates_its_folder_as_report_does(searched, monkeypatch):
    monkeypatch.chdir(searched)
    args = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", "--n-trials", "1"]
    assert main([*args, *FAST, "--out", "new/folder/m.skops"]) == 0
    assert (searched / "new" / "folder" / "m.skops").is_file()


def test_a_storage_whose_folder_cannot_be_made_is_named(searched, monkeypatch, capsys):
    """A journal path under a file (a typo for a folder) is refused as one input error."""
    monkeypatch.chdir(searched)
    args = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", "--n-trials", "1"]
    assert main([*args, *FAST, "--storage", "ecoli.csv/study.log", "--out", "o.skops"]) == 2
    err = capsys.readouterr().err
    assert "--storage ecoli.csv/study.log: cannot make its folder" in err
    assert "Traceback" not in err


def test_an_sqlite_storage_in_a_missing_folder_is_refused_before_the_search(
    searched, monkeypatch, capsys
):
    """It failed at the first write, as a database "lost while the search ran"."""
    monkeypatch.chdir(searched)
    args = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", "--n-trials", "1"]
    storage = "sqlite:///missing_dir/s.db"
    assert main([*args, *FAST, "--storage", storage, "--out", "unmade.skops"]) == 2
    err = capsys.readouterr().err
    assert "the folder 'missing_dir' does not exist; create it" in err
    assert not (searched / "unmade.skops").exists()


def test_predict_takes_the_training_target_and_id_columns_unwarned(searched, monkeypatch, capsys):
    monkeypatch.chdir(searched)
    assert main(["predict", "ecoli.skops", "ecoli.csv", "--out", "p.csv"]) == 0
    assert "warning" not in capsys.readouterr().err
    predictions = pd.read_csv(searched / "p.csv")
    assert list(predictions.columns) == ["prediction", "proba_0", "proba_1"]
    # Never features: the same predictions without them.
    pd.read_csv("ecoli.csv").drop(columns=["target", "row_id"]).to_csv("bare.csv", index=False)
    assert main(["predict", "ecoli.skops", "bare.csv", "--out", "bare_p.csv"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv("bare_p.csv"), predictions)


def test_report_refuses_data_other_than_the_searchs(searched, monkeypatch, capsys):
    monkeypatch.chdir(searched)
    frame = pd.read_csv("ecoli.csv")
    frame.drop(columns="x3").to_csv("fewer_columns.csv", index=False)
    frame.head(300).to_csv("fewer_rows.csv", index=False)
    frame.assign(x0=np.round(frame["x0"] + 0.01, 4)).to_csv("other_values.csv", index=False)
    report = ["report", "ecoli.skops", "--target", "target", "--id", "row_id", "--data"]
    assert main([*report, "fewer_columns.csv", "--out", "a.html"]) == 2
    err = capsys.readouterr().err
    assert "fewer_columns.csv does not fit the model" in err and "'x3'" in err
    assert main([*report, "fewer_rows.csv", "--out", "b.html"]) == 2
    err = capsys.readouterr().err
    assert "not the data the search ran on: it had 336 rows and this data has 300" in err
    assert main([*report, "other_values.csv", "--out", "c.html"]) == 2
    assert "same 336 rows and columns, but other values" in capsys.readouterr().err
    assert not list(searched.glob("[abc].html"))
    assert main([*report, "other_values.csv", "--out", "c.html", "--force"]) == 0
    assert main([*report, "ecoli.csv", "--out", "d.html"]) == 0


@pytest.mark.parametrize(("given", "ok"), [("-1", True), ("0", False), ("two", False)])
def test_n_jobs_takes_joblib_negative_counts_and_refuses_zero(tmp_path, given, ok):
    datasets.load("ecoli1").to_csv(tmp_path / "ecoli.csv", index=False)
    done = run(
        "search", "ecoli.csv", "--target", "target", "--n-trials", "1", "--n-jobs", given, *FAST,
        cwd=tmp_path,
    )  # fmt: skip
    assert (done.returncode == 0) is ok, done.stderr
    if not ok:
        assert "--n-jobs" in done.stderr and "-1: all of them" in done.stderr


def test_a_file_with_two_columns_of_one_name_is_refused_as_python_refuses_it(tmp_path):
    (tmp_path / "dup.csv").write_text("amount,amount,,,y\n1,2,3,4,0\n3,4,5,6,1\n")
    with pytest.raises(AutoImbError, match=r"more than one column named \['amount'\]"):
        read_table(str(tmp_path / "dup.csv"))
    (tmp_path / "blank.csv").write_text("amount,,,y\n1,3,4,0\n3,5,6,1\n")  # blanks: pandas names
    assert list(read_table(str(tmp_path / "blank.csv")).columns)[:2] == ["amount", "Unnamed: 1"]


@pytest.mark.slow
def test_a_database_url_given_where_a_file_goes_is_shown_without_its_password(tmp_path):
    url = "postgresql://bob:s3cret@127.0.0.1:1/db"
    for args in (["report", url], ["predict", url, "x.csv"], ["search", url, "--target", "y"]):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 2 and "postgresql://bob:***@127.0.0.1:1/db" in done.stderr
        assert "s3cret" not in done.stderr + done.stdout


def test_a_refused_output_leaves_no_folder_behind(searched, monkeypatch):
    monkeypatch.chdir(searched)
    args = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", "--n-trials", "1"]
    assert main([*args, *FAST, "--storage", "new1/sub/s.log", "--out", "new2/m.txt"]) == 2
    assert not (searched / "new1").exists() and not (searched / "new2").exists()


def test_a_weight_column_of_amounts_is_read_as_the_features_are():
    """A fraud file's amounts as weights, written "$1,911.25": numbers, as in a feature."""
    from autoimb.data.files import split_columns

    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0], "w": ["$1,911.25", "12 %", None]})
    weights = split_columns(frame, "y", weight_col="w").weights
    assert weights.tolist()[:2] == [1911.25, 12.0] and np.isnan(weights.iloc[2])
    odd = split_columns(frame.assign(w=["$5", "abc", "1"]), "y", weight_col="w").weights
    assert odd.tolist() == ["$5", "abc", "1"]  # left as written, for the check to name "abc"


def test_predict_reads_a_batch_with_the_decimal_mark_of_the_training_file(tmp_path, monkeypatch):
    """A ";" file with decimal commas trains the model; a day's batch whose amounts are all
    whole thousands ("12.000") has no comma to tell by, and read alone it is twelve."""
    frame = datasets.load("ecoli1")
    features = [c for c in frame.columns if c != "target"]
    frame[features] = frame[features] * 100_000
    frame.to_csv(tmp_path / "eu.csv", sep=";", decimal=",", index=False)
    batch = (frame[features].head(20) / 1000).round() * 1000
    rows = [";".join(f"{v:,.0f}".replace(",", ".") for v in row) for row in batch.to_numpy()]
    text = "\n".join([";".join(features), *rows]) + "\n"
    (tmp_path / "batch.csv").write_text(text)
    assert "." in text and "," not in text
    monkeypatch.chdir(tmp_path)
    assert main(["search", "eu.csv", "--target", "target", "--n-trials", "1", *FAST]) == 0
    assert autoimb.load(tmp_path / "eu.skops").model_card_["decimal"] == ","
    assert main(["predict", "eu.skops", "batch.csv", "--out", "p.csv"]) == 0
    expected = autoimb.load(tmp_path / "eu.skops").predict_proba(batch)[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["proba_1"], expected)


def test_durations_a_csv_holds_are_durations_at_search_as_at_predict(tmp_path, monkeypatch):
    """pandas writes a timedelta column as "9 days 09:06:00": the search read it as a text
    category of as many levels as rows, where Python reads the frame as durations."""
    frame = datasets.load("ecoli1")
    minutes = np.arange(len(frame)) * 37 % 5000 + 4000 * frame["target"].to_numpy()
    frame.insert(0, "wait", pd.to_timedelta(minutes, unit="min"))
    frame.loc[::9, "wait"] = pd.NaT
    frame.to_csv(tmp_path / "waits.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["search", "waits.csv", "--target", "target", "--n-trials", "1", *FAST]) == 0
    model = autoimb.load(tmp_path / "waits.skops")
    schema = model.model_card_["schema"]
    assert "wait" in schema["numeric"] and schema["durations"] == ["wait"]
    assert main(["predict", "waits.skops", "waits.csv", "--out", "p.csv"]) == 0
    expected = model.predict_proba(frame.drop(columns="target"))[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["proba_1"], expected)
    # The report on the search's own file reads them as the search did.
    report = ["report", "waits.skops", "--data", "waits.csv", "--out", "r.html"]
    assert main(report) == 0 and (tmp_path / "r.html").is_file()


@pytest.mark.parametrize(("trained", "written", "code"), [(",", ".", 0), (".", ",", 2)])
def test_a_batch_that_plainly_writes_the_other_decimal_mark_is_warned_of(
    tmp_path, monkeypatch, capsys, trained, written, code
):
    """With a model searched on decimal commas, a ";" batch of decimal points read "3.185" as
    3185 (and the other way round "3,185" as 3185, "0,205" as 205), and every row got one
    probability without a word. It is read as the search's data was, and said ("0,205" is no
    number then, and refused); a batch of the model's own mark with an answer "1,3" among its
    fields is not warned of."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.uniform(0, 5, 300), "b": rng.uniform(1, 9, 300)}).round(3)
    frame["y"] = (frame["a"] + rng.normal(0, 0.5, 300) > 4.2).astype(int)
    frame["answer"] = "2"
    batch = frame.drop(columns="y").head(20)
    frame.to_csv(tmp_path / "train.csv", sep=";", decimal=trained, index=False)
    batch.to_csv(tmp_path / "batch.csv", sep=";", decimal=written, index=False)
    batch.assign(answer=["1,3"] + ["2"] * 19).to_csv(
        tmp_path / "own.csv", sep=";", decimal=trained, index=False
    )
    monkeypatch.chdir(tmp_path)
    assert main(["search", "train.csv", "--target", "y", "--n-trials", "1", *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", "train.skops", "batch.csv", "--out", "p.csv"]) == code
    err = capsys.readouterr().err
    assert bool(code) == ("holds non-numeric values now (e.g. '0,205'" in err)
    assert f"batch.csv seems to write its decimals with {written!r}" in err
    assert f"it is read with {trained!r}, as that data was" in err
    assert main(["predict", "train.skops", "own.csv", "--out", "q.csv"]) == 0
    assert "seems to write" not in capsys.readouterr().err
    expected = autoimb.load(tmp_path / "train.skops").predict_proba(batch)[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "q.csv")["proba_1"], expected)


def test_a_quoted_decimal_comma_in_a_comma_separated_file_is_never_thousands(tmp_path) -> None:
    """A spreadsheet in a German locale writes "3,185","0,205" in a comma-separated file:
    "0,205" was read as 205 and "3,185" as 3185, and the search trained on them in silence.
    "0,205" groups no thousands; the column stays text, with a warning that names the comma."""
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 5, 100).round(3)
    text = [f"{v:.3f}".replace(".", ",") for v in values]
    frame = pd.DataFrame({"a": text, "b": rng.normal(size=100), "y": [0, 1] * 50})
    frame.to_csv(tmp_path / "gs.csv", index=False, quoting=2)  # csv.QUOTE_NONNUMERIC
    read = read_table(tmp_path / "gs.csv")
    assert not pd.api.types.is_numeric_dtype(read["a"]), read["a"].head()
    with pytest.warns(UserWarning, match=r"'a' holds numbers written with a decimal comma"):
        autoimb.search(read.drop(columns="y"), read["y"], n_trials=1, space="fast", cv=3)


@pytest.mark.slow
def test_a_category_spelled_like_a_missing_marker_stays_a_category_at_predict(
    small_binary, tmp_path
):
    """Trained in Python, where "NA" (North America) was a region like any other; pandas reads
    "NA" in a file as missing unless told otherwise. Markers named by the user stay missing."""
    X, y = small_binary
    X = X.assign(region=np.array(["NA", "EU", "APAC"])[np.arange(len(X)) % 3])
    result = autoimb.search(X, y, n_trials=1, space="fast", cv=3, random_state=0)
    result.save(tmp_path / "m.skops")
    batch = X.head(30)
    batch.to_csv(tmp_path / "batch.csv", index=False)
    done = run("predict", "m.skops", "batch.csv", "--out", "p.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(
        pd.read_csv(tmp_path / "p.csv")["proba_1"], result.predict_proba(batch)[:, 1]
    )
    done = run(
        "predict", "m.skops", "batch.csv", "--out", "q.csv", "--na-values", "NA", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    missing = result.predict_proba(batch.assign(region=batch["region"].replace("NA", np.nan)))
    np.testing.assert_allclose(pd.read_csv(tmp_path / "q.csv")["proba_1"], missing[:, 1])


def test_a_data_file_given_where_the_model_goes_is_refused_with_the_order(searched):
    done = run("predict", "ecoli.csv", "ecoli.skops", cwd=searched)
    assert done.returncode == 2
    assert "the model comes first (autoimb predict ecoli.skops ecoli.csv)" in done.stderr


def _labelled(labels: list[str], folder: Path, name: str = "d.csv") -> pd.DataFrame:
    """ecoli1's features with ``labels`` for the first rows' target, written to ``folder``."""
    frame = datasets.load("ecoli1").head(len(labels)).assign(target=labels)
    frame.to_csv(folder / name, index=False)
    return frame


@pytest.mark.slow
def test_a_label_written_as_a_missing_marker_is_refused_with_the_fix(tmp_path):
    """UCI's "?" in the label column is no third class: a binary search would have become a
    multi-class one, scored by macro F1, without a word."""
    labels = ["0"] * 40 + ["1"] * 17 + ["?", "?", " ?"]  # " ?": pandas' own match is exact
    _labelled(labels, tmp_path)
    done = run("search", "d.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 2
    assert "3 row(s) of column 'target' are labelled '?', ' ?', which marks" in done.stderr
    assert "Pass --na-values '?' to leave those rows out, or --force" in done.stderr
    _labelled(["no"] * 40 + ["yes"] * 18 + ["-", "--"], tmp_path, "dash.csv")  # no options
    done = run("search", "dash.csv", "--target", "target", "--n-trials", "1", cwd=tmp_path)
    assert done.returncode == 2 and "Pass --na-values=-,--, to leave" in done.stderr
    # As often in imbalanced data, the unknown labels outnumber the rare class: refused too.
    _labelled(["no"] * 35 + ["yes"] * 5 + ["?"] * 20, tmp_path, "many.csv")
    done = run("search", "many.csv", "--target", "target", "--n-trials", "1", cwd=tmp_path)
    assert done.returncode == 2 and "20 row(s) of column 'target' are labelled '?'" in done.stderr
    done = run(
        "search", "d.csv", "--target", "target", "--na-values", "?", "--n-trials", "1", *FAST,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 row(s) without a 'target' label left out" in done.stderr
    assert autoimb.load(tmp_path / "d.skops").model_card_["classes"] == [0, 1]


@pytest.mark.parametrize(
    ("labels", "classes"),
    [
        (["+"] * 25 + ["-"] * 35, ["+", "-"]),  # UCI credit approval
        (["known"] * 45 + ["unknown"] * 15, ["known", "unknown"]),
    ],
)
@pytest.mark.slow
def test_a_label_spelled_like_a_marker_is_a_class_where_it_is_no_extra_one(
    tmp_path, labels, classes
):
    """Left out, it would leave one class: no label of rows unknown."""
    _labelled(labels, tmp_path)
    done = run("search", "d.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "marks a missing value" not in done.stderr
    assert autoimb.load(tmp_path / "d.skops").model_card_["classes"] == classes


@pytest.mark.slow
def test_a_label_of_spaces_is_an_empty_label(tmp_path):
    labels = ["0"] * 40 + ["1"] * 18 + [" ", "  "]
    _labelled(labels, tmp_path)
    done = run("search", "d.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 row(s) without a 'target' label left out (data row(s) 59, 60" in done.stderr
    assert autoimb.load(tmp_path / "d.skops").model_card_["classes"] == [0, 1]  # as if blank


def test_pos_label_with_three_classes_names_them(tmp_path, monkeypatch, capsys):
    _labelled(["no"] * 30 + ["yes"] * 20 + ["maybe"] * 10, tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["search", "d.csv", "--target", "target", "--pos-label", "yes", "--n-trials", "1"]
    assert main([*args, *FAST]) == 2
    assert "the --target column has 3 (['maybe', 'no', 'yes'])" in capsys.readouterr().err


def test_the_decimal_mark_is_told_from_the_whole_file(tmp_path, monkeypatch):
    """A ";" file whose first decimal comma comes after row 200 (rows sorted by amount): its
    amounts are numbers, and the model reads new rows with the same mark."""
    frame = datasets.load("ecoli1")
    features = [c for c in frame.columns if c != "target"]
    frame[features] = (frame[features] * 100).round().astype(int)
    amounts = np.arange(len(frame)) + (np.arange(len(frame)) % 8 == 0) / 2
    frame["amount"] = [f"{v:g}".replace(".", ",") for v in amounts]  # "12", "12,25"
    frame = frame.iloc[np.argsort(amounts % 1 > 0, kind="stable")]  # whole numbers first
    frame.to_csv(tmp_path / "late.csv", sep=";", decimal=",", index=False)
    first = pd.read_csv(tmp_path / "late.csv", sep=";", dtype=str)["amount"].str.contains(",")
    assert first.idxmax() > 200
    assert pd.api.types.is_float_dtype(read_table(str(tmp_path / "late.csv"))["amount"])
    monkeypatch.chdir(tmp_path)
    assert main(["search", "late.csv", "--target", "target", "--n-trials", "1", *FAST]) == 0
    assert autoimb.load(tmp_path / "late.skops").model_card_["decimal"] == ","


@pytest.mark.slow
def test_whole_float_labels_read_as_integers_with_or_without_blank_labels(tmp_path):
    """0.0 and 1.0 in the file are the classes 0 and 1, whether or not an empty label made
    pandas read them as floats: the predictions file's columns are proba_0 and proba_1."""
    labels = ["0.0"] * 40 + ["1.0"] * 20
    for name, written in (("f.csv", labels), ("fb.csv", [*labels[:-1], ""])):
        frame = _labelled(written, tmp_path, name)
        frame.drop(columns="target").head(5).to_csv(tmp_path / "new.csv", index=False)
        done = run("search", name, "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        model = name.replace(".csv", ".skops")
        assert autoimb.load(tmp_path / model).model_card_["classes"] == [0, 1]
        done = run("predict", model, "new.csv", "--out", "p.csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        predicted = pd.read_csv(tmp_path / "p.csv")
        assert list(predicted.columns[-2:]) == ["proba_0", "proba_1"], name
        assert set(predicted["prediction"].astype(str)) <= {"0", "1"}, name


@pytest.mark.parametrize(
    ("written", "classes"),
    [
        (["01", "02", "07"], ["01", "02", "07"]),  # codes: a number would drop the zero
        (["1.1", "1.10", "2.1"], ["1.1", "1.10", "2.1"]),  # two of them one number
        (["1", "2.0", "7"], [1, 2, 7]),  # whole numbers, as pandas types them
        (["0.5", "1.5", "2.5"], [0.5, 1.5, 2.5]),  # amounts, which the search refuses
        (["true", "False", "TRUE"], [False, True]),
        (["a", "01", "2"], ["01", "2", "a"]),
    ],
)
@pytest.mark.parametrize("blank", [False, True])
def test_the_label_column_keeps_each_class_as_the_file_writes_it(tmp_path, written, classes, blank):
    """Class codes name the predictions and their columns (proba_01): "01" and "1.10" must
    come back as written, where a column of plain numbers is typed as before."""
    from autoimb.data.files import split_columns

    labels = [*written * 20, *([" "] if blank else [])]
    _labelled(labels, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the blank row's warning
        y = split_columns(read_table(str(tmp_path / "d.csv"), label="target"), "target").y
    assert sorted(pd.unique(y)) == classes
    assert len(y) == 20 * len(written)


def test_a_decimal_comma_files_whole_labels_are_one_class_however_written(tmp_path):
    """In a ";" file with decimal commas, "1" and "1,0" are the class 1 (as "1" and "1.0" are
    elsewhere), and "1,1" beside "1,10" stay two codes."""
    from autoimb.data.files import split_columns

    frame = datasets.load("ecoli1").head(40)
    frame["target"] = ["0", "1", "0,0", "1,0"] * 10
    frame.to_csv(tmp_path / "e.csv", sep=";", decimal=",", index=False)
    y = split_columns(read_table(str(tmp_path / "e.csv"), label="target"), "target").y
    assert sorted(pd.unique(y)) == [0, 1]
    frame["target"] = ["1,1", "1,10"] * 20
    frame.to_csv(tmp_path / "c.csv", sep=";", decimal=",", index=False)
    y = split_columns(read_table(str(tmp_path / "c.csv"), label="target"), "target").y
    assert sorted(pd.unique(y)) == ["1,1", "1,10"]


def test_a_label_spelled_as_a_pandas_marker_is_read_as_written_unless_named_missing(tmp_path):
    """pandas reads "NA" and "null" as missing: the rows of a class so spelled were left out as
    unlabelled, and even --force could not keep it. Read as written, it is refused or kept as
    "?" is; an empty label, or a marker named with --na-values, stays missing."""
    _labelled(["0"] * 20 + ["1"] * 10 + ["NA", "null", ""], tmp_path)
    path = str(tmp_path / "d.csv")
    as_written = read_table(path, label="target")["target"].fillna("missing")
    assert as_written.tolist()[-3:] == ["NA", "null", "missing"]
    named = read_table(path, ["NA"], label="target")["target"].fillna("missing")
    assert named.tolist()[-3:] == ["missing", "null", "missing"]
    assert read_table(path)["target"].isna().sum() == 3  # a feature's markers: missing


def test_a_marker_label_kept_with_force_is_said(capsys):
    """--force also replaces a model file: the class it keeps is told, with the way out."""
    from autoimb.cli.data_check import refuse_marker_labels

    y = pd.Series(["0"] * 20 + ["1"] * 10 + ["NA"] * 3)
    with pytest.raises(AutoImbError, match=r"3 row\(s\) of column 'y' are labelled 'NA'"):
        refuse_marker_labels(y, "y", force=False)
    refuse_marker_labels(y, "y", force=True)
    assert "'NA' kept as a class (--force); pass --na-values NA to leave" in capsys.readouterr().err


@pytest.mark.slow
def test_an_excel_sep_line_names_the_separator(tmp_path):
    """Excel writes "sep=;" above the header of some exports: the file's separator, and no
    row of the table, at search and at predict alike."""
    frame = datasets.load("ecoli1")
    text = frame.to_csv(sep=";", decimal=",", index=False)
    (tmp_path / "xl.csv").write_text("sep=;\n" + text)
    batch = frame.drop(columns="target").head(5)
    (tmp_path / "new.csv").write_text("sep=;\n" + batch.to_csv(sep=";", decimal=",", index=False))
    done = run("search", "xl.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert autoimb.load(tmp_path / "xl.skops").model_card_["data"]["rows"] == len(frame)
    done = run("predict", "xl.skops", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = autoimb.load(tmp_path / "xl.skops").predict_proba(batch)[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["proba_1"], expected)


@pytest.mark.slow
def test_a_row_cut_short_is_warned_of_at_search_and_at_predict(searched, tmp_path):
    """A truncated file's last line is read with its missing values empty, as pandas reads
    it, and named as perhaps written or copied only in part."""
    text = (searched / "ecoli.csv").read_text()
    cut = text[: text.rindex(",", 0, len(text) - 40)]  # the last line ends mid-row
    (tmp_path / "cut.csv").write_text(cut)
    line = cut.count("\n") + 1
    model = str(searched / "ecoli.skops")
    for done in (
        run("predict", model, "cut.csv", "--out", "p.csv", cwd=tmp_path),
        run("search", "cut.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path),
    ):
        assert done.returncode == 0, done.stderr
        said = " ".join(done.stderr.split())
        assert f"cut.csv: 1 row(s) have fewer fields than the header's 9 (line {line} has" in said
        assert f"Line {line}, the file's last, ends without a line break" in said
        assert "written or copied only in part" in said
    assert len(pd.read_csv(tmp_path / "p.csv")) == line - 1


@pytest.mark.slow
def test_rows_without_their_empty_last_fields_are_read_at_search_and_at_predict(tmp_path):
    """Old Excel leaves out a row's empty last fields: ecoli1 with an optional code last, its
    comma missing where it is empty. Every row is read, and scored in its place."""
    frame = datasets.load("ecoli1")
    frame["code"] = np.where(np.arange(len(frame)) % 3 == 0, "A", None)
    lines = frame.to_csv(index=False).splitlines()
    (tmp_path / "x.csv").write_text("\n".join(line.removesuffix(",") for line in lines) + "\n")
    done = run("search", "x.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "x.csv: 224 row(s) have fewer fields than the header's 9 (line 3 has 8, " in said
    assert "their last values are read as missing" in said and "only in part" not in said
    assert autoimb.load(tmp_path / "x.skops").model_card_["data"]["rows"] == len(frame)
    batch = frame.drop(columns="target").head(7)
    lines = batch.to_csv(index=False).splitlines()
    (tmp_path / "new.csv").write_text("\n".join(line.removesuffix(",") for line in lines) + "\n")
    done = run("predict", "x.skops", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "new.csv: 4 row(s) have fewer fields" in " ".join(done.stderr.split())
    expected = autoimb.load(tmp_path / "x.skops").predict_proba(batch)[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["proba_1"], expected)
