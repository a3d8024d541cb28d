"""Serving a blend of the close trials instead of one of them: replayed on ``selection.py``'s
measured candidates.

A longer search finds more trials whose scores differ by less than the noise of the folds
they were measured on, and one of them is served. An equal blend of the close trials (their
probabilities averaged, the threshold tuned on the averaged out-of-fold probabilities) serves
what they agree on instead of one trial's luck. Each blend is replayed on the candidates of
``selection.py run --keep DIR`` (each candidate's out-of-fold probabilities on the search's
folds and its refit's probabilities on the held-out rows), against the shipped choice on the
same candidates:

    python benchmarks/selection.py run --datasets ... --budget 60 --keep results/blend_keep \\
        --out results/selection_blend.csv
    python benchmarks/blending.py results/selection_blend.csv results/blend_keep \\
        --out results/blending.csv

The probabilities are too large to keep in the repository; ``--out`` keeps what the table
is computed from.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paired import tally
from quality import score
from selection import replay

BLENDS = {
    "blend_race": "the race's contenders (the steady pick and the three best-scoring others)",
    "blend_top3": "the three best-scoring trials",
    "blend_top6": "the six best-scoring trials",
}


def _members(seen: pd.DataFrame, blend: str, pick: int) -> list[int]:
    ranked = seen.sort_values(["value", "trial"], ascending=[False, True])
    if blend == "blend_race":
        return list(dict.fromkeys([pick, *ranked.trial.head(3)]))
    return list(ranked.trial.head(int(blend.removeprefix("blend_top"))))


def _blend_score(keep: np.lib.npyio.NpzFile, members: list[int], metric_name: str) -> float:
    from autoimb.metrics.registry import get_metric
    from autoimb.posthoc.candidates import choose_decision

    index = [int(np.flatnonzero(keep["trials"] == m)[0]) for m in members]
    scored = keep["scored"]
    oof = keep["oof"][index].mean(axis=0)[scored]
    proba = keep["proba"][index].mean(axis=0)
    decision, _ = choose_decision(keep["y"][scored], oof, get_metric(metric_name), pos_label=1)
    return score(metric_name, keep["y_test"], proba, decision.apply(proba), proba.shape[1])


def blends(frame: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Every blend's held-out score per search and horizon, beside the shipped race's."""
    shipped = replay(frame)
    rows = []
    for (name, fold, budget), part in frame.groupby(["dataset", "fold", "budget"]):
        path = folder / f"{name}_{fold}_{budget:g}.npz"
        if not path.exists():
            continue
        keep = np.load(path)
        for horizon in ("early", "budget"):
            seconds = part[horizon].iloc[0]
            seen = part[part.finished_at - part.study_start <= seconds].copy()
            if seen.empty:
                continue
            mine = shipped[
                (shipped.dataset == name) & (shipped.fold == fold) & (shipped.budget == budget)
                & (shipped.horizon == f"{seconds:g} s")
            ]  # fmt: skip
            race = mine[mine.rule == "race"].iloc[0]
            steady = mine[mine.rule == "steady"].test.iloc[0]
            # What the search served (an ensemble of trials, maybe) is its whole budget's.
            served = part["product"].iloc[0] if horizon == "budget" else np.nan
            row = {"dataset": name, "fold": fold, "horizon": f"{seconds:g} s",
                   "race": race.test, "steady": steady, "served": served}  # fmt: skip
            for blend in BLENDS:
                members = _members(seen, blend, int(race.trial))
                row[blend] = _blend_score(keep, members, part.metric.iloc[0])
            # The served ensemble where the search chose one, else the blend of the six.
            ensemble = part["product_winner"].iloc[0] == "ensemble"
            row["ensemble_else_top6"] = (
                np.nan if horizon != "budget" else served if ensemble else row["blend_top6"]
            )
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(scores: pd.DataFrame) -> str:
    lines = ["| horizon | rule | sets | held-out | against race | b/t/w | Wilcoxon p |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for horizon, part in scores.groupby("horizon", sort=False):
        per_set = part.groupby("dataset").mean(numeric_only=True)
        for rule in ["served", "steady", "race", *BLENDS, "ensemble_else_top6"]:
            if per_set[rule].isna().all():
                continue
            diff = per_set[rule] - per_set["race"]
            result = tally(diff)
            lines.append(
                f"| {horizon} | {rule} | {len(per_set)} | {per_set[rule].mean():.4f} | "
                f"{diff.mean():+.4f} | {result.counts()} | {result.p:.3f} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="selection.py's CSV")
    parser.add_argument("keep", type=Path, help="the folder given to selection.py's --keep")
    parser.add_argument("--out", type=Path, help="CSV of each search's replayed scores")
    args = parser.parse_args(argv)
    scores = blends(pd.read_csv(args.csv), args.keep)
    if args.out is not None:
        scores.to_csv(args.out, index=False)
    print(summarise(scores))


if __name__ == "__main__":
    main()
