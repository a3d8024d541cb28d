"""A category column of many values (a merchant id): one fold's fit time and peak memory.

A fraud-like table: numbers with missing values, a merchant column of 20,000 values (a few
frequent, a long tail), two small category columns and a date, 0.3% minority. One training
fold (two thirds of the rows) is fitted with each strategy below, each in a process of its own,
so each peak resident memory is its own. ``--uncapped`` gives every merchant its own code and
SMOTE-NC one block for all its new rows, as autoimb did before
(config.MOST_CATEGORIES, blocked_smote.SYNTHETIC_BLOCK_CELLS). CPU seconds, not wall seconds: on a
shared machine they move less with the other work.

    python benchmarks/many_categories.py                       # 100k rows
    python benchmarks/many_categories.py --rows 300000 --uncapped
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

STRATEGIES = {
    "lightgbm": {"weighting": {"name": "balanced"}, "model": {"name": "lightgbm"}},
    "smote+lightgbm": {"resampler": {"name": "smote"}, "model": {"name": "lightgbm"}},
    "logistic": {"weighting": {"name": "balanced"}, "model": {"name": "logistic_regression"}},
}


def fraud_table(rows: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.003).astype(int)
    columns = {}
    for j in range(34):
        values = rng.normal(size=rows) + (0.6 * y if j < 8 else 0)
        values[rng.random(rows) < (0.05 if j % 5 == 0 else 0)] = np.nan
        columns[f"num_{j}"] = values
    columns["amount"] = np.exp(rng.normal(3, 1.5, rows) + y)
    weights = 1 / np.arange(1, 20_001) ** 0.8
    merchant = rng.choice(20_000, size=rows, p=weights / weights.sum())
    columns["merchant_id"] = np.char.add("M", merchant.astype(str))
    columns["country"] = rng.choice(["US", "GB", "DE", "FR", "IN", "BR", "NG", "CN"], rows)
    columns["channel"] = rng.choice(["web", "app", "pos"], rows)
    seconds = pd.to_timedelta(rng.integers(0, 365 * 86_400, rows), unit="s")
    columns["time"] = pd.Timestamp("2024-01-01") + seconds
    return pd.DataFrame(columns), y


def one_fit(rows: int, strategy: str, uncapped: bool) -> dict:
    import warnings

    import numpy as np

    from autoimb import config
    from autoimb.data.dataset import validate
    from autoimb.engine.pipeline import StrategyPipeline
    from autoimb.stages.resampling import blocked_smote

    if uncapped:
        config.MOST_CATEGORIES = blocked_smote.SYNTHETIC_BLOCK_CELLS = 10**12
    X, y = fraud_table(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = validate(X, y)
    train = np.random.default_rng(0).random(rows) < 2 / 3
    pipeline = StrategyPipeline(STRATEGIES[strategy], data.schema(), random_state=0, n_threads=1)
    started = time.process_time()
    pipeline.fit(data.X[train], data.y[train])
    return {
        "strategy": strategy,
        "cpu_s": round(time.process_time() - started, 1),
        "codes": pipeline.preprocessor_.cardinalities[0],
        "data_mb": round(X.memory_usage(deep=True).sum() / 2**20),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--uncapped", action="store_true", help="every value its own code")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_fit(args.rows, args.strategies[0], args.uncapped)))
        return 0
    print(
        f"{'strategy':<16} {'rows':>8} {'merchant codes':>14} {'CPU s':>7} {'data MB':>8} "
        f"{'peak MB':>8}"
    )
    for strategy in args.strategies:
        command = [
            sys.executable,
            __file__,
            "--child",
            "--rows",
            str(args.rows),
            "--strategies",
            strategy,
        ] + ["--uncapped"] * args.uncapped
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{strategy:<16} failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{strategy:<16} {args.rows:>8} {r['codes']:>14} {r['cpu_s']:>7.1f} "
            f"{r['data_mb']:>8} {r['peak_mb']:>8}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
