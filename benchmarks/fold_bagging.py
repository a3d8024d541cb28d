"""Would serving the cross-validation's fold models, averaged, beat the refit on all rows?

autoimb refits its winner on all training rows and applies the threshold tuned on the
out-of-fold predictions. AutoGluon instead serves the mean of its fold models (k-fold bagging),
whose predictions come from models like the ones the threshold was tuned on. This measures the
two ways on held-out rows for three fixed models (LightGBM, extra trees, balanced logistic
regression), the threshold maximising F1 on 5-fold out-of-fold probabilities; quality.py's
outer 3-fold split (seed 0), every fold. The minority class is the positive one.

    python benchmarks/fold_bagging.py --sets $(ls ../shared/datasets/keel | sed -n 's/.csv.gz$//p')
    python benchmarks/fold_bagging.py --summary        # the table of results/fold_bagging.csv
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, matthews_corrcoef
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import measure_sets, outer_splits
from _markdown import table
from _paired import by_minority, paired_cells

COLUMNS = ["set", "fold", "model", "minority", "rows", "f1_refit", "f1_bag", "mcc_refit",
           "mcc_bag", "seconds"]  # fmt: skip
OUT = Path(__file__).resolve().parent / "results" / "fold_bagging.csv"


def _models(X: pd.DataFrame) -> dict[str, object]:
    text = [c for c in X.columns if X[c].dtype == object]
    encode = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    )
    numeric = [c for c in X.columns if c not in text]
    pre = ColumnTransformer(
        [("num", SimpleImputer(strategy="median"), numeric), ("text", encode, text)]
    )
    return {
        "lightgbm": make_pipeline(
            pre, LGBMClassifier(n_estimators=200, learning_rate=0.05, n_jobs=1, verbose=-1)
        ),
        "extra_trees": make_pipeline(pre, ExtraTreesClassifier(300, n_jobs=1, random_state=0)),
        "logistic": make_pipeline(
            pre, StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000)
        ),
    }


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    return float(f1_score(y, pred, zero_division=0))


def best_threshold(y: np.ndarray, proba: np.ndarray, score: Callable = _f1) -> float:
    """The threshold among the upper half of ``proba``'s quantiles that maximises ``score``."""
    candidates = np.unique(np.quantile(proba, np.linspace(0.5, 0.999, 200)))
    scores = [score(y, proba >= t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def measure(name: str, folder: Path) -> list[list[object]]:
    rows = []
    for fold, (X, y, X_test, y_test) in outer_splits(name, folder, 3, 0, [0, 1, 2]):
        if len(np.unique(y)) > 2:
            return rows  # the multi-class set: no single positive class
        positive = np.argmin(np.bincount(y))
        y, y_test = (y == positive).astype(int), (y_test == positive).astype(int)
        for model_name, model in _models(X).items():
            started = time.monotonic()
            oof, bagged = np.zeros(len(y)), np.zeros(len(y_test))
            for train, valid in StratifiedKFold(5, shuffle=True, random_state=1).split(X, y):
                fitted = clone(model).fit(X.iloc[train], y[train])
                oof[valid] = fitted.predict_proba(X.iloc[valid])[:, 1]
                bagged += fitted.predict_proba(X_test)[:, 1] / 5
            threshold = best_threshold(y, oof)
            refit = clone(model).fit(X, y).predict_proba(X_test)[:, 1]
            rows.append(
                [name, fold, model_name, int(y.sum()), len(y),
                 f1_score(y_test, refit >= threshold), f1_score(y_test, bagged >= threshold),
                 matthews_corrcoef(y_test, refit >= threshold),
                 matthews_corrcoef(y_test, bagged >= threshold), time.monotonic() - started]
            )  # fmt: skip
    return rows


def summary(frame: pd.DataFrame) -> str:
    """Per model: the mean over sets (each set's mean over its folds), the paired test, and the
    difference by the training folds' minority count."""
    lines = []
    for model, part in frame.groupby("model"):
        per_set = part.groupby("set")[["f1_refit", "f1_bag", "mcc_refit", "mcc_bag", "minority"]]
        sets = per_set.mean()
        f1, mcc = sets.f1_bag - sets.f1_refit, sets.mcc_bag - sets.mcc_refit
        lines.append(
            [model, len(sets), float(sets.f1_refit.mean()), float(sets.f1_bag.mean()),
             f"{f1.mean():+.4f}", *paired_cells(f1),
             f"{mcc.mean():+.4f}", by_minority(f1, sets.minority)]
        )  # fmt: skip
    return table(
        ["model", "sets", "F1 refit", "F1 fold mean", "difference", "better/tie/worse", "p",
         "MCC difference", "F1 difference by minority rows (sets)"],
        lines,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    measure_sets(argv, __doc__, "fold_bagging", OUT, COLUMNS, measure, summary)


if __name__ == "__main__":
    main()
