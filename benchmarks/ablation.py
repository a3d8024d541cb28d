"""What each family of strategies adds: the default search against itself with one family off.

Protocol as in quality.py: outer stratified 3-fold CV per KEEL data set (seed 0), every search
fit on the outer training part with the same wall-clock budget and scored on the outer test
part. Each variant switches one family off (a stage fixed to "none", a group of models
removed from the default space, or a search option off); the difference of the full search
against the variant, on the outer test score, is what that family adds at this budget.
"no_threshold_tuning" needs no search of its own: it is the full search's winner predicting
at the default decision rule (probability ≥ 0.5, or the most probable class).

    python benchmarks/ablation.py                                  # default sets, F1, 10 s
    python benchmarks/ablation.py --datasets ecoli1 pima --variants full no_resampling
    python benchmarks/ablation.py --summary-only --summary         # tables into RESULTS.md

The CSV is resumable: (data set, fold, variant) rows already there are skipped.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, load_keel
from _markdown import add_summary_argument, table, write_section
from _paired import tally
from quality import OUTER_FOLDS, SEED, aligned_proba, score, strategy_label, strategy_names


@dataclass(frozen=True)
class Variant:
    """One family switched off: stages fixed to none, models removed, or search options."""

    what: str
    only_none: tuple[str, ...] = ()
    drop_models: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


VARIANTS: dict[str, Variant] = {
    "full": Variant("the default space and options"),
    "no_resampling": Variant("resampler fixed to none", only_none=("resampler",)),
    "no_class_weights": Variant("weighting fixed to none", only_none=("weighting",)),
    "no_augmentation": Variant("augmenter fixed to none", only_none=("augmenter",)),
    "no_anomaly": Variant(
        "no anomaly-score features, no anomaly detectors as models",
        only_none=("features",),
        drop_models=("isolation_forest", "one_class_svm", "local_outlier_factor"),
    ),
    "no_balanced_ensembles": Variant(
        "no imbalanced-learn balanced ensembles as models",
        drop_models=("balanced_random_forest", "easy_ensemble", "balanced_bagging", "rusboost"),
    ),
    "no_hybrid_deep": Variant(
        "no deep or hybrid deep/tree models",
        drop_models=("mlp", "leaf_embedding", "neural_embedding_boost", "deep_tree_stacking"),
    ),
    "no_ensemble_stage": Variant("ensemble stage fixed to none", only_none=("ensemble",)),
    "no_ensemble_selection": Variant(
        "no ensemble selection over trials", options={"ensemble": False}
    ),
    "no_portfolio": Variant("no warm-start portfolio", options={"warm_start": None}),
}
NO_THRESHOLD = "no_threshold_tuning"
DEFAULT_DATASETS = (
    "ecoli1",
    "glass2",
    "hepatitis",
    "yeast_1_vs_7",
    "pima",
    "abalone9_18",
    "vehicle1",
    "cm1",
)
COLUMNS = ["dataset", "fold", "variant", "metric", "budget", "score", "cv_score", "seconds", "pick"]


def variant_space(name: str, folder: Path) -> Path:
    """The default space with the variant's family removed, written as a YAML file."""
    from autoimb.engine.space import shipped_space_file

    variant = VARIANTS[name]
    text = shipped_space_file("default").read_text(encoding="utf-8")
    space = yaml.safe_load(text)
    for stage in variant.only_none:
        space[stage] = {"none": {}}
    for model in variant.drop_models:
        space["model"].pop(model, None)
    removed = {stage: {"none"} for stage in variant.only_none}

    def kept(choice: dict[str, str]) -> bool:
        return all(
            (stage not in removed or name in removed[stage])
            and not (stage == "model" and name in variant.drop_models)
            for stage, name in choice.items()
        )

    space["initial"] = [choice for choice in space.get("initial", []) if kept(choice)]
    path = folder / "spaces" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def search_and_score(
    name: str,
    metric: str,
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    budget: float,
    folder: Path,
) -> list[dict[str, Any]]:
    """One search; its row, and for the full search also the default-rule row."""
    import autoimb

    variant = VARIANTS[name]
    n_classes = int(max(y.max(), y_test.max())) + 1
    started = time.perf_counter()
    # A search far past its budget prints every thread's stack to stderr: where a hang sits.
    faulthandler.dump_traceback_later(max(120.0, 10 * budget), repeat=True)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        result = autoimb.search(
            X,
            y,
            metric=metric,
            time_budget=budget,
            n_jobs=1,
            random_state=SEED,
            space=variant_space(name, folder),
            **variant.options,
        )
        seconds = time.perf_counter() - started
        proba = aligned_proba(result.best_pipeline, X_test, n_classes)
        pred = np.asarray(result.best_pipeline.predict(X_test), dtype=np.int64)
    faulthandler.cancel_dump_traceback_later()
    config = result.best_config
    pick = (
        f"ensemble of {len(config['members'])}"
        if "members" in config
        else strategy_label(strategy_names(config))
    )
    row = {
        "metric": metric,
        "budget": budget,
        "score": score(metric, y_test, proba, pred, n_classes),
        "cv_score": float(result.best_score),
        "seconds": round(seconds, 2),
        "pick": pick,
    }
    rows = [row]
    if name == "full":
        # The model's own rule, on its scores before predict_proba's calibration: what the
        # tuned threshold replaces (calibrated, 0.5 would be another rule).
        raw = np.zeros((len(X_test), n_classes))
        codes = np.asarray(result.best_pipeline.classes_, dtype=np.int64)
        raw[:, codes] = result.best_pipeline.predict_scores(X_test)
        default_rule = (raw[:, 1] >= 0.5).astype(np.int64) if n_classes == 2 else raw.argmax(1)
        untuned = score(metric, y_test, proba, default_rule, n_classes)
        rows.append({**row, "variant": NO_THRESHOLD, "score": untuned, "cv_score": np.nan})
    return rows


def run(
    datasets: Sequence[str],
    variants: Sequence[str],
    metric: str,
    budget: float,
    data_dir: Path,
    out: Path,
) -> None:
    done = set()
    if out.exists():
        frame = pd.read_csv(out)
        done = {(r.dataset, int(r.fold), r.variant) for r in frame.itertuples()}
    started = time.monotonic()
    for name in datasets:
        X_all, y_all = load_keel(name, data_dir)
        splits = StratifiedKFold(OUTER_FOLDS, shuffle=True, random_state=SEED)
        for fold, (train, test) in enumerate(splits.split(X_all, y_all)):
            X, y = X_all.iloc[train].reset_index(drop=True), y_all[train]
            X_test, y_test = X_all.iloc[test].reset_index(drop=True), y_all[test]
            for variant in variants:
                if (name, fold, variant) in done:
                    continue
                rows = search_and_score(variant, metric, X, y, X_test, y_test, budget, out.parent)
                rows = [{"dataset": name, "fold": fold, "variant": variant, **r} for r in rows]
                frame = pd.DataFrame(rows, columns=COLUMNS)
                frame.to_csv(out, mode="a", header=not out.exists(), index=False)
                for r in rows:
                    done.add((name, fold, r["variant"]))
                    print(
                        f"[{time.monotonic() - started:7.0f}s] {name} fold {fold} "
                        f"{r['variant']:<22} {r['score']:.3f} ({r['seconds']:.1f}s) {r['pick']}",
                        flush=True,
                    )


def summarise(frame: pd.DataFrame) -> str:
    """Mean outer-test score per variant, and the full search against each variant."""
    per_set = frame.groupby(["dataset", "variant"])["score"].mean().unstack("variant")
    per_set = per_set.dropna(axis=0, subset=["full"]) if "full" in per_set else per_set
    metric = str(frame["metric"].iloc[0])
    budget = float(frame["budget"].iloc[0])
    lines = [
        f"Outer-test {metric} (mean of 3 outer folds per data set), {budget:g} s per search, "
        f"{len(per_set)} data sets: {', '.join(per_set.index)}. "
        "*adds* = full − variant: what the family is worth to the search at this budget "
        "(positive: the search is better with it). p: two-sided Wilcoxon signed-rank test over "
        "data sets.",
        "",
    ]
    rows = []
    for variant in [v for v in [*VARIANTS, NO_THRESHOLD] if v in per_set and v != "full"]:
        pair = per_set[["full", variant]].dropna()
        diff = pair["full"] - pair[variant]
        result = tally(diff)
        what = VARIANTS[variant].what if variant in VARIANTS else "the winner at the default rule"
        rows.append(
            [
                variant,
                what,
                len(pair),
                float(pair[variant].mean()),
                float(diff.mean()),
                result.counts(" / "),
                result.p,
            ]
        )
    full = float(per_set["full"].mean()) if "full" in per_set else float("nan")
    lines.append(f"Full search: mean {metric} {full:.3f}.")
    lines.append("")
    lines.append(
        table(
            ["variant", "switched off", "sets", "mean", "adds", "full wins / ties / losses", "p"],
            rows,
        )
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--metric", default="f1", choices=["f1", "mcc", "average_precision"])
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per search")
    parser.add_argument("--data-dir", type=Path, default=KEEL)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "ablation.csv"
    )
    add_summary_argument(parser, "ablation")
    parser.add_argument("--summary-only", action="store_true", help="only summarise the CSV")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.summary_only:
        if "full" not in args.variants:
            args.variants.insert(0, "full")
        run(args.datasets, args.variants, args.metric, args.budget, args.data_dir, args.out)
    frame = pd.read_csv(args.out)
    text = summarise(frame[frame["metric"] == args.metric])
    print(text)
    if args.summary is not None:
        write_section(args.summary, "ablation", text)
    print(json.dumps({"rows": len(frame)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
