"""Would models outside the search space (RBF SVM, k nearest neighbours) add winners?

A longer search only pays if it reaches candidates better than the portfolio's; one way is model
families the space does not have. Measured without a search: each family's few settings (SVM
with C in 0.3, 1, 3, 10; kNN with 5 and 15 neighbours, distance-weighted), standardised numbers
and one-hot categories, the F1 threshold tuned on 5-fold out-of-fold scores; quality.py's outer
3-fold split (seed 0), every fold; sets over 6,000 training rows left out (an SVM fit grows with
the square of the rows). The family's best setting by its out-of-fold F1 then stands beside a
real search's pick: it is served where its out-of-fold F1 beats the search's own score (both the
best of several candidates on the folds that tuned their thresholds, so alike in optimism).

    sets=$(ls ../shared/datasets/keel | sed -n 's/.csv.gz$//p')
    python benchmarks/outside_models.py --sets $sets
    python benchmarks/outside_models.py --summary    # against the searches in SEARCHES
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import measure_sets, outer_splits
from _markdown import table
from _paired import paired_cells
from fold_bagging import best_threshold

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "outside_models.csv"
COLUMNS = ["dataset", "fold", "model", "family", "cv", "held", "seconds"]
MOST_ROWS = 6000
# The searches each family stands beside: autoimb's rows of quality.py CSVs, F1.
SEARCHES = {
    "80 sets, 10 s (`c06a37c`)": "quality_c06a37c_f1_10s.csv",
    "anytime sets, 10 s (`4fcc084`)": "anytime_main10_4fcc084_f1_10s.csv",
    "anytime sets, 60 s (`4fcc084`)": "anytime_main60_4fcc084_f1_60s.csv",
}


def _models(X: pd.DataFrame) -> dict[str, tuple[str, object]]:
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in text]
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                text,
            ),
        ]
    )
    models: dict[str, tuple[str, object]] = {}
    for c in (0.3, 1, 3, 10):
        svm = SVC(C=c, gamma="scale", class_weight="balanced", cache_size=500)
        models[f"svm_C{c}"] = ("svm", make_pipeline(pre, svm))
    for k in (5, 15):
        models[f"knn{k}"] = ("knn", make_pipeline(pre, KNeighborsClassifier(k, weights="distance")))
    return models


def _scores(fitted: object, X: pd.DataFrame) -> np.ndarray:
    if isinstance(fitted[-1], SVC):  # no probabilities: its margin is the score
        return fitted.decision_function(X)
    return fitted.predict_proba(X)[:, 1]


def measure(name: str, folder: Path) -> list[list[object]]:
    rows: list[list[object]] = []
    for fold, (X, y, X_test, y_test) in outer_splits(name, folder, 3, 0, [0, 1, 2]):
        if len(np.unique(y)) > 2 or len(y) > MOST_ROWS:
            return rows  # the multi-class set has no single positive class; an SVM is slow
        positive = np.argmin(np.bincount(y))
        y, y_test = (y == positive).astype(int), (y_test == positive).astype(int)
        for model_name, (family, model) in _models(X).items():
            started = time.monotonic()
            oof = np.zeros(len(y))
            for train, valid in StratifiedKFold(5, shuffle=True, random_state=1).split(X, y):
                oof[valid] = _scores(clone(model).fit(X.iloc[train], y[train]), X.iloc[valid])
            threshold = best_threshold(y, oof)
            held = _scores(clone(model).fit(X, y), X_test) >= threshold
            rows.append(
                [name, fold, model_name, family, f1_score(y, oof >= threshold),
                 f1_score(y_test, held, zero_division=0), time.monotonic() - started]
            )  # fmt: skip
    return rows


def _search_rows(path: Path) -> pd.DataFrame:
    rows = pd.read_csv(path)
    rows = rows[(rows.method == "autoimb") & (rows.metric == "f1")].copy()
    rows["search"] = rows.detail.map(lambda d: json.loads(d).get("search_score", np.nan))
    return rows.set_index(["dataset", "fold"])[["score", "search"]]


def summary(frame: pd.DataFrame, results: Path = RESULTS) -> str:
    """Per search and family: held-out F1 of the search, the family alone, and the family's
    best setting served where its out-of-fold F1 beats the search's score."""
    lines = []
    for label, file in SEARCHES.items():
        searches = _search_rows(results / file)
        for family in ("svm", "knn"):
            part = frame[frame.family == family].sort_values("cv", kind="stable")
            best = part.groupby(["dataset", "fold"]).tail(1).set_index(["dataset", "fold"])
            both = searches.join(best[["cv", "held"]], how="inner")
            if both.empty:
                continue
            chosen = both.cv > both.search
            both["served"] = np.where(chosen, both.held, both.score)
            sets = both.groupby(level="dataset")[["score", "held", "served"]].mean()
            gain = sets.served - sets.score
            lines.append(
                [label, family, len(sets), float(sets.score.mean()), float(sets.held.mean()),
                 float(sets.served.mean()), f"{gain.mean():+.4f}",
                 *paired_cells(gain, 1e-9),
                 f"{chosen.mean():.0%}"]
            )  # fmt: skip
    return table(
        ["searches", "family", "sets", "F1 search", "F1 family alone", "F1 search + family",
         "difference", "better/tie/worse", "p", "family served"],
        lines,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    measure_sets(argv, __doc__, "outside_models", OUT, COLUMNS, measure, summary)


if __name__ == "__main__":
    main()
