"""Reading wide data: what checking and typing the columns costs before the first trial
(``validate``) and at every refit and prediction (``conform``), by the number of columns.

The dev sets with the most columns, and synthetic frames of 2,000 rows (numbers, a tenth of
them missing) of 1,000 to 10,000 columns. Each figure is the fastest of three runs.

    python benchmarks/wide.py
    python benchmarks/wide.py --sets hiva --columns 1000 --repeats 1
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, load_keel

from autoimb.data.conform import conform
from autoimb.data.dataset import validate

WIDEST = ["hiva", "ada", "sylva", "kr_vs_k_zero_one_vs_draw"]


def fastest(work: Callable[[], object], repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def synthetic(rows: int, columns: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, columns))
    values[rng.random(size=values.shape) < 0.1] = np.nan
    X = pd.DataFrame(values, columns=[f"c{i}" for i in range(columns)])
    return X, (rng.random(rows) < 0.05).astype(int)


def measure(name: str, X: pd.DataFrame, y: np.ndarray, repeats: int) -> list[object]:
    data = validate(X, y)
    schema = data.schema()
    started = fastest(lambda: validate(X, y), repeats)
    predicted = fastest(lambda: conform(X, schema), repeats)
    return [name, len(X), X.shape[1], round(started, 3), round(predicted, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=WIDEST)
    parser.add_argument("--columns", nargs="*", type=int, default=[1000, 3000, 10000])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # constant columns dropped: told once per set
    print("| data | rows | columns | validate (s) | conform (s) |")
    print("|---|---|---|---|---|")
    rows = [measure(name, *load_keel(name, args.data_dir), args.repeats) for name in args.sets]
    for columns in args.columns:
        X, y = synthetic(args.rows, columns)
        rows.append(measure(f"synthetic {columns}", X, y, args.repeats))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
