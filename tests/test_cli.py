from __future__ import annotations

import html
import io
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import ecoli_with_ids, start_cli
from conftest import run_cli as run
from optuna.trial import TrialState

import autoimb
from autoimb import datasets
from autoimb.cli.main import main
from autoimb.engine.remeasure import CHOSEN_ON
from autoimb.engine.storage import make_storage
from autoimb.leaderboard import finished_trials, served_trials
from autoimb.progress import SearchProgress, clear_live_line, format_seconds
from autoimb.strategy import strategy_label

FAST = ["--space", "fast", "--cv", "3", "--seed", "0"]
SECTIONS = {"winner", "curves", "features", "leaderboard", "history", "choices", "next", "data"}


def study_of(path: Path) -> optuna.Study:
    return optuna.load_study(study_name="autoimb", storage=make_storage(str(path)))


def sections_and_images(path: Path) -> tuple[set[str], list[str]]:
    found: tuple[set[str], list[str]] = (set(), [])

    class Page(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            named = dict(attrs)
            if tag == "section":
                found[0].add(str(named.get("id")))
            if tag == "img":
                found[1].append(str(named.get("src")))

    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return found


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ecoli1 (336 rows) as a CSV with an id column, and new rows to predict."""
    folder = tmp_path_factory.mktemp("cli")
    frame = ecoli_with_ids(folder)
    frame.drop(columns=["target"]).head(20).to_csv(folder / "new.csv.gz", index=False)
    return folder


SEARCH = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", "--metric", "f1"]


@pytest.fixture(scope="module")
def searched(work: Path) -> subprocess.CompletedProcess[str]:
    done = run(*SEARCH, "--n-trials", "3", *FAST, "--report", "report.html", cwd=work)
    # The card of the model this search wrote, before a later test resumes the study.
    done.card = autoimb.load(work / "ecoli.skops").model_card_ if done.returncode == 0 else None
    return done


def test_search_writes_model_study_and_report(searched, work):
    assert searched.returncode == 0, searched.stderr
    assert "best f1:" in searched.stdout and "ecoli.skops" in searched.stdout
    # The headline is the model's measured score with its basis, not the one on the folds
    # that chose it (which here differs).
    card = searched.card
    assert f"{card['cv_score']:.4f}" != f"{card['search_score']:.4f}"
    assert f"best f1: {card['cv_score']:.4f} ({card['score_basis']})" in searched.stdout
    assert len(re.findall(r"^trial +\d+ ", searched.stderr, flags=re.M)) == 3  # not a terminal
    assert "Traceback" not in searched.stderr
    assert autoimb.load(work / "ecoli.skops").model_card_["metric"] == "f1"
    assert len(study_of(work / "ecoli.optuna.log").trials) >= 3
    sections, images = sections_and_images(work / "report.html")
    assert sections == SECTIONS
    assert images and all(src.startswith("data:image/png;base64,") for src in images)


def test_predict_writes_ids_labels_and_probabilities(searched, work):
    done = run("predict", "ecoli.skops", "new.csv.gz", "--id", "row_id", "--out", "p.csv", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr  # the id column is copied, not an unused feature
    predictions = pd.read_csv(work / "p.csv")
    assert list(predictions.columns) == ["row_id", "prediction", "proba_0", "proba_1"]
    assert len(predictions) == 20 and predictions["row_id"].iloc[0] == "r0"
    assert predictions[["proba_0", "proba_1"]].sum(axis=1).round(6).eq(1).all()
    assert set(predictions["prediction"]) <= {0, 1}
    counts = predictions["prediction"].value_counts()
    told = ", ".join(f"{label}: {counts[label]}" for label in (0, 1) if label in counts)
    assert f"wrote 20 predictions to p.csv ({told})" in done.stderr


def test_predict_writes_the_models_own_labels_and_probabilities(searched, work, monkeypatch):
    """Every training row: the labels are the served decision's, which here differs from
    argmax(proba) on some rows, and the probabilities are the model's, row by row."""
    monkeypatch.chdir(work)
    rows = pd.read_csv(work / "ecoli.csv").drop(columns=["target"])
    rows.to_csv(work / "all.csv", index=False)
    assert main(["predict", "ecoli.skops", "all.csv", "--id", "row_id", "--out", "all_p.csv"]) == 0
    written = pd.read_csv(work / "all_p.csv")
    model = autoimb.load(work / "ecoli.skops")
    features = rows.drop(columns=["row_id"])
    proba = model.predict_proba(features)
    assert (model.predict(features) != model.classes_[proba.argmax(axis=1)]).any()
    np.testing.assert_array_equal(written["row_id"], rows["row_id"])
    np.testing.assert_array_equal(written["prediction"], model.predict(features))
    np.testing.assert_allclose(written[["proba_0", "proba_1"]].to_numpy(), proba, rtol=1e-12)


def test_report_from_the_study_alone(searched, work, monkeypatch):
    monkeypatch.chdir(work)
    assert main(["report", "--storage", "ecoli.optuna.log", "--out", "study.html"]) == 0
    sections, images = sections_and_images(work / "study.html")
    assert sections == SECTIONS and images
    text = (work / "study.html").read_text()
    assert "need its out-of-fold predictions" in text
    # Without the model, its calibration is unknown: the rule is stated on the model's scores.
    assert "when the model&#x27;s score for 1 &gt;= " in text and "when P(1)" not in text


def test_a_report_told_of_a_group_the_search_read_as_a_feature_says_so(
    searched, work, monkeypatch, capsys
):
    """The data was read without that column, and the model was said to lack it."""
    monkeypatch.chdir(work)
    args = ["report", "ecoli.skops", "--data", "ecoli.csv", "--target", "target"]
    assert main([*args, "--id", "row_id", "--group", "x0", "--out", "g.html"]) == 2
    assert "--group x0 names a column the model reads as a feature" in capsys.readouterr().err
    assert not (work / "g.html").exists()


def test_a_report_on_a_journal_elsewhere_is_written_beside_it(searched, work, tmp_path):
    """It was written in the current folder, where two journals of one name met."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "ecoli.optuna.log").write_bytes((work / "ecoli.optuna.log").read_bytes())
    report = run("report", "models/ecoli.optuna.log", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert (folder / "ecoli.html").exists() and not (tmp_path / "ecoli.html").exists()


@pytest.mark.slow
def test_python_predict_leaves_out_the_searchs_own_columns_unwarned(searched, work):
    """The command line's target and id are in the table a user scores in Python too; they
    were never features, as ``autoimb predict`` already knew."""
    table = pd.read_csv(work / "ecoli.csv")
    model = autoimb.load(work / "ecoli.skops")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = model.predict(table)
    assert not [str(w.message) for w in caught if "not trained on" in str(w.message)]
    features = table.drop(columns=["target", "row_id"])
    np.testing.assert_array_equal(labels, model.predict(features))
    with pytest.warns(UserWarning, match=r"not trained on, left unused: \['note'\]"):
        model.predict(table.assign(note="x"))  # a column of the user's own is still named


def test_a_study_file_given_for_a_model_reports_on_the_study_and_cannot_predict(searched, work):
    """``ecoli.optuna.log`` sits next to ``ecoli.skops``; either may be the file a user picks."""
    report = run("report", "ecoli.optuna.log", cwd=work)
    assert report.returncode == 0, report.stderr
    assert "wrote the report to ecoli.html" in report.stderr
    assert sections_and_images(work / "ecoli.html")[0] == SECTIONS
    predict = run("predict", "ecoli.optuna.log", "new.csv.gz", cwd=work)
    assert predict.returncode == 2
    assert "is a search's study (its Optuna journal file), not a model" in predict.stderr


@pytest.mark.slow
def test_the_leaderboard_marks_the_trial_the_model_serves(searched, work):
    """A user must not take the top row for the model they got."""
    made = run("report", "ecoli.skops", "--leaderboard", "served.csv", "--out", "served.html",
               cwd=work)  # fmt: skip
    assert made.returncode == 0, made.stderr
    card = autoimb.load(work / "ecoli.skops").model_card_
    board = pd.read_csv(work / "served.csv")
    assert set(board.loc[board["served"], "trial"]) == served_trials(card)  # or the members
    page = (work / "served.html").read_text(encoding="utf-8")
    assert "<th>served</th>" in page and "<b>served</b>" in page
    # A study alone does not know which trial a model serves: the column is left empty.
    alone = run("report", "--storage", "ecoli.optuna.log", "--leaderboard", "alone.csv",
                "--out", "alone.html", cwd=work)  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    assert pd.read_csv(work / "alone.csv")["served"].isna().all()


def test_same_command_again_resumes_the_study_and_updates_its_model(searched, work):
    before = finished_trials(study_of(work / "ecoli.optuna.log"))  # queued ones never ran
    again = run(*SEARCH, "--n-trials", "2", *FAST, cwd=work)
    assert again.returncode == 0, again.stderr
    assert re.search(rf"\b{before} trials? already finished", again.stderr)
    assert finished_trials(study_of(work / "ecoli.optuna.log")) == before + 2


def test_an_existing_model_is_kept_without_force(searched, work):
    (work / "mine.skops").write_bytes(b"not yours")
    refused = run(*SEARCH, "--n-trials", "1", *FAST, "--out", "mine.skops", cwd=work)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "autoimb: error: mine.skops already exists and was not written by this study; pass "
        "--force to overwrite it, or --out another path."
    ]
    assert (work / "mine.skops").read_bytes() == b"not yours"
    assert not (work / "mine.optuna.log").exists()


@pytest.mark.slow
def test_ctrl_c_saves_the_best_so_far_and_leaves_a_resumable_study(work, tmp_path):
    (tmp_path / "ecoli.csv").write_bytes((work / "ecoli.csv").read_bytes())
    command = [*SEARCH, "--n-trials", "500", "--time-budget", "300", *FAST]
    process = start_cli(*command, cwd=tmp_path)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:  # one line per trial, since stderr is not a terminal
        if re.match(r"trial +\d+ f1=", line) or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "resume with: autoimb search ecoli.csv --target target" in err
    study = study_of(tmp_path / "ecoli.optuna.log")
    states = {t.state for t in study.trials}
    assert TrialState.COMPLETE in states and TrialState.RUNNING not in states
    # A trial Ctrl-C cut (failed, with no error of its own) is queued again with its params.
    cut = [t for t in study.trials if t.state == TrialState.FAIL and "error" not in t.user_attrs]
    waiting = [t.params for t in study.trials if t.state == TrialState.WAITING]
    assert all(t.params in waiting for t in cut)
    model = autoimb.load(tmp_path / "ecoli.skops")
    assert model.model_card_["cv_score"] == pytest.approx(
        study.trials[model.model_card_["trial"]].value
    )
    assert re.search(rf"wrote ecoli\.skops \(trial {model.model_card_['trial']}\b", err)
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.slow
def test_the_model_saved_on_sigterm_says_how_its_score_was_measured(work, tmp_path):
    """The best so far is scored on the folds that chose it: its line says so, as the card
    does, in the words of the finished search's summary."""
    (tmp_path / "ecoli.csv").write_bytes((work / "ecoli.csv").read_bytes())
    process = start_cli(*SEARCH, "--n-trials", "500", "--time-budget", "300", *FAST, cwd=tmp_path)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:
        if re.match(r"trial +\d+ f1=", line) or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143  # 128 + SIGTERM, as a shell reports it, err
    card = autoimb.load(tmp_path / "ecoli.skops").model_card_
    assert card["score_basis"] == CHOSEN_ON
    said = f"(trial {card['trial']}); best f1: {card['cv_score']:.4f} ({CHOSEN_ON})"
    said = f"wrote ecoli.skops {said}"
    assert said in err, err


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["data.csv", "--target", "nope"], {"data.csv": "a,b,y\n1,2,0\n"}, "--target 'nope' is"),
        (
            ["junk.csv", "--target", "y"],
            {"junk.csv": bytes(range(256)) * 8},
            "junk.csv is not UTF-8",
        ),
        (
            ["data.csv", "--target", "y", "--metric", "f1x"],
            {"data.csv": "y\n0\n"},
            "Unknown metric",
        ),
        (
            ["data.csv", "--target", "y", "--metric", "precision@recall>=0.9"],
            {"data.csv": "y\n0\n"},
            "A floor on recall is not offered ('recall@precision>=<floor>' sets one on",
        ),
        (["empty.csv", "--target", "y"], {"empty.csv": ""}, "empty.csv is empty"),
        (["head.csv", "--target", "y"], {"head.csv": "a,y\n"}, "head.csv has no rows"),
        (["missing.csv", "--target", "y"], {}, "missing.csv: no such file."),
        (["yeast5", "--target", "y"], {}, "yeast5: no such file, nor a shipped data set ("),
        (["blank.csv", "--target", "y"], {"blank.csv": "a,y\n1,\n2,\n"}, "holds no labels"),
        (
            ["variants.csv", "--target", "y"],
            {
                "variants.csv": "a,y\n"
                + "".join(
                    f"{i},{v}\n" for i, v in enumerate(["yes", "no", "yes ", " Yes", "no"] * 4)
                )
            },
            "differ only by case or spaces",
        ),
    ],
    ids=[
        "missing-target",
        "unreadable",
        "unknown-metric",
        "recall-floor",
        "empty",
        "no-rows",
        "no-file",
        "no-file-nor-set",
        "no-labels",
        "label-variants",
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, files, message, tmp_path):
    for name, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(tmp_path / name, mode) as handle:
            handle.write(content)
    done = run("search", *args, "--n-trials", "1", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autoimb: error: ") and message in lines[0]
    assert not list(tmp_path.glob("*.optuna.log")) and not list(tmp_path.glob("*.skops"))


@pytest.mark.slow
def test_the_command_line_names_its_own_options_when_no_trial_fits(
    too_much_for_half_a_second, tmp_path
):
    X, y = too_much_for_half_a_second
    pd.DataFrame(X).add_prefix("x").assign(label=y).to_csv(tmp_path / "wide.csv", index=False)
    done = run(
        "search", "wide.csv", "--target", "label", "--metric", "f1", "--time-budget", "0.5",
        "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr  # an input error, told in one line
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("autoimb: error: no trial completed"), done.stderr
    assert "--time-budget" in done.stderr and "--space fast" in done.stderr
    assert not (tmp_path / "wide.skops").exists()


def test_a_target_with_one_class_is_refused_in_process(tmp_path, capsys, monkeypatch):
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["x", "x", "x"]}).to_csv(tmp_path / "one.csv")
    monkeypatch.chdir(tmp_path)
    assert main(["search", "one.csv", "--target", "y", "--n-trials", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "autoimb: error: the --target column has only one class ('x'); a classifier needs "
        "examples of at "
        "least two classes."
    ]


def test_messages_keep_the_spaces_inside_labels(tmp_path, capsys, monkeypatch):
    labels = ["negative  "] * 20 + [" positive "] * 10
    pd.DataFrame({"a": np.arange(30.0), "y": labels}).to_csv(tmp_path / "spaced.csv")
    monkeypatch.chdir(tmp_path)
    assert (
        main(["search", "spaced.csv", "--target", "y", "--pos-label", "neg", "--n-trials", "1"])
        == 2
    )
    err = capsys.readouterr().err
    assert "not a class of the --target column ([' positive ', 'negative  '])" in err


def test_predict_reads_missing_markers_as_the_search_did(tmp_path, monkeypatch, capsys):
    frame = datasets.load("ecoli1")
    frame["x1"] = frame["x1"].astype(object).where(np.arange(len(frame)) % 10 > 0, "ZZZ")
    # An identifier the search leaves out by itself: predict --id writes it as it reads.
    frame.insert(0, "customer_id", [f"{i:06d}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "marked.csv", index=False)
    frame.drop(columns="target").head(30).to_csv(tmp_path / "new.csv", index=False)
    monkeypatch.chdir(tmp_path)
    unmarked = ["search", "marked.csv", "--target", "target", "--out", "plain.skops"]
    assert main([*unmarked, "--n-trials", "1", *FAST, "--quiet"]) == 0
    said = capsys.readouterr().err
    assert "'x1' holds numbers but for ['ZZZ'] in 34 row(s)" in said
    assert "make it one (--na-values)." in said  # the command line's words only
    searched = ["search", "marked.csv", "--target", "target", "--na-values", "ZZZ"]
    assert main([*searched, "--n-trials", "1", *FAST, "--quiet"]) == 0
    assert autoimb.load(tmp_path / "marked.skops").model_card_["na_values"] == ["ZZZ"]
    assert main(["predict", "marked.skops", "new.csv", "--out", "p.csv"]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 30
    capsys.readouterr()
    # Markers given to predict come besides the search's, not in their place.
    args = ["predict", "marked.skops", "new.csv", "--id", "customer_id", "--na-values", "n/a"]
    assert main([*args, "--out", "q.csv"]) == 0
    assert "ZZZ" not in capsys.readouterr().err
    written = pd.read_csv(tmp_path / "q.csv", dtype=str)
    assert written["customer_id"].tolist()[:2] == ["000000", "000001"]
    assert (
        written["prediction"].tolist()
        == pd.read_csv(tmp_path / "p.csv", dtype=str)["prediction"].tolist()
    )


def test_the_time_budget_counts_the_commands_start_up(work, monkeypatch):
    """Imports and reading the data take seconds before the search starts; the budget given
    on the command line is for the whole command."""
    import autoimb.api

    cli_main = sys.modules["autoimb.cli.main"]  # the package exports the function by that name
    asked = []

    def search(*args, time_budget=None, **kwargs):
        asked.append(time_budget)
        raise autoimb.AutoImbError("stop here")

    clock = SimpleNamespace(monotonic=lambda: time.monotonic() - 3.0)  # started 3 s ago
    monkeypatch.setattr(cli_main, "time", clock)
    monkeypatch.setattr(autoimb.api, "search", search)
    monkeypatch.chdir(work)
    assert main(["search", "ecoli.csv", "--target", "target", "--time-budget", "10"]) == 2
    assert 6.0 < asked[0] < 7.0
    assert main(["search", "ecoli.csv", "--target", "target", "--time-budget", "2"]) == 2
    assert asked[1] == 1.0  # never less than a second, however long the start-up took


def test_predict_names_the_missing_columns(searched, work, capsys):
    pd.read_csv(work / "new.csv.gz").drop(columns=["x0", "x3"]).to_csv(work / "short.csv")
    code = main(["predict", str(work / "ecoli.skops"), str(work / "short.csv")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "lacks 2 column(s)" in err and "'x0', 'x3'" in err and "\n" not in err


def test_predict_on_a_file_with_no_rows_writes_an_empty_file(searched, work, capsys):
    """A nightly batch with nothing in it: its columns are checked, and the predictions file
    has its header and no row, where a search on such a file is refused."""
    header = pd.read_csv(work / "new.csv.gz").head(0)
    header.to_csv(work / "none.csv", index=False)
    out = work / "none_out.csv"
    assert (
        main(["predict", str(work / "ecoli.skops"), str(work / "none.csv"), "--out", str(out)]) == 0
    )
    written = pd.read_csv(out)
    assert len(written) == 0 and list(written.columns) == ["prediction", "proba_0", "proba_1"]
    assert "wrote 0 predictions to" in capsys.readouterr().err
    header.drop(columns=["x0"]).to_csv(work / "none_short.csv", index=False)
    assert main(["predict", str(work / "ecoli.skops"), str(work / "none_short.csv")]) == 2
    assert "lacks the column(s) the model reads: ['x0']" in capsys.readouterr().err


def test_an_empty_batch_may_lack_the_columns_the_model_dropped(small_binary, tmp_path, capsys):
    """A constant column was dropped at the search: a file of rows without it predicts, and so
    does the same file with no rows."""
    X, y = small_binary
    X.assign(site="A", target=y).to_csv(tmp_path / "train.csv", index=False)
    args = ["search", str(tmp_path / "train.csv"), "--target", "target", "--n-trials", "1"]
    assert main([*args, *FAST, "--out", str(tmp_path / "m.skops"), "-q"]) == 0
    X.head(0).to_csv(tmp_path / "none.csv", index=False)
    assert main(["predict", str(tmp_path / "m.skops"), str(tmp_path / "none.csv")]) == 0
    assert capsys.readouterr().out.strip() == "prediction,proba_0,proba_1"


def test_usage_errors_help_and_version(capsys):
    assert main(["search", "data.csv"]) == 2
    assert capsys.readouterr().err.strip() == (
        "autoimb: error: the following arguments are required: --target/-t "
        "(see 'autoimb search --help')"
    )
    assert main(["search", "d.csv", "--target", "y", "--n-trials", "0"]) == 2
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"autoimb {autoimb.__version__}"
    assert main(["report", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    assert main(["worker", "data.csv", "--target", "y"]) == 2
    assert capsys.readouterr().err.strip() == (
        "autoimb: error: the following arguments are required: --storage "
        "(see 'autoimb worker --help')"
    )
    assert main(["predict", "m.skops", "new.csv", "--new-study"]) == 2  # the command's help
    assert capsys.readouterr().err.strip() == (
        "autoimb: error: unrecognized arguments: --new-study (see 'autoimb predict --help')"
    )
    assert main(["worker", "--help"]) == 0  # as required in its usage as it is
    assert "--target COL" in capsys.readouterr().out.split("[--target")[0]


def test_a_workers_help_tells_what_a_worker_does(tmp_path) -> None:
    """A worker shares the search's options but writes a model only with --out, has no report,
    and searches the study's settings: its help once said otherwise."""
    done = run("worker", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    told = " ".join(done.stdout.split())
    assert "DATA-NAME.skops" not in told
    assert "report" not in told
    assert "the study to join in the storage (default: autoimb)" in told
    assert "with --out the final refit too; writing the model follows it" in told
    assert "--cv K folds (default: the study's; another is refused)" in told
    assert "--seed S unused: a worker goes on with the study's seed" in told
    searched = " ".join(run("search", "--help", cwd=tmp_path).stdout.split())
    assert "another name's model is DATA-NAME.skops" in searched
    assert "writing the model and the report follow it" in searched


def test_search_help_names_every_model_format_it_writes(tmp_path) -> None:
    """--out's help named .joblib alone, though .pkl and .pickle are written too."""
    from autoimb.export import MODEL_FORMATS

    done = run("search", "--help", cwd=tmp_path)
    told = " ".join(done.stdout.split()).split("--out MODEL")[-1].split("--report")[0]
    assert all(suffix in told for suffix in MODEL_FORMATS), told
    assert "loads only with --trust" in told


def test_a_worker_says_how_its_best_score_was_measured(work, monkeypatch, capsys):
    monkeypatch.chdir(work)
    common = ["ecoli.csv", "--target", "target", "--id", "row_id", "--storage", "w.log"]
    assert main(["search", *common, "--n-trials", "1", *FAST, "--out", "w.skops", "-q"]) == 0
    capsys.readouterr()
    assert main(["worker", *common, "--n-trials", "1", "--out", "w.skops", "--force"]) == 0
    said = capsys.readouterr().out
    # The progress line shows the search's own score; the last line must not seem to differ.
    assert re.search(r"best \S+ [0-9.]+ \(.+; the search's own score [0-9.]+\)", said), said
    assert said.splitlines()[-1] == "model: w.skops"  # where it went, as search says
    # It searches the study's settings: an option asking for others is refused, not ignored.
    for other in (["--metric", "f1"], ["--cv", "5"], ["--cv-split", "time"]):
        assert main(["worker", *common, "--n-trials", "1", *other]) == 2
        err = capsys.readouterr().err
        assert f"leave {other[0]} out" in err and "searches with" in err, err
    # Another space too, with the way on a worker has (it has no --new-study).
    assert main(["worker", *common, "--n-trials", "1", "--space", "default"]) == 2
    err = capsys.readouterr().err
    assert "Leave --space out (or start another study with autoimb search)" in err, err
    assert "--new-study" not in err


def test_a_worker_without_a_model_calls_the_studys_best_optimistic(
    work, tmp_path, monkeypatch, capsys
):
    """No model measured the study's best again: the best of many on the folds that chose it."""
    (tmp_path / "ecoli.csv").write_bytes((work / "ecoli.csv").read_bytes())
    monkeypatch.chdir(tmp_path)
    common = ["ecoli.csv", "--target", "target", "--id", "row_id", "--storage", "w.log"]
    assert main(["search", *common, "--n-trials", "1", *FAST, "-q"]) == 0
    capsys.readouterr()
    assert main(["worker", *common, "--n-trials", "1"]) == 0
    said = capsys.readouterr().out
    assert f"cross-validated {CHOSEN_ON})" in said and "no model was made" in said, said


def test_a_precision_floors_interval_says_it_holds_only_if_precision_does(
    work, tmp_path, monkeypatch, capsys
):
    """The interval is of recall where precision holds its floor: read alone, held-out scores
    fell in it far less often than 80%. The chance of the other side is said with it."""
    (tmp_path / "ecoli.csv").write_bytes((work / "ecoli.csv").read_bytes())
    monkeypatch.chdir(tmp_path)
    metric = "recall@precision>=0.7"
    args = ["ecoli.csv", "--target", "target", "--id", "row_id", "--metric", metric]
    assert main(["search", *args, "--n-trials", "1", *FAST, "--report", "r.html"]) == 0
    said = capsys.readouterr().out
    card = autoimb.load(tmp_path / "ecoli.skops").model_card_
    low, high = card["score_interval"]
    held = r"if precision holds its 0\.7 floor \(about (\d+)% of the time it does not\)"
    line = re.search(rf"{held}: recall 80% likely between {low:.4f} and {high:.4f}", said)
    assert line is not None, said
    assert card["cv_score"] >= 0 and int(line[1]) == round(100 * card["floor_miss_chance"])
    page = html.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert re.search(rf"{held}: recall {low:.4f} – {high:.4f} for a new set", page)


def test_spaces_lists_and_describes(capsys):
    assert main(["spaces"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^default ", listing, flags=re.M) and re.search(r"^fast ", listing, re.M)
    assert main(["spaces", "fast"]) == 0
    described = capsys.readouterr().out
    assert "model:" in described and "lightgbm" in described and "[" in described
    assert main(["spaces", "no_such_space"]) == 2


def test_shipped_data_set_names_stand_for_files(monkeypatch, tmp_path):
    from autoimb.cli.main import _read_table, _stem

    monkeypatch.chdir(tmp_path)
    assert _read_table("ecoli1").shape == (336, 8)
    assert _stem("yeast4") == "yeast4" and _stem("dir/data.csv.gz") == "data"


@pytest.mark.parametrize(
    ("sep", "decimal", "name"),
    [(";", ",", "europe.csv"), ("|", ".", "pipes.csv.gz"), ("\t", ".", "tabs.txt")],
)
def test_a_file_separated_otherwise_than_by_commas_is_read_whole(tmp_path, sep, decimal, name):
    """A spreadsheet's CSV in much of Europe separates fields by ";" and writes "2,5"."""
    from autoimb.data.files import read_table

    frame = datasets.load("ecoli1").assign(note="a, b")
    path = tmp_path / name
    frame.to_csv(path, sep=sep, decimal=decimal, index=False)
    pd.testing.assert_frame_equal(read_table(str(path)), frame)
    named = frame.rename(columns={"x1": "spend, EUR"})  # a comma in a header name, too
    named.to_csv(path, sep=sep, decimal=decimal, index=False)
    pd.testing.assert_frame_equal(read_table(str(path)), named)


@pytest.mark.parametrize(("name", "sep"), [("x.tsv.csv", ","), ("x.tsv.gz", "\t"), ("x.csv", ",")])
def test_a_table_is_written_and_read_in_the_format_its_last_suffix_names(tmp_path, name, sep):
    """``x.tsv.csv`` is a CSV file (a name's earlier dot is no format); ``x.tsv.gz`` is TSV."""
    from autoimb.cli.outputs import write_table
    from autoimb.data.files import read_table

    frame = pd.DataFrame({"id": ["a", "b"], "score": [0.25, 0.75]})
    path = write_table(tmp_path / name, frame)
    pd.testing.assert_frame_equal(pd.read_csv(path, sep=sep), frame)
    pd.testing.assert_frame_equal(read_table(str(path)), frame)


@pytest.mark.parametrize("name", ["p.csv", "p.TSV", "p.tsv.gz", "p.parquet", "lb.tsv", "lb.pq"])
def test_autoimb_knows_its_own_tables_in_every_format_it_writes(tmp_path, name):
    """So a second ``predict --out p.tsv`` replaces its own file instead of refusing it."""
    from autoimb.cli.outputs import is_leaderboard, is_predictions, write_table

    table = (
        pd.DataFrame({"trial": [0], "state": ["COMPLETE"], "score": [0.5]})
        if name.startswith("lb")
        else pd.DataFrame({"prediction": [1], "proba_0": [0.2], "proba_1": [0.8]})
    )
    path = write_table(tmp_path / name, table)
    assert (is_leaderboard if name.startswith("lb") else is_predictions)(path)


def test_a_users_table_holding_predictions_beside_other_columns_is_not_autoimbs(tmp_path):
    """A scored history with its features and notes was replaced by predict --out, unasked."""
    from autoimb.cli.outputs import is_predictions, write_table

    ours = pd.DataFrame({"rid": [7], "prediction": ["yes"], "proba_no": [0.4], "proba_yes": [0.6]})
    assert is_predictions(write_table(tmp_path / "ours.csv", ours))
    assert is_predictions(write_table(tmp_path / "bare.csv", ours.drop(columns="rid")))
    theirs = ours.assign(age=[41], analyst_notes=["important"])
    assert not is_predictions(write_table(tmp_path / "history.csv", theirs))
    assert not is_predictions(write_table(tmp_path / "two_ids.csv", ours.assign(x=1)[["x", *ours]]))


def test_a_tsv_txt_file_is_read_as_tab_separated(tmp_path):
    from autoimb.data.files import read_table

    (tmp_path / "h.tsv.txt").write_text("income, USD\tage\ttarget\n1\t2\t0\n3\t4\t1\n")
    assert list(read_table(str(tmp_path / "h.tsv.txt")).columns) == ["income, USD", "age", "target"]


def test_a_comma_decimal_file_reads_thousands_grouped_by_dots(tmp_path):
    """In a ";" file, "1.234,50 €" is 1234.5; a column with "1.5" or "0.125" is no such number."""
    from autoimb.data.files import read_table

    path = tmp_path / "europe.csv"
    path.write_text(
        "amount;share;version;p\n1.234,50 €;12,5 %;1.5;0.125\n"
        "-12.000;?;2.10;1.250\n7,25;3 %;3;0.500\n",
        encoding="utf-8",
    )
    frame = read_table(str(path))
    assert frame["amount"].tolist() == [1234.5, -12000.0, 7.25]
    assert frame["share"].iloc[[0, 2]].tolist() == [12.5, 3.0] and np.isnan(frame["share"][1])
    assert frame["version"].tolist() == ["1.5", "2.10", "3"]
    assert frame["p"].tolist() == ["0.125", "1.250", "0.500"]  # read later as 0.125, 1.25, 0.5


def test_one_text_field_like_a_decimal_comma_does_not_decide_a_files_decimal_mark(tmp_path):
    """A ";" file of "32.211" kg and "102.51" amounts, and on row 700 a multiple-choice answer
    "1,3": that one field made "," the decimal mark, and every weight a thousand times too
    large ("32.211" read as 32211)."""
    from autoimb.data.files import read_table

    rng = np.random.default_rng(0)
    kg, amount = rng.uniform(1, 50, 800), rng.uniform(1, 500, 800)
    options = np.where(np.arange(800) == 700, "1,3", (np.arange(800) % 3 + 1).astype(str))
    frame = pd.DataFrame(
        {"kg": [f"{v:.3f}" for v in kg], "amount": [f"{v:.2f}" for v in amount], "opt": options}
    )
    frame.to_csv(tmp_path / "survey.csv", sep=";", index=False)
    read = read_table(str(tmp_path / "survey.csv"))
    np.testing.assert_allclose(read["kg"], kg, atol=5e-4)
    np.testing.assert_allclose(read["amount"], amount, atol=5e-3)


def test_decimal_commas_outnumbering_dotted_codes_make_the_files_decimal_mark(tmp_path):
    """A German export: an app version "3.12" beside amounts "1.028,53" and a rate "28,5" on
    every row; the versions must not make the amounts text (and the search lose them)."""
    from autoimb.data.files import read_table

    rows = [f"K{i:04d};3.{10 + i % 5};1.0{i % 90 + 10},53;{i % 40},5" for i in range(300)]
    (tmp_path / "app.csv").write_text(
        "kunde;version;umsatz;rabatt\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    read = read_table(str(tmp_path / "app.csv"))
    assert read["umsatz"].iloc[:2].tolist() == [1010.53, 1011.53]
    assert read["rabatt"].iloc[:2].tolist() == [0.5, 1.5]
    assert read["version"].iloc[0] == "3.10"


def test_a_semicolon_file_with_decimal_points_reads_them_as_decimals(tmp_path):
    """pandas' ``to_csv(sep=";")`` writes "1.521": read as thousands grouped by dots, every
    value of a column at 1 or more was read a thousand times too large."""
    from autoimb.data.files import read_table

    frame = pd.DataFrame({"ri": [1.521, 1.518, 1.516], "na": [13.64, 13.89, 0.5]})
    frame.to_csv(tmp_path / "glass.csv", sep=";", float_format="%.3f", index=False)
    pd.testing.assert_frame_equal(read_table(str(tmp_path / "glass.csv")), frame)


def test_rows_that_end_with_a_separator_keep_their_values_in_their_columns(tmp_path):
    """pandas takes a row with one field more than the header for an index and a row: every
    value moved one column to the left, and the last column was empty."""
    from autoimb.data.files import read_table

    frame = datasets.load("ecoli1").head(12)
    lines = frame.to_csv(index=False).splitlines()
    (tmp_path / "t.csv").write_text("\n".join([lines[0], *(f"{row}," for row in lines[1:])]))
    pd.testing.assert_frame_equal(read_table(str(tmp_path / "t.csv")), frame)


def test_columns_asked_for_as_text_stay_text_in_a_comma_decimal_file(tmp_path):
    """A model's text categories ("41,5", "XL") and identifiers ("000001", "-") were read as
    numbers in a batch where every value looked like one."""
    from autoimb.data.files import read_table

    (tmp_path / "new.csv").write_text("id;size;price\n000001;41,5;2,5\n-;39,5;3,25\n")
    frame = read_table(str(tmp_path / "new.csv"), text_columns=["id", "size"])
    assert frame["id"].tolist() == ["000001", "-"] and frame["size"].tolist() == ["41,5", "39,5"]
    assert frame["price"].tolist() == [2.5, 3.25]


def test_a_compressed_file_named_as_text_is_refused_with_the_name_to_give(tmp_path):
    """It was called undecodable text, perhaps Windows-1252: the wrong way to look."""
    from autoimb.data.files import read_table

    datasets.load("ecoli1").to_csv(tmp_path / "data.csv", index=False, compression="gzip")
    with pytest.raises(autoimb.AutoImbError, match=r"compressed \(gz\).*name it data.csv.gz"):
        read_table(str(tmp_path / "data.csv"))


@pytest.mark.parametrize("name", ["data.xlsx", "data.json"])
def test_a_workbook_or_json_file_is_refused_with_the_fix(tmp_path, name):
    from autoimb.data.files import read_table

    path = tmp_path / name
    datasets.load("ecoli1").to_json(path, orient="records")  # the content does not matter
    with pytest.raises(autoimb.AutoImbError, match="does not read; save the table as CSV"):
        read_table(str(path))


def trial(number: int, state: str, value: float | None = None, **attrs):
    config = {"model": {"name": "lightgbm"}, "resampler": {"name": "smote"}}
    return SimpleNamespace(
        number=number,
        state=SimpleNamespace(name=state),
        value=value,
        user_attrs={"config": config, "seconds": 0.5, **attrs},
    )


def test_progress_logs_one_line_per_trial_off_a_terminal():
    stream = io.StringIO()
    progress = SearchProgress(stream, metric_name="f1", greater_is_better=True, n_trials=3)
    with progress:
        progress(None, trial(0, "COMPLETE", 0.5))
        progress(None, trial(1, "FAIL", error="ValueError: boom"))
        progress(None, trial(2, "COMPLETE", 0.7))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("trial    0 f1=0.5000  lightgbm + smote 0.5s | best 0.5000")
    assert "failed: ValueError: boom" in lines[1]
    assert "best 0.7000 (trial 2)" in lines[2] and len(lines) == 3
    assert progress.status().startswith("3/3 trials: 2 done, 0 pruned, 1 failed")


def test_progress_shows_the_best_of_the_whole_study(tmp_path):
    """A worker's line tells the study's best, found by whichever process."""
    study = optuna.create_study(direction="minimize", storage=make_storage(str(tmp_path / "j")))
    other = {"model": {"name": "random_forest"}}
    found = optuna.trial.create_trial(value=0.2, user_attrs={"config": other})
    study.add_trial(found)
    stream = io.StringIO()
    progress = SearchProgress(stream, metric_name="cost", greater_is_better=False)
    with progress:
        progress(study, trial(1, "COMPLETE", 0.3))
    assert "best 0.2000 (trial 0)" in stream.getvalue().splitlines()[0]
    assert "best cost 0.2000 (trial 0) random_forest" in progress.status()


def test_progress_redraws_one_line_on_a_terminal():
    stream = io.StringIO()
    progress = SearchProgress(
        stream,
        metric_name="mcc",
        greater_is_better=True,
        time_budget=60,
        live=True,
        already=4,
        best=(0.6, 1, {"model": {"name": "logistic_regression"}}),
    )
    with progress:
        progress(None, trial(5, "PRUNED"))
        progress(None, trial(6, "COMPLETE", 0.8))
    text = stream.getvalue()
    assert "\r2 trials (+4 earlier): 1 done, 1 pruned, 0 failed" in text
    assert "new best mcc 0.8000: lightgbm + smote (trial 6)\n" in text
    assert "left" in text and text.endswith("\n")


def test_messages_during_a_live_line_start_on_a_clean_line():
    """A warning or a log record written while the live line is up must not run on from it."""
    stream = io.StringIO()

    def show(message, *_, **__):
        stream.write(f"W: {message}\n")

    progress = SearchProgress(stream, metric_name="f1", greater_is_better=True, live=True)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        with progress:
            progress(None, trial(0, "PRUNED"))
            warnings.warn("careful", UserWarning, stacklevel=1)
            progress(None, trial(1, "PRUNED"))
            clear_live_line()  # what the command line's messages and log lines call first
            cleared = stream.getvalue()
        assert warnings.showwarning is show  # given back as it was
    before, _ = stream.getvalue().split("W: careful")
    assert "1 trials" in before and before.endswith("\r")
    assert "2 trials" in cleared and cleared.endswith("\r")


def test_strategy_labels_and_durations():
    config = {
        "augmenter": {"name": "none"},
        "weighting": {"name": "balanced"},
        "model": {"name": "xgboost", "max_depth": 3},
        "threshold": 0.3,
    }
    assert strategy_label(config) == "xgboost + balanced weights"
    assert format_seconds(59.6) == "1:00" and format_seconds(3725) == "1:02:05"


@pytest.mark.slow
def test_outputs_never_replace_an_input_or_a_file_autoimb_did_not_write(searched, work):
    mine = work / "notes.csv"
    mine.write_text("my,own\n1,2\n")
    predict = ["predict", "ecoli.skops", "new.csv.gz", "--id", "row_id"]
    refused = run(*predict, "--out", "new.csv.gz", cwd=work)
    assert refused.returncode == 2 and "also an input" in refused.stderr
    refused = run(*predict, "--out", "notes.csv", cwd=work)
    assert refused.returncode == 2 and "not written by autoimb" in refused.stderr
    assert mine.read_text() == "my,own\n1,2\n"
    assert run(*predict, "--out", "scores.csv", cwd=work).returncode == 0
    again = run(*predict, "--out", "scores.csv", cwd=work)  # its own output: replaced
    assert again.returncode == 0, again.stderr
    assert run(*predict, "--out", "notes.csv", "--force", cwd=work).returncode == 0
    (work / "mine.html").write_text("<p>my own page</p>")
    report = run("report", "ecoli.skops", "--out", "mine.html", cwd=work)
    assert report.returncode == 2 and "not written by autoimb" in report.stderr
    assert (work / "mine.html").read_text() == "<p>my own page</p>"
    assert not list(work.glob(".*partial*")) and not list(work.glob(".scores*"))


def test_whole_number_ids_from_a_csv_are_numbers_in_parquet_predictions(
    searched, work, monkeypatch
):
    """They came out as text, so the predictions would not join the source's numeric ids."""
    monkeypatch.chdir(work)
    rows = pd.read_csv(work / "new.csv.gz").head(4)
    rows["row_id"] = [1000, 1001, 1002, 1003]
    rows.to_csv(work / "ids.csv", index=False)
    assert main(["predict", "ecoli.skops", "ids.csv", "--id", "row_id", "--out", "p.parquet"]) == 0
    written = pd.read_parquet(work / "p.parquet")
    assert written["row_id"].dtype == np.int64
    assert len(rows.merge(written, on="row_id")) == 4
    # A typed source's text ids stay text, to join it.
    rows.astype({"row_id": str}).to_parquet(work / "ids.parquet", index=False)
    predict = ["predict", "ecoli.skops", "ids.parquet", "--id", "row_id", "--out", "t.parquet"]
    assert main(predict) == 0
    kept = pd.read_parquet(work / "t.parquet")["row_id"]
    assert kept.tolist() == ["1000", "1001", "1002", "1003"]
    rows["row_id"] = ["0100", "0101", "0102", "0103"]  # codes: as written
    rows.to_csv(work / "codes.csv", index=False)
    assert (
        main(["predict", "ecoli.skops", "codes.csv", "--id", "row_id", "--out", "c.parquet"]) == 0
    )
    assert pd.read_parquet(work / "c.parquet")["row_id"].tolist() == [
        "0100",
        "0101",
        "0102",
        "0103",
    ]


@pytest.mark.slow
def test_ids_are_written_as_the_file_writes_them(searched, work):
    """An account number, a card number or a blank id is copied, not read as a number."""
    rows = pd.read_csv(work / "new.csv.gz").head(4)
    rows["row_id"] = ["000123", "", "4111111111111111111", "r9"]
    rows.to_csv(work / "ids.csv", index=False)
    done = run("predict", "ecoli.skops", "ids.csv", "--id", "row_id", "--out", "ip.csv", cwd=work)
    assert done.returncode == 0, done.stderr
    written = (work / "ip.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in written] == [
        "row_id",
        "000123",
        "",
        "4111111111111111111",
        "r9",
    ]
    rows.rename(columns={"row_id": "prediction"}).to_csv(work / "ids2.csv", index=False)
    named = run("predict", "ecoli.skops", "ids2.csv", "--id", "prediction", cwd=work)
    assert named.returncode == 2 and "Traceback" not in named.stderr
    assert "--id prediction is named as a column of the predictions" in named.stderr


@pytest.mark.slow
def test_the_storage_is_a_file_of_its_own(work):
    """A journal given the path of the data, the model or the report would lose the trials or
    the user's file: refused before any work, nothing written."""
    before = sorted(p.name for p in work.iterdir())
    for clash in (
        ["--storage", "ecoli.csv"],
        ["--storage", "clash.skops", "--out", "clash.skops"],
        ["--storage", "clash.html", "--report", "clash.html"],
    ):
        done = run(*SEARCH, "--n-trials", "1", *FAST, *clash, cwd=work)
        assert done.returncode == 2, done.stderr
        assert f"--storage {clash[1]} is also" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in work.iterdir()) == before


@pytest.mark.slow
def test_an_output_path_autoimb_cannot_write_is_refused_before_the_work(searched, work):
    """A folder, a format it does not write (a CSV under .xlsx), a folder without write
    access: found after the search, such a path cost the user the whole budget."""
    (work / "outdir").mkdir(exist_ok=True)
    predict = ["predict", "ecoli.skops", "new.csv.gz", "--id", "row_id", "--force"]
    for out, said in [
        ("outdir", "outdir is a folder; give a file path for the predictions, such as outdir/"),
        ("p.xlsx", "writes the predictions as .csv, .tsv, .parquet or .pq; give a path"),
        ("p.parquet.gz", "only .csv and .tsv are written compressed, as .csv.gz"),
    ]:
        refused = run(*predict, "--out", out, cwd=work)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    tabbed = run(*predict, "--out", "scores.tsv.gz", cwd=work)
    assert tabbed.returncode == 0, tabbed.stderr
    assert list(pd.read_csv(work / "scores.tsv.gz", sep="\t").columns)[:2] == [
        "row_id",
        "prediction",
    ]
    unwritable = [("--report", "/proc/r.html")] if Path("/proc/self").is_dir() else []
    for option, out in [
        ("--report", "outdir"),
        ("--report", "r.pdf"),
        ("--out", "outdir"),
        ("--out", "."),  # no name to give its journal: was a traceback
        ("--out", ".skops"),
        *unwritable,  # root may write anywhere, but not where the file system says no
    ]:
        refused = run(*SEARCH, "--n-trials", "5", *FAST, option, out, "--force", cwd=work)
        assert refused.returncode == 2 and "error:" in refused.stderr, refused.stderr
        if out == ".skops":  # it does end so: the name before it is what lacks
            assert "has no name before its suffix; give one, such as name.skops" in refused.stderr
        assert "trial" not in refused.stderr
    assert not list(work.glob(".outdir*")) and not list(work.glob("*.pdf"))
    if os.geteuid() != 0:  # root writes anywhere
        locked = work / "locked"
        locked.mkdir(mode=0o555, exist_ok=True)
        refused = run(*SEARCH, "--n-trials", "5", *FAST, "--report", "locked/r.html", cwd=work)
        assert refused.returncode == 2 and "is not writable" in refused.stderr


@pytest.mark.slow
def test_search_by_group_keeps_the_group_column_out_of_features(tmp_path):
    X, y = datasets.load("ecoli1", return_X_y=True)
    frame = X.assign(patient=np.arange(len(y)) // 4, target=y)
    frame.to_csv(tmp_path / "visits.csv", index=False)
    done = run(
        "search",
        "visits.csv",
        "--target",
        "target",
        "--group",
        "patient",
        "--n-trials",
        "3",
        *FAST,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    study = study_of(tmp_path / "visits.optuna.log")
    assert study.user_attrs["autoimb"]["split"] == "group"
    model = autoimb.load(tmp_path / "visits.skops")
    assert "patient" not in model.model_card_["schema"]["columns"]
    assert model.model_card_["split"] == "group"
    # The report's curves come from the same kind of folds: a patient on both sides of a
    # fold would show scores the group folds never promised.
    # The model records the search's --group: the report takes it from there (it refused the
    # file, whose patient column it would have read as a feature, unless told again).
    report = ["report", "visits.skops", "--data", "visits.csv"]
    recorded = run(*report, "--out", "recorded.html", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert "the search's columns: --target target, --group patient" in recorded.stderr
    assert "warning" not in recorded.stderr  # the group column is not read as a feature
    grouped = run(*report, "--target", "target", "--group", "patient", "--out", "g.html",
                  cwd=tmp_path)  # fmt: skip
    assert grouped.returncode == 0, grouped.stderr
    assert "the search's columns" not in grouped.stderr and "warning" not in grouped.stderr
    refused = run(
        "search",
        "visits.csv",
        "--target",
        "target",
        "--group",
        "patient",
        "--cv-split",
        "time",
        "--n-trials",
        "1",
        "--new-study",
        *FAST,
        cwd=tmp_path,
    )
    assert refused.returncode == 2 and "drop one of them" in refused.stderr


def test_a_report_on_a_model_without_its_study_says_how_to_name_it(
    searched, work, tmp_path, capsys
):
    (tmp_path / "moved.skops").write_bytes((work / "ecoli.skops").read_bytes())
    assert main(["report", str(tmp_path / "moved.skops"), "--out", str(tmp_path / "r.html")]) == 0
    err = capsys.readouterr().err
    assert "no study next to the model (moved.optuna.log)" in err and "--storage URL" in err


def test_report_writes_a_flat_leaderboard_csv(searched, work, monkeypatch):
    monkeypatch.chdir(work)
    args = ["report", "--storage", "ecoli.optuna.log", "--out", "lb.html", "--leaderboard"]
    assert main([*args, "lb.csv"]) == 0
    board = pd.read_csv(work / "lb.csv")
    study = study_of(work / "ecoli.optuna.log")
    assert len(board) == len([t for t in study.trials if t.state != TrialState.WAITING])
    assert list(board.columns[:4]) == ["trial", "state", "score", "metric"]
    assert set(board["metric"]) == {study.user_attrs["autoimb"]["metric"]}  # what score is
    assert {"model", "fold_0", "fold_1", "fold_2"} <= set(board.columns)
    assert any(c.startswith("model.") for c in board.columns)
    # No cell holds a nested value: every column is a plain number or text.
    assert not board.astype(str).apply(lambda c: c.str.startswith(("{", "["))).any().any()
    (work / "mine.csv").write_text("a,b\n1,2\n")
    assert main([*args, "mine.csv"]) == 2  # a file autoimb did not write is kept
    assert main([*args, "lb.csv"]) == 0  # its own is replaced
    assert main([*args, "lb.parquet"]) == 0  # mixed columns (max_features "sqrt" or 0.5) too
    assert pd.read_parquet(work / "lb.parquet").shape == board.shape
    text = (work / "lb.html").read_text()
    assert text.count("need its out-of-fold predictions") == 1  # said once, not per section


@pytest.mark.slow
def test_dates_in_a_csv_are_read_at_search_and_predict(small_binary, tmp_path):
    X, y = small_binary
    times = pd.date_range("2021-03-01 08:00", periods=len(X), freq="7h")
    X = X.assign(signup=times.strftime("%Y-%m-%d %H:%M:%S"))
    X.assign(target=y).to_csv(tmp_path / "d.csv", index=False)
    done = run("search", "d.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert autoimb.load(tmp_path / "d.skops").model_card_["schema"]["dates"] == {
        "signup": ["month", "weekday", "hour"]
    }
    X.iloc[:20].to_csv(tmp_path / "new.csv", index=False)
    predicted = run("predict", "d.skops", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == 20
    assert "warning" not in predicted.stderr
    X.iloc[:20].assign(signup=X["signup"].iloc[:20] + "+02:00").to_csv(
        tmp_path / "z.csv", index=False
    )
    zoned = run("predict", "d.skops", "z.csv", "--out", "z_out.csv", cwd=tmp_path)
    assert zoned.returncode == 0, zoned.stderr
    assert "autoimb: warning: column 'signup': its dates in training named no time zone" in (
        zoned.stderr
    )


@pytest.mark.slow
def test_rows_without_a_label_are_left_out_with_a_warning(small_binary, tmp_path):
    X, y = small_binary
    labels = pd.Series(y, dtype=object)
    labels[[3, 10]] = None
    X.assign(target=labels).to_csv(tmp_path / "d.csv", index=False)
    done = run("search", "d.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        "autoimb: warning: 2 row(s) without a 'target' label left out (data row(s) 4, 11, "
        "counting from 1)" in done.stderr
    )
    study = study_of(tmp_path / "d.optuna.log")
    assert finished_trials(study) == 1
    card = autoimb.load(tmp_path / "d.skops").model_card_
    assert card["data"]["rows"] == len(X) - 2
    assert card["classes"] == [0, 1]  # the file's whole numbers, not 0.0 and 1.0


@pytest.mark.slow
def test_a_search_whose_trials_all_tie_says_so(small_binary, tmp_path):
    X, y = small_binary
    X.assign(target=y).to_csv(tmp_path / "d.csv", index=False)
    done = run(
        "search", "d.csv", "--target", "target", "--metric", "precision", "--n-trials", "3",
        "--cv", "5", "--seed", "0", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        "autoimb: warning: all 3 completed trials scored precision = 1.0000: the metric does "
        "not tell the strategies apart" in done.stderr
    )


def test_written_files_get_the_mode_a_plain_write_would(tmp_path):
    from autoimb.cli.outputs import write_atomic

    def write(path: Path) -> None:
        path.write_text("a,b\n1,2\n")

    previous = os.umask(0o022)
    try:
        fresh = write_atomic(tmp_path / "scores.csv", write)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not the temporary file's 0600
    fresh.chmod(0o640)
    assert stat.S_IMODE(write_atomic(fresh, write).stat().st_mode) == 0o640


def test_a_write_killed_before_its_rename_leaves_no_file_for_good(tmp_path):
    """kill -9 mid-write leaves the hidden temporary file; the next write of the same file
    removes it once it is old enough to belong to no write still going on."""
    from autoimb.atomic import LEFT_OVER_SECONDS
    from autoimb.cli.outputs import write_atomic

    killed, fresh = tmp_path / ".m.skops.abc123.skops", tmp_path / ".m.skops.def456.skops"
    killed.write_text("half a model")
    fresh.write_text("another process writing now")
    past = time.time() - LEFT_OVER_SECONDS - 60
    os.utime(killed, (past, past))
    other = tmp_path / ".other.skops.ghi789.skops"  # another file's
    other.write_text("x")
    os.utime(other, (past, past))
    write_atomic(tmp_path / "m.skops", lambda path: path.write_text("model"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.skops", fresh.name, other.name])


@pytest.mark.slow
def test_a_cost_says_it_is_per_row_and_lower_is_better(work):
    done = run(*SEARCH[:-2], "--metric", "cost:fn=10,fp=1", "--n-trials", "1", *FAST,
               "--out", "cost.skops", "--storage", "cost.log", cwd=work)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(
        r"^best cost:fn=10,fp=1: [0-9.]+ per row, lower is better \(", done.stdout, re.M
    )


@pytest.mark.parametrize(
    ("library", "command_line"),
    [
        ("X has 1 column(s) the model was not trained on", "the data has 1 column(s) the"),
        ("every column of X is constant", "every column of the data is constant"),
        ("X's column(s) ['a'] are missing", "the data's column(s) ['a'] are missing"),
        ("y has only one class", "the --target column has only one class"),
        ("cv must be at least 2 folds; got 1", "--cv must be at least 2 folds; got 1"),
        ("pass X.drop(columns='y')", "pass X.drop(columns='y')"),  # code stays code
        ("column 'X' held dates", "column 'X' held dates"),  # a column named X is a name
        (
            "pos_label 'maybe' is not a class of y (['no'])",
            "--pos-label 'maybe' is not a class of the --target column (['no'])",
        ),
    ],
)
def test_library_messages_name_the_data_as_the_command_line_gives_it(library, command_line):
    from autoimb.cli.console import as_options

    assert as_options(library).startswith(command_line)


@pytest.mark.slow
def test_a_batch_whose_text_categories_hold_only_digits_is_read_as_training_read_them(
    small_binary, tmp_path
):
    """A category written "007", "012", "5more": a day's rows without "5more" read as numbers
    by themselves, 7 and 12. Predict reads them as the text they are, as training did."""
    X, y = small_binary
    codes = np.array(["007", "012", "5more"])[np.arange(len(X)) % 3]
    X = X.assign(plan=codes)
    X.assign(target=y).to_csv(tmp_path / "d.csv", index=False)
    done = run("search", "d.csv", "--target", "target", "--n-trials", "1", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    batch = X[X["plan"] != "5more"].head(40)
    batch.to_csv(tmp_path / "batch.csv", index=False)
    predicted = run("predict", "d.skops", "batch.csv", "--out", "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "never seen" not in predicted.stderr
    expected = autoimb.load(tmp_path / "d.skops").predict_proba(batch)[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["proba_1"], expected)


def test_a_category_column_of_numbers_is_read_back_from_a_csv_as_numbers(small_binary, tmp_path):
    """Trained in Python on a pandas category of region codes, predicted from a CSV where a
    gap made pandas write 4.0 for 4: the same categories, not unseen text."""
    X, y = small_binary
    X = X.assign(region=pd.Categorical(np.arange(len(X)) % 4 + 1))
    result = autoimb.search(X, y, n_trials=1, space="fast", cv=3, random_state=0)
    result.save(tmp_path / "m.skops")
    batch = X.head(40).astype({"region": float})
    batch.loc[batch.index[0], "region"] = np.nan
    batch.to_csv(tmp_path / "batch.csv", index=False)
    done = run("predict", "m.skops", "batch.csv", "--out", "p.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "never seen" not in done.stderr
    expected = result.predict_proba(X.head(40).assign(region=batch["region"]))[:, 1]
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv")["proba_1"], expected)


def test_the_command_line_embedded_with_an_error_stream_that_is_not_a_file(tmp_path, monkeypatch):
    """``main`` is for embedding: a stream with ``write`` and ``flush`` alone took down the
    search where the Python API's progress works with it."""
    import contextlib

    class Lines:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    stream = Lines()
    with contextlib.redirect_stderr(stream):  # type: ignore[type-var]
        code = main([*SEARCH, *FAST, "--n-trials", "2"])
    assert code == 0, stream.text
    assert "trial" in stream.text and "\r" not in stream.text


@pytest.mark.slow
def test_a_report_forced_on_a_weighted_searchs_rows_without_weights_is_written(tmp_path):
    """The data check said --force would do; the report then refused all the same."""
    frame = ecoli_with_ids(tmp_path)
    frame = frame.assign(w=1.0 + np.arange(len(frame)) % 3)
    frame.to_csv(tmp_path / "w.csv", index=False)
    args = ["--target", "target", "--id", "row_id", *FAST, "--n-trials", "1"]
    searched = run("search", "w.csv", *args, "--weight", "w", "--out", "w.skops", cwd=tmp_path)
    assert searched.returncode == 0, searched.stderr
    frame.drop(columns="w").to_csv(tmp_path / "now.csv", index=False)
    report = ["report", "w.skops", "--data", "now.csv", "--target", "target", "--id", "row_id"]
    refused = run(*report, "--out", "r.html", cwd=tmp_path)
    assert refused.returncode == 2 and "these rows are not weighted" in refused.stderr
    forced = run(*report, "--out", "r.html", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "r.html").exists()


@pytest.fixture
def immutable():
    """Files made immutable (``chattr +i``: not even root may replace them); root only."""
    made: list[Path] = []

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode or os.geteuid() != 0:
            pytest.skip(f"a file cannot be made immutable here: {done.stderr.strip()}")
        made.append(path)
        return path

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def _given(line: str, folder: str) -> list[str]:
    """The command a message line ends with, its placeholder folder made ``folder``."""
    command = shlex.split(line.split(" with: ", 1)[1].replace("FOLDER/", f"{folder}/"))
    assert command[0] == "autoimb"
    return command[1:]


@pytest.mark.slow
def test_a_model_that_cannot_be_written_keeps_the_trials_and_says_how_to_save_it(
    tmp_path, immutable
):
    """The error named a hidden temporary file, with no word of the trials or of how to go
    on; and another --out, as it advised, started a fresh study (the journal follows --out's
    name). The command it gives keeps --storage: the study goes on."""
    ecoli_with_ids(tmp_path)
    immutable(tmp_path / "models" / "m.skops")
    search = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", *FAST]
    done = run(*search, "--n-trials", "2", "--out", "models/m.skops", "--force", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    *_, error, again = done.stderr.strip().splitlines()
    assert error == (
        "autoimb: error: cannot write the model models/m.skops (Operation not permitted); "
        "every finished trial (2 trials) is kept in models/m.optuna.log"
    )
    assert "--storage models/m.optuna.log --out FOLDER/m.skops" in again
    saved = run(*_given(again, "saved"), cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "saved" / "m.skops").is_file()
    assert finished_trials(study_of(tmp_path / "models" / "m.optuna.log")) == 4


@pytest.mark.slow
def test_a_report_that_cannot_be_written_says_the_model_was_saved_and_how_to_write_it(
    tmp_path, immutable
):
    """Only 'cannot write rep/r.html' was said: no summary, no word that the model was
    saved."""
    ecoli_with_ids(tmp_path)
    immutable(tmp_path / "rep" / "r.html")
    search = ["search", "ecoli.csv", "--target", "target", "--id", "row_id", *FAST]
    done = run(*search, "--n-trials", "2", "--report", "rep/r.html", "--force", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "model:    ecoli.skops" in done.stdout
    *_, error, again = done.stderr.strip().splitlines()
    assert error == (
        "autoimb: error: cannot write the report rep/r.html (Operation not permitted); the "
        "model was saved to ecoli.skops"
    )
    written = run(*_given(again, "reports"), cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "reports" / "r.html").is_file()


def test_a_kept_models_summary_says_what_a_new_ones_does(small_binary, capsys):
    """The summary of a model kept from before left out its interval, its positive class and
    the way on with the study."""
    import argparse

    from autoimb.cli.model_file import kept_summary

    X, y = small_binary
    result = autoimb.search(X, y, metric="f1", n_trials=1, space="fast", cv=3, random_state=0)
    card = result.best_pipeline.model_card_
    args = argparse.Namespace(report=None, quiet=False, study_name="autoimb", new_study=False)
    kept = kept_summary(
        card, result.study, result.metric, Path("m.skops"), None, "m.optuna.log", args
    )
    assert kept == 0
    said = capsys.readouterr().out
    low, high = card["score_interval"]
    assert f"80% likely between {low:.4f} and {high:.4f}" in said
    assert f"positive: {card['positive_class']} (the class the metric measures)" in said
    assert "model:    m.skops (kept)" in said
    assert "(run the same command again to continue it)" in said
