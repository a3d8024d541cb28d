"""Parallel trials in one process (Optuna's threads) against processes sharing a journal file.

Counts trials finished in a fixed wall-clock budget, for one process with ``n_jobs=1``, one
process with ``n_jobs=2`` (threads; each model then gets cores // 2 threads), and two processes
joining one study through an Optuna journal file (``autoimb worker`` on one machine). Each mode
is timed from its first trial's start: the processes' clock starts once the study they join
exists (the search that creates it, and its trial, are left out of both the count and the time);
it includes the processes' start-up, a cost of that mode.

    python benchmarks/parallel.py --rows 1000 10000 --budget 60
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification


def make_data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=rows, n_features=20, n_informative=8, weights=[0.95], random_state=0
    )


def threads(rows: int, budget: float, n_jobs: int) -> tuple[int, float]:
    """Trials finished and the seconds they took."""
    import autoimb

    X, y = make_data(rows)
    started = time.monotonic()
    result = autoimb.search(
        X, y, metric="average_precision", time_budget=budget, n_jobs=n_jobs, random_state=0
    )
    return int((result.leaderboard["state"] != "RUNNING").sum()), time.monotonic() - started


def _join(log: str, rows: int, budget: float) -> None:
    from autoimb.engine.worker import join

    X, y = make_data(rows)
    join(log, "parallel", X, y, time_budget=budget)


def processes(rows: int, budget: float, n_processes: int) -> tuple[int, float]:
    """Trials the workers finished and the seconds from their start to their end."""
    import optuna

    import autoimb
    from autoimb.engine.storage import make_storage

    X, y = make_data(rows)
    with tempfile.TemporaryDirectory() as folder:
        log = str(Path(folder) / "study.log")
        # The creator runs one trial, so the workers find the study and its settings.
        autoimb.search(
            X,
            y,
            metric="average_precision",
            n_trials=1,
            storage=log,
            study_name="parallel",
            random_state=0,
        )
        started = time.monotonic()
        context = multiprocessing.get_context("spawn")  # no fork: LightGBM's OpenMP hangs
        workers = [
            context.Process(target=_join, args=(log, rows, budget)) for _ in range(n_processes)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.monotonic() - started
        study = optuna.load_study(study_name="parallel", storage=make_storage(log))
        return sum(t.state.is_finished() for t in study.trials) - 1, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--budget", type=float, default=60.0)
    args = parser.parse_args()
    print(f"{'rows':>7} {'mode':<28} {'trials':>6} {'trials/min':>10}")
    for rows in args.rows:
        for mode, run, jobs in [
            ("1 process, n_jobs=1", threads, 1),
            ("1 process, n_jobs=2 threads", threads, 2),
            ("2 processes, journal file", processes, 2),
        ]:
            count, seconds = run(rows, args.budget, jobs)
            minutes = seconds / 60
            print(f"{rows:>7} {mode:<28} {count:>6} {count / minutes:>10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
