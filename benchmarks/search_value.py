"""What the search's trials buy: trials per minute and held-out score, by how trials are
measured (all of an averaged ensemble's members, or a share) and how the winner is chosen
(the best-scoring trial, or the steadiest within noise of it).

Protocol as in quality.py: outer stratified 3-fold CV per KEEL data set (seed 0), each search
fit on the outer training part with the same wall-clock budget and one thread, scored on the
outer test part. A variant changes the policy constants named in ``autoimb.config`` for its
searches only; "current" is the shipped policy.

    python benchmarks/search_value.py --datasets ecoli1 yeast4 --folds 0 --budget 30
    python benchmarks/search_value.py --summary-only --summary      # tables into RESULTS.md

Each CSV (``--out``) has its own section of RESULTS.md, named after the file.

The CSV is resumable: (data set, fold, variant, metric, budget) rows already there are skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, outer_splits
from _markdown import add_summary_argument, publish, table
from _paired import by_minority, tally
from quality import OUTER_FOLDS, SEED, aligned_proba, score, strategy_label, strategy_names


@dataclass(frozen=True)
class Variant:
    what: str
    policy: dict[str, Any] = field(default_factory=dict)


VARIANTS: dict[str, Variant] = {
    "current": Variant("the shipped policy"),
    # The best-scoring trial wins where no steadier one is preferred and none races it on a
    # fresh split (RACE_TOP 0: the winner alone is measured again there).
    "all_members_best": Variant(
        "every member fitted in trials, the best-scoring trial wins (the policy before)",
        {"SEARCH_MEMBER_SHARE": 1.0, "NOISE_STANDARD_ERRORS": 0.0, "RACE_TOP": 0},
    ),
    "share_best": Variant(
        "a share of the members in trials, the best-scoring trial wins",
        {"NOISE_STANDARD_ERRORS": 0.0, "RACE_TOP": 0},
    ),
    "first_look_75": Variant(
        "fold pruning from the first fold: a trial outside the best 75% there stops",
        {"FIRST_LOOK_KEEP": 75.0},
    ),
    "first_look_50": Variant(
        "fold pruning from the first fold: a trial below the median there stops",
        {"FIRST_LOOK_KEEP": 50.0},
    ),
    "all_members_steady": Variant(
        "every member fitted in trials, the steadiest trial within noise wins",
        {"SEARCH_MEMBER_SHARE": 1.0},
    ),
}
COLUMNS = [
    "dataset",
    "fold",
    "variant",
    "metric",
    "budget",
    "score",
    "cv_score",
    "trials",
    "complete",
    "pruned",
    "failed",
    "trials_per_minute",
    "fit_seconds",
    "n_train",
    "minority_train",
    "winner",
    "steady_choice",
    "error",
]


def search_and_score(
    name: str,
    fold: int,
    variant: str,
    metric: str,
    budget: float,
    data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray],
) -> dict[str, Any]:
    import autoimb
    from autoimb import config

    X, y, X_test, y_test = data
    n_classes = int(max(y.max(), y_test.max())) + 1
    row: dict[str, Any] = {
        "dataset": name,
        "fold": fold,
        "variant": variant,
        "metric": metric,
        "budget": budget,
        "n_train": len(y),
        "minority_train": int(np.bincount(y).min()),
        "error": "",
    }
    saved = {key: getattr(config, key) for key in VARIANTS[variant].policy}
    started = time.perf_counter()
    try:
        for key, value in VARIANTS[variant].policy.items():
            setattr(config, key, value)
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            result = autoimb.search(
                X, y, metric=metric, time_budget=budget, n_jobs=1, random_state=SEED
            )
            fit_seconds = time.perf_counter() - started
            proba = aligned_proba(result.best_pipeline, X_test, n_classes)
            pred = np.asarray(result.best_pipeline.predict(X_test), dtype=np.int64)
    except Exception as exc:  # a failing search is a result too
        return {**row, "error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        for key, value in saved.items():
            setattr(config, key, value)
    board = result.leaderboard
    states = board["state"].value_counts().to_dict()
    ran = int(sum(states.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAIL")))
    # Trials per minute of the search's own wall time (sampler included), first start to last end.
    timed = [t for t in result.study.trials if t.datetime_start and t.datetime_complete]
    span = max(t.datetime_complete for t in timed) - min(t.datetime_start for t in timed)
    names = strategy_names(result.best_config)
    return {
        **row,
        "score": score(metric, y_test, proba, pred, n_classes),
        "cv_score": float(result.best_score),
        "trials": ran,
        "complete": int(states.get("COMPLETE", 0)),
        "pruned": int(states.get("PRUNED", 0)),
        "failed": int(states.get("FAIL", 0)),
        "trials_per_minute": 60.0 * len(timed) / max(span.total_seconds(), 1e-9),
        "fit_seconds": fit_seconds,
        "winner": "ensemble" if "members" in result.best_config else strategy_label(names),
        "steady_choice": any(note.startswith("Trial ") for note in result.notes),
    }


def run(
    datasets: Sequence[str],
    variants: Sequence[str],
    metrics: Sequence[str],
    budget: float,
    folds: Sequence[int],
    out: Path,
    data_dir: Path,
) -> None:
    done: set[tuple[str, int, str, str, float]] = set()
    if out.exists():
        frame = pd.read_csv(out)
        done = {
            (r.dataset, int(r.fold), r.variant, r.metric, float(r.budget))
            for r in frame.itertuples()
        }
    started = time.monotonic()
    for name in datasets:
        for fold, data in outer_splits(name, data_dir, OUTER_FOLDS, SEED, folds):
            for variant in variants:
                for metric in metrics:
                    if (name, fold, variant, metric, float(budget)) in done:
                        continue
                    row = search_and_score(name, fold, variant, metric, budget, data)
                    pd.DataFrame([row], columns=COLUMNS).to_csv(
                        out, mode="a", header=not out.exists(), index=False
                    )
                    shown = row["error"] or f"{row['score']:.3f} ({row['trials']} trials)"
                    print(
                        f"[{time.monotonic() - started:6.0f}s] {name} fold {fold} {variant} "
                        f"{metric}: {shown}",
                        flush=True,
                    )


def summarise(frame: pd.DataFrame) -> str:
    """Per budget and metric: each variant against the shipped policy, paired over the
    (data set, fold) pairs both ran, with trials and trials per minute on those pairs, and the
    difference by the training part's minority rows."""
    frame = frame[frame.error.isna() | (frame.error.astype(str) == "")]
    lines: list[str] = []
    for (budget, metric), part in frame.groupby(["budget", "metric"]):
        wide = part.pivot_table(index=["dataset", "fold"], columns="variant", values="score")
        if "current" not in wide:
            continue
        minority = part.groupby(["dataset", "fold"]).minority_train.first()
        rows = []
        for variant in wide.columns:
            pair = wide[list(dict.fromkeys([variant, "current"]))].dropna()
            # Trials too on the pairs both ran: a variant run on fewer sets is compared there.
            both = part.set_index(["dataset", "fold"]).index.isin(pair.index)
            mine = part[both & (part.variant == variant).to_numpy()]
            theirs = part[both & (part.variant == "current").to_numpy()]
            diff = pair[variant] - pair["current"]
            result = tally(diff)
            rows.append(
                [
                    variant,
                    VARIANTS[variant].what if variant in VARIANTS else "",
                    len(pair),
                    f"{pair[variant].mean():.4f}",
                    f"{pair['current'].mean():.4f}",
                    f"{diff.mean():+.4f}",
                    result.counts(),
                    "" if np.isnan(result.p) else f"{result.p:.3f}",
                    f"{mine.trials.mean():.1f}",
                    f"{mine.complete.mean():.1f}",
                    f"{mine.trials_per_minute.median():.0f}",
                    f"{(mine.trials_per_minute * mine.complete / mine.trials).median():.0f}",
                    f"{theirs.trials_per_minute.median():.0f}",
                    by_minority(diff, minority.reindex(diff.index)),
                ]
            )
        lines.append(f"### {metric}, {budget:g} s\n")
        lines.append(
            table(
                [
                    "variant",
                    "policy",
                    "pairs",
                    "held-out",
                    "current's",
                    "difference",
                    "better/tie/worse",
                    "Wilcoxon p",
                    "trials",
                    "complete",
                    "trials/min (median)",
                    "complete/min (median)",
                    "current's trials/min",
                    "difference by minority rows (sets)",
                ],
                rows,
            )
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=None, help="default: under 2,000 rows")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--metrics", nargs="+", default=["f1"])
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--folds", nargs="+", type=int, default=[0], choices=range(OUTER_FOLDS))
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "search_value.csv"
    )
    add_summary_argument(parser, "search_value")
    parser.add_argument("--summary-only", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.summary_only:
        index = pd.read_csv(args.data_dir / "index.csv")
        datasets = args.datasets or list(index[index.rows < 2000].name)
        import logging

        logging.getLogger("autoimb").setLevel(logging.ERROR)
        run(datasets, args.variants, args.metrics, args.budget, args.folds, args.out, args.data_dir)
    frame = pd.read_csv(args.out)
    text = summarise(frame)
    publish(text, args.summary, args.out.stem)  # each CSV its own section
    return 0


if __name__ == "__main__":
    sys.exit(main())
