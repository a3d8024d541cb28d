"""Reading new rows at scale: the seconds a batch of N rows spends in reading its CSV, in the
checks that bring it to the model's schema, and in the model, by step; then the wall time and
peak memory of `autoimb predict` on the saved model and the same file.

    python benchmarks/reading.py                  # 1,000,000 rows
    python benchmarks/reading.py --rows 100000 --summary

The batch is a churn-like table: 8 number columns, 3 text categories, an ISO date and a unique
customer id, written to a CSV; the model is the winner of a short search on 5,000 such rows
(named in the output). Each step is timed once (a million rows make one run's noise small
beside its seconds).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import add_summary_argument, publish, table


def churn_like(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(rows, 8))
    frame = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(8)]).round(4)
    frame["plan"] = rng.choice(["basic", "plus", "pro", "family"], rows)
    frame["region"] = rng.choice(["north", "south", "east", "west", ""], rows)
    frame["channel"] = rng.choice(["web", "app", "shop"], rows)
    start = np.datetime64("2023-01-01T00:00")
    minutes = rng.integers(0, 60 * 24 * 365, rows).astype("timedelta64[m]")
    frame["signup"] = np.datetime_as_string(start + minutes, unit="m")
    frame["customer_id"] = [f"C{i:09d}" for i in range(rows)]
    signal = numbers[:, 0] + (frame["plan"] == "pro") - 0.5 * (frame["channel"] == "app")
    frame["churned"] = (signal + rng.normal(size=rows) > 2.2).astype(int)
    return frame


# Each measured command runs in a process of its own, which reports its own peak memory: the
# resident high-water mark of its memory after exec (VmHWM). The kernel's maxrss would count the
# parent's, whose memory a spawned child shares until exec.
_ALONE = """
import runpy, sys, time
started = time.perf_counter()
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    if stop.code:
        raise
seconds = time.perf_counter() - started
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(seconds, int(peak.split()[1]) * 1024, file=sys.__stderr__)
"""
_READ = """
import sys
from autoimb.data.files import read_table
read_table(sys.argv[1])
"""


def alone(*command: str, cwd: Path) -> tuple[float, float]:
    """Seconds and peak bytes of ``python -m`` one module with its arguments."""
    line = [sys.executable, "-c", _ALONE, *command]
    done = subprocess.run(line, cwd=cwd, check=True, capture_output=True, text=True)
    seconds, peak = done.stderr.split()[-2:]
    return float(seconds), float(peak)


def timed(step: str, seconds: dict[str, float], work):
    started = time.perf_counter()
    value = work()
    seconds[step] = time.perf_counter() - started
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    add_summary_argument(parser, "reading")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autoimb-reading-") as scratch:
        measure(args, Path(scratch))  # its files (hundreds of MB of CSV) go with it


def measure(args: argparse.Namespace, folder: Path) -> None:
    import autoimb
    from autoimb.data.conform import conform, warn_of_new_rows
    from autoimb.data.files import read_table

    train = churn_like(5000, seed=0)
    X, y = train.drop(columns=["churned", "customer_id"]), train["churned"]
    result = autoimb.search(X, y, metric="f1", n_trials=3, space="fast", random_state=0)
    model = result.best_pipeline
    schema = model.model_card_["schema"]
    path = folder / "batch.csv"
    churn_like(args.rows, seed=1).drop(columns=["churned"]).to_csv(path, index=False)

    seconds: dict[str, float] = {}
    text = [c for c in schema["categorical"] if c not in schema.get("numeric_coded", [])]
    frame = timed("read the CSV", seconds, lambda: read_table(str(path), text_columns=text))
    features = frame.drop(columns=["customer_id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timed("warn of new rows", seconds, lambda: warn_of_new_rows(features, schema))
        conformed = timed("conform to the schema", seconds, lambda: conform(features, schema))
        timed("predict_proba (all steps)", seconds, lambda: model.predict_proba(features))
    del conformed
    # predict_proba runs the two checks above again inside it: a batch costs reading and it
    batch = seconds["read the CSV"] + seconds["predict_proba (all steps)"]
    rows = [[step, f"{value:.2f}"] for step, value in seconds.items()]
    rows.append(["rows per second (reading and predict_proba)", f"{args.rows / batch:,.0f}"])
    result.save(folder / "model.skops")
    command = ["predict", "model.skops", "batch.csv", "--id", "customer_id", "--out", "out.csv"]
    wall, peak = alone("autoimb.cli", *command, cwd=folder)
    rows.append(["`autoimb predict` (start-up, load, read, score, write), wall", f"{wall:.2f}"])
    rows.append(["`autoimb predict`, peak memory (MB)", f"{peak / 1e6:,.0f}"])
    # A last column with blanks makes the reader look for rows with fewer fields.
    blanks = folder / "blanks.csv"
    frame.assign(note=np.where(np.arange(len(frame)) % 5, 1.5, np.nan)).to_csv(blanks, index=False)
    (folder / "read_alone.py").write_text(_READ)
    wall, peak = alone("read_alone", str(blanks), cwd=folder)
    step = "the CSV with blanks in its last column, read alone (with imports), wall"
    rows.append([step, f"{wall:.2f}"])
    rows.append(["… its peak memory (MB)", f"{peak / 1e6:,.0f}"])
    from autoimb.strategy import strategy_label

    size = path.stat().st_size / 1e6
    winner = strategy_label(model.model_card_["config"])
    heading = f"Reading {args.rows:,} new rows ({size:.0f} MB of CSV); the model: {winner}"
    steps = table(["step", "seconds, or as named"], rows)
    publish(f"{heading}\n\n{steps}", args.summary, "reading")


if __name__ == "__main__":
    main()
