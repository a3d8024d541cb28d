"""Measure the portfolio leave-one-family-out: a set's own family never informs what is tried on it.

For each KEEL dev set, the portfolio is rebuilt from the scores table of ``portfolio.py``
without the set's family (its sets leave the table, the candidates found on its data leave
the pool): one greedy order over all other sets (what autoimb ships), or an order for the set
from its nearest dev sets in meta-feature space.

``simulate``: from the table alone, the mean best normalised score (0 = the worst entry on a
set, 1 = the best) that the first N strategies reach with the baselines, for: the baselines
alone, the previous portfolio (built from 12 small sets), one global order (greedy over all
other families' sets), and the order of the nearest sets. Instant.

``search``: real searches scored on held-out rows. On outer fold 0 of ``quality.py``'s split,
``autoimb.search`` at ``--budget`` seconds warm-started with the previous portfolio and with
the leave-one-family-out global order (same seed), scored on the outer test part.

    python benchmarks/portfolio_lofo.py simulate
    python benchmarks/portfolio_lofo.py search --budget 10 --metrics f1     # ~30 min
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

import autoimb
from autoimb.metrics.registry import get_metric

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, load_keel
from _markdown import table, write_section
from _paired import TIE, tally
from _portfolio_table import Portfolio
from portfolio import KINDS, RESULTS, excluded, family, load_table, quiet_logs
from quality import OUTER_FOLDS, SEED, score

REPORT = ROOT / "benchmarks" / "PORTFOLIO.md"
SEARCHES = RESULTS / "portfolio_lofo.csv"
SIZE = 8

logger = logging.getLogger("benchmarks.portfolio_lofo")


def lofo_order(
    entries: list[dict[str, Any]],
    portfolio: Portfolio,
    j: int,
    kind: str,
    meta: np.ndarray | None,
    size: int = SIZE,
) -> list[int]:
    """The order on dev set ``j`` had its family never been seen: by its nearest dev sets, or
    (``meta`` None) one order over all the other families' sets, as shipped."""
    held_out = portfolio.families[j]
    return portfolio.order(
        meta,
        kind,
        size,
        exclude_families=(held_out,),
        exclude_strategies=excluded(entries, held_out),
    )


def simulate(args: argparse.Namespace) -> None:
    entries, portfolio = load_table(Path(args.work), Path(args.data_dir))
    previous = [i for i, e in enumerate(entries) if e["role"] == "previous"]
    rows = []
    for kind in KINDS:
        scores, start = portfolio.scores[kind], portfolio.start[kind]
        for j, name in enumerate(portfolio.names):
            arms = {
                "previous portfolio": previous,
                "global order (LOFO)": lofo_order(entries, portfolio, j, kind, None),
                "nearest sets (LOFO)": lofo_order(entries, portfolio, j, kind, portfolio.meta[j]),
            }
            for n in args.first:
                row = {"kind": kind, "set": name, "first": n, "baselines alone": start[j]}
                for arm, order in arms.items():
                    row[arm] = max([start[j], *(scores[i, j] for i in order[:n])])
                rows.append(row)
    frame = pd.DataFrame(rows)
    arms = ["baselines alone", "previous portfolio", "global order (LOFO)", "nearest sets (LOFO)"]
    lines = []
    for (kind, n), part in frame.groupby(["kind", "first"], sort=False):
        diff = part["global order (LOFO)"] - part["previous portfolio"]
        lines.append(
            [kind, n, len(part), *(float(part[a].mean()) for a in arms),
             tally(diff).counts()]
        )  # fmt: skip
    body = (
        f"Simulated {dt.date.today().isoformat()} with `python benchmarks/portfolio_lofo.py "
        f"simulate` from the scores table: mean over the {portfolio.meta.shape[0]} dev sets of "
        "the best normalised score among the baselines and the first N strategies (1 = the best "
        "of all scored entries on that set). Leave-one-family-out: the set's family is out of "
        "the table and its candidates out of the pool.\n\n"
        + table(["kind", "first N", "sets", *arms, "global vs previous (w/t/l)"], lines)
    )
    write_section(Path(args.report), "portfolio-simulate", body)
    print(body)


def search(args: argparse.Namespace) -> None:
    entries, portfolio = load_table(Path(args.work), Path(args.data_dir))
    previous = [e["config"] for e in entries if e["role"] == "previous"]
    out = Path(args.out)
    done = (
        set(map(tuple, pd.read_csv(out)[["dataset", "metric", "arm"]].to_numpy()))
        if out.exists()
        else set()
    )
    names = args.datasets or portfolio.names
    for name in names:
        j = portfolio.names.index(name)
        X_all, y_all = load_keel(name, Path(args.data_dir))
        n_classes = int(y_all.max()) + 1
        splits = StratifiedKFold(OUTER_FOLDS, shuffle=True, random_state=SEED)
        train, test = next(iter(splits.split(X_all, y_all)))
        X, y = X_all.iloc[train].reset_index(drop=True), y_all[train]
        X_test, y_test = X_all.iloc[test].reset_index(drop=True), y_all[test]
        for metric in args.metrics:
            kind = get_metric(metric).kind
            order = lofo_order(entries, portfolio, j, kind, None)
            arms = {"previous": previous, "global_lofo": [entries[i]["config"] for i in order]}
            for arm, warm in arms.items():
                if (name, metric, arm) in done:
                    continue
                started = time.perf_counter()
                result = autoimb.search(
                    X, y, metric=metric, time_budget=args.budget, n_jobs=1,
                    random_state=SEED, warm_start=warm, verbose=False,
                )  # fmt: skip
                seconds = time.perf_counter() - started
                model = result.best_pipeline
                proba = np.asarray(model.predict_proba(X_test))
                pred = np.asarray(model.predict(X_test))
                states = result.leaderboard["state"].value_counts()
                row = {
                    "dataset": name, "family": family(name), "metric": metric, "arm": arm,
                    "score": score(metric, y_test, proba, pred, n_classes),
                    "complete": int(states.get("COMPLETE", 0)), "seconds": seconds,
                    "budget": args.budget,
                }  # fmt: skip
                pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)
                logger.info("%-32s %-4s %-13s %.3f (%d complete)", name, metric, arm,
                            row["score"], row["complete"])  # fmt: skip
    summarise(out, Path(args.report))


def summarise(out: Path, report: Path) -> None:
    frame = pd.read_csv(out)
    lines = []
    for metric, part in frame.groupby("metric", sort=False):
        wide = part.pivot_table(index="dataset", columns="arm", values="score").dropna()
        diff = wide["global_lofo"] - wide["previous"]
        result = tally(diff)
        trials = part.pivot_table(index="dataset", columns="arm", values="complete")
        lines.append(
            [metric, len(wide), float(wide["previous"].mean()), float(wide["global_lofo"].mean()),
             float(diff.mean()), result.counts(), f"{result.p:.2g}",
             f"{trials['previous'].mean():.1f} / {trials['global_lofo'].mean():.1f}"]
        )  # fmt: skip
    budgets = ", ".join(f"{b:g} s" for b in sorted(frame["budget"].unique()))
    body = (
        f"Searched with `python benchmarks/portfolio_lofo.py search` at {budgets} (default space, "
        f"5-fold CV, seed {SEED}, one thread), outer fold 0 of `quality.py`'s 3-fold split, "
        "scored on the outer test part (minority class positive; macro for the multi-class set). "
        "`previous`: the portfolio built from 12 small sets; `global_lofo`: the new table "
        "without the set's family and the candidates found on it, one greedy order over all "
        f"other sets, as shipped. Wilcoxon signed-rank over sets, ties (< {TIE:g}) left out.\n\n"
        + table(
            ["metric", "sets", "previous", "global order (LOFO)", "mean diff", "w/t/l", "p",
             "complete trials (prev / global)"],
            lines,
        )
    )  # fmt: skip
    write_section(report, "portfolio-search", body)
    print(body)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("simulate", help="from the scores table alone")
    s.add_argument("--first", type=int, nargs="+", default=[2, 4, 8])
    r = sub.add_parser("search", help="real searches, scored on held-out rows")
    r.add_argument("--budget", type=float, default=10.0)
    r.add_argument("--metrics", nargs="+", default=["f1"])
    r.add_argument("--datasets", nargs="+", help="only these sets (default: all scored)")
    r.add_argument("--out", default=str(SEARCHES))
    for command in (s, r):
        command.add_argument("--data-dir", default=str(KEEL))
        command.add_argument("--work", default=str(RESULTS), help="folder of the scores table")
        command.add_argument("--report", default=str(REPORT))
    args = parser.parse_args(argv)
    quiet_logs()
    with threadpool_limits(1):
        simulate(args) if args.command == "simulate" else search(args)


if __name__ == "__main__":
    main()
