"""A database storage as a shared server sees it: few connections, its failures explained."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import run_cli, start_cli

import autoimb
from autoimb import datasets
from autoimb.engine.storage import existing_study, make_storage
from autoimb.exceptions import AutoImbError, StorageNotOpened
from autoimb.leaderboard import finished_trials

POSTGRES = os.environ.get("AUTOIMB_TEST_POSTGRES")


@pytest.fixture
def database():
    """A new, empty PostgreSQL database on the test server, and a way to count its
    connections; dropped afterwards."""
    from sqlalchemy import create_engine, make_url, text

    if POSTGRES is None:
        pytest.skip("no PostgreSQL server: set AUTOIMB_TEST_POSTGRES (the CI script starts one)")
    name = f"conn_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def run(sql: str) -> int:
        with server.connect() as connection:
            result = connection.execute(text(sql))
            return int(result.scalar() or 0) if result.returns_rows else 0

    run(f"CREATE DATABASE {name}")
    count = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'"
    yield url.set(database=name).render_as_string(hide_password=False), lambda: run(count), run
    run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.dispose()


def test_waiting_and_searching_processes_hold_few_connections(tmp_path, small_binary, database):
    """A worker waiting for its study made a storage, with a pool of connections, at each look
    (twice a second): a few waiting workers ran a server out of connections."""
    url, connections, _ = database
    X, y = small_binary
    X.assign(target=y).to_csv(tmp_path / "ecoli.csv", index=False)
    common = ["ecoli.csv", "--target", "target", "--storage", url, "--space", "fast"]
    common += ["--cv", "3", "--n-trials", "1"]
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(connections())
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    worker = start_cli("worker", *common, cwd=tmp_path)
    watcher.start()
    try:
        time.sleep(8)  # the worker waits for a study nobody has made yet
        waiting = max(seen)
        search = start_cli("search", *common, "--out", "m.skops", cwd=tmp_path)
        said = [search.communicate(timeout=300)[1], worker.communicate(timeout=300)[1]]
    finally:
        done.set()
        watcher.join()
        worker.kill()
    assert [search.returncode, worker.returncode] == [0, 0], said
    assert waiting <= 3, f"a waiting worker held {waiting} connections"
    assert max(seen) <= 8, f"a search and a worker held {max(seen)} connections"

    # In one process, each look at the study reuses the process's storage.
    for _ in range(10):
        assert existing_study(url, "autoimb") is not None
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=url, study_name="more")
    assert connections() <= 3


@pytest.mark.parametrize("lost_after, n_trials", [(2, 20), (3, 3)])
def test_a_database_out_of_reach_mid_search_stops_it_plainly(
    small_binary, database, lost_after, n_trials
) -> None:
    """Its server gone, a search failed with Optuna's guess at a cause ("e.g. exceeding max
    length") and a traceback; it stops with the driver's own words, its trials kept. Lost
    after the last trial (the study read for the refit) too."""
    url, _, run = database
    name = url.rpartition("/")[2]
    X, y = small_binary

    def close(study, trial) -> None:
        if sum(t.state.is_finished() for t in study.get_trials(deepcopy=False)) >= lost_after:
            run(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='{name}'")

    search = {"space": "fast", "cv": 3, "storage": url, "random_state": 0, "warm_start": None}
    with pytest.raises(AutoImbError, match=r"failed while the search ran") as err:
        autoimb.search(X, y, n_trials=n_trials, callbacks=[close], **search)
    said = str(err.value)
    assert "is not currently accepting connections" in said and "allow them again" in said
    assert "exceeding max length" not in said and "run the same command again" in said
    run(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
    assert finished_trials(existing_study(url, "autoimb")) >= lost_after
    assert finished_trials(autoimb.search(X, y, n_trials=1, **search).study) > lost_after


SLOW_FIRST = """name: slow-first
description: A slow baseline first, quick ones after it.
initial:
  - {model: random_forest}
weighting: {none: {}, balanced: {}}
model:
  random_forest: {n_estimators: 6000}
  logistic_regression: {}
"""


def test_a_database_out_of_reach_mid_trial_ends_the_command_with_the_resume_line(
    tmp_path, database
) -> None:
    """Lost while a trial runs: its heartbeat fails first, in a thread of its own, then its
    end. The trials cannot be read to save the best so far: the command says so, and how to
    go on, in a few lines."""
    from sqlalchemy import create_engine, pool, text

    url, _, run = database
    name = url.rpartition("/")[2]
    datasets.load("ecoli1").to_csv(tmp_path / "ecoli.csv", index=False)
    (tmp_path / "slow.yaml").write_text(SLOW_FIRST)
    command = ["search", "ecoli.csv", "--target", "target", "--storage", url, "--cv", "3"]
    command += ["--space", "slow.yaml", "--heartbeat", "1", "--time-budget", "120"]
    process = start_cli(*command, cwd=tmp_path)
    trials = create_engine(url, poolclass=pool.NullPool)
    running = "SELECT count(*) FROM trials WHERE state = 'RUNNING'"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(Exception), trials.connect() as connection:  # no tables yet
            if connection.execute(text(running)).scalar():
                break
        time.sleep(0.2)
    trials.dispose()
    run(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")  # as a server stopped
    run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='{name}'")
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 2, rest
    assert "Traceback" not in rest and len(rest.splitlines()) < 6, rest
    assert f"error: the database storage {url} failed while the search ran" in rest
    assert "is not currently accepting connections" in rest
    assert "no model was saved: the study cannot be read now" in rest
    assert f"resume with: autoimb {' '.join(command)}" in rest
    assert not (tmp_path / "ecoli.skops").exists()


def test_a_database_that_refuses_the_connection_is_named_with_the_fix(database) -> None:
    """The driver's own reason, and what to do about it, not Optuna's wrapper's first line."""
    from sqlalchemy import make_url

    url, _, run = database
    role = f"crowd_{uuid.uuid4().hex[:8]}"
    run(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")  # as a server out of connections
    try:
        with pytest.raises(AutoImbError, match="too many connections") as err:
            make_storage(make_url(url).set(username=role).render_as_string(False))
        assert "run fewer workers at once" in str(err.value)
        missing = make_url(url).set(database=f"{role}_none").render_as_string(False)
        with pytest.raises(AutoImbError, match=r"does not exist\. Create the database first"):
            make_storage(missing)
    finally:
        run(f"DROP ROLE {role}")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://pw:ab@TopSecret9/x@localhost:1/rpw",  # the driver looked up TopSecret9
        "postgresql://pw:Top/Secret9@localhost:1/rpw",
        "postgresql://team/bob:TopSecret9@localhost:1/rpw",  # read as database bob:TopSecret9…
    ],
)
def test_a_user_or_password_with_an_unencoded_at_or_slash_is_refused_unquoted(tmp_path, url):
    """SQLAlchemy ends the password at its first "@": the rest was taken for the host, and
    the driver's error quoted it back to a log on a shared server."""
    datasets.load("ecoli1").to_csv(tmp_path / "d.csv", index=False)
    done = run_cli("worker", "d.csv", "--target", "target", "--storage", url, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "@ as %40, / as %2F" in done.stderr and ":***@localhost:1/rpw" in done.stderr
    assert "Secret9" not in done.stderr + done.stdout
    assert "waiting" not in done.stderr  # refused at once, not looked for


def test_a_driver_message_passed_on_holds_no_piece_of_the_password() -> None:
    from autoimb.redact import scrubbed

    url = "postgresql://bob:s3cr%40et:Top/Secret9@db:5432/studies?password=Other42"
    said = f"failed to resolve host 'Secret9' (from {url}); s3cr@et rejected; Other42 too"
    cleaned = scrubbed(said, url)
    assert not any(piece in cleaned for piece in ("Secret9", "s3cr", "et:Top", "Other42"))
    assert "postgresql://bob:***@db:5432/studies?password=***" in cleaned
    assert scrubbed("Connection refused", "runs/study.optuna.log") == "Connection refused"


def test_a_missing_driver_is_named_with_the_package_that_brings_it() -> None:
    """The hint named psycopg2-binary whatever SQLAlchemy looked for; from 2.1 it is psycopg."""
    from autoimb.engine.database import _database_hint

    for module, package in (("psycopg", "psycopg[binary]"), ("psycopg2", "psycopg2-binary")):
        missing = ModuleNotFoundError(f"No module named {module!r}", name=module)
        hint = _database_hint("postgresql://host/db", missing)
        assert f"the module {module}, is missing: pip install '{package}'" in hint
        assert "autoimb's postgres extra" in hint


def test_a_report_on_a_database_studys_model_needs_only_its_storage(tmp_path, database) -> None:
    """The card names the model's study: "pass --storage URL and --study-name NAME" asked for
    a name it knows. A study reported alone was written to s1-s1.html."""
    url, _, _ = database
    datasets.load("ecoli1").to_csv(tmp_path / "ecoli.csv", index=False)
    search = ["search", "ecoli.csv", "--target", "target", "--storage", url, "--study-name"]
    search += ["s1", "--space", "fast", "--cv", "3", "--n-trials", "1", "--out", "m.skops"]
    assert run_cli(*search, cwd=tmp_path).returncode == 0
    alone = run_cli("report", "m.skops", "--leaderboard", "board.csv", cwd=tmp_path)
    assert alone.returncode == 2, alone.stderr
    asked = "pass --storage URL, the database or journal file holding the model's study 's1'"
    assert f"the report leaves out the leaderboard and history; {asked} for them" in alone.stderr
    assert f"--leaderboard needs the study: {asked}." in alone.stderr
    assert "--study-name" not in alone.stderr
    given = run_cli(
        "report", "m.skops", "--storage", url, "--leaderboard", "board.csv", cwd=tmp_path
    )
    assert given.returncode == 0, given.stderr
    assert (tmp_path / "board.csv").is_file() and (tmp_path / "m.html").is_file()
    study = run_cli("report", "--storage", url, "--study-name", "s1", cwd=tmp_path)
    assert study.returncode == 0, study.stderr
    assert (tmp_path / "s1.html").is_file() and not (tmp_path / "s1-s1.html").exists()


def _unwritable_folder(tmp_path):
    """A folder this process cannot write: made read-only, or, for root (whom modes do not
    stop), the kernel's own read-only /proc/sys."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if os.path.isdir("/proc/sys") and not os.access("/proc/sys", os.W_OK):
        return Path("/proc/sys")
    pytest.skip("no folder this process cannot write")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("folder", r"names a folder; give an SQLite file's path in it, such as sqlite:///.*"),
        ("text", r"is not an SQLite database; name a new file or an SQLite database"),
        ("unwritable", r"cannot write in the folder .*: give an SQLite file in a folder you can"),
    ],
    ids=["a-folder", "a-text-file", "an-unwritable-folder"],
)
def test_an_sqlite_file_that_cannot_be_opened_is_named_with_the_fix(
    tmp_path, small_binary, name, message
) -> None:
    """A folder named as the file, a file that is no database, or a folder that cannot be
    written were found only by the first write, and read as a database lost while the search
    ran, with its server to check."""
    from autoimb.exceptions import StorageFailed

    places = {
        "folder": tmp_path,
        "text": tmp_path / "notes.db",
        "unwritable": _unwritable_folder(tmp_path) / "study.db",
    }
    (tmp_path / "notes.db").write_text("some notes, not a database\n")
    X, y = small_binary
    url = f"sqlite:///{places[name]}"
    with pytest.raises(AutoImbError, match=message) as refused:
        autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=url)
    assert not isinstance(refused.value, StorageFailed)
    assert "while the search ran" not in str(refused.value)
    assert "server" not in str(refused.value)


@pytest.fixture
def unwritable():
    """Make a file or folder one this process cannot write: by its mode, or, for root (whom
    modes do not stop), made immutable (``chattr +i``); undone afterwards."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555 if path.is_dir() else 0o444)
        else:
            try:
                done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
            except FileNotFoundError:
                pytest.skip("root cannot be kept from writing here: no chattr")
            if done.returncode:
                pytest.skip(f"root cannot be kept from writing here: {done.stderr.strip()}")
        made.append(path)
        assert not os.access(path, os.W_OK)

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("kind", ["SQLite", "journal"])
@pytest.mark.parametrize("locked", ["the-file", "its-folder"])
def test_a_storage_file_a_search_cannot_write_is_refused_as_it_starts_and_still_read(
    tmp_path, small_binary, unwritable, kind, locked
) -> None:
    """An existing SQLite or journal file that could not be written, or whose folder could not
    take what is written beside it (SQLite's journal, the journal's lock), was opened, and the
    search failed at its first write as a storage lost while it ran. Reading its study must
    still work."""
    X, y = small_binary
    file = tmp_path / "runs" / ("study.db" if kind == "SQLite" else "study.optuna.log")
    file.parent.mkdir()
    storage = f"sqlite:///{file}" if kind == "SQLite" else str(file)
    autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=storage, random_state=0)
    unwritable(file if locked == "the-file" else file.parent)
    where = f"the {kind} file" if locked == "the-file" else "the folder"
    shown = repr(str(file if locked == "the-file" else file.parent))
    with pytest.raises(StorageNotOpened, match="cannot be written") as refused:
        autoimb.search(X, y, n_trials=1, space="fast", cv=3, storage=storage, random_state=0)
    said = str(refused.value)
    assert f"{where} {shown} cannot be written" in said
    assert f"Make it writable, or copy the {kind} file to a folder you can write" in said
    assert "while the search ran" not in said and "could not be written" not in said
    study = existing_study(storage, "autoimb")
    assert study is not None and finished_trials(study) == 1


def test_the_search_command_refuses_an_sqlite_file_it_cannot_write_and_report_reads_it(
    tmp_path, unwritable
) -> None:
    datasets.load("ecoli1").to_csv(tmp_path / "ecoli.csv", index=False)
    database = tmp_path / "study.db"
    url = f"sqlite:///{database}"
    search = ["search", "ecoli.csv", "--target", "target", "--storage", url, "--space", "fast"]
    search += ["--cv", "3", "--n-trials", "1", "--out", "m.skops"]
    first = run_cli(*search, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    unwritable(database)
    refused = run_cli(*search, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert f"the SQLite file {str(database)!r} cannot be written" in refused.stderr
    assert "copy the SQLite file to a folder you can write" in refused.stderr
    assert "trial" not in refused.stderr.split("cannot be written")[0]
    report = ["report", "--storage", url, "--study-name", "autoimb", "--out", "r.html"]
    read = run_cli(*report, "--leaderboard", "board.csv", cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    assert (tmp_path / "r.html").is_file() and (tmp_path / "board.csv").is_file()
