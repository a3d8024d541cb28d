"""Resuming a study from the command line: it goes on with what it was created with, or is
refused before any trial runs; a new study beside it writes its own model."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from conftest import ecoli_with_ids, start_cli
from conftest import run_cli as run
from optuna.trial import TrialState

import autoimb
from autoimb import datasets
from autoimb.engine.storage import left_by_stopped_runs, make_storage, worker_id
from autoimb.leaderboard import finished_trials, flat_leaderboard

FAST = ["--cv", "3", "--seed", "0"]
SEARCH = ["search", "ecoli.csv", "--target", "target", "--id", "row_id"]


def _pressed(*args, **kwargs):
    """Ctrl-C, wherever it stands in."""
    raise KeyboardInterrupt


def study_of(path: Path, name: str = "autoimb") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=make_storage(str(path)))


@pytest.fixture
def ecoli(tmp_path: Path) -> Path:
    """ecoli1 with an id column, searched once with the fast space."""
    frame = datasets.load("ecoli1")
    frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "ecoli.csv", index=False)
    done = run(*SEARCH, "--space", "fast", "--n-trials", "2", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


@pytest.mark.slow
def test_a_resume_with_another_space_is_refused_before_any_trial(ecoli):
    trials = len(study_of(ecoli / "ecoli.optuna.log").trials)
    refused = run(*SEARCH, "--space", "default", "--n-trials", "2", *FAST, cwd=ecoli)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autoimb: error: study 'autoimb'")
    assert "created with search space 'fast'" in lines[0] and "--new-study" in lines[0]
    assert "resuming" not in refused.stderr
    assert len(study_of(ecoli / "ecoli.optuna.log").trials) == trials
    # Left out, --space and --cv are the study's own (3 folds, not 5): the resume runs, and
    # no trial fails.
    resumed = run(*SEARCH, "--n-trials", "2", "--seed", "0", cwd=ecoli)
    assert resumed.returncode == 0, resumed.stderr
    study = study_of(ecoli / "ecoli.optuna.log")
    assert finished_trials(study) == 4
    assert not [t for t in study.trials if t.state == TrialState.FAIL]


@pytest.mark.slow
def test_a_folder_moved_with_its_study_resumes_and_updates_its_model(ecoli, tmp_path_factory):
    """The model's record held its absolute path: after a move, the study's own model was
    refused as "not written by this study". Its model card names the study."""
    import shutil

    moved = tmp_path_factory.mktemp("elsewhere") / "project"
    shutil.move(str(ecoli), moved)
    resumed = run(*SEARCH, "--n-trials", "1", *FAST, cwd=moved)
    assert resumed.returncode == 0, resumed.stderr
    assert finished_trials(study_of(moved / "ecoli.optuna.log")) == 3
    # Another study's model there is still the user's to give up, or its study to resume.
    other = run(
        *SEARCH, "--n-trials", "1", *FAST, "--out", "ecoli.skops", "--study-name", "b", cwd=moved
    )
    assert other.returncode == 2 and "add --study-name autoimb to resume it" in other.stderr


@pytest.mark.slow
def test_a_new_study_writes_its_own_model_and_its_report_finds_it(ecoli):
    first = (ecoli / "ecoli.skops").read_bytes()
    new = run(*SEARCH, "--space", "fast", "--n-trials", "1", *FAST, "--new-study", cwd=ecoli)
    assert new.returncode == 0, new.stderr
    assert "model:    ecoli-autoimb-2.skops" in new.stdout
    assert "--study-name autoimb-2)" in new.stdout and "--new-study" not in new.stdout
    assert (ecoli / "ecoli.skops").read_bytes() == first
    assert finished_trials(study_of(ecoli / "ecoli.optuna.log", "autoimb-2")) == 1
    named = run(*SEARCH, "--n-trials", "1", *FAST, "--study-name", "b", cwd=ecoli)
    assert named.returncode == 0, named.stderr
    assert (ecoli / "ecoli-b.skops").is_file()
    # The model of a new study leads its report to that study, in DATA's journal.
    report = run("report", "ecoli-autoimb-2.skops", "--leaderboard", "board.csv", cwd=ecoli)
    assert report.returncode == 0, report.stderr
    assert len(pd.read_csv(ecoli / "board.csv")) == 1
    # Resumed by name, the study updates the model it wrote.
    again = run(*SEARCH, "--n-trials", "1", *FAST, "--study-name", "autoimb-2", cwd=ecoli)
    assert again.returncode == 0, again.stderr
    assert "1 trial already finished" in again.stderr


@pytest.mark.slow
def test_a_resume_keeps_the_studys_positive_class_and_says_so_once_accepted(tmp_path):
    frame = datasets.load("ecoli1")
    frame["target"] = frame["target"].map({0: "no", 1: "yes"})
    frame.to_csv(tmp_path / "yn.csv", index=False)
    search = ["search", "yn.csv", "--target", "target", "--space", "fast", *FAST]
    assert run(*search, "--n-trials", "1", "--pos-label", "no", cwd=tmp_path).returncode == 0
    # Without --pos-label, a resume measures the class the study measures.
    resumed = run(*search, "--n-trials", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming study 'autoimb' in yn.optuna.log: 1 trial already finished" in (resumed.stderr)
    assert autoimb.load(tmp_path / "yn.skops").model_card_["positive_class"] == "no"
    # A refusal is not announced as a resume, and its hint names the command line's option.
    other = run(*search, "--n-trials", "1", "--pos-label", "yes", cwd=tmp_path)
    assert other.returncode == 2
    assert "resuming" not in other.stderr
    assert "pass --pos-label no to resume it" in other.stderr and "pos_label=" not in other.stderr
    folds = run(*search[:-4], "--cv", "5", "--seed", "0", "--n-trials", "1", cwd=tmp_path)
    assert folds.returncode == 2 and "resuming" not in folds.stderr
    assert "Use the same --cv" in folds.stderr and "--new-study" in folds.stderr
    metric = run(*search, "--n-trials", "1", "--metric", "mcc", cwd=tmp_path)
    assert metric.returncode == 2 and "use the same --metric to resume it" in metric.stderr
    assert "--new-study or --study-name NAME" in metric.stderr


@pytest.mark.slow
def test_a_trial_cut_by_ctrl_c_reads_interrupted_and_is_not_counted(tmp_path):
    """A forest of 1,000 trees takes a trial about a second and a half here, so Ctrl-C half a
    second after a trial ends lands inside the next."""
    command = _slow_search(tmp_path, trees=1000)
    process = start_cli(*command, "--n-trials", "50", cwd=tmp_path)
    _wait_for(process, r"trial +\d+ average_precision=")  # one line per trial: not a terminal
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=180)
    assert process.returncode == 130
    study = study_of(tmp_path / "ecoli.optuna.log")
    board = flat_leaderboard(study)
    cut = board[board["state"] == "INTERRUPTED"]
    assert len(cut) == 1, board[["trial", "state", "stopped"]]
    assert cut["stopped"].iloc[0].startswith("interrupted before it finished (Ctrl-C)")
    assert "queued again as trial" in cut["stopped"].iloc[0]
    assert finished_trials(study) == (board["state"] == "COMPLETE").sum()
    resumed = run(*command, "--n-trials", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    finished = int((board["state"] == "COMPLETE").sum())
    assert re.search(rf"\b{finished} trials? already finished", resumed.stderr)


def test_sigterm_is_taken_as_ctrl_c(tmp_path):
    """What timeout, a batch scheduler or docker stop send: it killed the search with no
    model and no word."""
    command = _slow_search(tmp_path, trees=1000)
    process = start_cli(*command, "--time-budget", "600", cwd=tmp_path)
    _wait_for(process, r"trial +\d+ average_precision=")
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=180)
    assert process.returncode == 143  # 128 + SIGTERM, as a shell reports it, rest
    assert "saving the best pipeline so far" in rest and "resume with: autoimb search" in rest
    card = autoimb.load(tmp_path / "ecoli.skops").model_card_
    assert card["time_budget"] == 600 and card["stopped"]  # the budget given, as the report says


@pytest.mark.slow
def test_ctrl_c_again_skips_the_save_and_still_says_how_to_resume(tmp_path):
    """A forest of 5,000 trees takes its refit seconds, so the second Ctrl-C lands in it
    (almost always: see below)."""
    command = _slow_search(tmp_path, trees=5000)
    process = start_cli(*command, "--n-trials", "50", cwd=tmp_path)
    _wait_for(process, r"trial +\d+ average_precision=")
    process.send_signal(signal.SIGINT)
    _wait_for(process, r"autoimb: saving the best pipeline so far")
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=180)
    assert process.returncode == 130, rest
    assert "resume with: autoimb search ecoli.csv" in rest
    # Python swallows a Ctrl-C that lands in a callback it runs (an import lock's, a
    # finaliser's): then the save goes on. Either way the two agree.
    skipped = "interrupted again: nothing more was saved" in rest
    assert skipped != (tmp_path / "ecoli.skops").exists(), rest


def _slow_search(folder: Path, trees: int) -> list[str]:
    """ecoli1 searched with one large balanced forest: trials and refits that take seconds."""
    datasets.load("ecoli1").to_csv(folder / "ecoli.csv", index=False)
    (folder / "slow.yaml").write_text(
        f"name: slow\nmodel:\n  balanced_random_forest:\n    n_estimators: {trees}\n"
        "    min_samples_leaf: {type: int, low: 1, high: 5, default: 1}\n"
    )
    return ["search", "ecoli.csv", "--target", "target", "--space", "slow.yaml", *FAST]


def _wait_for(process: subprocess.Popen[str], pattern: str) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if re.match(pattern, line):
            return
    raise AssertionError(f"the command ended without a line matching {pattern!r}")


@pytest.mark.slow
def test_ctrl_c_that_also_stops_the_reader_of_the_output_still_saves(tmp_path):
    """``autoimb search … 2>&1 | tee log`` and Ctrl-C: tee stops too, so every line written
    after it fails; the best model so far is saved all the same, and the exit code says so."""
    command = _slow_search(tmp_path, trees=200)
    process = start_cli(*command, "--n-trials", "50", cwd=tmp_path)
    _wait_for(process, r"trial +\d+ average_precision=")
    assert process.stderr is not None and process.stdout is not None
    process.stderr.close()  # the reader is gone
    process.stdout.close()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=180) == 130
    assert (tmp_path / "ecoli.skops").exists()


@pytest.mark.slow
def test_a_study_resumed_or_joined_on_other_labels_or_values_says_so(ecoli):
    """Not "--pos-label" (never given) nor "--force" (a worker has none): the data differs."""
    frame = pd.read_csv(ecoli / "ecoli.csv")
    three = frame.assign(target=frame["target"].where(frame.index >= 30, 2))
    three.to_csv(ecoli / "three.csv", index=False)
    named = frame.assign(target=frame["target"].map({0: "ok", 1: "defect"}))
    named.to_csv(ecoli / "named.csv", index=False)
    frame.assign(x0=frame["x0"].where(frame.index != 5, 9.0)).to_csv(ecoli / "one.csv", index=False)
    for data in ("three.csv", "named.csv"):
        for command in ("search", "worker"):
            args = [command, data, *SEARCH[2:], "--n-trials", "1"]
            done = run(*args, "--storage", "ecoli.optuna.log", cwd=ecoli)
            assert done.returncode == 2, done.stderr
            assert "its classes are ['0', '1'], this data's" in done.stderr, done.stderr
            assert "--pos-label" not in done.stderr
    joined = run("worker", "one.csv", *SEARCH[2:], "--storage", "ecoli.optuna.log", cwd=ecoli)
    assert joined.returncode == 2
    assert "but other values" in joined.stderr and "give it the data the study" in joined.stderr
    assert "--force" not in joined.stderr and "--new-study" not in joined.stderr


@pytest.mark.slow
def test_a_resume_with_another_seed_says_the_study_keeps_its_own(ecoli):
    again = run(*SEARCH, "--n-trials", "1", "--cv", "3", "--seed", "7", cwd=ecoli)
    assert again.returncode == 0, again.stderr
    said = (
        "--seed 7 does not seed the folds and models of study 'autoimb': they keep its own seed (0)"
    )
    assert said in again.stderr
    assert "It only seeds this run's draws of strategies" in again.stderr
    assert "(autoimb search --new-study, or --study-name NAME)" in again.stderr


@pytest.mark.slow
def test_a_worker_says_the_study_keeps_its_seed_and_how_to_give_its_class(ecoli):
    """The worker took the study's seed in silence, where a resume says so; its refusal of
    another positive class said what was wrong and not what to give."""
    worker = ["worker", *SEARCH[1:], "--storage", "ecoli.optuna.log", "--n-trials", "1"]
    joined = run(*worker, "--seed", "7", "--quiet", cwd=ecoli)
    assert joined.returncode == 0, joined.stderr
    said = "--seed 7 goes unused: a worker searches with the seed of study 'autoimb' (0)"
    assert said in joined.stderr
    refused = run(*worker, "--pos-label", "0", cwd=ecoli)
    assert refused.returncode == 2, refused.stderr
    assert "every worker must search for the same class: leave --pos-label out" in refused.stderr
    assert "give the study's own, --pos-label 1." in refused.stderr


@pytest.mark.slow
def test_the_model_card_keeps_the_budget_the_command_was_given(ecoli):
    """The card held what start-up (imports, reading the data) left of --time-budget, and the
    report said "time_budget=6.87 s" for a search given 10."""
    from autoimb.export import load

    search = [*SEARCH, "--n-trials", "1", *FAST, "--time-budget", "10", "--report", "r.html"]
    worker = ["worker", *SEARCH[1:], "--storage", "ecoli.optuna.log", "--n-trials", "1"]
    for command in (search, [*worker, "--time-budget", "9", "--out", "w.skops"]):
        done = run(*command, cwd=ecoli)
        assert done.returncode == 0, done.stderr
    for model, given in (("ecoli.skops", 10), ("w.skops", 9)):
        card = load(ecoli / model).model_card_
        assert card["time_budget"] == given
        assert 0 < card["time_left_at_start"] < given  # what the trials had, kept apart
    assert "time_budget=10 s for the run that saved it" in (ecoli / "r.html").read_text()


@pytest.mark.slow
def test_a_models_report_on_a_study_not_its_own_is_refused(ecoli):
    """Its Winner (this model's trial and metric) stood over another study's leaderboard and
    history, without a word."""
    other = run(*SEARCH, "--n-trials", "1", *FAST, "--new-study", cwd=ecoli)
    assert other.returncode == 0, other.stderr
    apart = run(
        *SEARCH, "--n-trials", "1", *FAST, "--storage", "apart.log", "--out", "a.skops", cwd=ecoli
    )
    assert apart.returncode == 0, apart.stderr
    for options, whose, alone in (
        (
            ["--study-name", "autoimb-2"],
            "study 'autoimb'",
            "ecoli.optuna.log --study-name autoimb-2",
        ),
        (
            ["--storage", "apart.log"],
            "another study named 'autoimb'",
            "apart.log --study-name autoimb",
        ),
    ):
        report = run("report", "ecoli.skops", *options, "--out", "r.html", cwd=ecoli)
        assert report.returncode == 2, report.stderr
        assert (
            f"ecoli.skops was saved from {whose} (--storage ecoli.optuna.log --study-name "
            "autoimb), not from study" in report.stderr
        )
        assert f"alone with autoimb report --storage {alone} (without the model)" in report.stderr
        assert not (ecoli / "r.html").exists()
    # Its own study, found beside it or named, is reported on as before.
    own = run(
        "report", "ecoli.skops", "--storage", "ecoli.optuna.log", "--out", "r.html", cwd=ecoli
    )
    assert own.returncode == 0, own.stderr


@pytest.mark.slow
def test_a_journal_files_folder_is_made_as_the_outputs_are(ecoli):
    args = ["--storage", "runs/a/j.log", "--out", "j.skops"]
    done = run(*SEARCH, "--n-trials", "1", *FAST, *args, cwd=ecoli)
    assert done.returncode == 0, done.stderr
    assert (ecoli / "runs" / "a" / "j.log").exists()


@pytest.mark.slow
def test_a_report_on_a_journal_of_several_studies_names_the_others(ecoli):
    other = run(*SEARCH, "--n-trials", "1", *FAST, "--new-study", cwd=ecoli)
    assert other.returncode == 0, other.stderr
    report = run("report", "ecoli.optuna.log", "--out", "j.html", cwd=ecoli)
    assert report.returncode == 0, report.stderr
    assert "reporting study 'autoimb'; ecoli.optuna.log also holds ['autoimb-2']" in report.stderr
    second = run("report", "ecoli.optuna.log", "--study-name", "autoimb-2", cwd=ecoli)
    assert second.returncode == 0, second.stderr
    assert (ecoli / "ecoli-autoimb-2.html").exists()  # beside, not over, the first's report


@pytest.mark.slow
def test_a_worker_started_before_its_search_waits_for_the_study(tmp_path):
    """A scheduler starts the search and its workers at once."""
    ecoli_with_ids(tmp_path)
    common = ["ecoli.csv", "--target", "target", "--id", "row_id", "--storage", "w.log"]
    worker = start_cli("worker", *common, "--n-trials", "1", cwd=tmp_path)
    time.sleep(1.0)
    search = run("search", *common, "--space", "fast", *FAST, "--n-trials", "2", cwd=tmp_path)
    assert search.returncode == 0, search.stderr
    _, said = worker.communicate(timeout=180)
    assert worker.returncode == 0, said
    # The journal file may be made by then, or not yet: either is what it waits for.
    assert re.search(
        r"w\.log does not exist yet: waiting up to 60 s for a search to create it|waiting "
        r"up to 60 s for the search to create study 'autoimb' in w\.log",
        said,
    ), said


def test_a_resume_on_another_kind_of_folds_names_the_split_that_resumes_it(ecoli):
    """The same --cv on time folds is refused: the fix names --cv-split, which --cv is not."""
    trials = len(study_of(ecoli / "ecoli.optuna.log").trials)
    refused = run(*SEARCH, "--n-trials", "1", "--cv", "5", "--cv-split", "time", cwd=ecoli)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "autoimb: error: study 'autoimb' was searched on 3 stratified folds, not 5 time folds; "
        "its scores would not compare. Resume it with --cv 3 --cv-split stratified (leaving "
        "--cv-split out takes the study's own), or start another study with --new-study or "
        "--study-name NAME."
    ]
    assert len(study_of(ecoli / "ecoli.optuna.log").trials) == trials


def test_a_study_on_a_splitter_of_its_own_is_told_to_go_on_in_python(tmp_path, capsys):
    """A study searched from Python on a KFold of the user's: no --cv or --cv-split can
    rebuild it, so the advice to resume it with the same --cv could not be followed."""
    from sklearn.model_selection import KFold

    from autoimb.cli.main import main

    frame = datasets.load("ecoli1")
    frame.to_csv(tmp_path / "e.csv", index=False)
    X, y = frame.drop(columns="target"), frame["target"]
    storage = str(tmp_path / "e.optuna.log")
    autoimb.search(X, y, n_trials=1, cv=KFold(3, shuffle=True, random_state=0), space="fast",
                   storage=storage, warm_start=None, ensemble=False, importance=False)  # fmt: skip
    args = ["search", str(tmp_path / "e.csv"), "--target", "target", "--n-trials", "1"]
    for more in ([], ["--cv", "3"]):
        assert main([*args, "--storage", storage, *more]) == 2
        assert "cannot be rebuilt from the study; continue it from Python with the same cv" in (
            capsys.readouterr().err
        )


def test_a_model_of_another_study_names_the_options_that_resume_it(ecoli):
    """A resume that left out --storage meets its study's model: --force would throw that
    study's model away, so the options that resume it come first."""
    from autoimb.cli.model_file import check_overwrite

    refused = run(*SEARCH, "--storage", "other.optuna.log", *FAST, cwd=ecoli)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "autoimb: error: ecoli.skops already exists, written by study 'autoimb' in "
        "ecoli.optuna.log; add --storage ecoli.optuna.log to resume it, pass --force to "
        "overwrite it, or --out another path."
    ]
    assert not (ecoli / "other.optuna.log").exists()
    # Nor is an SQLite file made just to look for its study (it was left with empty tables).
    folder = ecoli / "sp ace"
    folder.mkdir()
    url = f"sqlite:///{folder / 's.db'}"
    refused = run(*SEARCH, "--storage", url, "--out", str(ecoli / "ecoli.skops"), cwd=ecoli)
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert not any(folder.iterdir())
    # A database's study keeps only its name in the card (its URL may hold a password).
    pipeline = autoimb.load(ecoli / "ecoli.skops")
    del pipeline.model_card_["study"]["storage"]
    autoimb.export.save(pipeline, ecoli / "db.skops")
    with pytest.raises(autoimb.AutoImbError, match="written by study 'autoimb' in a database; "
                       "pass its database's --storage to resume it"):  # fmt: skip
        check_overwrite(ecoli / "db.skops", False, None, "db.optuna.log", "autoimb")


@pytest.mark.slow
def test_a_resume_with_nothing_better_keeps_the_saved_model(ecoli):
    """A short resume, or Ctrl-C, finishes with less time for the ensemble and its measure;
    while no trial beats the study's best when the model was saved, the model stays. The same
    command run again keeps it, and says so."""
    from autoimb.cli.model_file import saved_model_to_keep
    from autoimb.engine.remeasure import CHOSEN_ON, FRESH, NESTED
    from autoimb.metrics.registry import get_metric

    out = ecoli / "ecoli.skops"
    before = out.read_bytes()
    card = autoimb.load(out).model_card_
    study = study_of(ecoli / "ecoli.optuna.log")
    metric = get_metric(card["metric"])
    assert card["study_best"] == study.best_value
    lesser = {"trial": None, "score_basis": CHOSEN_ON}
    kept, why = saved_model_to_keep(out, study, lesser, metric)
    assert kept["trial"] == card["trial"] and "no trial finished since it was saved" in why
    # A better-measured model than a saved optimistic one replaces it.
    optimistic = out.with_name("optimistic.skops")
    pipeline = autoimb.load(out)
    pipeline.model_card_["score_basis"] = CHOSEN_ON
    autoimb.export.save(pipeline, optimistic)
    study.set_user_attr("model_file", [str(out.resolve()), str(optimistic.resolve())])
    assert saved_model_to_keep(optimistic, study, {"score_basis": FRESH}, metric) is None
    # A saved model that passed over a better trial for time is no finished run's best: a run
    # that serves that trial replaces it, though no trial beat the study's best since.
    best = study.best_trial.number
    served_less = out.with_name("served_less.skops")
    pipeline = autoimb.load(out)
    pipeline.model_card_.update(trial=1 - best, too_slow_to_refit=[best])
    autoimb.export.save(pipeline, served_less)
    study.set_user_attr("model_file", [str(served_less.resolve())])
    assert saved_model_to_keep(served_less, study, {"trial": best}, metric) is None
    # One that passed over only a lesser trial was that run's best: an ensemble measured
    # nested stays over this run's lone trial measured on fresh folds.
    ensemble = out.with_name("ensemble.skops")
    pipeline = autoimb.load(out)
    pipeline.model_card_.update(trial=None, too_slow_to_refit=[1 - best], score_basis=NESTED)
    autoimb.export.save(pipeline, ensemble)
    study.set_user_attr("model_file", [str(ensemble.resolve())])
    alone = {"trial": best, "score_basis": FRESH, "cv_score": card["cv_score"] - 0.01}
    kept, why = saved_model_to_keep(ensemble, study, alone, metric)
    assert kept["trial"] is None and "no trial finished since it was saved (an ensemble" in why
    # A trial better than the study's best then: replaced.
    study.add_trial(optuna.trial.create_trial(value=card["study_best"] + 0.01))
    assert saved_model_to_keep(out, study, lesser, metric) is None
    # Unless both were measured on fresh folds and the saved one measured better there.
    fresh = out.with_name("fresh.skops")
    pipeline = autoimb.load(out)
    pipeline.model_card_["score_basis"] = FRESH
    autoimb.export.save(pipeline, fresh)
    study.set_user_attr("model_file", [str(fresh.resolve())])
    luckier = {"trial": 1 - card["trial"], "score_basis": FRESH}
    worse, better = card["cv_score"] - 0.01, card["cv_score"] + 0.01
    assert saved_model_to_keep(fresh, study, {**luckier, "cv_score": better}, metric) is None
    kept, why = saved_model_to_keep(fresh, study, {**luckier, "cv_score": worse}, metric)
    assert kept["trial"] == card["trial"] and "it measured better" in why
    # Measured another way (an ensemble's nested score runs low), the scores do not compare.
    nested = {"trial": None, "score_basis": NESTED, "cv_score": worse}
    assert saved_model_to_keep(fresh, study, nested, metric) is None
    assert out.read_bytes() == before


@pytest.mark.slow
def test_ctrl_c_in_a_resume_that_found_nothing_better_keeps_the_saved_model(ecoli, capsys):
    """Ctrl-C saves the study's best so far, refitted without the measure and ensemble of a
    finished run: over the finished run's own model, with no better trial since, it stays."""
    import argparse

    from autoimb.cli import search as command
    from autoimb.cli import stopped
    from autoimb.cli.model_file import save_model
    from autoimb.metrics.registry import get_metric

    out = ecoli / "ecoli.skops"
    before = out.read_bytes()
    args = argparse.Namespace(
        data=str(ecoli / "ecoli.csv"),
        target="target",
        id="row_id",
        weight=None,
        group=None,
        na_values=None,
        study_name="autoimb",
        force=False,
    )
    storage = str(ecoli / "ecoli.optuna.log")
    metric = get_metric("average_precision")
    study = study_of(ecoli / "ecoli.optuna.log")
    result = stopped._best_so_far(args, command.read_columns(args), study, metric)
    assert save_model(result, out, args, storage) is not None
    assert out.read_bytes() == before
    assert "kept the model saved before in" in capsys.readouterr().err
    args.force = True  # --force: the user asks for this run's model
    assert save_model(result, out, args, storage) is None
    assert out.read_bytes() != before


@pytest.mark.slow
def test_a_resume_keeps_the_saved_model_of_a_better_trial_it_had_no_time_to_refit(ecoli):
    """A resumed run with little time left serves a lesser trial than the study's best, whose
    refit is already in the file: the file stays; in any other case it is replaced."""
    from autoimb.cli.model_file import saved_model_to_keep
    from autoimb.metrics.registry import get_metric

    out = ecoli / "ecoli.skops"
    study = study_of(ecoli / "ecoli.optuna.log")
    card = autoimb.load(out).model_card_
    saved, metric = card["trial"], get_metric(card["metric"])
    # A better trial since (so the first rule, nothing better found, does not decide), which
    # is too slow as well; the run serves a lesser one.
    study.add_trial(optuna.trial.create_trial(value=card["study_best"] + 0.5))
    study.add_trial(optuna.trial.create_trial(value=0.0))
    lesser = study.trials[-1].number
    others = [t.number for t in study.trials if t.number != lesser]
    slow = {"trial": lesser, "too_slow_to_refit": others, "score_basis": "cross-validated"}
    kept, why = saved_model_to_keep(out, study, slow, metric)
    assert kept["trial"] == saved and "could not refit it" in why
    # It was the winner anyway, or it was not passed over for time: replaced.
    assert saved_model_to_keep(out, study, {**slow, "trial": saved}, metric) is None
    assert saved_model_to_keep(out, study, {**slow, "too_slow_to_refit": []}, metric) is None
    # An ensemble stays as its best member would.
    ensemble = ecoli / "ensemble.skops"
    pipeline = autoimb.load(out)
    pipeline.model_card_.update(trial=None, config={"weights": {"0": 0.5, "1": 0.5}})
    autoimb.export.save(pipeline, ensemble)
    study.set_user_attr("model_file", [str(ensemble.resolve())])
    kept, why = saved_model_to_keep(ensemble, study, slow, metric)
    assert kept["trial"] is None and "its ensemble's best trial" in why
    assert saved_model_to_keep(ensemble, study, {**slow, "too_slow_to_refit": []}, metric) is None
    # A file this study did not write is the user's business (--force), not this rule's.
    other = ecoli / "copy.skops"
    other.write_bytes(out.read_bytes())
    assert saved_model_to_keep(other, study, slow, metric) is None


def test_ctrl_c_once_the_trials_are_over_saves_the_model_first(
    tmp_path, monkeypatch, capsys, request
):
    """The search is done and its model being written: Ctrl-C there saves it first, as it
    does during the trials; again, it stops without it, the old file left whole."""
    import os

    from autoimb.cli import search as command
    from autoimb.cli.main import main

    # Ctrl-C as a terminal delivers it: a job started with "&" by a script ignores SIGINT.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, inherited))
    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    real_save = command.save_model
    presses = []

    def save_after_ctrl_c(*args, **kwargs):
        for _ in range(len(presses) + 1):  # the first run presses once, the second twice
            handler = signal.getsignal(signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            # Each press is handled before the next: two pending at once are handled as one.
            waited = time.monotonic()
            while signal.getsignal(signal.SIGINT) is handler and time.monotonic() - waited < 5:
                time.sleep(0.01)
        presses.append(1)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(command, "save_model", save_after_ctrl_c)
    args = [*SEARCH, "--space", "fast", "--n-trials", "1", *FAST]
    assert main(args) == 0
    assert "saving the model first; Ctrl-C again to stop without them" in capsys.readouterr().err
    before = (tmp_path / "ecoli.skops").read_bytes()
    # --force: this run's model is written, not the saved one kept before any refit.
    assert main([*args, "--force"]) == 130
    err = capsys.readouterr().err
    assert "interrupted again: ecoli.skops was left as it was" in err and "resume with:" in err
    assert (tmp_path / "ecoli.skops").read_bytes() == before


def test_ctrl_c_as_a_worker_saves_its_model_saves_it_first(tmp_path, monkeypatch, capsys, request):
    """As a search does: the worker's trials and its refit are in that model."""
    import os

    from autoimb.cli import worker as command
    from autoimb.cli.main import main

    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, inherited))
    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST, "--quiet"]) == 0
    real_save = command.save_model

    def save_after_ctrl_c(*args, **kwargs):
        handler = signal.getsignal(signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        waited = time.monotonic()
        while signal.getsignal(signal.SIGINT) is handler and time.monotonic() - waited < 5:
            time.sleep(0.01)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(command, "save_model", save_after_ctrl_c)
    worker = ["worker", *SEARCH[1:], "--storage", "ecoli.optuna.log", "--n-trials", "1"]
    assert main([*worker, "--out", "w.skops"]) == 0
    assert "saving the model first; Ctrl-C again to stop without them" in capsys.readouterr().err
    assert (tmp_path / "w.skops").is_file()


def test_ctrl_c_as_a_worker_without_a_model_to_write_refits_nothing(tmp_path, monkeypatch, capsys):
    from autoimb.cli import stopped as command
    from autoimb.cli.main import main
    from autoimb.engine import worker

    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST, "--quiet"]) == 0
    refits = []
    monkeypatch.setattr(command, "_best_so_far", lambda *args: refits.append(args))

    monkeypatch.setattr(worker, "join", _pressed)
    worker_args = ["worker", *SEARCH[1:], "--storage", "ecoli.optuna.log", "--n-trials", "1"]
    assert main(worker_args) == 130
    assert refits == []
    assert "resume with: autoimb worker" in capsys.readouterr().err


def test_ctrl_c_again_is_offered_before_the_refit_it_skips(tmp_path, monkeypatch, capsys):
    """Refitting the best so far is the long part of what Ctrl-C saves: the way to skip it was
    offered only once the refit was done, with nothing left to skip but the writing."""
    from autoimb import api
    from autoimb.cli.main import main
    from autoimb.engine import stopped

    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST, "--quiet"]) == 0
    capsys.readouterr()
    (tmp_path / "ecoli.skops").unlink()  # no model saved before: the best so far is refitted

    monkeypatch.setattr(api, "search", _pressed)  # Ctrl-C during the trials,
    monkeypatch.setattr(stopped, "finish_study", _pressed)  # and again during the refit
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST]) == 130
    said = capsys.readouterr().err
    assert re.search(r"Ctrl-C again to skip\n.*interrupted again: nothing more was saved", said)
    assert not (tmp_path / "ecoli.skops").exists()


def test_ctrl_c_in_a_resume_with_nothing_better_keeps_the_model_without_a_refit(
    tmp_path, monkeypatch, capsys
):
    """The model saved before stood, but only after the best so far was refitted (15 s on
    100,000 rows after Ctrl-C): it is now told from the study before any refit."""
    from autoimb import api
    from autoimb.cli.main import main
    from autoimb.engine import stopped

    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST, "--quiet"]) == 0
    capsys.readouterr()
    saved = (tmp_path / "ecoli.skops").read_bytes()
    refits = []
    monkeypatch.setattr(api, "search", _pressed)
    monkeypatch.setattr(stopped, "finish_study", lambda *args: refits.append(args))
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST]) == 130
    said = capsys.readouterr().err
    assert refits == [] and "refitted on every row first" not in said
    assert "kept the model saved before in ecoli.skops: no trial finished since" in said
    assert "resume with:" in said
    assert (tmp_path / "ecoli.skops").read_bytes() == saved


def test_a_best_so_far_that_cannot_be_refitted_says_why_not_that_the_study_is_unread(
    tmp_path, monkeypatch, capsys
):
    from autoimb import api
    from autoimb.cli.main import main
    from autoimb.engine import stopped
    from autoimb.exceptions import AutoImbError

    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST, "--quiet"]) == 0
    capsys.readouterr()
    (tmp_path / "ecoli.skops").unlink()  # no model saved before: the best so far is refitted

    def unfit(*args, **kwargs):
        raise AutoImbError("the refit ran out of memory")

    monkeypatch.setattr(api, "search", _pressed)
    monkeypatch.setattr(stopped, "finish_study", unfit)
    assert main([*SEARCH, "--space", "fast", "--n-trials", "1", *FAST]) == 130
    said = capsys.readouterr().err
    assert "no model was saved: the refit ran out of memory" in said
    assert "cannot be read" not in said


@pytest.mark.parametrize(
    ("data", "when"), [("ecoli", "in the trials"), ("glass", "in the trials"), ("ecoli", "after")]
)
def test_ctrl_c_saves_the_best_with_the_predictions_its_search_made(
    data, when, tmp_path, monkeypatch, capsys
):
    """The best so far was cross-validated again to tune its threshold, as long as a trial of
    its own, though the stopped search held its out-of-fold predictions; a multi-class one was
    not saved at all (the positive class its study records refused for its labels)."""
    from autoimb import api
    from autoimb.cli.main import main
    from autoimb.engine import finish

    if data == "ecoli":
        ecoli_with_ids(tmp_path)
        command = [*SEARCH, "--space", "fast", "--n-trials", "5", *FAST]
    else:
        datasets.load("glass_multiclass").to_csv(tmp_path / "glass.csv", index=False)
        command = ["search", "glass.csv", "--target", "target", "--space", "fast"]
        command += ["--metric", "f1", "--n-trials", "5", *FAST]
    monkeypatch.chdir(tmp_path)
    search = api.search

    def ctrl_c_after_a_trial(*args, callbacks=(), **kwargs):
        def pressed(study, trial):
            if trial.state == TrialState.COMPLETE:
                raise KeyboardInterrupt

        return search(*args, callbacks=[*callbacks, pressed], **kwargs)

    if when == "after":
        monkeypatch.setattr(api, "finish", _pressed)
    else:
        monkeypatch.setattr(api, "search", ctrl_c_after_a_trial)
    again = []
    evaluate = finish.evaluate
    monkeypatch.setattr(finish, "evaluate", lambda *a, **k: again.append(1) or evaluate(*a, **k))
    assert main(command) == 130
    card = autoimb.load(tmp_path / f"{data}.skops").model_card_
    assert f"wrote {data}.skops (trial {card['trial']})" in capsys.readouterr().err
    assert again == []
    served = study_of(tmp_path / f"{data}.optuna.log").trials[card["trial"]]
    assert card["cv_score"] == pytest.approx(served.value)


def test_each_model_file_is_recorded_on_its_own(tmp_path):
    """A search and a worker that save at once each record their file; a study's list from
    before is still read."""
    from autoimb.cli.model_file import record_model_file, written_by
    from autoimb.engine.storage import make_storage

    log = str(tmp_path / "s.optuna.log")
    optuna.create_study(storage=make_storage(log), study_name="s").set_user_attr(
        "model_file", [str(tmp_path / "old.skops")]
    )
    search, worker = (optuna.load_study(study_name="s", storage=make_storage(log)) for _ in "ab")
    record_model_file(search, tmp_path / "search.skops")
    record_model_file(worker, tmp_path / "worker.skops")
    study = optuna.load_study(study_name="s", storage=make_storage(log))
    for name in ("old", "search", "worker"):
        assert written_by(study, tmp_path / f"{name}.skops")
    assert not written_by(study, tmp_path / "other.skops")


def test_studies_named_in_other_scripts_write_models_of_their_own() -> None:
    """Every letter outside ASCII became "_": "churn ü" and "churn ö" wrote one file, and the
    second study was refused its own model."""
    from autoimb.cli.resume import default_model_path

    names = ["churn ü/2", "churn ö/2", "отток", "解約"]
    paths = {default_model_path("data/ecoli.csv", name) for name in names}
    assert len(paths) == len(names)
    assert default_model_path("ecoli.csv", "churn ü/2") == Path("ecoli-churn_ü_2.skops")


WEAK_FIRST = """name: weak-first
description: A weak baseline first, a strong one second.
initial:
  - {model: isolation_forest}
  - {weighting: balanced, model: lightgbm}
weighting: {none: {}, balanced: {}}
model: {isolation_forest: {}, lightgbm: {}}
"""


@pytest.mark.slow
def test_a_better_trial_a_worker_finished_during_the_refit_is_served_by_the_next_resume(
    tmp_path, monkeypatch
):
    """The model's card keeps the best of the trials its winner was chosen from: a worker's
    better trial, finished while the search refitted, is new to the next resume, which serves
    it rather than keep the model that passed it by."""
    import autoimb.engine.finish as finishing
    from autoimb.cli.main import main

    ecoli_with_ids(tmp_path)
    (tmp_path / "weak_first.yaml").write_text(WEAK_FIRST)
    monkeypatch.chdir(tmp_path)
    refit = finishing._refit

    def refit_while_a_worker_finishes(*args, **kwargs):
        monkeypatch.setattr(finishing, "_refit", refit)
        worker = run("worker", *SEARCH[1:], "--storage", "ecoli.optuna.log", "--n-trials", "1",
                     "--quiet", cwd=tmp_path)  # fmt: skip
        assert worker.returncode == 0, worker.stderr
        return refit(*args, **kwargs)

    monkeypatch.setattr(finishing, "_refit", refit_while_a_worker_finishes)
    common = ["--metric", "f1", *FAST]
    assert main([*SEARCH, "--space", "weak_first.yaml", "--n-trials", "1", *common, "--quiet"]) == 0
    study = study_of(tmp_path / "ecoli.optuna.log")
    weak, strong = study.trials[0].value, study.trials[1].value
    assert strong > weak  # the worker's lightgbm beat the search's isolation forest
    card = autoimb.load(tmp_path / "ecoli.skops").model_card_
    assert card["trial"] == 0 and card["study_best"] == weak
    assert card["finished_trials"] == 1  # the worker's came after the choice
    resumed = run(*SEARCH, "--n-trials", "1", *common, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "kept the model saved before" not in resumed.stderr
    assert autoimb.load(tmp_path / "ecoli.skops").model_card_["trial"] != 0


KILLED_IN_ITS_FIRST_FIT = """
import os, signal, sys
import autoimb.engine.evaluate as evaluate
evaluate.fit_fold = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
from autoimb.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_study_killed_before_a_trial_finished_takes_the_corrected_command(tmp_path):
    """kill -9 on seeing the wrong metric: the study holds a running trial of a dead process
    and nothing finished, so the command with the right metric starts afresh, not refused."""
    ecoli_with_ids(tmp_path)
    search = [*SEARCH, "--space", "fast", *FAST, "--storage", "s.log"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_ITS_FIRST_FIT, *search, "--metric", "mcc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = study_of(tmp_path / "s.log")
    assert [t.state for t in left.trials if t.state != TrialState.WAITING] == [TrialState.RUNNING]

    corrected = run(*search, "--metric", "f1", "--n-trials", "2", cwd=tmp_path)
    assert corrected.returncode == 0, corrected.stderr
    study = study_of(tmp_path / "s.log")
    assert study.user_attrs["autoimb"]["metric"] == "f1"
    assert [t.state for t in study.trials if t.state.is_finished()] == [TrialState.COMPLETE] * 2


def test_a_study_with_a_finished_trial_or_a_live_one_is_not_taken_as_left_empty(tmp_path):
    storage = make_storage(str(tmp_path / "s.log"))
    study = optuna.create_study(study_name="s", storage=storage)
    running = study.ask()
    running.set_user_attr("worker", worker_id())  # this live process
    assert not left_by_stopped_runs(storage, "s")
    running.set_user_attr("worker", worker_id().rpartition(":")[0] + ":0")
    assert not left_by_stopped_runs(storage, "s")  # process 0 is not one of ours: alive
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()
    running.set_user_attr("worker", f"{worker_id().rpartition(':')[0]}:{gone}")
    assert left_by_stopped_runs(storage, "s")
    study.tell(study.ask(), 1.0)
    assert not left_by_stopped_runs(storage, "s")


@pytest.mark.slow
def test_a_journal_another_process_damaged_mid_search_stops_it_with_the_model_saved(tmp_path):
    """A process sharing the journal stopped mid-record; the search's next write ran on into
    it, and every later read failed there (Optuna's tracebacks, no model). It stops as on
    Ctrl-C, saying what happened, and the same command goes on."""
    datasets.load("ecoli1").to_csv(tmp_path / "ecoli.csv", index=False)
    command = ["search", "ecoli.csv", "--target", "target", "--space", "fast", *FAST]
    process = start_cli(*command, "--time-budget", "120", cwd=tmp_path)
    _wait_for(process, r"trial +\d+ average_precision=")
    with open(tmp_path / "ecoli.optuna.log", "ab") as journal:
        journal.write(b'{"op_code":8,"worker_id":"dead-1","trial_id":0,"user_attr":{"seco')
    _, rest = process.communicate(timeout=180)
    assert process.returncode == 2, rest
    assert "Traceback" not in rest
    assert "error: ecoli.optuna.log was damaged while the search ran" in rest
    assert "saving the best pipeline so far" in rest and "resume with: autoimb search" in rest
    assert (tmp_path / "ecoli.skops").is_file()
    (aside,) = tmp_path.glob("ecoli.optuna.log.cut-*")
    assert aside.read_bytes().startswith(b'{"op_code":8,"worker_id":"dead-1"')
    resumed = run(*command, "--n-trials", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "already finished" in resumed.stderr


@pytest.mark.slow
def test_a_study_of_the_same_name_autoimb_did_not_make_is_refused(tmp_path):
    """It was resumed: "3 trials already finished; best average_precision 0.1108" (another
    objective's values), its study written into, and a crash after the whole budget."""
    ecoli_with_ids(tmp_path)
    log = tmp_path / "theirs.log"
    theirs = optuna.create_study(
        study_name="autoimb", storage=make_storage(str(log)), direction="minimize"
    )
    theirs.optimize(lambda trial: trial.suggest_float("x", 0, 1) ** 2, n_trials=3)
    before = log.read_bytes()
    refused = run(*SEARCH, "--space", "fast", "--storage", "theirs.log", *FAST, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "autoimb: error: study 'autoimb' in theirs.log was not made by autoimb (3 trials, "
        "direction minimize, where this search would maximize); it is left as it is. Start "
        "another study (--study-name / --new-study), or name another storage."
    ]
    assert log.read_bytes() == before and not (tmp_path / "ecoli.skops").exists()


def test_a_ctrl_c_python_dropped_stops_the_search_at_the_next_trial(tmp_path, monkeypatch, capsys):
    """Python drops a KeyboardInterrupt raised in a finaliser or a weak reference's callback:
    the search ran on to its end and exited 0 with a closed reader. The program's Ctrl-C is
    kept, and the next finished trial stops the search as Ctrl-C does."""
    from autoimb.cli import console
    from autoimb.cli.main import main

    command = _slow_search(tmp_path, trees=20)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console.CTRL_C, "is_set", lambda: True)  # came, and was dropped
    assert main([*command, "--n-trials", "50"]) == 130
    said = capsys.readouterr().err
    assert "resume with: autoimb search ecoli.csv" in said
    study = optuna.load_study(study_name="autoimb", storage=make_storage("ecoli.optuna.log"))
    assert finished_trials(study) == 1 and (tmp_path / "ecoli.skops").exists()


ONE_STRATEGY = """\
name: one
resampler:
  none: {}
weighting:
  balanced: {}
model:
  logistic_regression: {}
"""


def test_a_resume_that_serves_the_saved_model_again_keeps_it_without_a_refit(
    tmp_path, monkeypatch, capsys
):
    """A resume that ran no better trial (its space all tried, its budget spent, or a crash
    after the model was saved) refitted the study's winner, then kept the saved model over it:
    the refit was thrown away. The saved model is now kept before any refit, and before the
    winner is cross-validated again where its saved measure stands whatever this run finds; a
    winner that changed is refitted."""
    from autoimb.cli.main import main
    from autoimb.engine import finish
    from autoimb.engine.remeasure import FRESH

    ecoli_with_ids(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.yaml").write_text(ONE_STRATEGY)
    search = [*SEARCH, *FAST, "--storage", "sqlite:///ecoli.db"]
    assert main([*search, "--space", "one.yaml", "--n-trials", "2", "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "ecoli.skops"
    saved = out.read_bytes()
    refits, measures = [], []
    real_refit, real_evaluate = finish._refit, finish.evaluate
    monkeypatch.setattr(finish, "_refit", lambda *a: refits.append(a) or real_refit(*a))
    monkeypatch.setattr(
        finish, "evaluate", lambda *a, **k: measures.append(a) or real_evaluate(*a, **k)
    )
    # Every strategy of the space has run: the resume runs no trial and serves the same one.
    assert main([*search, "--n-trials", "1"]) == 0
    said = capsys.readouterr()
    assert refits == []
    assert "kept the model saved before in ecoli.skops: no trial finished since" in said.err
    assert "; nothing was refitted" in said.err and "model:    ecoli.skops (kept)" in said.out
    assert out.read_bytes() == saved
    # Saved measured apart from the search's folds, it stands before the winner is measured.
    pipeline = autoimb.load(out)
    pipeline.model_card_["score_basis"] = FRESH
    autoimb.export.save(pipeline, out, overwrite=True)
    saved = out.read_bytes()
    assert main([*search, "--n-trials", "1", "--quiet"]) == 0
    assert refits == [] and measures == [] and out.read_bytes() == saved
    assert "nothing was refitted" in capsys.readouterr().err
    # A worker that writes the study's model keeps it so too.
    worker = ["worker", *SEARCH[1:], "--storage", "sqlite:///ecoli.db", "--n-trials", "1"]
    assert main([*worker, "--out", "ecoli.skops"]) == 0
    said = capsys.readouterr()
    assert refits == [] and "model: ecoli.skops (kept)" in said.out
    assert out.read_bytes() == saved
    # A better trial since: the winner changed, and is refitted and saved.
    study = optuna.load_study(study_name="autoimb", storage=make_storage("sqlite:///ecoli.db"))
    best = study.best_trial
    study.add_trial(
        optuna.trial.create_trial(
            params=best.params,
            distributions=best.distributions,
            user_attrs=best.user_attrs,
            value=best.value + 0.01,
        )
    )
    assert main([*search, "--n-trials", "1"]) == 0
    said = capsys.readouterr()
    assert len(refits) == 1 and "kept the model saved before" not in said.err
    assert autoimb.load(out).model_card_["trial"] == study.best_trial.number


def test_a_resume_of_a_study_recorded_with_a_space_this_version_refuses_says_so(tmp_path):
    """Left out, --space is the study's own: one recorded before a check refused it was
    refused as if a file to mend; given, as a study of "components this version lacks"."""
    from autoimb.config import STUDY_ATTR

    datasets.load("ecoli1").to_csv(tmp_path / "ecoli.csv", index=False)
    stepped = "name: mine\nmodel:\n  logistic_regression:\n"
    stepped += "    C: {type: float, low: 0.5, high: H, step: 0.5}\n"
    (tmp_path / "mine.yaml").write_text(stepped.replace("H", "2.0"))
    search = ["search", "ecoli.csv", "--target", "target", *FAST, "--n-trials", "1"]
    assert run(*search, "--space", "mine.yaml", cwd=tmp_path).returncode == 0
    study = study_of(tmp_path / "ecoli.optuna.log")
    attrs = study.user_attrs[STUDY_ATTR]
    study.set_user_attr(STUDY_ATTR, {**attrs, "space_yaml": stepped.replace("H", "2.2")})
    for given in ([], ["--space", "mine.yaml"]):
        refused = run(*search, *given, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        said = " ".join(refused.stderr.split())
        assert "study 'autoimb' was created with a search space this version refuses" in said
        assert "the range 0.5..2.2 is no whole number of steps of 0.5" in said
        assert "--new-study" in said and "components this version lacks" not in said
    assert finished_trials(study_of(tmp_path / "ecoli.optuna.log")) == 1
