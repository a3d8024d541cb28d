"""The boosted models' category splits on a rare class: each rule against the one before it.

LightGBM and XGBoost read autoimb's category columns natively (``stages/models/boosted.py``).
LightGBM by default holds each category split to groups of 100 rows with a smoothing and an L2
of 10 in hessian units, which a rare class's rows (hessians of a few hundredths) can seldom
outweigh; autoimb ties them to the searched ``min_child_samples`` and ``reg_lambda``. XGBoost
split columns of fewer than 8 categories one category against the rest; it now partitions
them. This fits each model at its space defaults under both rules, plain and with balanced
class weights, on every dev set with a category column, quality.py's outer 3-fold split (seed
0), every fold: held-out average precision, and F1 and MCC at a threshold tuned for each on
5-fold out-of-fold probabilities. Sets without category columns are the same either way and
are not run.

    python benchmarks/categories.py
    python benchmarks/categories.py --summary        # the table of results/categories.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from contextlib import nullcontext
from itertools import product
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.metrics import average_precision_score, f1_score, matthews_corrcoef
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, load_keel, outer_splits
from _markdown import add_summary_argument, publish, table
from _paired import paired_cells
from fold_bagging import best_threshold

from autoimb.data.dataset import validate
from autoimb.engine.pipeline import StrategyPipeline
from autoimb.stages.models import boosted

OUT = Path(__file__).resolve().parent / "results" / "categories.csv"
# Per model, the category rule before and the one autoimb uses now.
RULES = {
    "lightgbm": ("lightgbm_defaults", "searched"),
    "xgboost": ("one_against_rest_below_8", "partition"),
}
WEIGHTINGS = ("none", "balanced")
SCORES = ("average_precision", "f1", "mcc")


def category_sets(folder: Path) -> list[str]:
    """The dev sets with at least one text (category) column."""
    names = sorted(p.name.removesuffix(".csv.gz") for p in folder.glob("*.csv.gz"))
    return [n for n in names if not all(map(is_numeric_dtype, load_keel(n, folder)[0].dtypes))]


def _tuned(score, y: np.ndarray, oof: np.ndarray, proba: np.ndarray, y_test: np.ndarray) -> float:
    """The held-out score at the threshold that maximises it out of fold."""
    return float(score(y_test, proba >= best_threshold(y, oof, score)))


def _rule(rule: str):
    """The rule before where asked (LightGBM's own category defaults, XGBoost's one-against-
    the-rest splits), autoimb's otherwise."""
    if rule == "lightgbm_defaults":
        return mock.patch.object(boosted, "_categorical_regularisation", lambda *_: {})
    if rule == "one_against_rest_below_8":
        return mock.patch.object(boosted, "_ONE_HOT_BELOW", 8)
    return nullcontext()


def _fit(config: dict, X: pd.DataFrame, y: np.ndarray, X_new: pd.DataFrame) -> np.ndarray:
    data = validate(X, y)
    pipeline = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    return pipeline.predict_proba(X_new)[:, 1]


def measure(name: str, folder: Path, models: Sequence[str]) -> list[dict[str, object]]:
    rows = []
    for fold, (X, y, X_test, y_test) in outer_splits(name, folder, 3, 0, [0, 1, 2]):
        positive = np.argmin(np.bincount(y))
        y, y_test = (y == positive).astype(int), (y_test == positive).astype(int)
        runs = [(m, r, w) for m in models for r, w in product(RULES[m], WEIGHTINGS)]
        for model, rule, weighting in runs:
            config = {"weighting": {"name": weighting}, "model": {"name": model}}
            started = time.monotonic()
            with _rule(rule):
                oof = np.zeros(len(y))
                for train, valid in StratifiedKFold(5, shuffle=True, random_state=1).split(X, y):
                    oof[valid] = _fit(config, X.iloc[train], y[train], X.iloc[valid])
                proba = _fit(config, X, y, X_test)
            rows.append(
                {"set": name, "fold": fold, "model": model, "rule": rule, "weighting": weighting,
                 "minority": int(y.sum()), "rows": len(y),
                 "average_precision": average_precision_score(y_test, proba),
                 "f1": _tuned(lambda a, b: f1_score(a, b, zero_division=0), y, oof, proba,
                              y_test),
                 "mcc": _tuned(matthews_corrcoef, y, oof, proba, y_test),
                 "seconds": time.monotonic() - started}
            )  # fmt: skip
    return rows


def summary(frame: pd.DataFrame) -> str:
    """Per model, weighting and score: the mean over sets (each set's mean over its folds)
    under the rule before and the rule now, and the paired test over sets."""
    lines = []
    for (model, weighting, score), part in (
        frame.melt(["set", "fold", "model", "rule", "weighting"], list(SCORES), "score")
        .groupby(["model", "weighting", "score"], sort=False)
    ):  # fmt: skip
        before, now = RULES[model]
        sets = part.pivot_table("value", "set", "rule")
        gain = sets[now] - sets[before]
        lines.append(
            [model, weighting, score, len(sets), f"{before}: {sets[before].mean():.3f}",
             f"{now}: {sets[now].mean():.3f}", f"{gain.mean():+.4f}",
             *paired_cells(gain),
             f"{gain.idxmax()} {gain.max():+.3f}", f"{gain.idxmin()} {gain.min():+.3f}"]
        )  # fmt: skip
    return table(
        ["model", "weighting", "held-out score", "sets", "rule before", "rule now",
         "difference", "better/tie/worse", "p", "largest gain", "largest loss"],
        lines,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", help="KEEL set names (default: every set with "
                        "a category column)")  # fmt: skip
    parser.add_argument("--models", nargs="+", choices=list(RULES), default=list(RULES))
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    parser.add_argument("--out", type=Path, default=OUT, help="CSV the rows are written to")
    add_summary_argument(parser, "categories")
    args = parser.parse_args(argv)
    if args.summary is None or args.sets:
        rows = []
        for name in args.sets or category_sets(args.data_dir):
            measured = measure(name, args.data_dir, args.models)
            rows += measured
            print(pd.DataFrame(measured).round(3).to_string(index=False), flush=True)
        pd.DataFrame(rows).to_csv(args.out, index=False)
    publish(summary(pd.read_csv(args.out)), args.summary, "categories")


if __name__ == "__main__":
    main()
