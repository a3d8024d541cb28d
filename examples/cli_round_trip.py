"""The command line round trip: ``autoimb search`` → ``autoimb predict`` → ``autoimb report``.

Writes a training CSV and a CSV of "new" rows (both from the shipped ecoli1 set, with an
``id`` column), then runs the three commands as a user would type them, each printed before
it runs. Everything is written to ``--out`` (default: a temporary folder, removed at the end).

Run:  python examples/cli_round_trip.py [--budget SECONDS] [--out FOLDER]
      (or set AUTOIMB_EXAMPLE_BUDGET)
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

import autoimb

# The `autoimb` command installed beside this Python (also when its folder is not on PATH).
AUTOIMB = shutil.which("autoimb") or str(Path(sys.executable).with_name("autoimb"))


def autoimb_cli(folder: Path, *args: str) -> None:
    """Run `autoimb ARGS` in FOLDER, showing the command first."""
    print(f"{folder}$ autoimb {shlex.join(args)}", flush=True)
    subprocess.run([AUTOIMB, *args], cwd=folder, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("AUTOIMB_EXAMPLE_BUDGET", "30")),
        help="search seconds (default: $AUTOIMB_EXAMPLE_BUDGET or 30)",
    )
    parser.add_argument("--out", type=Path, help="keep the files here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        frame = autoimb.datasets.load("ecoli1")
        frame.insert(0, "id", [f"row{i}" for i in range(len(frame))])
        new = frame.sample(10, random_state=0)
        frame.drop(new.index).to_csv(out / "train.csv", index=False)
        new.drop(columns="target").to_csv(out / "new.csv", index=False)

        search = ["search", "train.csv", "--target", "target", "--id", "id", "--metric", "f1"]
        budget = ["--space", "fast", "--time-budget", str(args.budget), "--seed", "0"]
        autoimb_cli(out, *search, *budget, "--out", "model.skops", "--quiet")
        autoimb_cli(out, "predict", "model.skops", "new.csv", "--id", "id", "--out", "scores.csv")
        autoimb_cli(out, "report", "model.skops", "--out", "report.html")

        print(pd.read_csv(out / "scores.csv").round(3).to_string(index=False))
        print(f"the true labels: {new['target'].tolist()}")
        print("files:", sorted(p.name for p in out.iterdir()))


if __name__ == "__main__":
    main()
