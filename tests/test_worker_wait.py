"""A worker started before its study: what it says it waits for, and what a refused one
leaves behind (nothing)."""

from __future__ import annotations

import select
import time

import pytest
from conftest import start_cli

import autoimb
from autoimb.cli import worker as command
from autoimb.cli.main import main
from autoimb.leaderboard import finished_trials

WORKER = ["worker", "d.csv", "--target", "target", "--n-trials", "1"]


def _data(folder, small_binary) -> None:
    X, y = small_binary
    X.assign(target=y).to_csv(folder / "d.csv", index=False)


def test_a_journal_that_is_not_there_is_named_at_once_and_never_made(
    tmp_path, small_binary, monkeypatch, capsys
) -> None:
    """A misspelt path waited a minute, said only that the study was missing, and left an
    empty journal of that name behind."""
    _data(tmp_path, small_binary)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(command, "STUDY_WAIT_SECONDS", 1.0)
    assert main([*WORKER, "--storage", "typo.optuna.log"]) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d.csv"]
    first, *rest = capsys.readouterr().err.splitlines()
    assert first == (
        "autoimb: the journal file typo.optuna.log does not exist yet: waiting up to 1 s for a "
        "search to create it (check the path, if none is starting)"
    )
    told = "there is no study 'autoimb': the journal file 'typo.optuna.log' does not exist "
    assert told in rest[-1]


def test_a_quiet_worker_still_says_at_once_what_it_waits_for(tmp_path, small_binary) -> None:
    """Under --quiet a mistyped journal path in a batch script waited a minute in silence."""
    _data(tmp_path, small_binary)
    quiet = ["--storage", "nothere.log", "--study-name", "churn", "--time-budget", "5", "-q"]
    worker = start_cli(*WORKER, *quiet, cwd=tmp_path)
    assert worker.stderr is not None
    try:  # well before the minute's wait ends
        told, _, _ = select.select([worker.stderr], [], [], 30)
        assert told, "nothing said while waiting"
        assert worker.stderr.readline().startswith(
            "autoimb: the journal file nothere.log does not exist yet: waiting up to 60 s"
        )
    finally:
        worker.kill()
        worker.communicate()


def test_a_study_name_not_in_the_journal_is_told_with_those_it_holds(
    tmp_path, small_binary, monkeypatch, capsys
) -> None:
    X, y = small_binary
    _data(tmp_path, small_binary)
    log = tmp_path / "s.log"
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=str(log), study_name="churn")
    before = log.read_bytes()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(command, "STUDY_WAIT_SECONDS", 1.0)
    assert main([*WORKER, "--storage", "s.log", "--study-name", "chrun"]) == 2
    first, *rest = capsys.readouterr().err.splitlines()
    assert first.endswith("study 'chrun' in s.log, 'churn' held there now (did you mean 'churn'?)")
    told = "there is no study 'chrun' in s.log; it holds 'churn' (did you mean 'churn'?)"
    assert told in rest[-1]
    assert "(--study-name)" in rest[-1]
    assert log.read_bytes() == before


@pytest.mark.slow
def test_a_worker_started_before_its_search_joins_once_the_journal_is_made(
    tmp_path, small_binary
) -> None:
    """As a scheduler starts them, the worker first: the journal file is made by the search."""
    X, y = small_binary
    _data(tmp_path, small_binary)
    worker = start_cli(*WORKER, "--storage", "s.log", cwd=tmp_path)
    assert worker.stderr is not None
    assert "the journal file s.log does not exist yet" in worker.stderr.readline()
    time.sleep(1)
    assert not (tmp_path / "s.log").exists()
    search = {"space": "fast", "cv": 3, "storage": str(tmp_path / "s.log")}
    autoimb.search(X, y, n_trials=1, warm_start=None, **search)
    _, said = worker.communicate(timeout=300)
    assert worker.returncode == 0, said
    assert finished_trials(autoimb.search(X, y, n_trials=1, **search).study) == 3
