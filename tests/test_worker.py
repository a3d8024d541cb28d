"""Several workers on one study: Optuna's storage coordinates, nothing is lost or repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import autoimb
from autoimb.engine.storage import (
    make_storage,
    release_dead_trials,
    study_heartbeat,
    worker_id,
)
from autoimb.engine.worker import join
from autoimb.exceptions import AutoImbError
from autoimb.leaderboard import finished_trials

POSTGRES = os.environ.get("AUTOIMB_TEST_POSTGRES")


def test_a_worker_joins_a_study_and_finishes_with_the_best(tmp_path, small_binary) -> None:
    X, y = small_binary
    log = str(tmp_path / "study.log")
    first = autoimb.search(
        X,
        y,
        metric="mcc",
        n_trials=3,
        space="fast",
        cv=3,
        storage=log,
        study_name="shared",
        random_state=0,
    )
    best_before = first.study.best_value
    result = join(log, "shared", X, y, n_trials=3)
    assert len(result.study.trials) == 6
    # The winner is chosen among every worker's trials (best_score itself is measured afresh).
    assert result.study.best_value >= best_before
    steadier = any("was chosen over" in note for note in result.notes)  # within noise of it
    assert result.search_score >= best_before or steadier or "members" in result.best_config
    assert result.metric.name == "mcc"


def test_joining_needs_an_existing_study_and_the_same_data(tmp_path, small_binary) -> None:
    X, y = small_binary
    log = str(tmp_path / "study.log")
    with pytest.raises(AutoImbError, match="there is no study 'nope'"):
        join(log, "nope", X, y, n_trials=1)
    autoimb.search(
        X,
        y,
        metric="f1",
        n_trials=1,
        space="fast",
        cv=3,
        storage=log,
        study_name="s",
        warm_start=None,
    )
    with pytest.raises(AutoImbError, match=r"it had 336 rows and this data has 168.*own data"):
        join(log, "s", X.iloc[::2], y.iloc[::2], n_trials=1)
    # A journal file beats not: a heartbeat asked of it is said to do nothing, and not refused.
    with pytest.warns(
        UserWarning, match=r"a heartbeat \(1 s\) has no effect: only a database storage"
    ):
        assert finished_trials(join(log, "s", X, y, n_trials=1, heartbeat=1).study) == 2
    with pytest.warns(
        UserWarning, match=r"a heartbeat \(7 s\) has no effect: .*a journal file has none"
    ):
        autoimb.search(X, y, metric="f1", n_trials=1, cv=3, storage=log, study_name="s",
                       space="fast", heartbeat=7)  # fmt: skip
    with pytest.warns(UserWarning, match=r"a storage object given ready-made takes none"):
        assert study_heartbeat(make_storage(log), "s", 5) is None
    with pytest.warns(UserWarning, match=r"a study in memory has no other process"):
        assert study_heartbeat(None, "s", 5) is None


def test_the_processes_of_a_study_on_a_database_beat_alike(tmp_path, small_binary) -> None:
    """A worker beating more often than the study's others would fail their trials as dead."""
    X, y = small_binary
    url = f"sqlite:///{tmp_path / 'study.db'}"
    settings = {"n_trials": 1, "cv": 3, "space": "fast", "storage": url, "study_name": "t"}
    autoimb.search(X, y, metric="f1", heartbeat=5, warm_start=None, **settings)
    with pytest.raises(AutoImbError, match=r"beats every 5 s, not 30: .*Leave the heartbeat out"):
        join(url, "t", X, y, n_trials=1, heartbeat=30)
    with pytest.raises(AutoImbError, match=r"beats every 5 s, not 7"):
        autoimb.search(X, y, metric="f1", heartbeat=7, **settings)
    assert finished_trials(join(url, "t", X, y, n_trials=1, heartbeat=5).study) == 2
    assert finished_trials(autoimb.search(X, y, metric="f1", **settings).study) == 3


def test_a_worker_takes_the_positive_class_spelled_as_a_number(tmp_path, small_binary) -> None:
    """``1.0`` names the class 1, as it does for a resumed search; another class is refused."""
    X, y = small_binary
    log = str(tmp_path / "study.log")
    autoimb.search(X, y, metric="f1", pos_label=1, n_trials=1, space="fast", cv=3,
                   storage=log, study_name="s", warm_start=None)  # fmt: skip
    result = join(log, "s", X, y, n_trials=1, pos_label="1.0")
    assert finished_trials(result.study) == 2
    assert result.classes_[result.decision.pos_label] == 1
    with pytest.raises(AutoImbError, match="measures positive class '1', not '0'"):
        join(log, "s", X, y, n_trials=1, pos_label="0")


SLOW_FIRST = """name: slow-first
description: A slow baseline first, quick ones after it.
initial:
  - {model: random_forest}
  - {weighting: balanced, model: logistic_regression}
weighting: {none: {}, balanced: {}}
model:
  random_forest: {n_estimators: 2000}
  logistic_regression: {}
"""


@pytest.mark.slow
def test_a_worker_that_writes_no_model_spends_its_budget_on_trials(tmp_path, small_binary):
    """Without --out nothing is refitted, so no time is kept back for it: a budget shorter
    than the study's best trial cross-validated again and refitted still adds trials, and the
    worker says which trial is the study's best."""
    X, y = small_binary
    X.assign(target=y).to_csv(tmp_path / "ecoli.csv", index=False)
    (tmp_path / "slow_first.yaml").write_text(SLOW_FIRST)
    common = ["ecoli.csv", "--target", "target", "--storage", "w.log"]
    search = [*common, "--metric", "f1", "--space", "slow_first.yaml", "--cv", "3"]
    created = subprocess.run(_cli("search", *search, "--n-trials", "1", "--quiet"),
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert created.returncode == 0, created.stderr
    worker = subprocess.run(_cli("worker", *common, "--time-budget", "4"),
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    assert "no time for more trials" not in worker.stderr
    study = optuna.load_study(study_name="autoimb", storage=make_storage(str(tmp_path / "w.log")))
    assert finished_trials(study) > 1
    best = study.best_trial
    said = f"best f1 {best.value:.4f} (trial {best.number}, cross-validated on the folds"
    assert said in worker.stdout and "no model was made" in worker.stdout
    assert [path.name for path in tmp_path.glob("*.skops")] == ["ecoli.skops"]


def test_a_trial_of_a_dead_process_is_released(tmp_path) -> None:
    """A journal file has no heartbeat: a RUNNING trial whose process is gone is failed."""
    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    trial = study.ask()
    trial.set_user_attr("worker", f"{worker_id().rpartition(':')[0]}:{_dead_pid()}")
    alive = study.ask()
    alive.set_user_attr("worker", worker_id())
    taking = study.ask()  # a process killed between taking a trial and naming itself on it
    started = time.monotonic()
    release_dead_trials(study, settle=3)
    assert time.monotonic() - started >= 2  # it waits for a live worker to name itself
    states = {t.number: t.state for t in study.trials}
    assert states == {
        0: TrialState.FAIL,
        1: TrialState.RUNNING,
        2: TrialState.FAIL,
        3: TrialState.WAITING,
        4: TrialState.WAITING,
    }
    assert study.trials[3].system_attrs["failed_trial"] == 0
    assert study.trials[4].system_attrs["failed_trial"] == taking.number


def test_a_process_of_another_container_with_this_host_name_keeps_its_trial(tmp_path) -> None:
    """Containers may share a host name but not their process numbers: a number that is dead
    here says nothing of a process there. An owner named the old way (host:pid) is judged."""
    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    gone = _dead_pid()
    mine, twin, old = study.ask(), study.ask(), study.ask()
    mine.set_user_attr("worker", f"{worker_id().rpartition(':')[0]}:{gone}")
    twin.set_user_attr("worker", f"{os.uname().nodename}/00000000:{gone}")
    old.set_user_attr("worker", f"{os.uname().nodename}:{gone}")
    release_dead_trials(study, settle=0)
    states = [t.state for t in study.trials[:3]]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.FAIL]


def test_a_process_in_another_process_namespace_names_another_place() -> None:
    """What a container looks like from a trial's owner: its process numbers are its own."""
    code = "from autoimb.engine.storage import worker_id; print(worker_id())"
    try:
        there = subprocess.run(
            ["unshare", "--pid", "--fork", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no process namespace can be made here: {exc}")
    assert there.endswith(":1")
    assert there.rpartition(":")[0] != worker_id().rpartition(":")[0]


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_worker_that_names_itself_in_time_keeps_its_trial(tmp_path) -> None:
    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    taken = study.ask()
    owner = worker_id()
    naming = threading.Timer(0.5, taken.set_user_attr, ("worker", owner))
    naming.start()
    release_dead_trials(study, settle=2)
    naming.join()
    assert [t.state for t in study.trials] == [TrialState.RUNNING]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autoimb.cli", *args]


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).trials


def _kill_mid_trial(command: list[str], name: str) -> int | None:
    """Start a worker, SIGKILL it while it runs a trial; the trial it left RUNNING, if any.

    A trial can finish between the poll that saw it running and the kill, so the victim is
    read after the process is dead.
    """
    doomed = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if any(
                t.state == TrialState.RUNNING and _owner(t) == doomed.pid
                for t in _trials(POSTGRES, name)
            ):
                break
            time.sleep(0.2)
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
    left = [
        t.number
        for t in _trials(POSTGRES, name)
        if t.state == TrialState.RUNNING and _owner(t) == doomed.pid
    ]
    return left[0] if left else None


def _owner(trial: optuna.trial.FrozenTrial) -> int | None:
    owner = str(trial.user_attrs.get("worker", ""))
    return int(owner.rsplit(":", 1)[1]) if ":" in owner else None


@pytest.mark.skipif(
    POSTGRES is None,
    reason="no PostgreSQL server: set AUTOIMB_TEST_POSTGRES (the CI script starts one)",
)
def test_search_and_two_workers_on_postgres_survive_a_killed_worker(tmp_path, yeast4) -> None:
    X, y = yeast4
    data = tmp_path / "yeast4.csv"
    X.assign(target=y).to_csv(data, index=False)
    name = f"ci-{uuid.uuid4().hex[:8]}"
    common = ["--target", "target", "--storage", POSTGRES, "--study-name", name, "--quiet"]
    # Set with the study and shared by its workers: a dead worker's trial is failed in 6 s.
    common += ["--heartbeat", "2"]
    created = subprocess.run(
        _cli(
            "search",
            str(data),
            *common,
            "--n-trials",
            "2",
            "--cv",
            "3",
            "--out",
            str(tmp_path / "first.skops"),
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert created.returncode == 0, created.stderr

    worker = [*_cli("worker", str(data), *common)]
    steady = subprocess.Popen([*worker, "--n-trials", "6"], stderr=subprocess.PIPE)
    victim = None
    for _attempt in range(3):
        victim = _kill_mid_trial([*worker, "--n-trials", "50"], name)
        if victim is not None:
            break
    assert victim is not None, "no worker was ever killed in the middle of a trial"
    assert steady.wait(timeout=300) == 0, steady.stderr.read() if steady.stderr else ""

    # After the grace period, the next worker fails the dead worker's trial and retries it.
    time.sleep(7)
    final = subprocess.run(
        [*worker, "--n-trials", "2", "--out", str(tmp_path / "final.skops")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr

    trials = _trials(POSTGRES, name)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    assert not [t.number for t in trials if t.state == TrialState.RUNNING]
    assert trials[victim].state == TrialState.FAIL
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == victim]
    # Killed while its choices were still being drawn, the trial held only the first of them:
    # the retry keeps those and draws the rest.
    assert len(retried) == 1 and retried[0].params.items() >= trials[victim].params.items()
    finished = [t for t in trials if t.state != TrialState.FAIL]
    # The creator's 2, the steady worker's 6 and the last worker's 2, plus the killed worker's
    # own finished trials: none lost.
    assert len(finished) >= 10
    assert Path(tmp_path / "final.skops").exists()
    enqueued = [
        t
        for t in trials
        if "fixed_params" in t.system_attrs and "failed_trial" not in t.system_attrs
    ]
    keys = [tuple(sorted(t.system_attrs["fixed_params"].items())) for t in enqueued]
    assert len(keys) == len(set(keys)), "an enqueued strategy ran twice"


@pytest.fixture
def fresh_database():
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    if POSTGRES is None:
        pytest.skip("no PostgreSQL server: set AUTOIMB_TEST_POSTGRES (the CI script starts one)")
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    server.dispose()


def test_a_search_and_workers_started_at_once_on_an_empty_database_all_run(
    tmp_path, small_binary, fresh_database
) -> None:
    """As a scheduler starts them: each creates Optuna's tables, and none gives up on it."""
    X, y = small_binary
    data = tmp_path / "ecoli.csv"
    X.assign(target=y).to_csv(data, index=False)
    common = [str(data), "--target", "target", "--storage", fresh_database, "--quiet"]
    common += ["--space", "fast", "--cv", "3", "--n-trials", "1"]
    started = [
        subprocess.Popen(_cli(command, *common), cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        for command in ("search", "worker", "worker")
    ]
    said = [process.communicate(timeout=300)[1] for process in started]
    assert [process.returncode for process in started] == [0, 0, 0], said
    assert finished_trials(optuna.load_study(study_name="autoimb", storage=fresh_database)) == 3


def test_a_trial_cut_by_ctrl_c_is_queued_again(tmp_path) -> None:
    import datetime

    from autoimb.engine.storage import requeue_interrupted, worker_id

    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    since = datetime.datetime.now() - datetime.timedelta(seconds=1)
    for error in (None, "ValueError: the strategy failed"):
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        trial.set_user_attr("worker", worker_id())
        trial.set_user_attr("config", {"model": {"name": "lightgbm"}})
        if error:
            trial.set_user_attr("error", error)
        study.tell(trial, state=TrialState.FAIL)
    # Cut while the sampler drew it: no owner named, no strategy recorded yet.
    drawing = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    study.tell(drawing, state=TrialState.FAIL)
    requeue_interrupted(study, worker_id(), since)
    waiting = [t for t in study.trials if t.state == TrialState.WAITING]
    # Not the failed strategy; both cut ones, with their parameters.
    assert [t.params for t in waiting] == [study.trials[0].params, study.trials[2].params]
    requeue_interrupted(study, "another-host:1", since)  # asked again: nothing queued twice
    assert sum(t.state == TrialState.WAITING for t in study.trials) == 2
    # The note on failed strategies counts the one that failed, not the two that were cut.
    from autoimb.engine.run_text import failed_note

    assert failed_note(study) == (
        "1 of 1 trials failed (1× ValueError: the strategy failed); the leaderboard's error "
        "column holds each one's."
    )


def test_a_queued_strategy_cut_before_its_first_parameter_comes_back_as_itself(tmp_path) -> None:
    """A baseline or portfolio trial cut before it drew anything has no parameters of its own;
    queued again, it still carries the strategy it was queued with, not a fresh draw."""
    import datetime

    from autoimb.engine.storage import requeue_interrupted, worker_id

    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    since = datetime.datetime.now() - datetime.timedelta(seconds=1)
    study.enqueue_trial({"model": "lightgbm", "model.lightgbm.num_leaves": 7})
    cut = study.ask()
    assert cut.params == {}
    study.tell(cut, state=TrialState.FAIL)
    requeue_interrupted(study, worker_id(), since)
    again = study.ask()
    assert again.number != cut.number
    assert again.suggest_categorical("model", ["random_forest", "lightgbm"]) == "lightgbm"
    assert again.suggest_int("model.lightgbm.num_leaves", 2, 256) == 7


def test_ctrl_c_inside_the_journal_lock_release_is_still_ctrl_c(small_binary, monkeypatch) -> None:
    """The journal lock's clean-up can turn Ctrl-C into a missing-file error; it is mapped back."""

    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise FileNotFoundError("study.log.lock0000.rename") from None

    X, y = small_binary
    monkeypatch.setattr(optuna.Study, "optimize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        autoimb.search(X, y, metric="f1", n_trials=1, space="fast", cv=3)


def test_a_trial_is_queued_again_once(tmp_path) -> None:
    import datetime

    from autoimb.engine.storage import release_trials, requeue_interrupted, worker_id

    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    since = datetime.datetime.now() - datetime.timedelta(seconds=1)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    trial.set_user_attr("worker", worker_id())
    trial.set_user_attr("config", {"model": {"name": "lightgbm"}})
    release_trials(study, lambda owner, t: owner == worker_id())  # RUNNING: failed, queued
    requeue_interrupted(study, worker_id(), since)  # already queued: not again
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]


def _cut(study: optuna.Study, since) -> None:
    """The next waiting trial taken and cut by Ctrl-C, as Optuna fails it, then queued again
    as the search's own clean-up does."""
    from autoimb.engine.storage import requeue_interrupted

    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr("worker", worker_id())
    study.tell(trial, state=TrialState.FAIL)
    requeue_interrupted(study, worker_id(), since)


def _crash(study: optuna.Study) -> None:
    """The next waiting trial taken by a worker that dies, then released as dead."""
    from autoimb.engine.storage import release_trials

    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr("worker", "gone-host:1")
    release_trials(study, lambda owner, t: owner == "gone-host:1")


def test_a_retried_trial_cut_by_ctrl_c_is_queued_again_and_only_crashes_are_retried_once(
    tmp_path,
) -> None:
    """A retry of a killed trial, cut by Ctrl-C, was failed for good: its strategy lost. Only
    a second crash of a strategy ends its retries (it may be what kills the worker)."""
    import datetime

    study = optuna.create_study(storage=make_storage(str(tmp_path / "j.log")))
    since = datetime.datetime.now() - datetime.timedelta(seconds=1)
    study.enqueue_trial({"x": 0.25})
    _crash(study)  # 0 crashed: 1 is its retry
    _cut(study, since)  # 1 cut: 2 waits
    _cut(study, since)  # and again: 3 waits
    assert study.trials[-1].state == TrialState.WAITING
    assert study.trials[-1].system_attrs["retry_history"] == [0, 1, 2]
    _crash(study)  # a second crash: not retried
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 4
    # Cut first, then crashed: the crash is its first, and it is retried.
    study.enqueue_trial({"x": 0.75})
    _cut(study, since)
    _crash(study)
    waiting = study.trials[-1]
    assert waiting.state == TrialState.WAITING and waiting.params == {"x": 0.75}
    assert study.ask().suggest_float("x", 0, 1) == 0.75


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_heartbeat_retry_cut_by_ctrl_c_is_queued_again_on_a_database(fresh_database) -> None:
    """As on a journal file: the heartbeat's retry of a dead worker's trial, cut by Ctrl-C."""
    import datetime

    storage = make_storage(fresh_database, heartbeat=1)
    study = optuna.create_study(storage=storage)
    since = datetime.datetime.now() - datetime.timedelta(seconds=1)
    dead = study.ask()
    dead.suggest_float("x", 0, 1)
    storage.record_heartbeat(dead._trial_id)  # then no more: its worker died
    time.sleep(4)  # three heartbeats
    optuna.storages.fail_stale_trials(study)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
    _cut(study, since)
    waiting = study.trials[-1]
    assert waiting.state == TrialState.WAITING and waiting.params == dead.params
    assert waiting.system_attrs["retry_history"] == [0, 1]


def test_a_trial_failed_by_another_process_while_it_ran_does_not_stop_the_search(caplog):
    """Another worker took this one's trial for dead (a machine that slept) and failed it:
    Optuna cannot tell it its score and stops its loop. The loop goes on with the rest."""
    from types import SimpleNamespace

    from autoimb.engine.loop import optimize

    study = optuna.create_study(direction="maximize")
    seen = []

    class Objective:
        def __call__(self, trial: optuna.Trial) -> float:
            seen.append(trial.number)
            if trial.number == 1:  # failed as dead by another process while it ran
                study.tell(trial.number, state=TrialState.FAIL)
            return 0.5

        def stop_when_budget_spent(self, study, trial) -> None:
            pass

    settings = SimpleNamespace(n_trials=4, n_jobs=1, callbacks=(), storage=None, started=0.0)
    with caplog.at_level("WARNING", logger="autoimb"):
        optimize(study, Objective(), settings, deadline=None)  # type: ignore[arg-type]
    assert seen == [0, 1, 2, 3]
    assert [t.state for t in study.trials].count(TrialState.COMPLETE) == 3
    assert "was failed by another one, which took it for dead" in caplog.text
