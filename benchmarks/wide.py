"""Wide data: what checking and typing the columns costs before the first trial
(``validate``) and at every refit and prediction (``conform``), by the number of columns; and
what a search of a given budget gets done on the widest synthetic frame.

The dev sets with the most columns, and synthetic frames of 2,000 rows (numbers, a tenth of
them missing, about 8% minority) of 1,000 to 10,000 columns. Each reading figure is the
fastest of three runs; each search is one run with one thread.

    python benchmarks/wide.py
    python benchmarks/wide.py --sets hiva --columns 1000 --repeats 1 --search-budgets
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
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, load_keel

import autoimb
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
    signal = np.nan_to_num(values[:, 0]) + np.nan_to_num(values[:, 1])
    return X, (signal + rng.normal(size=rows) > 2.5).astype(int)


def measure(name: str, X: pd.DataFrame, y: np.ndarray, repeats: int) -> list[object]:
    data = validate(X, y)
    schema = data.schema()
    started = fastest(lambda: validate(X, y), repeats)
    predicted = fastest(lambda: conform(X, schema), repeats)
    return [name, len(X), X.shape[1], round(started, 3), round(predicted, 3)]


def search(X: pd.DataFrame, y: np.ndarray, budget: float) -> list[object]:
    """One F1 search: its wall time, its trials by state, and whether the winner was refitted."""
    started = time.monotonic()
    try:
        result = autoimb.search(X, y, metric="f1", time_budget=budget, random_state=0)
    except autoimb.AutoImbError as exc:
        return [X.shape[1], budget, round(time.monotonic() - started, 1), 0, 0, str(exc)[:60]]
    wall = time.monotonic() - started
    states = [t.state for t in result.study.trials]
    served = "fold models" if any("fold models" in n for n in result.notes) else "refit"
    finished = states.count(TrialState.COMPLETE)
    return [X.shape[1], budget, round(wall, 1), finished, states.count(TrialState.PRUNED), served]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=WIDEST)
    parser.add_argument("--columns", nargs="*", type=int, default=[1000, 3000, 10000])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    parser.add_argument("--search-budgets", nargs="*", type=float, default=[20.0, 60.0])
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
    if args.search_budgets:
        X, y = synthetic(args.rows, max(args.columns))
        print("\n| columns | budget (s) | wall (s) | finished | pruned | served |")
        print("|---|---|---|---|---|---|")
        for budget in args.search_budgets:
            row = search(X, y, budget)
            print("| " + " | ".join(str(v) for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
