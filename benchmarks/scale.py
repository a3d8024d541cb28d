"""How far one machine goes: rows, seconds, trials finished and peak memory per data size.

Each size runs in its own process, so its peak resident memory is its own. The data are
``make_classification`` with 50 features and 1% minority, as a large fraud-like table.

    python benchmarks/scale.py                      # 10k, 100k, 1M rows
    python benchmarks/scale.py --rows 10000 --budget 60
    python benchmarks/scale.py --rows 100000 --n-jobs 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

DEFAULT_BUDGETS = {10_000: 60, 100_000: 180, 1_000_000: 600}


def one_size(rows: int, budget: float, metric: str, n_jobs: int) -> dict:
    import numpy as np
    from sklearn.datasets import make_classification

    import autoimb

    X, y = make_classification(
        n_samples=rows,
        n_features=50,
        n_informative=12,
        weights=[0.99],
        flip_y=0.002,
        class_sep=0.8,
        random_state=0,
    )
    X = X.astype(np.float32)
    started = time.monotonic()
    result = autoimb.search(X, y, metric=metric, time_budget=budget, n_jobs=n_jobs, random_state=0)
    seconds = time.monotonic() - started
    states = result.leaderboard["state"].value_counts().to_dict()
    return {
        "rows": rows,
        "budget_s": budget,
        "seconds": round(seconds, 1),
        "over_budget_s": round(seconds - budget, 1),
        "trials_complete": int(states.get("COMPLETE", 0)),
        "trials_pruned": int(states.get("PRUNED", 0)),
        "trials_failed": int(states.get("FAIL", 0)),
        "best": f"{metric}={result.best_score:.4f}",
        # Its own process's peak (the parent's view of its children is their largest so far).
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "strategy": result.strategy,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=list(DEFAULT_BUDGETS))
    parser.add_argument("--budget", type=float, help="seconds per size (default: per size)")
    parser.add_argument("--metric", default="average_precision")
    parser.add_argument("--n-jobs", type=int, default=1, help="trials in parallel (default 1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_size(args.rows[0], args.budget, args.metric, args.n_jobs)))
        return 0
    print(
        f"{'rows':>9} {'budget':>7} {'seconds':>8} {'complete':>8} {'pruned':>7} "
        f"{'failed':>6} {'peak MB':>8}  best / strategy"
    )
    for rows in args.rows:
        budget = args.budget or DEFAULT_BUDGETS.get(rows, 120)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--rows",
                str(rows),
                "--budget",
                str(budget),
                "--metric",
                args.metric,
                "--n-jobs",
                str(args.n_jobs),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(f"{rows:>9} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        peak_mb = r["peak_mb"]
        print(
            f"{r['rows']:>9} {r['budget_s']:>7.0f} {r['seconds']:>8.1f} "
            f"{r['trials_complete']:>8} {r['trials_pruned']:>7} {r['trials_failed']:>6} "
            f"{peak_mb:>8.0f}  {r['best']} {r['strategy']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
