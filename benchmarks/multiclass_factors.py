"""Whether multi-class factors help on held-out rows, against plain argmax and guarded rules.

Five multi-class imbalanced sets: glass_multiclass (shipped) and four built from data on
disk (wine and digits with classes subsampled to a skew, and two skewed make_classification
sets, of 700 and 6,000 rows). For each set, seed and outer stratified fold: one short search
for the metric (macro F1 unless ``--metric`` says otherwise), then the served model's
probabilities on the outer test part, decided by

- ``served``: the factors the search served;
- ``argmax``: plain argmax of the same probabilities (all factors 1);
- ``tuned``: the factors tuned on the search's out-of-fold predictions (what ``choose_decision``
  gives there, with no guard);
- ``guard1`` / ``guard2``: the tuned factors where their cross-fitted per-fold scores beat
  argmax's by more than 1 (2) paired standard errors over the folds, else argmax;
- ``shrink``: the tuned factors' square roots (halfway to 1 on the log scale);
- ``toprior``: halfway (on the log scale) from the tuned factors to those that undo the
  class priors;
- ``xalpha``: the tuned factors raised to the power in (0, 1/4, 1/2, 3/4, 1) whose
  cross-fitted predictions (fold k's factors tuned on the other folds) score best.

Every rule is replayed on the same search, so rules are compared free of the search's noise.

    python benchmarks/multiclass_factors.py                  # 2 seeds, 5 s searches, macro F1
    python benchmarks/multiclass_factors.py --metric balanced_accuracy --seeds 0 1 2 3 4 5

Measured with 6 seeds x 3 outer folds, 5 s searches (12 s on the 6,000-row set), each small
set run twice (144 fits per metric; 3 seeds on the large set), held-out score minus ``served``:

==================  =======  =======  =======  =======  ======  =======  =======
rule                 digits   glass    synth     wine    large   small*    p*
==================  =======  =======  =======  =======  ======  =======  =======
F1: argmax          +0.008   +0.005   -0.004   +0.014   -0.006  +0.006   0.27
F1: guard2          +0.008   +0.005   -0.004   +0.014   -0.006  +0.006   0.26
F1: guard1          +0.008   +0.004   -0.005   -0.001   -0.001  +0.001   0.53
F1: shrink          +0.005   +0.006   +0.007   +0.019   +0.000  +0.009   0.006
F1: xalpha          +0.006   +0.003   -0.004   -0.001   -0.002  +0.001   0.27
BA: argmax          -0.010   -0.019   -0.036   -0.003   -0.023  -0.017   <0.001
BA: guard2          -0.010   -0.020   -0.019   -0.003   -0.003  -0.013   <0.001
BA: shrink          +0.004   -0.006   -0.014   -0.002   +0.000  -0.005   0.08
==================  =======  =======  =======  =======  ======  =======  =======

(F1: searched for and scored by macro F1; BA: balanced accuracy. * the four small sets pooled;
p: Wilcoxon over their fits.) Plain argmax beat the tuned factors for macro F1 on three of the
four small sets, by 0.006 on average, not beyond noise. No rule beat the factors on both
metrics: a guard falls back to argmax, which loses where the factors are needed (balanced
accuracy, every set), and a fixed halfway shrink, better or equal for macro F1 on every set,
loses for balanced accuracy; so the served rule stays as it is.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits, load_wine, make_classification
from sklearn.metrics import f1_score, matthews_corrcoef
from sklearn.model_selection import StratifiedKFold

import autoimb
from autoimb.metrics.metric import Metric
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.crossfit import cross_fitted_predictions
from autoimb.posthoc.threshold import choose_decision

OUTER_FOLDS = 3
MIN_BUDGET = {"synthetic_large": 12.0}  # seconds: less leaves no trial finished on 4,000 rows


def _skewed(X: np.ndarray, y: np.ndarray, counts: dict[int, int], seed: int = 0) -> Any:
    """The first ``counts[c]`` rows of each class ``c``, in a fixed shuffled order."""
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n] for c, n in counts.items()])
    keep.sort()
    return X[keep], y[keep]


def wine_skewed() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return _skewed(X, y, {0: 8, 1: 24, 2: 48})  # 1 : 3 : 6


def digits_skewed() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return _skewed(X, y, {c: round(170 * 0.7**c) for c in range(10)})  # 170 .. 7


def _synthetic(rows: int, clusters: int, weights: list[float], sep: float, seed: int) -> Any:
    """Four skewed classes of twelve columns, six of them informative."""
    return make_classification(
        n_samples=rows,
        n_features=12,
        n_informative=6,
        n_redundant=2,
        n_classes=4,
        n_clusters_per_class=clusters,
        weights=weights,
        class_sep=sep,
        flip_y=0.02,
        random_state=seed,
    )


def synthetic_skewed() -> tuple[np.ndarray, np.ndarray]:
    return _synthetic(700, 1, [0.70, 0.18, 0.08, 0.04], 0.8, seed=0)


def synthetic_large() -> tuple[np.ndarray, np.ndarray]:
    return _synthetic(6_000, 2, [0.80, 0.13, 0.05, 0.02], 0.7, seed=1)


SETS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "glass_multiclass": lambda: autoimb.datasets.load("glass_multiclass", return_X_y=True),
    "wine_skewed": wine_skewed,
    "digits_skewed": digits_skewed,
    "synthetic_skewed": synthetic_skewed,
    "synthetic_large": synthetic_large,
}


ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def rules(result: Any, metric: Metric) -> dict[str, tuple[float, ...] | None]:
    """Each rule's factors (None: plain argmax), from the search's own evidence."""
    ev = result.evidence
    y, oof, folds, w = ev.y, ev.oof, ev.fold_ids, ev.sample_weight
    n_classes = oof.shape[1]
    tuned, _ = choose_decision(y, oof, metric, sample_weight=w)
    scale = np.asarray(tuned.class_scale)
    heft = np.bincount(y, weights=w, minlength=n_classes)
    prior = heft.max() / heft  # the factors that undo the class priors
    # Fold k decided by factors tuned on the other folds, each raised to the power alpha.
    _, decisions = cross_fitted_predictions(y, oof, folds, metric, sample_weight=w)
    ids = np.unique(folds)
    by_alpha = []
    for alpha in ALPHAS:
        pred = np.empty(len(y), dtype=np.int64)
        for k, decision in zip(ids, decisions, strict=True):
            inside = folds == k
            factors = np.asarray(decision.class_scale) ** alpha
            pred[inside] = np.argmax(oof[inside] * factors, axis=1)
        fold_scores = [
            metric.score_labels(y[folds == k], pred[folds == k], n_classes=n_classes) for k in ids
        ]
        pooled = metric.score_labels(y, pred, sample_weight=w, n_classes=n_classes)
        by_alpha.append((pooled, np.asarray(fold_scores)))
    sign = 1.0 if metric.greater_is_better else -1.0
    best = max(range(len(ALPHAS)), key=lambda i: (sign * by_alpha[i][0], -i))
    out: dict[str, tuple[float, ...] | None] = {
        "served": result.best_pipeline.class_scale,
        "argmax": None,
        "tuned": tuned.class_scale,
        "shrink": tuple(scale**0.5),
        "toprior": tuple((scale * prior) ** 0.5),
        "xalpha": tuple(scale ** ALPHAS[best]),
    }
    for z in (1, 2):
        lead = sign * (by_alpha[-1][1] - by_alpha[0][1])
        spread = float(np.std(lead, ddof=1)) / math.sqrt(len(lead))
        out[f"guard{z}"] = tuned.class_scale if float(np.mean(lead)) > z * spread else None
    return out


def run(seeds: list[int], budget: float, names: list[str], metric: str) -> pd.DataFrame:
    rows, searched = [], get_metric(metric)
    for name in names:
        X, y = SETS[name]()
        X, y = np.asarray(X), np.asarray(y)
        labels, codes = np.unique(y, return_inverse=True)
        for seed in seeds:
            outer = StratifiedKFold(OUTER_FOLDS, shuffle=True, random_state=seed)
            for fold, (train, test) in enumerate(outer.split(X, codes)):
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = autoimb.search(
                        X[train],
                        y[train],
                        metric=metric,
                        time_budget=max(budget, MIN_BUDGET.get(name, 0.0)),
                        random_state=seed,
                        importance=False,
                        verbose=False,
                    )
                proba = result.best_pipeline.predict_scores(X[test])
                truth = codes[test]
                for rule, scale in rules(result, searched).items():
                    factors = np.ones(proba.shape[1]) if scale is None else np.asarray(scale)
                    pred = np.argmax(proba * factors, axis=1)
                    rows.append(
                        {
                            "set": name,
                            "seed": seed,
                            "fold": fold,
                            "rule": rule,
                            "score": searched.score_labels(truth, pred, n_classes=len(labels)),
                            "f1": f1_score(truth, pred, average="macro"),
                            "mcc": matthews_corrcoef(truth, pred),
                            "kept": scale is not None and any(s != 1.0 for s in scale),
                        }
                    )
                print(
                    f"{name} seed {seed} fold {fold}: {time.perf_counter() - started:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> None:
    order = ["argmax", "served", "tuned", "guard1", "guard2", "shrink", "toprior", "xalpha"]
    for what in ("score", "f1", "mcc"):
        table = frame.pivot_table(index="set", columns="rule", values=what, aggfunc="mean")
        table.loc["mean"] = table.mean()
        name = {"score": "the searched metric", "f1": "macro F1", "mcc": "MCC"}[what]
        print(f"\nHeld-out {name}, mean over seeds x folds")
        print(table[order].round(3).to_string())
    kept = frame.pivot_table(index="set", columns="rule", values="kept", aggfunc="mean")
    print("\nShare of fits whose rule is not plain argmax")
    print(kept[order].round(2).to_string())
    wide = frame.pivot_table(index=["set", "seed", "fold"], columns="rule", values="score")
    print(
        "\nPer fit, the searched metric minus argmax's: better / tied / worse (ties within 0.001)"
    )
    for rule in order[1:]:
        diff = wide[rule] - wide["argmax"]
        print(
            f"  {rule:7s} {(diff > 1e-3).sum():3d} / {(diff.abs() <= 1e-3).sum():3d} / "
            f"{(diff < -1e-3).sum():3d}   mean {diff.mean():+.4f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per search")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--metric", default="f1", help="searched for and scored")
    parser.add_argument("--csv", help="also write the per-fit rows here")
    args = parser.parse_args()
    frame = run(args.seeds, args.budget, args.sets, args.metric)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    summary(frame)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
