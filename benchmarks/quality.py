"""autoimb against the methods a user would pick instead, on the KEEL imbalanced data sets.

Protocol: outer stratified 3-fold cross-validation per data set (seed 0). Every method is fit
on the outer training part only and scored on the outer test part. Searching methods (autoimb,
FLAML) get the same wall-clock budget per fit and search for the metric being reported; every
model uses one thread.

    python benchmarks/quality.py                         # every data set, every method
    python benchmarks/quality.py --datasets ecoli1 glass0 --methods autoimb lgbm_balanced
    python benchmarks/quality.py --summary-only          # tables and plot from the CSV

The CSV is resumable: rows already there (data set, fold, method, metric) are skipped, so a
long run can be done in pieces and interrupted at any time.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import average_precision_score, f1_score, make_scorer, matthews_corrcoef
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, label_binarize
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, load_keel
from _markdown import RESULTS, add_summary_argument, table, write_section
from _paired import TIE, tally

METHODS = (
    "autoimb",
    "lgbm_default",
    "lgbm_balanced",
    "smote_lgbm",
    "balanced_rf",
    "logreg_balanced",
    "tuned_threshold_lgbm",
    "flaml",
    "autogluon",
)
METRICS = ("average_precision", "f1", "mcc")
METRIC_LABEL = {"average_precision": "PR-AUC", "f1": "F1", "mcc": "MCC"}
SEARCHERS = ("autoimb", "flaml", "autogluon")  # given the budget; the others fit once, untimed
PER_METRIC = (*SEARCHERS, "tuned_threshold_lgbm")  # one fit per metric; others fit once
OUTER_FOLDS = 3
SEED = 0
COLUMNS = [
    "dataset",
    "fold",
    "method",
    "metric",
    "score",
    "cv_score",
    "fit_seconds",
    "predict_seconds",
    "budget",
    "n_train",
    "n_test",
    "error",
    "detail",
]

logger = logging.getLogger("benchmarks.quality")


# ----------------------------------------------------------------------------- data & scores


def minority(y: np.ndarray) -> int:
    return int(np.argmin(np.bincount(y)))


def score(metric: str, y: np.ndarray, proba: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Outer-test score: class 1 (the minority) is positive; macro averages for multi-class."""
    if n_classes > 2:
        if metric == "average_precision":
            truth = label_binarize(y, classes=list(range(n_classes)))
            return float(average_precision_score(truth, proba, average="macro"))
        if metric == "f1":
            return float(f1_score(y, pred, average="macro", zero_division=0))
        return float(matthews_corrcoef(y, pred))
    pos = 1  # the KEEL sets code the minority class as 1
    if metric == "average_precision":
        return float(average_precision_score(y == pos, proba[:, pos]))
    if metric == "f1":
        return float(f1_score(y, pred, pos_label=pos, zero_division=0))
    return float(matthews_corrcoef(y, pred))


def aligned_proba(model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class code, whatever classes the model saw."""
    raw = np.asarray(model.predict_proba(X), dtype=float)
    out = np.zeros((len(X), n_classes))
    out[:, np.asarray(model.classes_, dtype=np.int64)] = raw
    return out


# ----------------------------------------------------------------------------------- peers


def preprocessor(X: pd.DataFrame, *, scale: bool) -> ColumnTransformer:
    """What a user puts in front of a scikit-learn model: impute, one-hot, maybe scale."""
    categorical = [c for c in X.columns if not is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    parts = []
    if numeric:
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
        if scale:
            steps.append(("scale", StandardScaler()))
        parts.append(("numeric", Pipeline(steps), numeric))
    if categorical:
        encode = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        parts.append(("categorical", encode, categorical))
    return ColumnTransformer(parts)


def lightgbm(**params: Any) -> Any:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(n_jobs=1, random_state=SEED, verbose=-1, **params)


def build_peer(method: str, X: pd.DataFrame, y: np.ndarray, metric: str) -> Any:
    """An unfitted peer; the threshold tuner scores thresholds with the reported metric."""
    pre = preprocessor(X, scale=method == "logreg_balanced")
    if method == "lgbm_default":
        return Pipeline([("pre", pre), ("model", lightgbm())])
    if method == "lgbm_balanced":
        return Pipeline([("pre", pre), ("model", lightgbm(class_weight="balanced"))])
    if method == "smote_lgbm":
        from imblearn.over_sampling import SMOTE
        from imblearn.pipeline import Pipeline as ImbPipeline

        smallest = int(np.bincount(y).min())
        if smallest < 2:
            raise ValueError(f"SMOTE needs 2 minority rows, the training part has {smallest}")
        smote = SMOTE(k_neighbors=min(5, smallest - 1), random_state=SEED)
        return ImbPipeline([("pre", pre), ("smote", smote), ("model", lightgbm())])
    if method == "balanced_rf":
        from imblearn.ensemble import BalancedRandomForestClassifier

        return Pipeline(
            [("pre", pre), ("model", BalancedRandomForestClassifier(random_state=SEED, n_jobs=1))]
        )
    if method == "logreg_balanced":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(class_weight="balanced", max_iter=2000)
        return Pipeline([("pre", pre), ("model", model)])
    if method == "tuned_threshold_lgbm":
        from sklearn.model_selection import TunedThresholdClassifierCV

        if len(np.unique(y)) > 2:
            raise ValueError("TunedThresholdClassifierCV supports binary targets only")
        inner = Pipeline([("pre", pre), ("model", lightgbm(class_weight="balanced"))])
        scoring: Any = {
            "f1": make_scorer(f1_score, pos_label=minority(y), zero_division=0),
            "mcc": make_scorer(matthews_corrcoef),
            # A ranking metric has no threshold to tune: the class's own default is kept.
            "average_precision": "balanced_accuracy",
        }[metric]
        return TunedThresholdClassifierCV(inner, scoring=scoring, random_state=SEED, n_jobs=1)
    raise ValueError(f"unknown peer {method!r}")


# ------------------------------------------------------------------------- one fit, scored


@dataclass
class Fitted:
    """Test predictions of one fitted method, and what it said about itself."""

    proba: np.ndarray
    pred: np.ndarray
    fit_seconds: float
    predict_seconds: float
    cv_score: float = math.nan
    detail: dict[str, Any] | None = None
    raw_proba: np.ndarray | None = None  # autoimb: probabilities before calibration


def predict(
    model: Any, X_test: pd.DataFrame, n_classes: int
) -> tuple[np.ndarray, np.ndarray, float]:
    started = time.perf_counter()
    proba = aligned_proba(model, X_test, n_classes)
    pred = np.asarray(model.predict(X_test), dtype=np.int64)
    return proba, pred, time.perf_counter() - started


def fit_peer(
    method: str, metric: str, X: pd.DataFrame, y: np.ndarray, X_test: pd.DataFrame, n_classes: int
) -> Fitted:
    model = build_peer(method, X, y, metric)
    started = time.perf_counter()
    model.fit(X, y)
    fit_seconds = time.perf_counter() - started
    proba, pred, predict_seconds = predict(model, X_test, n_classes)
    detail = None
    if method == "tuned_threshold_lgbm":
        detail = {"threshold": float(model.best_threshold_)}
    return Fitted(proba, pred, fit_seconds, predict_seconds, detail=detail)


def fit_autoimb(
    metric: str,
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame,
    n_classes: int,
    budget: float,
    leaderboard_path: Path | None,
) -> Fitted:
    import autoimb

    started = time.perf_counter()
    result = autoimb.search(X, y, metric=metric, time_budget=budget, n_jobs=1, random_state=SEED)
    fit_seconds = time.perf_counter() - started
    proba, pred, predict_seconds = predict(result.best_pipeline, X_test, n_classes)
    board = result.leaderboard
    states = board["state"].value_counts().to_dict()
    config = result.best_config
    detail: dict[str, Any] = strategy_names(config)
    if "members" in config:  # the winner is an ensemble of trials
        detail["ensemble_of"] = [
            strategy_label(strategy_names(c)) for c in config["members"].values()
        ]
    detail["threshold"] = config.get("threshold")
    detail["trials"] = int(
        sum(n for state, n in states.items() if state in ("COMPLETE", "PRUNED", "FAIL"))
    )
    detail.update(
        {
            state.lower(): int(n)
            for state, n in states.items()
            if state in ("COMPLETE", "PRUNED", "FAIL")
        }
    )
    if leaderboard_path is not None:
        leaderboard_path.parent.mkdir(parents=True, exist_ok=True)
        keep = [
            c
            for c in (
                "trial",
                "state",
                "score",
                "augmenter",
                "resampler",
                "weighting",
                "model",
                "ensemble",
                "threshold",
                "seconds",
                "error",
            )
            if c in board
        ]
        board[keep].to_csv(leaderboard_path, index=False)
    low, high = result.score_interval_for(len(X_test))
    detail.update(
        score_basis=result.score_basis,
        search_score=result.search_score,
        interval_low=low,
        interval_high=high,
        calibration=result.model_card().get("calibration", "none"),
    )
    pipeline = result.best_pipeline
    raw = np.asarray(pipeline.predict_scores(X_test), dtype=float)
    cv_score = float(result.best_score)
    return Fitted(proba, pred, fit_seconds, predict_seconds, cv_score, detail, raw)


def strategy_names(config: dict[str, Any]) -> dict[str, Any]:
    return {
        stage: (config.get(stage) or {}).get("name")
        for stage in ("features", "augmenter", "resampler", "weighting", "model", "ensemble")
    }


def strategy_label(names: dict[str, Any]) -> str:
    """``resampler+weighting+model``; features, augmenter before and ensemble after, if used."""
    label = f"{names.get('resampler')}+{names.get('weighting')}+{names.get('model')}"
    if names.get("ensemble") not in (None, "none"):
        label = f"{label}>{names['ensemble']}"
    for stage in ("augmenter", "features"):
        if names.get(stage) not in (None, "none"):
            label = f"{names[stage]}>{label}"
    return label


def describe_pick(detail: dict[str, Any]) -> str:
    if detail.get("ensemble_of"):
        what = "ensemble of " + ", ".join(detail["ensemble_of"])
    elif detail.get("model") is None:
        what = "ensemble"
    else:
        what = strategy_label(detail)
    return f"{what} ({detail.get('trials')} trials)"


def flaml_metric(metric: str, n_classes: int) -> str | Callable[..., tuple[float, dict]]:
    """FLAML's own metric name where it has one, else a loss of 1 - our test-time score."""
    if metric == "average_precision" and n_classes == 2:
        return "ap"
    if metric == "f1":
        return "f1" if n_classes == 2 else "macro_f1"

    def loss(
        X_val: Any,
        y_val: Any,
        estimator: Any,
        labels: Any,
        X_train: Any,
        y_train: Any,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[float, dict[str, float]]:
        y_true = np.asarray(y_val, dtype=np.int64)
        proba = aligned_proba(estimator, X_val, n_classes)
        pred = np.asarray(estimator.predict(X_val), dtype=np.int64)
        value = score(metric, y_true, proba, pred, n_classes)
        return 1.0 - value, {metric: value}

    return loss


def fit_flaml(
    metric: str, X: pd.DataFrame, y: np.ndarray, X_test: pd.DataFrame, n_classes: int, budget: float
) -> Fitted:
    from flaml import AutoML

    automl = AutoML()
    started = time.perf_counter()
    automl.fit(
        X,
        y,
        task="classification",
        metric=flaml_metric(metric, n_classes),
        time_budget=budget,
        n_jobs=1,
        seed=SEED,
        verbose=0,
        log_file_name="",
    )
    fit_seconds = time.perf_counter() - started
    proba, pred, predict_seconds = predict(automl, X_test, n_classes)
    detail = {"model": automl.best_estimator, "config": automl.best_config}
    cv_score = 1.0 - float(automl.best_loss)
    return Fitted(proba, pred, fit_seconds, predict_seconds, cv_score, detail)


def autogluon_metric(metric: str, n_classes: int) -> Any:
    """AutoGluon's own metric where it has the one reported, else the same score as a scorer."""
    if n_classes == 2 or metric == "mcc":
        return {"average_precision": "average_precision", "f1": "f1", "mcc": "mcc"}[metric]
    if metric == "f1":
        return "f1_macro"
    from autogluon.core.metrics import make_scorer

    # A module-level function: AutoGluon pickles its scorer with the predictor.
    return make_scorer("macro_average_precision", macro_average_precision, needs_proba=True)


def macro_average_precision(y_true: np.ndarray, proba: np.ndarray) -> float:
    truth = label_binarize(y_true, classes=list(range(proba.shape[1])))
    return float(average_precision_score(truth, proba, average="macro"))


def fit_autogluon(
    metric: str, X: pd.DataFrame, y: np.ndarray, X_test: pd.DataFrame, n_classes: int, budget: float
) -> Fitted:
    """AutoGluon's TabularPredictor at its defaults (decision threshold calibrated for the
    metric, as it does by default), one CPU, the same time limit; models in a temporary folder."""
    import tempfile

    from autogluon.tabular import TabularPredictor

    label = "__label__"
    train = X.assign(**{label: y})
    with tempfile.TemporaryDirectory(prefix="autogluon-") as folder:
        started = time.perf_counter()
        predictor = TabularPredictor(
            label=label,
            eval_metric=autogluon_metric(metric, n_classes),
            problem_type="binary" if n_classes == 2 else "multiclass",
            path=folder,
            verbosity=0,
        ).fit(train, time_limit=budget, num_cpus=1, num_gpus=0)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        raw = predictor.predict_proba(X_test)
        proba = np.zeros((len(X_test), n_classes))
        proba[:, np.asarray(raw.columns, dtype=np.int64)] = raw.to_numpy(dtype=float)
        pred = np.asarray(predictor.predict(X_test), dtype=np.int64)
        predict_seconds = time.perf_counter() - started
        board = predictor.leaderboard(silent=True)
        detail = {
            "model": predictor.model_best,
            "models": len(board),
            "threshold": float(predictor.decision_threshold)
            if n_classes == 2 and predictor.decision_threshold is not None
            else None,
        }
        cv_score = float(board.loc[board.model == predictor.model_best, "score_val"].iloc[0])
    return Fitted(proba, pred, fit_seconds, predict_seconds, cv_score, detail)


def peer_missing(method: str) -> str | None:
    """Why a peer from the ``bench`` extra cannot run here, or None when it can."""
    module = {"flaml": "flaml", "autogluon": "autogluon.tabular"}[method]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} is not installed ({exc}); see the `bench` extra in pyproject.toml"
    return None


# ------------------------------------------------------------------------------ the run


def read_results(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path, dtype={"dataset": str, "method": str, "metric": str, "error": str, "detail": str}
    )
    frame[["error", "detail"]] = frame[["error", "detail"]].fillna("")
    return frame


def done_keys(path: Path) -> set[tuple[str, int, str, str]]:
    if not path.exists():
        return set()
    frame = read_results(path)
    return {(str(r.dataset), int(r.fold), str(r.method), str(r.metric)) for r in frame.itertuples()}


def append_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)


def run(
    datasets: Sequence[str],
    methods: Sequence[str],
    metrics: Sequence[str],
    budget: float,
    out: Path,
    data_dir: Path,
    leaderboards: Path | None,
    folds: Sequence[int] = tuple(range(OUTER_FOLDS)),
) -> None:
    """Fit and score every missing (data set, fold, method, metric), appending to ``out``."""
    done = done_keys(out)
    started = time.monotonic()
    for name in datasets:
        X_all, y_all = load_keel(name, data_dir)
        n_classes = int(y_all.max()) + 1
        splits = StratifiedKFold(OUTER_FOLDS, shuffle=True, random_state=SEED)
        for fold, (train, test) in enumerate(splits.split(X_all, y_all)):
            if fold not in folds:
                continue
            X, y = X_all.iloc[train].reset_index(drop=True), y_all[train]
            X_test, y_test = X_all.iloc[test].reset_index(drop=True), y_all[test]
            for method in methods:
                todo = [m for m in metrics if (name, fold, method, m) not in done]
                if not todo:
                    continue
                groups = [[m] for m in todo] if method in PER_METRIC else [todo]
                for group in groups:
                    rows = fit_and_score(
                        method,
                        group,
                        X,
                        y,
                        X_test,
                        y_test,
                        n_classes,
                        budget,
                        name,
                        fold,
                        leaderboards,
                    )
                    append_rows(out, rows)
                    for row in rows:
                        done.add((name, fold, method, row["metric"]))
                        shown = "error" if row["error"] else f"{row['score']:.3f}"
                        print(
                            f"[{time.monotonic() - started:7.0f}s] {name} fold {fold} "
                            f"{method:<22} {row['metric']:<17} {shown:>6} "
                            f"({row['fit_seconds']:.1f}s)",
                            flush=True,
                        )


def fit_and_score(
    method: str,
    metrics: Sequence[str],
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    n_classes: int,
    budget: float,
    name: str,
    fold: int,
    leaderboards: Path | None,
) -> list[dict[str, Any]]:
    """One fit (per metric for searching methods) and its rows; a failure becomes a row too."""
    metric = metrics[0]
    base = {
        "dataset": name,
        "fold": fold,
        "method": method,
        "budget": budget if method in SEARCHERS else math.nan,
        "n_train": len(y),
        "n_test": len(y_test),
    }
    started = time.perf_counter()
    # A fit far past its budget prints every thread's stack to stderr: where a hang sits.
    faulthandler.dump_traceback_later(max(120.0, 10 * budget), repeat=True)
    try:
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            if method == "autoimb":
                path = (
                    None
                    if leaderboards is None
                    else (leaderboards / f"{name}__fold{fold}__{metric}.csv")
                )
                fitted = fit_autoimb(metric, X, y, X_test, n_classes, budget, path)
            elif method == "flaml":
                fitted = fit_flaml(metric, X, y, X_test, n_classes, budget)
            elif method == "autogluon":
                fitted = fit_autogluon(metric, X, y, X_test, n_classes, budget)
            else:
                fitted = fit_peer(method, metric, X, y, X_test, n_classes)
        faulthandler.cancel_dump_traceback_later()
    except Exception as exc:  # a failing method is a result too
        faulthandler.cancel_dump_traceback_later()
        seconds = time.perf_counter() - started
        return [
            {
                **base,
                "metric": m,
                "score": math.nan,
                "cv_score": math.nan,
                "fit_seconds": seconds,
                "predict_seconds": math.nan,
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "detail": "",
            }
            for m in metrics
        ]
    detail = with_calibration(fitted, y_test)
    return [
        {
            **base,
            "metric": m,
            "score": score(m, y_test, fitted.proba, fitted.pred, n_classes),
            "cv_score": fitted.cv_score,
            "fit_seconds": fitted.fit_seconds,
            "predict_seconds": fitted.predict_seconds,
            "error": "",
            "detail": json.dumps(detail, default=str) if detail else "",
        }
        for m in metrics
    ]


def with_calibration(fitted: Fitted, y_test: np.ndarray) -> dict[str, Any]:
    """Brier score and expected calibration error of the served probabilities (and, for
    autoimb, of the same model's probabilities before calibration), binary only."""
    detail = dict(fitted.detail or {})
    if fitted.proba.shape[1] != 2:
        return detail
    positive = np.asarray(y_test) == 1
    detail["brier"], detail["ece"] = calibration_error(positive, fitted.proba[:, 1])
    if fitted.raw_proba is not None:
        detail["brier_raw"], detail["ece_raw"] = calibration_error(positive, fitted.raw_proba[:, 1])
    return detail


def calibration_error(positive: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[float, float]:
    brier = float(np.mean((p - positive) ** 2))
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece = sum(
        abs(p[which == b].mean() - positive[which == b].mean()) * np.mean(which == b)
        for b in range(bins)
        if np.any(which == b)
    )
    return brier, float(ece)


# ------------------------------------------------------------------------------ summary


def per_dataset(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Fold-mean test score, data sets x methods; NaN where a method missed or failed a fold."""
    part = frame[frame.metric == metric]

    def mean_if_complete(scores: pd.Series) -> float:
        ok = scores.notna().all() and len(scores) == OUTER_FOLDS
        return float(scores.mean()) if ok else math.nan

    return part.groupby(["dataset", "method"])["score"].agg(mean_if_complete).unstack("method")


def complete(wide: pd.DataFrame) -> pd.DataFrame:
    """The data sets on which every method finished every fold: the ones ranks compare."""
    return wide.dropna(axis=0, how="any")


def ranks(wide: pd.DataFrame) -> pd.DataFrame:
    return wide.rank(axis=1, ascending=False, method="average")


def critical_difference(n_methods: int, n_datasets: int) -> float:
    """Nemenyi critical difference of mean ranks at alpha = 0.05."""
    from scipy.stats import studentized_range

    if n_methods < 2 or n_datasets < 1:
        return math.nan
    q = studentized_range.ppf(0.95, n_methods, 1e6) / math.sqrt(2)
    return float(q * math.sqrt(n_methods * (n_methods + 1) / (6 * n_datasets)))


def rank_plot(tables: dict[str, pd.DataFrame], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(4.6 * len(tables), 3.8), squeeze=False)
    for ax, (metric, wide) in zip(axes[0], tables.items(), strict=True):
        mean = ranks(wide).mean().sort_values()
        cd = critical_difference(wide.shape[1], wide.shape[0])
        colors = ["tab:red" if m == "autoimb" else "tab:blue" for m in mean.index]
        ax.scatter(mean.to_numpy(), np.arange(len(mean)), color=colors, zorder=3)
        ax.set_yticks(np.arange(len(mean)), list(mean.index))
        ax.set_ylim(len(mean) - 0.5, -1.6)
        ax.set_xlim(0.8, wide.shape[1] + 0.2)
        if math.isfinite(cd):
            best = float(mean.iloc[0])
            ax.plot([best, best + cd], [-1.0, -1.0], color="black", lw=3)
            ax.text(best + cd / 2, -1.25, f"Nemenyi CD = {cd:.2f}", ha="center", fontsize=8)
        ax.set_xlabel("mean rank (1 = best)")
        ax.set_title(f"{METRIC_LABEL.get(metric, metric)} ({wide.shape[0]} data sets)")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarise(frame: pd.DataFrame, summary: Path, plot: Path) -> str:
    """The markdown section: scores, ranks, wins, honesty gap, time, losses, per data set."""
    metrics = [m for m in METRICS if m in set(frame.metric)] + sorted(
        set(frame.metric) - set(METRICS)
    )
    # A method not run for a metric (a peer measured on some metrics only) leaves its table.
    full = {m: per_dataset(frame, m).dropna(axis=1, how="all") for m in metrics}
    tables = {m: complete(w) for m, w in full.items() if not complete(w).empty}
    out: list[str] = []
    n_sets = frame.dataset.nunique()
    budgets = sorted(frame.budget.dropna().unique())
    out.append(
        f"Generated by `benchmarks/quality.py` from {len(frame)} rows: {n_sets} data sets x "
        f"{OUTER_FOLDS} outer folds x {frame.method.nunique()} methods x {len(metrics)} metrics; "
        f"search budget per fit: {', '.join(f'{b:g} s' for b in budgets) or '-'}. Scores are "
        "outer-test means over the folds; ranks are computed per data set (1 = best, ties "
        "averaged) on the data sets where every method finished all folds."
    )
    left_out: dict[str, list[str]] = {}
    for metric, wide in full.items():
        names = ", ".join(sorted(set(wide.index) - set(complete(wide).index)))
        if names:
            left_out.setdefault(names, []).append(METRIC_LABEL.get(metric, metric))
    for names, labels in left_out.items():
        out.append(
            f"\nLeft out of means and ranks for {', '.join(labels)} (a method failed "
            f"or is missing there): {names}."
        )
    failed = frame[frame.error != ""]
    if len(failed):
        causes = failed.groupby("method")["error"].agg(
            lambda s: f"{len(s)} rows, e.g. `{str(s.iloc[0])[:90]}`"
        )
        out.append(
            "\nFailed rows (left out of ranks and means): "
            + "; ".join(f"{m}: {c}" for m, c in causes.items())
            + "."
        )
    if tables:
        rank_plot(tables, plot)
        out.append(f"\n![mean ranks]({os.path.relpath(plot, summary.parent)})")
    for metric, wide in tables.items():
        label = METRIC_LABEL.get(metric, metric)
        mean_rank = ranks(wide).mean()
        order = mean_rank.sort_values().index
        rows = [(m, float(wide[m].mean()), float(mean_rank[m])) for m in order]
        cd = critical_difference(wide.shape[1], wide.shape[0])
        out.append(
            f"\n### {label}: mean score and mean rank ({wide.shape[0]} data sets; "
            f"Nemenyi CD {cd:.2f})\n"
        )
        out.append(table(["method", f"mean {label}", "mean rank"], rows))
    if "autoimb" in set(frame.method):
        out.append("\n### autoimb against each peer: wins / ties / losses\n")
        out.append(f"Per data set, on the fold-mean score; a tie is a difference ≤ {TIE:g}.\n")
        peers = [m for m in METHODS if m != "autoimb" and m in set(frame.method)]
        rows_wtl = []
        for peer in peers:
            row: list[object] = [peer]
            for wide in tables.values():
                if peer not in wide or "autoimb" not in wide:
                    row.append("-")
                    continue
                diff = wide["autoimb"] - wide[peer]
                row.append(tally(diff).counts(" / "))
            rows_wtl.append(row)
        out.append(table(["peer", *[METRIC_LABEL.get(m, m) for m in tables]], rows_wtl))
        out.append(honesty(frame, metrics))
        out.append(losses(frame, tables))
    out.append(timing(frame))
    for metric, wide in full.items():
        label = METRIC_LABEL.get(metric, metric)
        out.append(f"\n<details><summary>{label} per data set (fold mean)</summary>\n")
        cols = [m for m in METHODS if m in wide] + [m for m in wide if m not in METHODS]
        out.append(
            table(
                ["data set", *cols],
                [(d, *[float(wide.loc[d, c]) for c in cols]) for d in wide.index],
            )
        )
        out.append("\n</details>")
    return "\n".join(out)


def honesty(frame: pd.DataFrame, metrics: Sequence[str]) -> str:
    """CV score a searcher reported minus its outer test score."""
    rows = []
    for method in SEARCHERS:
        for metric in metrics:
            part = frame[(frame.method == method) & (frame.metric == metric)].dropna(
                subset=["score", "cv_score"]
            )
            if part.empty:
                continue
            gap = part.cv_score - part.score
            worst = part.loc[gap.abs().idxmax()]
            rows.append(
                (
                    method,
                    METRIC_LABEL.get(metric, metric),
                    len(part),
                    float(gap.mean()),
                    float(gap.abs().mean()),
                    float(gap.loc[gap.abs().idxmax()]),
                    f"{worst.dataset} fold {worst.fold}",
                )
            )
    head = (
        "\n### Honesty gap: the searcher's own CV score minus its outer test score\n\n"
        "Positive = the search promised more than it delivered. FLAML's CV score is "
        "1 - its best validation loss.\n\n"
    )
    return head + table(
        ["method", "metric", "fits", "mean gap", "mean abs gap", "worst gap", "worst at"], rows
    )


def losses(frame: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> str:
    """Data sets where a peer beats autoimb by more than 0.02, and what autoimb picked there."""
    lines = ["\n### Where autoimb loses by more than 0.02\n\n"]
    auto = frame[frame.method == "autoimb"]
    rows = []
    for metric, wide in tables.items():
        if "autoimb" not in wide:
            continue
        peers = wide.drop(columns="autoimb")
        best_peer = peers.idxmax(axis=1)
        margin = peers.max(axis=1) - wide["autoimb"]
        for dataset in margin[margin > 0.02].sort_values(ascending=False).index:
            picks = auto[(auto.dataset == dataset) & (auto.metric == metric)]
            chosen = [describe_pick(json.loads(d)) for d in picks.detail if d]
            rows.append(
                (
                    METRIC_LABEL.get(metric, metric),
                    dataset,
                    float(wide.loc[dataset, "autoimb"]),
                    best_peer[dataset],
                    float(peers.max(axis=1)[dataset]),
                    "; ".join(chosen),
                )
            )
    if not rows:
        return lines[0] + "None."
    pick = "autoimb's pick per fold ([features>][augmenter>]resampler+weighting+model)"
    return lines[0] + table(
        ["metric", "data set", "autoimb", "best peer", "peer score", pick], rows
    )


def timing(frame: pd.DataFrame) -> str:
    """Seconds per fit by method (peers fit once for all metrics; counted once)."""
    rows = []
    for method, part in frame.groupby("method"):
        fits = part if method in PER_METRIC else part.drop_duplicates(["dataset", "fold"])
        rows.append(
            (
                method,
                len(fits),
                float(fits.fit_seconds.mean()),
                float(fits.fit_seconds.max()),
                float(fits.fit_seconds.sum()),
            )
        )
    order = {m: i for i, m in enumerate(METHODS)}
    rows.sort(key=lambda r: order.get(str(r[0]), 99))
    total = sum(float(r[4]) for r in rows)
    return (
        "\n### Seconds per fit\n\n"
        + table(["method", "fits", "mean s", "max s", "total s"], rows)
        + f"\n\nSum of fit time: {total:.0f} s ({total / 3600:.2f} h) on "
        f"{os.cpu_count()} logical cores ({platform.machine()}, Python "
        f"{platform.python_version()})."
    )


# ----------------------------------------------------------------------------------- CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=None, help="data set names (default: all in the index)"
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    parser.add_argument(
        "--folds",
        nargs="+",
        type=int,
        default=list(range(OUTER_FOLDS)),
        choices=range(OUTER_FOLDS),
        help="outer folds to run (default: all)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="wall-clock seconds per fit for the searching methods",
    )
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="folder for the CSV, the rank plot and autoimb's leaderboards",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="resumable CSV (default: OUT_DIR/quality.csv)"
    )
    add_summary_argument(parser, "quality")
    parser.add_argument(
        "--summary-only", action="store_true", help="skip fitting; only summarise the CSV"
    )
    parser.add_argument(
        "--no-leaderboards", action="store_true", help="do not keep autoimb's per-fit leaderboards"
    )
    parser.add_argument(
        "--without",
        nargs="+",
        default=[],
        metavar="METHOD",
        help="summarise without these methods, printed (the headline's eight: --without autogluon)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or args.out_dir / "quality.csv"
    if not args.summary_only:
        index = pd.read_csv(args.data_dir / "index.csv")
        datasets = args.datasets or list(index.name)
        unknown = sorted(set(datasets) - set(index.name))
        if unknown:
            print(f"unknown data sets: {unknown}", file=sys.stderr)
            return 2
        methods = list(args.methods)
        for peer in ("flaml", "autogluon"):
            if peer in methods and (reason := peer_missing(peer)):
                print(f"skipping {peer}: {reason}", flush=True)
                methods.remove(peer)
        logging.getLogger("autoimb").setLevel(logging.ERROR)
        started = time.monotonic()
        run(
            datasets,
            methods,
            args.metrics,
            args.budget,
            out,
            args.data_dir,
            None if args.no_leaderboards else args.out_dir / "leaderboards",
            args.folds,
        )
        print(f"wall time: {time.monotonic() - started:.0f} s; results in {out}", flush=True)
    if args.summary is not None or args.without:
        if not out.exists():
            print(f"no results at {out}", file=sys.stderr)
            return 2
        frame = read_results(out)
        frame = frame[~frame.method.isin(args.without)]
        if args.without:  # another table than the section's: printed, its plot thrown away
            with tempfile.TemporaryDirectory() as scratch:
                print(summarise(frame, RESULTS, Path(scratch) / "ranks.png"))
            return 0
        plot = args.out_dir / "quality_ranks.png"
        write_section(args.summary, "quality", summarise(frame, args.summary, plot))
        print(f"summary written to {args.summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
