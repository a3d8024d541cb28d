"""The anytime curve: held-out score against budget, for autoimb and the AutoML peers.

Reads the CSVs that ``quality.py`` writes (one per budget: ``--budget 60 --out
results/anytime_60s.csv`` and so on) and compares the methods at each budget on the (set,
outer fold) pairs that budget's rows share; budgets run on other sets (300 s on five of the
twenty) are compared only by the paired test of each budget against the one before, for
autoimb, on the pairs the two share. Writes a table per metric, that test, and a PNG.

    python benchmarks/quality.py --datasets $(cat top20) --methods autoimb flaml autogluon \\
        --metrics f1 --folds 0 --budget 60 --out benchmarks/results/anytime_60s.csv
    python benchmarks/anytime.py benchmarks/results/anytime_10s.csv \\
        benchmarks/results/anytime_60s.csv benchmarks/results/anytime_300s.csv
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import RESULTS, table, write_section
from _paired import TIE, tally

PLOT = Path(__file__).resolve().parent / "results" / "anytime.png"


def load(paths: Sequence[Path]) -> pd.DataFrame:
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    frame = frame[frame["error"].isna() & frame["score"].notna()]
    return frame.drop_duplicates(["dataset", "fold", "method", "metric", "budget"], keep="last")


def curve(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean score and rank per (budget, method) over the pairs every method has at that budget."""
    rows = []
    for budget, part in frame[frame["metric"] == metric].groupby("budget"):
        wide = part.pivot_table(index=["dataset", "fold"], columns="method", values="score")
        wide = wide.dropna()
        if wide.empty:
            continue
        ranks = wide.rank(axis=1, ascending=False).mean()
        for method in wide.columns:
            rows.append(
                {"budget": budget, "method": method, "pairs": len(wide),
                 "mean": wide[method].mean(), "rank": ranks[method]}
            )  # fmt: skip
    return pd.DataFrame(rows)


def gains(frame: pd.DataFrame, metric: str, method: str = "autoimb") -> list[list[object]]:
    """Each budget against the one before, paired over the sets both ran: a set's score is its
    mean over the outer folds both budgets ran, so the test counts sets, not folds."""
    part = frame[(frame["metric"] == metric) & (frame["method"] == method)]
    wide = part.pivot_table(index=["dataset", "fold"], columns="budget", values="score")
    budgets = sorted(wide.columns)
    out = []
    for low, high in itertools.pairwise(budgets):
        pair = wide[[low, high]].dropna().groupby(level="dataset").mean()
        diff = pair[high] - pair[low]
        result = tally(diff)
        out.append(
            [metric, f"{low:g} s → {high:g} s", len(pair), float(pair[low].mean()),
             float(pair[high].mean()), float(diff.mean()),
             result.counts(), f"{result.p:.2g}"]
        )  # fmt: skip
    return out


def plot(curves: dict[str, pd.DataFrame], path: Path) -> None:
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6), squeeze=False)
    for ax, (metric, data) in zip(axes[0], curves.items(), strict=True):
        for method, line in data.groupby("method"):
            ax.plot(line["budget"], line["mean"], marker="o", label=method)
        ax.set_xscale("log")
        ax.set_xlabel("budget per search (s, log scale)")
        ax.set_ylabel(f"held-out {metric}")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="+", type=Path, help="quality.py CSVs, one per budget")
    parser.add_argument("--summary", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    frame = load(args.csv)
    metrics = sorted(frame["metric"].unique())
    curves = {m: curve(frame, m) for m in metrics}
    lines = [
        [m, f"{r.budget:g} s", r.method, r.pairs, float(r.mean), float(r.rank)]
        for m, c in curves.items()
        for r in c.sort_values(["budget", "rank"]).itertuples()
    ]
    body = (
        table(["metric", "budget", "method", "pairs", "mean", "mean rank"], lines)
        + "\n\nautoimb against itself, each budget against the one before (Wilcoxon over sets, "
        f"ties under {TIE:g} left out):\n\n"
        + table(
            ["metric", "budgets", "pairs", "before", "after", "mean gain", "w/t/l", "p"],
            [row for m in metrics for row in gains(frame, m)],
        )
        + f"\n\n![held-out score against budget]({args.plot.relative_to(args.summary.parent)})"
    )
    plot(curves, args.plot)
    write_section(args.summary, "anytime", body)
    print(body)


if __name__ == "__main__":
    main()
