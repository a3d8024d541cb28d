"""autoimb now against an earlier run of itself and the peers, on the rows of quality.py CSVs.

A rerun of autoimb alone (``quality.py --methods autoimb --out now.csv``) is compared with the
autoimb, AutoML peer and fixed recipe rows of an earlier CSV (by default
``results/quality.csv``) on the data sets all of them hold, a set's score being its mean over
the outer folds; Wilcoxon over sets, differences under 0.001 counted as ties.

    python benchmarks/versus.py benchmarks/results/quality_6c020b0_f1_10s.csv --metric f1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import ROOT
from _markdown import table
from _paired import tally
from anytime import load

NOW = "autoimb now"


def compare(now: Sequence[Path], before: Path, metric: str, budget: float) -> str:
    fresh = load(now)
    fresh = fresh[fresh["method"] == "autoimb"].assign(method=NOW)
    frame = pd.concat([load([before]), fresh], ignore_index=True)
    # The fixed recipes have no budget: their rows stand at every budget.
    timed = (frame["budget"] == budget) | frame["budget"].isna()
    frame = frame[(frame["metric"] == metric) & timed]
    folds = fresh[fresh["metric"] == metric][["dataset", "fold"]].drop_duplicates()
    frame = frame.merge(folds, on=["dataset", "fold"])
    # A set counts where every method scored each of its rerun folds (a fold failed or not
    # run would leave a mean over the others).
    scored = frame.groupby(["dataset", "method"])["score"]
    whole = scored.count().unstack().eq(folds.groupby("dataset").size(), axis=0)
    wide = scored.mean().unstack().where(whole).dropna()
    shared = folds["dataset"].isin(wide.index).sum()  # the outer folds behind those sets
    ranks = wide.rank(axis=1, ascending=False).mean().sort_values()
    means = [[m, f"{wide[m].mean():.4f}", f"{ranks[m]:.2f}"] for m in ranks.index]
    paired = []
    for other in [m for m in ranks.index if m != NOW]:
        diff = wide[NOW] - wide[other]
        result = tally(diff)
        paired.append([other, f"{diff.mean():+.4f}", result.counts(), f"{result.p:.2g}"])
    return "\n".join(
        [
            f"{metric}, {budget:g} s, {len(wide)} sets × {shared / len(wide):.3g} folds\n",
            table(["method", "mean", "mean rank"], means),
            "",
            table([f"{NOW} against", "difference", "better/tie/worse", "Wilcoxon p"], paired),
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("now", nargs="+", type=Path, help="quality.py CSVs of the rerun")
    parser.add_argument("--before", type=Path, default=ROOT / "benchmarks/results/quality.csv")
    parser.add_argument("--metric", default="f1")
    parser.add_argument("--budget", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(compare(args.now, args.before, args.metric, args.budget))


if __name__ == "__main__":
    main()
