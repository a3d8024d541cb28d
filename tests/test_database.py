"""A database storage as a shared server sees it: few connections, its failures explained."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from conftest import start_cli

import autoimb
from autoimb.engine.storage import existing_study

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
