"""Two worker processes on one study, coordinated through a shared Optuna storage.

1. ``autoimb.search(..., storage=..., study_name=...)`` creates the study: it records the
   metric, the space and the folds' seed, and runs a first trial.
2. Two ``autoimb worker`` processes join it at the same time; each asks the storage for its
   next trial, so none is repeated. The storage here is a journal file, which coordinates
   processes on one machine; for several machines give a database URL instead
   (``postgresql://host/db``, as in the README).
3. The same ``autoimb.search`` call again resumes the study and returns the best of all trials.

Files go to ``--out`` (default: a temporary folder, removed at the end).

Run:  python examples/two_workers.py [--budget SECONDS] [--out FOLDER]
      (or set AUTOIMB_EXAMPLE_BUDGET; each worker searches for that long)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import autoimb

# The `autoimb` command installed beside this Python (also when its folder is not on PATH).
AUTOIMB = shutil.which("autoimb") or str(Path(sys.executable).with_name("autoimb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("AUTOIMB_EXAMPLE_BUDGET", "30")),
        help="seconds each worker searches (default: $AUTOIMB_EXAMPLE_BUDGET or 30)",
    )
    parser.add_argument("--out", type=Path, help="keep the study's journal file here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        storage = str(out / "study.optuna.log")  # a journal file; or "sqlite:///study.db"
        X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
        study = {"metric": "mcc", "space": "fast", "storage": storage, "study_name": "demo"}
        autoimb.search(X, y, **study, n_trials=1, random_state=0)

        # The workers load the same shipped data set by name; a CSV path works the same way.
        worker = [AUTOIMB, "worker", "ecoli1", "--target", "target", "--storage", storage]
        worker += ["--study-name", "demo", "--time-budget", str(args.budget), "--quiet"]
        processes = [subprocess.Popen(worker) for _ in range(2)]
        for process in processes:
            if process.wait() != 0:
                sys.exit(f"a worker failed with exit code {process.returncode}")

        result = autoimb.search(X, y, **study, n_trials=1)  # resume: one more trial, then finish
        print(f"{len(result.leaderboard)} trials in the study")
        print(f"best: {result.strategy}, MCC {result.best_score:.3f}")
        print(result.leaderboard[["trial", "resampler", "weighting", "model", "score"]].head())


if __name__ == "__main__":
    main()
