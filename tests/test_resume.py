"""Kill -9 of a running search, then the same command again: nothing finished is lost."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

import autoimb
from autoimb.engine.storage import make_storage
from autoimb.exceptions import AutoImbError
from autoimb.leaderboard import finished_trials


def test_a_killed_search_resumes_with_every_finished_trial(tmp_path, yeast4) -> None:
    X, y = yeast4
    data = tmp_path / "yeast4.csv"
    X.assign(target=y).to_csv(data, index=False)
    model = tmp_path / "yeast4.skops"
    log = str(tmp_path / "study.log")
    command = [
        sys.executable,
        "-m",
        "autoimb.cli",
        "search",
        str(data),
        "--target",
        "target",
        "--metric",
        "f1",
        "--cv",
        "3",
        "--storage",
        log,
        "--out",
        str(model),
        "--quiet",
    ]
    running = subprocess.Popen([*command, "--n-trials", "200"], stderr=subprocess.PIPE)

    def finished() -> list[optuna.trial.FrozenTrial]:
        try:
            study = optuna.load_study(study_name="autoimb", storage=make_storage(log))
        except (KeyError, FileNotFoundError, ValueError):
            return []
        return [t for t in study.trials if t.state.is_finished()]

    deadline = time.monotonic() + 120
    while len(finished()) < 4 and time.monotonic() < deadline:
        time.sleep(0.3)
    os.kill(running.pid, signal.SIGKILL)
    running.wait(timeout=30)
    before = finished()
    assert len(before) >= 4
    best_before = max(t.value for t in before if t.state == TrialState.COMPLETE)

    again = subprocess.run(
        [*command, "--n-trials", "3"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    study = optuna.load_study(study_name="autoimb", storage=make_storage(log))
    after = {t.number: t for t in study.trials}
    for trial in before:  # every trial that had finished is still there, unchanged
        assert after[trial.number].state == trial.state
        assert after[trial.number].value == trial.value
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    assert sum(t.state.is_finished() for t in study.trials) >= len(before) + 3
    assert study.best_value >= best_before
    assert model.exists()


def test_a_resumed_study_draws_new_points_not_the_first_runs_again(tmp_path, small_binary) -> None:
    """The same seed seeds the folds alike; the sampler of a resumed run (or of a worker
    joining) must not propose the first run's points again."""
    import autoimb

    X, y = small_binary
    kwargs = dict(metric="mcc", space="fast", storage=str(tmp_path / "s.log"), random_state=0)
    kwargs |= dict(ensemble=False, importance=False, cv=3)
    autoimb.search(X, y, n_trials=6, **kwargs)
    first = len(
        optuna.load_study(study_name="autoimb", storage=make_storage(kwargs["storage"])).trials
    )
    study = autoimb.search(X, y, n_trials=4, **kwargs).study

    def sampled(trials):
        return [t.params for t in trials if "fixed_params" not in t.system_attrs]

    before, after = sampled(study.trials[:first]), sampled(study.trials[first:])
    assert before and after
    assert not [p for p in after if p in before]


def test_a_study_resumed_with_another_space_is_refused_before_any_trial(tmp_path, small_binary):
    """Optuna would fail every new trial whose choices changed; the refusal says what differs
    and how to go on."""
    import pytest

    import autoimb
    from autoimb.engine.space import parse_space
    from autoimb.exceptions import AutoImbError

    X, y = small_binary
    kwargs = dict(metric="f1", storage=str(tmp_path / "s.log"), cv=3, random_state=0)
    kwargs |= dict(ensemble=False, importance=False)
    autoimb.search(X, y, n_trials=1, space="fast", **kwargs)
    narrower = parse_space("model: {logistic_regression: {}}")
    with pytest.raises(AutoImbError, match=r"search space 'fast'.*offers nothing.*same space="):
        autoimb.search(X, y, n_trials=1, space=narrower, **kwargs)

    def ran(study: optuna.Study) -> int:
        return len([t for t in study.trials if t.state != TrialState.WAITING])

    storage = make_storage(kwargs["storage"])
    assert ran(optuna.load_study(study_name="autoimb", storage=storage)) == 1
    assert ran(autoimb.search(X, y, n_trials=1, space="fast", **kwargs).study) == 2


def test_a_database_that_cannot_be_opened_is_named_without_its_password(small_binary) -> None:
    X, y = small_binary
    with pytest.raises(
        AutoImbError, match=r"storage postgresql://bob:\*\*\*@localhost:1/db: "
    ) as err:
        autoimb.search(X, y, n_trials=1, storage="postgresql://bob:secret@localhost:1/db")
    assert "secret" not in str(err.value) and "Check that the server runs" in str(err.value)


def test_a_database_url_that_cannot_be_parsed_says_how_to_write_its_password(
    small_binary,
) -> None:
    """SQLAlchemy's own error quotes what it took for the port: here a piece of the password."""
    X, y = small_binary
    with pytest.raises(AutoImbError, match=r"URL could not be parsed.*@ as %40, / as %2F") as err:
        autoimb.search(X, y, n_trials=1, storage="postgresql://bob:p@ss:w0rd/x@localhost:1/db")
    assert "w0rd" not in str(err.value) and "p@ss" not in str(err.value)
    assert "server runs" not in str(err.value)


def _searched_journal(folder, small_binary) -> str:
    X, y = small_binary
    log = str(folder / "study.log")
    autoimb.search(X, y, n_trials=2, space="fast", cv=3, random_state=0, storage=log)
    return log


def test_a_last_record_cut_mid_write_is_set_aside_and_the_study_goes_on(
    tmp_path, small_binary, caplog
) -> None:
    """A writer killed mid-line left it; appended to, the journal would be damaged for good."""
    X, y = small_binary
    log = _searched_journal(tmp_path, small_binary)
    whole = os.path.getsize(log)
    with open(log, "ab") as journal:
        journal.write(b'{"op_code":4,"worker_id":"cut-he')
    with caplog.at_level("WARNING", logger="autoimb"):
        autoimb.search(X, y, n_trials=4, space="fast", cv=3, random_state=0, storage=log)
    assert "last record was cut off mid-write" in caplog.text
    (aside,) = tmp_path.glob("study.log.cut-*")
    assert aside.read_bytes() == b'{"op_code":4,"worker_id":"cut-he'
    assert os.path.getsize(log) > whole
    study = optuna.load_study(study_name="autoimb", storage=make_storage(log))
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) >= 3


def _trials(log: str) -> list[tuple[int, str, float | None, dict]]:
    study = optuna.load_study(study_name="autoimb", storage=make_storage(log))
    return [(t.number, t.state.name, t.value, t.params) for t in study.trials]


def test_a_cut_record_run_on_into_by_the_next_append_is_set_aside_and_no_trial_renumbered(
    tmp_path, small_binary, caplog
):
    """A writer stopped mid-record, then another's append ran on into it: the line holds the
    cut part and a trial's first record. Deleting the line would renumber every later trial
    (Optuna counts them as it reads); the cut part is set aside, the record kept."""
    X, y = small_binary
    log = str(tmp_path / "study.log")
    autoimb.search(X, y, n_trials=6, space="fast", cv=3, random_state=0, storage=log)
    before = _trials(log)
    path = Path(log)
    lines = path.read_bytes().split(b"\n")
    k = [i for i, line in enumerate(lines) if line.startswith(b'{"op_code":4')][3]
    cut = lines[k - 1][: len(lines[k - 1]) // 2]
    lines[k - 1] = cut + lines[k]
    del lines[k]
    path.write_bytes(b"\n".join(lines))
    with caplog.at_level("WARNING", logger="autoimb"):
        after = _trials(log)
    assert f"run on into by the next one, at line {k}" in caplog.text
    (aside,) = tmp_path.glob("study.log.cut-*")
    assert aside.read_bytes() == cut + b"\n"
    assert len(after) == len(before) == 6
    # Only the cut record is lost, one step of one trial: every other trial reads as it was.
    assert sum(a != b for a, b in zip(after, before, strict=True)) <= 1
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, random_state=0, storage=log)
    assert len(_trials(log)) == 7


def test_a_damaged_step_of_a_trial_is_named_with_the_line_to_delete(tmp_path, small_binary):
    log = _searched_journal(tmp_path, small_binary)
    path = Path(log)
    lines = path.read_bytes().split(b"\n")
    k = next(i for i, line in enumerate(lines) if line.startswith(b'{"op_code":5'))
    lines[k] = lines[k][:-5] + b"XX"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(
        AutoImbError, match=rf"study.log is damaged at line {k + 1};.*delete that line.*a parameter"
    ):
        make_storage(log)


def test_a_damaged_start_of_a_trial_is_not_to_be_deleted_but_replaced(tmp_path, small_binary):
    """Deleting it would renumber every later trial; the stand-in the error gives keeps them."""
    log = _searched_journal(tmp_path, small_binary)
    before = _trials(log)
    path = Path(log)
    lines = path.read_bytes().split(b"\n")
    k = next(i for i, line in enumerate(lines) if line.startswith(b'{"op_code":4'))
    lines[k] = lines[k][:-5] + b"XX"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(AutoImbError, match=rf"damaged at line {k + 1};.*starts a trial") as err:
        make_storage(log)
    assert "delete" not in str(err.value)
    lines[k] = re.search(r"replace that line with (\{.*\}):", str(err.value))[1].encode()
    path.write_bytes(b"\n".join(lines))
    after = _trials(log)
    assert after[0][:2] == (0, "FAIL") and after[1:] == before[1:]


@pytest.mark.parametrize(
    "content", [b"a,b,target\n1,2,0\n3,4,1", b"my notes", b"PK\x03\x04 a model"]
)
def test_a_file_that_is_no_journal_is_refused_and_left_as_it_is(tmp_path, content):
    """Data, notes or a model named as the storage by mistake: no "repair" of its last line,
    no journal written into it."""
    path = tmp_path / "mine.csv"
    path.write_bytes(content)
    with pytest.raises(AutoImbError, match=r"mine.csv is not a study journal .*left as it is"):
        make_storage(str(path))
    assert path.read_bytes() == content and list(tmp_path.iterdir()) == [path]


def test_a_journal_whose_first_record_was_cut_is_still_a_journal(tmp_path):
    path = tmp_path / "study.log"
    path.write_bytes(b'{"op_co')
    make_storage(str(path))  # the cut record is set aside; the journal opens empty
    assert path.read_bytes() == b""


@pytest.mark.slow
def test_a_lock_left_by_a_killed_writer_is_waited_out_for_seconds_not_half_a_minute(
    tmp_path, small_binary
) -> None:
    from autoimb.engine.journal import LOCK_GRACE_SECONDS

    X, y = small_binary
    log = _searched_journal(tmp_path, small_binary)
    os.symlink(log, log + ".lock")  # Optuna's lock: a link to the journal, left by a killed writer
    started = time.monotonic()
    autoimb.search(X, y, n_trials=3, space="fast", cv=3, random_state=0, storage=log)
    assert time.monotonic() - started < 30  # Optuna's own grace period
    assert LOCK_GRACE_SECONDS <= 10


@pytest.mark.slow
def test_a_lock_left_on_a_journal_named_by_a_relative_path_is_waited_out(tmp_path) -> None:
    """Optuna's lock is a link to the journal as named: runs/j.log's link, read from runs/,
    points at runs/runs/j.log, and a lock that cannot be read was retried without end."""
    (tmp_path / "runs").mkdir()
    code = (
        "import time, optuna; from optuna.storages.journal import JournalFileSymlinkLock\n"
        "from autoimb.engine.journal import open_journal\n"
        "open_journal('runs/j.log')\n"
        "JournalFileSymlinkLock('runs/j.log').acquire()  # left by a killed writer\n"
        "started = time.monotonic()\n"
        "optuna.create_study(storage=open_journal('runs/j.log'))  # a write: under the lock\n"
        "print(round(time.monotonic() - started))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 30


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://bob:s3cret@db:5432/studies", "postgresql://bob:***@db:5432/studies"),
        ("postgresql://bob:pa/ss@db/studies", "postgresql://bob:***@db/studies"),
        ("postgresql://bob:p@ss@db/studies", "postgresql://bob:***@db/studies"),
        # SQLAlchemy reads the password on to the first "@", past a "?" in it.
        ("postgresql://bob:s3cr?et@db/studies", "postgresql://bob:***@db/studies"),
        ("postgresql://bob@db/studies", "postgresql://bob@db/studies"),
        ("postgresql://bob@db/s?password=s3cret", "postgresql://bob@db/s?password=***"),
        ("postgresql://bob:s3cret@db/s?app=me@home", "postgresql://bob:***@db/s?app=me@home"),
        ("sqlite:///runs/a@b.db", "sqlite:///runs/a@b.db"),
        ("runs/study.optuna.log", "runs/study.optuna.log"),
    ],
)
def test_a_storage_is_shown_without_its_password(url: str, expected: str) -> None:
    """Messages, summaries and the printed resume command go to logs on shared servers."""
    import argparse

    from autoimb.cli.resume import resume_command
    from autoimb.redact import shown

    assert shown(url) == expected
    argv = ["search", "d.csv", "--target", "y", "--storage", url]
    command = resume_command(argparse.Namespace(argv=argv, new_study=False))
    assert expected in command and "s3cret" not in command and "pa/ss" not in command


@pytest.mark.parametrize(
    ("storage", "match"),
    [
        ("{tmp}", r"is a folder; give a journal file's path in it"),
        ("/proc/study.log", r"cannot write the study's journal file '/proc/study.log'"),
        ("postgres://bob:secret@localhost:1/db", r"Write it postgresql://"),
        ("mysql://bob:secret@localhost:1/db", r"module MySQLdb, is missing: pip install 'mysqlc"),
    ],
)
def test_a_storage_that_cannot_be_used_is_named_with_the_fix(
    small_binary, tmp_path, storage: str, match: str
) -> None:
    X, y = small_binary
    with pytest.raises(AutoImbError, match=match) as err:
        autoimb.search(X, y, n_trials=1, storage=storage.format(tmp=tmp_path))
    assert "secret" not in str(err.value)


def _studies(log: str) -> list[str]:
    return [s.study_name for s in optuna.get_all_study_summaries(make_storage(log))]


def test_data_the_folds_cannot_split_leaves_no_study(tmp_path, small_binary):
    """Groups that hold the minority class once are refused before the study is written, so
    the corrected call is a new study, not a resume of the refused one."""
    X, y = small_binary
    log = str(tmp_path / "study.log")
    with pytest.raises(AutoImbError, match="hold one group for all 336 rows"):
        autoimb.search(X, y, groups=[0] * len(y), n_trials=1, storage=log, random_state=0)
    assert _studies(log) == []
    autoimb.search(X, y, cv=3, space="fast", n_trials=1, storage=log, random_state=0)
    assert _studies(log) == ["autoimb"]


def test_a_run_that_finished_no_trial_leaves_nothing_to_resume(tmp_path, small_binary):
    """The error advises a longer budget or the quicker space; that advice is then taken as a
    new study, not refused for the empty one's settings."""
    X, y = small_binary
    log = str(tmp_path / "study.log")
    with pytest.raises(AutoImbError, match="no trial completed"):
        autoimb.search(X, y, time_budget=0.01, storage=log, random_state=0)
    assert _studies(log) == []
    result = autoimb.search(X, y, cv=3, space="fast", n_trials=1, storage=log, random_state=0)
    finished = [t.number for t in result.study.trials if t.state == TrialState.COMPLETE]
    assert finished == [0]  # a new study: the empty one's trials are gone with it


def test_a_budget_too_short_names_the_quicker_space_only_in_place_of_a_shipped_one(
    small_binary,
):
    """A space of one's own may be quicker than 'fast': advising it there would mislead."""
    X, y = small_binary
    with pytest.raises(AutoImbError, match="no trial completed") as shipped:
        autoimb.search(X, y, time_budget=0.01, random_state=0)
    assert "space='fast'" in str(shipped.value)
    own = {"model": {"logistic_regression": {}}}
    with pytest.raises(AutoImbError, match="no trial completed") as custom:
        autoimb.search(X, y, time_budget=0.01, space=own, random_state=0)
    assert "space='fast'" not in str(custom.value)


def test_ctrl_c_before_any_trial_finished_leaves_nothing_to_resume(
    tmp_path, small_binary, monkeypatch
):
    """Ctrl-C at once, on seeing the wrong metric: the corrected command starts afresh,
    rather than being refused for the empty study's settings."""
    import autoimb.engine.run as run_module

    X, y = small_binary
    log = str(tmp_path / "study.log")

    def pressed(self, trial):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(run_module._Objective, "__call__", pressed)
        with pytest.raises(KeyboardInterrupt):
            autoimb.search(X, y, metric="mcc", n_trials=2, cv=3, storage=log, random_state=0)
    assert _studies(log) == []
    result = autoimb.search(X, y, cv=3, space="fast", n_trials=1, storage=log, random_state=0)
    assert result.metric.name == "average_precision"


def test_ctrl_c_in_a_lock_release_is_still_ctrl_c(tmp_path, small_binary, monkeypatch):
    """Ctrl-C landing in a journal write's lock release surfaces as a missing lock file:
    taken for the strategy's error, the trial failed and the search went on past Ctrl-C."""
    import autoimb.engine.run as run_module

    X, y = small_binary
    log = str(tmp_path / "study.log")
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=log, random_state=0)

    def released(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise FileNotFoundError(2, "No such file or directory", log + ".lock") from None

    with monkeypatch.context() as patched:
        patched.setattr(run_module, "evaluate", released)
        with pytest.raises(KeyboardInterrupt):
            autoimb.search(X, y, n_trials=3, space="fast", cv=3, storage=log, random_state=0)
    study = optuna.load_study(study_name="autoimb", storage=make_storage(log))
    cut = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(cut) == 1 and cut[0].user_attrs.get("interrupted")
    assert "error" not in cut[0].user_attrs


def test_a_refused_resume_leaves_the_journal_as_it_was(tmp_path, small_binary):
    X, y = small_binary
    log = tmp_path / "study.log"
    autoimb.search(X, y, cv=3, space="fast", n_trials=1, storage=str(log), random_state=0)
    before = log.read_bytes()
    with pytest.raises(AutoImbError, match="created to optimise 'average_precision', not 'mcc'"):
        autoimb.search(X, y, metric="mcc", cv=3, space="fast", n_trials=1, storage=str(log))
    assert log.read_bytes() == before


def _settings_of_a_search(small_binary, log: Path, **changes) -> dict:
    """The settings a one-trial search records, as another process of the same command would."""
    from autoimb.config import STUDY_ATTR

    X, y = small_binary
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, random_state=0, storage=str(log))
    recorded = optuna.load_study(study_name="autoimb", storage=make_storage(str(log)))
    return {**recorded.user_attrs[STUDY_ATTR], **changes}


@pytest.fixture
def live_process():
    """The worker name of another live process of this machine."""
    from autoimb.engine.storage import worker_id

    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield f"{worker_id().rpartition(':')[0]}:{process.pid}"
    process.kill()
    process.wait()


def test_a_process_that_did_not_create_the_study_goes_on_with_its_creators_settings(
    tmp_path, small_binary, monkeypatch, live_process
):
    """Two processes started at once on a new study: the other created it just after this one
    looked, and recorded its settings after this one had read none. This one used to record
    its own over them and queue the first trials too (both took themselves for the creator,
    each with its own folds); it goes on with the creator's seed and leaves the queue to it."""
    import autoimb.engine.study as study_module
    from autoimb.config import STUDY_ATTR

    theirs = _settings_of_a_search(small_binary, tmp_path / "ref.log", seed=12345)
    theirs.update(creator="other", owner=live_process)
    log = str(tmp_path / "study.log")
    look, release = study_module._recorded, study_module.release_dead_trials

    def other_creates_after_the_look(storage, name):
        found = look(storage, name)
        if not found:  # as the other search creates it: to maximise average precision
            optuna.create_study(study_name=name, storage=make_storage(log), direction="maximize")
        return found

    def other_records_its_settings(study):
        other = optuna.load_study(study_name="autoimb", storage=make_storage(log))
        if STUDY_ATTR not in other.user_attrs:
            other.set_user_attr(STUDY_ATTR, theirs)
        release(study)

    monkeypatch.setattr(study_module, "_recorded", other_creates_after_the_look)
    monkeypatch.setattr(study_module, "release_dead_trials", other_records_its_settings)
    X, y = small_binary
    result = autoimb.search(X, y, n_trials=2, space="fast", cv=3, random_state=0, storage=log)
    assert result.model_card()["seed"] == 12345
    assert result.study.user_attrs[STUDY_ATTR]["creator"] == "other"
    assert not [t for t in result.study.trials if "fixed_params" in t.system_attrs]


def test_a_new_study_of_a_live_creator_is_not_taken_as_left_empty(
    tmp_path, small_binary, live_process
):
    """Between creating a study and starting its first trial, a live creator's study has no
    trial running: a second command with other settings deleted it as left by a stopped run
    (and the creator was then refused its own study). It is refused instead."""
    from autoimb.config import STUDY_ATTR

    theirs = _settings_of_a_search(small_binary, tmp_path / "ref.log")
    log = str(tmp_path / "study.log")
    creating = optuna.create_study(study_name="autoimb", storage=make_storage(log))
    creating.set_user_attr(STUDY_ATTR, {**theirs, "owner": live_process, "created": time.time()})
    X, y = small_binary
    with pytest.raises(AutoImbError, match="created to optimise 'average_precision', not 'mcc'"):
        autoimb.search(X, y, metric="mcc", n_trials=1, space="fast", cv=3, storage=log)
    kept = optuna.load_study(study_name="autoimb", storage=make_storage(log))
    assert kept.user_attrs[STUDY_ATTR]["metric"] == "average_precision"


PARALLEL_CTRL_C = """
import os, signal, sys, threading, time
import autoimb
from autoimb.engine.space import parse_space

X, y = autoimb.datasets.load("yeast4", return_X_y=True)
space = parse_space(
    "model: {logistic_regression: {}, random_forest: {n_estimators: 40000}}\\n"
    "initial: [{model: logistic_regression}, {model: random_forest}]"
)

def press(study, trial):  # once the quick trial is done, while the forest grows beside it
    if trial.number == 0:
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

try:
    autoimb.search(X, y, n_trials=2, n_jobs=2, space=space, cv=3, random_state=0,
                   storage=sys.argv[1], verbose=False, callbacks=[press])
except KeyboardInterrupt:
    print("interrupted")
trials = [t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")]
print("threads", sum(t.is_alive() for t in trials))  # Optuna joined its trials' threads
"""


@pytest.mark.slow
def test_ctrl_c_stops_the_trials_running_in_other_threads(tmp_path):
    """Ctrl-C reaches the main thread only, and Optuna waited for the parallel trials to run
    to their end (20 s and more); they now stop at their next look at the clock, and are
    queued again as cut trials."""
    log = tmp_path / "study.log"
    script = tmp_path / "parallel.py"
    script.write_text(PARALLEL_CTRL_C)
    done = subprocess.run(
        [sys.executable, str(script), str(log)],
        capture_output=True,
        text=True,
        timeout=300,
        # As from a terminal: a test run started in the background inherits Ctrl-C ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert done.stdout.split() == ["interrupted", "threads", "0"], done.stderr
    study = optuna.load_study(study_name="autoimb", storage=make_storage(str(log)))
    forests = [t for t in study.trials if t.params.get("model") == "random_forest"]
    assert forests and not [t for t in forests if t.state == TrialState.COMPLETE]
    cut = [t for t in forests if t.state == TrialState.FAIL]
    assert all("error" not in t.user_attrs for t in cut)  # cut, not a strategy that failed


HOST_HANDLER = """
import os, signal, sys, threading
import autoimb
from autoimb.engine.space import parse_space

X, y = autoimb.datasets.load("yeast4", return_X_y=True)
space = parse_space(
    "model: {logistic_regression: {}, lightgbm: {n_estimators: 30}}\\n"
    "initial: [{model: logistic_regression}, {model: lightgbm}, {model: logistic_regression}]"
)
asked = []
signal.signal(signal.SIGTERM, lambda signum, frame: asked.append(signum))  # stop after this

def deploy(study, trial):  # a deploy's SIGTERM while the other trials run
    if trial.number == 0:
        os.kill(os.getpid(), signal.SIGTERM)

found = autoimb.search(X, y, n_trials=3, n_jobs=2, space=space, cv=3, random_state=0,
                       verbose=False, callbacks=[deploy])
print("finished", len(found.study.trials), "asked", len(asked))
"""


@pytest.mark.slow
def test_a_host_programs_own_signal_handler_that_does_not_raise_keeps_a_parallel_search_going(
    tmp_path,
):
    """A server's SIGTERM handler that only notes "stop after this request" is the host's
    decision: the parallel trials run on, as a search of one job's do."""
    script = tmp_path / "host.py"
    script.write_text(HOST_HANDLER)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.stdout.split() == ["finished", "3", "asked", "1"], done.stderr


def test_a_study_whose_creator_was_stopped_while_queueing_its_first_trials_gets_the_rest(
    tmp_path, small_binary, monkeypatch
):
    """Ctrl-C while the new study's baselines and portfolio are being queued: the resumed
    run queues the rest, which only a creating run did."""
    X, y = small_binary
    settings = dict(metric="f1", cv=3, random_state=0, n_trials=1)
    whole = autoimb.search(X, y, storage=str(tmp_path / "whole.log"), **settings)
    first = [t.params for t in whole.study.trials]  # all queued, one run
    assert len(first) > 3
    queue, calls = optuna.Study.enqueue_trial, []

    def stopped_on_the_third(self, params, **kwargs):
        calls.append(params)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return queue(self, params, **kwargs)

    log = str(tmp_path / "study.log")
    with monkeypatch.context() as patched:
        patched.setattr(optuna.Study, "enqueue_trial", stopped_on_the_third)
        with pytest.raises(KeyboardInterrupt):
            autoimb.search(X, y, storage=log, **settings)
    assert len(optuna.load_study(study_name="autoimb", storage=make_storage(log)).trials) == 2
    resumed = autoimb.search(X, y, storage=log, **settings)
    assert len(resumed.study.trials) == len(first)


def test_a_users_metric_of_the_same_name_counting_the_other_way_is_refused(tmp_path, small_binary):
    """The study maximises; a resume minimising would choose its winner the wrong way."""
    from autoimb.metrics.metric import Metric

    def net_benefit(tp, fp, fn, tn):
        return (tp - 0.25 * fp) / (tp + fp + fn + tn)

    X, y = small_binary
    log = str(tmp_path / "study.log")
    kwargs = dict(space="fast", cv=3, random_state=0, storage=log, n_trials=1)
    autoimb.search(X, y, metric=Metric("net", "threshold", True, counts_fn=net_benefit), **kwargs)
    flipped = Metric("net", "threshold", False, counts_fn=net_benefit)
    with pytest.raises(AutoImbError, match="'net' with higher values better, and the metric"):
        autoimb.search(X, y, metric=flipped, **kwargs)


def test_a_study_resumed_with_other_library_releases_says_its_scores_do_not_compare(
    tmp_path, small_binary
):
    """Scored by XGBoost 2.1 and 3.2, one strategy on the same folds scored 0.378 and 0.403;
    a study resumed across an upgrade served the old score's winner without a word."""
    from autoimb.config import STUDY_ATTR
    from autoimb.library_versions import with_autoimb

    X, y = small_binary
    kwargs = dict(space="fast", storage=str(tmp_path / "s.log"), cv=3, random_state=0)
    kwargs |= dict(ensemble=False, importance=False, warm_start=None)
    autoimb.search(X, y, n_trials=1, **kwargs)
    study = optuna.load_study(study_name="autoimb", storage=make_storage(kwargs["storage"]))
    assert study.user_attrs[STUDY_ATTR]["versions"] == with_autoimb()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the same releases: nothing to say
        autoimb.search(X, y, n_trials=1, **kwargs)
    attrs = study.user_attrs[STUDY_ATTR]
    versions = {**attrs["versions"], "lightgbm": "3.1.0", "xgboost": "0.90"}
    study.set_user_attr(STUDY_ATTR, {**attrs, "versions": versions})
    with pytest.warns(UserWarning, match=r"started with lightgbm 3\.1\.0, xgboost 0\.90, and"):
        autoimb.search(X, y, n_trials=1, **kwargs)


def test_a_study_whose_space_changed_under_its_name_says_how_to_resume_with_its_own(
    tmp_path, small_binary
):
    """After an upgrade narrowed a shipped space, "pass the same space=" was the advice to a
    user who had: the study's own space, written to a file, resumes it."""
    from autoimb.config import STUDY_ATTR
    from autoimb.engine.space import parse_space

    X, y = small_binary
    kwargs = dict(storage=str(tmp_path / "s.log"), cv=3, random_state=0, warm_start=None)
    kwargs |= dict(ensemble=False, importance=False)
    before = "name: mine\nmodel: {logistic_regression: {}, lightgbm: {n_estimators: 20}}\n"
    study = autoimb.search(X, y, n_trials=1, space=parse_space(before), **kwargs).study
    narrowed = parse_space("name: mine\nmodel: {logistic_regression: {}}\n")
    with pytest.raises(AutoImbError, match=r"'mine' has changed since; the study's own is in"):
        autoimb.search(X, y, n_trials=1, space=narrowed, **kwargs)
    own = tmp_path / "own.yaml"
    own.write_text(study.user_attrs[STUDY_ATTR]["space_yaml"])
    resumed = autoimb.search(X, y, n_trials=1, space=own, **kwargs).study
    assert finished_trials(resumed) == 2  # not counting draws of trial 0's strategy again


def test_a_study_of_labels_once_read_as_floats_says_why_its_classes_differ() -> None:
    """A file's labels written 1.0 were the classes 1.0 and 0.0; the command line now reads
    them as 1 and 0, and a study begun before cannot go on: it says so, not just "other"."""
    from autoimb.data.dataset import validate
    from autoimb.engine.same_data import other_classes

    data = validate(pd.DataFrame({"x": np.arange(20.0)}), (np.arange(20) % 4 == 0).astype(int))
    assert other_classes({"classes": ["0", "1"]}, data) is None
    said = other_classes({"classes": ["0.0", "1.0"]}, data)
    assert said is not None and "now reads labels written 1.0 as the class 1" in said
    assert "now reads" not in (other_classes({"classes": ["a", "b"]}, data) or "")


def _foreign_study(log: Path, direction: str = "minimize", param: str = "x") -> bytes:
    """Another program's study named as autoimb's default, in a journal; its bytes."""
    theirs = optuna.create_study(
        study_name="autoimb", storage=make_storage(str(log)), direction=direction
    )
    theirs.optimize(lambda trial: trial.suggest_float(param, 0, 1) ** 2, n_trials=3)
    return log.read_bytes()


@pytest.mark.parametrize(
    ("direction", "param"),
    [("minimize", "x"), ("maximize", "x"), ("maximize", "model")],
    ids=["minimize", "maximize", "a-parameter-named-as-a-stage"],
)
def test_a_study_autoimb_did_not_make_is_refused_before_anything_is_written(
    tmp_path, small_binary, direction, param
):
    """Another program's study of the same name was taken over: its objective's values read
    as scores, autoimb's settings and trials written into it, and the search failed at its
    end (KeyError: 'config')."""
    X, y = small_binary
    log = tmp_path / "theirs.log"
    before = _foreign_study(log, direction, param)
    facts = rf"\(3 trials, direction {direction}"
    with pytest.raises(
        AutoImbError, match=rf"in {re.escape(str(log))} was not made by autoimb {facts}"
    ):
        autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=str(log))
    assert log.read_bytes() == before


def test_a_study_left_without_settings_by_a_stopped_autoimb_run_is_taken(
    tmp_path, small_binary, monkeypatch
):
    """A run stopped between creating its study and recording its settings left it empty:
    the next run records its own and searches it (a study not autoimb's is refused)."""
    import autoimb.engine.study as study_module
    from autoimb.config import STUDY_ATTR

    monkeypatch.setattr(study_module, "CREATOR_WAIT_SECONDS", 0.2)
    log = str(tmp_path / "study.log")
    optuna.create_study(study_name="autoimb", storage=make_storage(log), direction="maximize")
    X, y = small_binary
    result = autoimb.search(X, y, n_trials=1, space="fast", cv=3, random_state=0, storage=log)
    assert result.study.user_attrs[STUDY_ATTR]["metric"] == "average_precision"


def test_a_study_left_without_settings_for_a_metric_of_the_other_direction_says_so(
    tmp_path, small_binary
):
    """A search for a cost began it and stopped at once: not "not made by autoimb"."""
    log = tmp_path / "study.log"
    optuna.create_study(study_name="autoimb", storage=make_storage(str(log)), direction="minimize")
    before = log.read_bytes()
    X, y = small_binary
    with pytest.raises(AutoImbError, match=r"records no settings and is to minimize, where this"):
        autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=str(log))
    assert log.read_bytes() == before


def test_a_short_resume_names_the_better_trials_it_could_not_serve(tmp_path, yeast4) -> None:
    """A resume with too little time to serve the study's best names that trial, and counts
    only the trials better than the one it serves (a note named a lesser trial passed over and
    counted eleven, while the study's best went unsaid). Which trials fit in the time left
    depends on the machine's speed: the note is checked against the trials the run passed over
    and the one it served."""
    X, y = yeast4
    db = tmp_path / "study.db"
    kwargs = {
        "metric": "f1",
        "cv": 3,
        "random_state": 0,
        "storage": f"sqlite:///{db}",
        "ensemble": False,
        "importance": False,
        "verbose": False,
    }
    autoimb.search(X, y, n_trials=5, **kwargs)
    study = optuna.load_study(study_name="autoimb", storage=kwargs["storage"])
    finished = [t for t in study.trials if t.state == TrialState.COMPLETE]
    best = max(finished, key=lambda t: t.value)
    lesser = min(finished, key=lambda t: t.value)
    assert lesser.value < best.value
    # Both recorded as taking far longer to cross-validate again than the whole resume.
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE trial_user_attributes SET value_json = '1000.0' WHERE key = 'cv_seconds' "
            "AND trial_id IN (SELECT trial_id FROM trials WHERE number IN (?, ?))",
            (best.number, lesser.number),
        )
    result = autoimb.search(X, y, time_budget=6, n_trials=1, **kwargs)
    card = result.best_pipeline.model_card_
    trials = result.study.trials
    served, slow = trials[card["trial"]], card["too_slow_to_refit"]
    assert best.number in slow and lesser.number in slow
    better = [n for n in slow if trials[n].value > served.value]
    said = [note for note in result.notes if "could not be the winner" in note]
    assert best.number in better and len(said) == 1
    top = max(better, key=lambda n: trials[n].value)
    assert said[0].startswith(f"Trial {top} (f1 {trials[top].value:.4f}, the study's best)")
    assert f"trial {served.number} ({served.value:.4f}), served instead" in said[0]
    assert f"trial {lesser.number}" not in said[0]
    if len(better) > 1:
        assert f"and {len(better) - 1} more trial(s)" in said[0]
    else:
        assert "more trial(s)" not in said[0]


def test_a_resume_with_another_random_state_says_what_it_seeds(tmp_path, small_binary) -> None:
    """The folds and models keep the study's seed; another random_state only seeds this run's
    draws: said, not left silent, in Python as on the command line."""
    X, y = small_binary
    kwargs = {"n_trials": 1, "space": "fast", "cv": 3, "storage": str(tmp_path / "study.log")}
    autoimb.search(X, y, random_state=1, **kwargs)
    with pytest.warns(UserWarning, match=r"random_state=7 does not seed the folds and models"):
        resumed = autoimb.search(X, y, random_state=7, **kwargs)
    assert resumed.study.user_attrs["autoimb"]["seed"] == 1
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="random_state=", category=UserWarning)
        autoimb.search(X, y, random_state=1, **kwargs)
        autoimb.search(X, y, **kwargs)


# A float range its steps do not fill, as versions before that check took and recorded it.
_STEPPED = (
    "name: mine\nmodel: {logistic_regression: {C: {type: float, low: 0.5, high: H, step: 0.5}}}\n"
)


def test_a_study_recorded_with_a_space_this_version_refuses_says_what_and_the_way_on(
    tmp_path, small_binary
):
    """Resumed with its space corrected, such a study was said to hold "components this
    version lacks", though it holds none: what differs is a check added since."""
    from autoimb.config import STUDY_ATTR
    from autoimb.engine.space import parse_space

    X, y = small_binary
    kwargs = dict(storage=str(tmp_path / "s.log"), cv=3, random_state=0, warm_start=None)
    kwargs |= dict(ensemble=False, importance=False)
    corrected = parse_space(_STEPPED.replace("H", "2.0"))
    study = autoimb.search(X, y, n_trials=1, space=corrected, **kwargs).study
    attrs = study.user_attrs[STUDY_ATTR]
    study.set_user_attr(STUDY_ATTR, {**attrs, "space_yaml": _STEPPED.replace("H", "2.2")})
    with pytest.raises(AutoImbError, match="created with a search space this version refuses"):
        autoimb.search(X, y, n_trials=1, space=corrected, **kwargs)
    with pytest.raises(AutoImbError) as refused:
        autoimb.search(X, y, n_trials=1, space="fast", **kwargs)
    said = str(refused.value)
    assert "components this version lacks" not in said
    assert "the range 0.5..2.2 is no whole number of steps of 0.5" in said
    assert "start another study with a space corrected so (study_name=...," in said
    assert "or resume it with the autoimb version that created it" in said
    assert (
        finished_trials(
            optuna.load_study(study_name="autoimb", storage=make_storage(kwargs["storage"]))
        )
        == 1
    )
