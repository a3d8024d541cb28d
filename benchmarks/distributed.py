"""A search on PostgreSQL with several worker processes, one of them killed mid-trial.

The command line as a user runs it: one `autoimb search` creates the study, `autoimb worker`
processes join it (one command each, sharing only the data path and the storage URL). Half
way through, one worker is killed with SIGKILL while it runs a trial and a fresh worker takes
its place. Then one process alone searches a study of its own for the same wall time. Both
saved models are scored on held-out rows of the same distribution.

Reports trials per minute (all workers against one process), trials lost (left RUNNING, or a
killed trial never run again), trials run twice (a re-queued trial finished twice) and the
held-out score of both models.

    python benchmarks/distributed.py                        # 1M rows x 50 columns, 4 workers
    python benchmarks/distributed.py --rows 20000 --budget 60 --workers 2    # a quick look
    python benchmarks/distributed.py --storage postgresql://user@host/db     # your server

Without ``--storage`` a throwaway PostgreSQL server is started from the local installation
(``initdb`` / ``pg_ctl`` on the PATH or under /usr/lib/postgresql).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import add_summary_argument, publish, table

PORT = 55433


@contextlib.contextmanager
def local_postgres(folder: Path) -> Iterator[str]:
    """A PostgreSQL server for this run only, removed afterwards."""
    found = shutil.which("pg_ctl")
    bins = Path(found).parent if found else Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    data = folder / "pg"
    data.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres")
        shutil.chown(folder, "postgres")
        as_postgres = ["su", "postgres", "-s", "/bin/bash", "-c"]

    def run(*command: str) -> None:
        line = " ".join(command)
        subprocess.run([*as_postgres, line] if as_postgres else ["bash", "-c", line], check=True)

    run(str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", ">/dev/null")
    options = f"'-p {PORT} -k /tmp -c listen_addresses=localhost -c max_connections=200'"
    run(
        str(bins / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(data / "log"),
        "-w",
        "start",
        ">/dev/null",
    )
    try:
        run(f"psql -h localhost -p {PORT} -U postgres -c 'CREATE DATABASE bench' >/dev/null")
        yield f"postgresql://postgres@localhost:{PORT}/bench"
    finally:
        run(str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", ">/dev/null")


def make_data(rows: int, columns: int, seed: int) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows,
        n_features=columns,
        n_informative=12,
        weights=[0.99],
        flip_y=0.002,
        class_sep=0.8,
        random_state=seed,
    )
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"x{i}" for i in range(columns)])
    return frame.assign(y=y)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autoimb.cli", *args]


def owner_pid(trial: object) -> int | None:
    owner = str(getattr(trial, "user_attrs", {}).get("worker", ""))
    return int(owner.rsplit(":", 1)[1]) if ":" in owner else None


def kill_mid_trial(process: subprocess.Popen, storage: str, name: str, wait: float) -> int | None:
    """SIGKILL ``process`` once it runs a trial (or after ``wait`` s); the trial it left."""
    import optuna

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        trials = optuna.load_study(study_name=name, storage=storage).trials
        if any(t.state.name == "RUNNING" and owner_pid(t) == process.pid for t in trials):
            break
        time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    trials = optuna.load_study(study_name=name, storage=storage).trials
    left = [t.number for t in trials if t.state.name == "RUNNING" and owner_pid(t) == process.pid]
    return left[0] if left else None


def distributed(args: argparse.Namespace, data: Path, storage: str, folder: Path) -> dict:
    import optuna

    name = f"bench-{uuid.uuid4().hex[:8]}"
    common = ["--target", "y", "--storage", storage, "--study-name", name, "--metric", "f1"]
    common += ["--heartbeat", str(args.heartbeat)]
    started = time.monotonic()
    creator = subprocess.Popen(
        cli(
            "search",
            str(data),
            *common[:-2],
            "--time-budget",
            str(args.budget),
            "--quiet",
            "--seed",
            "0",
            "--out",
            str(folder / "distributed.skops"),
        ),
        stderr=subprocess.DEVNULL,
    )
    time.sleep(5)  # the creator opens the study and queues its first trials
    workers = [
        subprocess.Popen(
            cli("worker", str(data), *common, "--time-budget", str(args.budget - 5), "--quiet"),
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers - 1)
    ]
    time.sleep(max(args.budget / 2 - 5, 1))
    victim_pid = workers[0].pid
    killed_trial = kill_mid_trial(workers[0], storage, name, wait=args.budget / 4)
    left = args.budget - (time.monotonic() - started)
    workers[0] = subprocess.Popen(
        cli("worker", str(data), *common, "--time-budget", str(max(left, 10)), "--quiet"),
        stderr=subprocess.DEVNULL,
    )
    for process in [creator, *workers]:
        process.wait()
    wall = time.monotonic() - started
    trials = optuna.load_study(study_name=name, storage=storage).trials
    ran = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    running = [t for t in trials if t.state.name == "RUNNING"]
    # A trial run twice: one queued again more than once, or queued again though it had
    # finished. (Two samplers drawing the same strategy is sampling, not a trial run twice.)
    queued_for: dict[int, list[int]] = {}
    for t in trials:
        if "failed_trial" in t.system_attrs:
            queued_for.setdefault(int(t.system_attrs["failed_trial"]), []).append(t.number)
    finished = {t.number for t in ran}
    twice = sum(len(n) - 1 for n in queued_for.values()) + sum(
        1 for original in queued_for if original in finished
    )
    retried = (
        [trials[n] for n in queued_for.get(killed_trial, [])] if killed_trial is not None else []
    )
    for t in trials:
        print(
            f"trial {t.number:3d} {t.state.name:8s} worker {owner_pid(t)} "
            f"queued for {t.system_attrs.get('failed_trial', '-')}",
            flush=True,
        )
    return {
        "wall": wall,
        "trials": len(ran),
        "per_minute": 60 * len(ran) / wall,
        "killed_trial": killed_trial,
        "killed_pid": victim_pid,
        "retried": [(t.number, t.state.name) for t in retried],
        "lost": len(running) + int(killed_trial is not None and not retried),
        "twice": twice,
        "model": folder / "distributed.skops",
    }


def single(args: argparse.Namespace, data: Path, folder: Path) -> dict:
    import optuna

    storage = str(folder / "single.optuna.log")
    started = time.monotonic()
    subprocess.run(
        cli(
            "search",
            str(data),
            "--target",
            "y",
            "--metric",
            "f1",
            "--time-budget",
            str(args.budget),
            "--quiet",
            "--seed",
            "0",
            "--storage",
            storage,
            "--out",
            str(folder / "single.skops"),
        ),
        check=True,
        stderr=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    from autoimb.engine.storage import make_storage

    trials = optuna.load_study(study_name="autoimb", storage=make_storage(storage)).trials
    ran = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    return {
        "wall": wall,
        "trials": len(ran),
        "per_minute": 60 * len(ran) / wall,
        "model": folder / "single.skops",
    }


def held_out_f1(model: Path, test: pd.DataFrame) -> float:
    from sklearn.metrics import f1_score

    import autoimb

    pipeline = autoimb.load(model)
    return float(f1_score(test["y"], pipeline.predict(test.drop(columns="y"))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="processes, the creator included")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for each search")
    parser.add_argument("--heartbeat", type=int, default=10)
    parser.add_argument("--storage", help="a PostgreSQL URL (default: a throwaway local server)")
    add_summary_argument(parser, "distributed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autoimb-dist-") as tmp:
        folder = Path(tmp)
        data = folder / "data.parquet"
        make_data(args.rows, args.columns, seed=0).to_parquet(data)
        test = make_data(max(args.rows // 5, 10_000), args.columns, seed=1)
        servers = contextlib.nullcontext(args.storage) if args.storage else local_postgres(folder)
        with servers as storage:
            shared = distributed(args, data, storage, folder)
        alone = single(args, data, folder)
        shared["f1"] = held_out_f1(shared["model"], test)
        alone["f1"] = held_out_f1(alone["model"], test)
    rows = [
        [
            f"{args.workers} processes on PostgreSQL",
            f"{shared['wall']:.0f}",
            shared["trials"],
            f"{shared['per_minute']:.1f}",
            shared["lost"],
            shared["twice"],
            f"{shared['f1']:.4f}",
        ],
        [
            "1 process",
            f"{alone['wall']:.0f}",
            alone["trials"],
            f"{alone['per_minute']:.1f}",
            "-",
            "-",
            f"{alone['f1']:.4f}",
        ],
    ]
    text = "\n".join(
        [
            f"Generated by `benchmarks/distributed.py` on {os.cpu_count()} logical cores "
            f"({platform.machine()}, Python {platform.python_version()}): "
            f"`make_classification`, {args.rows:,} rows x {args.columns} columns, 1% minority, "
            f"F1, {args.budget:g} s per search, heartbeat {args.heartbeat} s. One worker was "
            f"killed (SIGKILL) half way, in trial {shared['killed_trial']}, and replaced; the "
            f"trial it left was queued again as {shared['retried'] or 'nothing'}. Held-out F1 "
            f"on {max(args.rows // 5, 10_000):,} fresh rows.\n",
            table(
                [
                    "search",
                    "wall s",
                    "trials",
                    "trials/min",
                    "trials lost",
                    "run twice",
                    "held-out F1",
                ],
                rows,
            ),
        ]
    )
    publish(text, args.summary, "distributed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
