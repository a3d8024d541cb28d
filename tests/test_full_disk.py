"""A study's storage on a disk that fills: the search stops with a plain error that names the
file and the system's reason, its finished trials kept, and the command line says how to go
on. The disk is a small file system mounted for the test (root only: skipped elsewhere)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

import autoimb
from autoimb.exceptions import DatabaseLost, JournalLost

FAST = {"space": "fast", "cv": 3, "random_state": 0, "verbose": False}


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 40 KiB file system: a search's journal fills it within a few trials."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root and mount")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"a small file system cannot be mounted here: {mounted.stderr.strip()}")
    yield folder
    # Lazily: an SQLite connection the garbage collector has not closed yet holds it busy.
    subprocess.run(["umount", "--lazy", str(folder)], check=False)


def _resize(folder: Path, room: int) -> None:
    """The small disk made ``room`` bytes larger than what it holds now."""
    stats = os.statvfs(folder)
    used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    size = f"size={(used + room) // 1024}k"
    subprocess.run(["mount", "-o", f"remount,{size}", str(folder)], check=True)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 4096)


def _finished(log: Path) -> int:
    """Finished trials in a journal, read as it is (opening it through autoimb would write)."""
    storage = JournalStorage(JournalFileBackend(str(log)))
    study = storage.get_all_studies()[0]
    trials = storage.get_all_trials(study._study_id, deepcopy=False)
    return sum(t.state.is_finished() for t in trials)


def test_a_journal_whose_disk_fills_stops_the_search_naming_it(small_disk, small_binary):
    """Optuna turned the failed write into an assertion of its own ('Should not reach.'),
    which was all a caller saw."""
    X, y = small_binary
    log = small_disk / "study.log"
    with pytest.raises(JournalLost) as err:
        autoimb.search(X, y, n_trials=300, storage=str(log), **FAST)
    said = str(err.value)
    assert f"journal file {log} could not be written (No space left on device)" in said
    assert "every trial that finished before is kept" in said and "Free some space" in said
    assert _finished(log) > 0


def test_a_journal_on_a_disk_already_full_is_named(small_disk, small_binary):
    """A study created on a full disk failed with the system's words alone: '[Errno 28] No
    space left on device', naming no file."""
    X, y = small_binary
    _fill(small_disk)
    log = small_disk / "study.log"
    with pytest.raises(JournalLost, match=rf"{re.escape(str(log))} could not be written \(No"):
        autoimb.search(X, y, n_trials=1, storage=str(log), **FAST)


def test_the_command_line_says_how_to_go_on_when_the_journal_disk_fills(
    small_disk, small_binary, tmp_path
):
    """As on a database that fails: the error, what could be saved, and the resume line, in
    a few lines and without a traceback (exit 1 and a page of it before)."""
    X, y = small_binary
    X.assign(target=y).to_csv(tmp_path / "data.csv", index=False)
    command = ["search", "data.csv", "--target", "target", "--space", "fast", "--cv", "3"]
    command += ["--n-trials", "300", "--storage", "disk/s.log", "--out", "m.skops", "--quiet"]
    done = run_cli(*command, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) < 5, done.stderr
    said = done.stderr
    assert "error: the study's journal file disk/s.log could not be written (No space" in said
    assert "kept in it" in said
    assert f"resume with: autoimb {' '.join(command)}" in said


def test_an_sqlite_database_whose_disk_fills_is_told_to_free_space(small_disk, small_binary):
    """ "database or disk is full" was told to check that the database's server runs."""
    X, y = small_binary
    _resize(small_disk, 4 << 20)
    url = f"sqlite:///{small_disk / 'study.db'}"
    autoimb.search(X, y, n_trials=1, storage=url, **FAST)
    _resize(small_disk, 8 << 10)
    with pytest.raises(DatabaseLost) as err:
        autoimb.search(X, y, n_trials=300, storage=url, **FAST)
    said = str(err.value)
    assert "database or disk is full" in said and "free some space" in said
    assert "server" not in said
