"""The anytime curve on sets the portfolio never saw: each search warm-started leave-one-family-out.

The shipped portfolio was ordered on all 80 dev sets, the anytime sets among them, so a short
search on a dev set starts from strategies already chosen for that very data: its first trials
are better than they would be on a user's data, and what a longer search adds looks smaller.
Here each set's search starts from the portfolio rebuilt without the set's family (and the
candidates found on its data), as ``portfolio_lofo.py`` builds it; everything else is the
default search. Rows are ``quality.py``'s, so ``anytime.py`` pairs the budgets:

    python benchmarks/anytime_lofo.py --budgets 10 60 --datasets sylva hiva ... \\
        --out benchmarks/results/anytime_lofo.csv
    python benchmarks/anytime.py benchmarks/results/anytime_lofo.csv --summary /tmp/s.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

import autoimb
from autoimb.metrics.registry import get_metric

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, outer_splits
from portfolio import RESULTS, load_table, quiet_logs
from portfolio_lofo import lofo_order
from quality import OUTER_FOLDS, SEED, predict, score, strategy_names

COLUMNS = ["dataset", "fold", "method", "metric", "score", "cv_score", "fit_seconds", "budget"]


def done_keys(out: Path) -> set[tuple[str, int, str, float]]:
    if not out.exists():
        return set()
    frame = pd.read_csv(out)
    return {(r.dataset, int(r.fold), r.metric, float(r.budget)) for r in frame.itertuples()}


def run(args: argparse.Namespace) -> None:
    entries, table = load_table(Path(args.work), Path(args.data_dir))
    out = Path(args.out)
    done = done_keys(out)
    for name in args.datasets:
        j = table.names.index(name)
        for fold, (X, y, X_test, y_test) in outer_splits(
            name, Path(args.data_dir), OUTER_FOLDS, SEED, args.folds
        ):
            n_classes = int(max(y.max(), y_test.max())) + 1
            for metric in args.metrics:
                order = lofo_order(entries, table, j, get_metric(metric).kind, None, args.size)
                warm = [entries[i]["config"] for i in order]
                for budget in args.budgets:
                    if (name, fold, metric, float(budget)) in done:
                        continue
                    started = time.perf_counter()
                    result = autoimb.search(
                        X, y, metric=metric, time_budget=budget, n_jobs=1,
                        random_state=SEED, warm_start=warm, verbose=False,
                    )  # fmt: skip
                    seconds = time.perf_counter() - started
                    proba, pred, _ = predict(result.best_pipeline, X_test, n_classes)
                    states = result.leaderboard["state"].value_counts()
                    detail = {
                        **strategy_names(result.best_config),
                        "ensemble_of": len(result.best_config.get("members", {})) or None,
                        "trials": int(states.sum()),
                        "complete": int(states.get("COMPLETE", 0)),
                        "score_basis": result.score_basis,
                    }
                    row = {
                        "dataset": name, "fold": fold, "method": "autoimb", "metric": metric,
                        "score": score(metric, y_test, proba, pred, n_classes),
                        "cv_score": result.best_score, "fit_seconds": seconds,
                        "budget": float(budget), "error": None, "detail": json.dumps(detail),
                    }  # fmt: skip
                    pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)
                    print(
                        f"{name:30s} fold {fold} {metric} {budget:>4g} s  {row['score']:.3f}  "
                        f"({detail['complete']} complete, {seconds:.1f} s)",
                        flush=True,
                    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--budgets", nargs="+", type=float, default=[10.0, 60.0])
    parser.add_argument("--metrics", nargs="+", default=["f1"])
    parser.add_argument("--folds", nargs="+", type=int, default=list(range(OUTER_FOLDS)))
    parser.add_argument("--size", type=int, default=8, help="strategies in the portfolio")
    parser.add_argument("--out", default=str(RESULTS / "anytime_lofo.csv"))
    parser.add_argument("--data-dir", default=str(KEEL))
    parser.add_argument("--work", default=str(RESULTS), help="folder of the portfolio's table")
    args = parser.parse_args(argv)
    quiet_logs()
    with threadpool_limits(1):
        run(args)


if __name__ == "__main__":
    main()
