"""Where a search's time goes: model fitting and predicting versus autoimb's and Optuna's own work.

For synthetic data of each size (20 features, about 5% minority) one search per ``n_jobs``
setting runs under the same budget. Timing wrappers, installed by this script only, attribute
the wall time to model fitting, resampling, predicting, threshold scans and scoring, fold
preprocessing and the sampler (each timer excludes the timers nested in it); the rest is
"other" (Optuna's bookkeeping, autoimb's trial logic, the final refit's own preprocessing).
A second experiment times the sampler alone on studies pre-filled with N trials.

    python benchmarks/overhead.py                              # 1k, 10k, 100k rows, 60 s each
    python benchmarks/overhead.py --sizes 1000 10000 --budget 30 --summary
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.datasets import make_classification

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import add_summary_argument, table, write_section

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
CATEGORIES = (
    "model fit",
    "resampling",
    "model predict",
    "threshold & scoring",
    "fold preprocessing",
    "sampler",
)
# (module, attribute path, category); a target missing from the library is reported, not fatal.
TARGETS = (
    ("autoimb.engine.pipeline", "StrategyPipeline.fit_transformed", "model fit"),
    ("autoimb.engine.pipeline", "resample", "resampling"),
    ("autoimb.engine.pipeline", "StrategyPipeline.predict_proba_transformed", "model predict"),
    ("autoimb.engine.evaluate", "honest_score", "threshold & scoring"),
    ("autoimb.engine.evaluate", "choose_decision", "threshold & scoring"),
    ("autoimb.engine.evaluate", "_fold_score", "threshold & scoring"),
    ("autoimb.engine.finish", "choose_decision", "threshold & scoring"),
    ("autoimb.engine.evaluate", "CrossValidation.fold", "fold preprocessing"),
    ("optuna.samplers", "TPESampler.sample_relative", "sampler"),
    ("optuna.samplers", "TPESampler.sample_independent", "sampler"),
    ("optuna.samplers", "TPESampler.infer_relative_search_space", "sampler"),
)

# Phases of one search call, timed whole (they contain the categories above).
PHASES = (
    ("autoimb.api", "run", "search phase"),
    ("autoimb.api", "finish", "after search"),
)

logger = logging.getLogger("benchmarks.overhead")


class Timers:
    """Exclusive seconds per category: a timed call nested in another is not counted twice."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.phases: dict[str, float] = defaultdict(float)
        self.lock = threading.Lock()
        self.local = threading.local()

    def reset(self) -> None:
        with self.lock:
            self.seconds.clear()

    def wrap(self, function: Callable[..., Any], category: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[str] = self.local.__dict__.setdefault("stack", [])
            stack.append(category)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                stack.pop()
                with self.lock:
                    self.seconds[category] += elapsed
                    if stack:
                        self.seconds[stack[-1]] -= elapsed

        return timed

    def wrap_phase(self, function: Callable[..., Any], phase: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with self.lock:
                    self.phases[phase] += time.perf_counter() - started

        return timed


@contextmanager
def instrumented(timers: Timers) -> Iterator[list[str]]:
    """Install the timing wrappers; yields the targets that could not be found."""
    undone: list[tuple[Any, str, Any]] = []
    missing: list[str] = []
    for module_name, path, category in (*TARGETS, *PHASES):
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        try:
            for part in parents:
                owner = getattr(owner, part)
            original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        except (AttributeError, KeyError):
            missing.append(f"{module_name}.{path}")
            continue
        phase = (module_name, path, category) in PHASES
        wrapper = timers.wrap_phase if phase else timers.wrap
        setattr(owner, name, wrapper(original, category))
        undone.append((owner, name, original))
    try:
        yield missing
    finally:
        for owner, name, original in reversed(undone):
            setattr(owner, name, original)


def synthetic(n_rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(
        n_samples=n_rows,
        n_features=20,
        n_informative=8,
        n_redundant=4,
        weights=[0.95],
        flip_y=0.01,
        random_state=SEED,
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]), y


def one_search(n_rows: int, n_jobs: int, budget: float, metric: str) -> dict[str, Any]:
    """A budgeted search with timers on; its trials per minute and where its time went."""
    import autoimb

    X, y = synthetic(n_rows)
    timers = Timers()
    with instrumented(timers) as missing, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        result = autoimb.search(
            X, y, metric=metric, time_budget=budget, n_jobs=n_jobs, random_state=SEED
        )
        wall = time.perf_counter() - started
    states = result.leaderboard["state"].value_counts().to_dict()
    finished = sum(int(states.get(s, 0)) for s in ("COMPLETE", "PRUNED", "FAIL"))
    row: dict[str, Any] = {
        "rows": n_rows,
        "n_jobs": n_jobs,
        "budget": budget,
        "metric": metric,
        "wall_s": wall,
        "trials": finished,
        "complete": int(states.get("COMPLETE", 0)),
        "pruned": int(states.get("PRUNED", 0)),
        "failed": int(states.get("FAIL", 0)),
        "trials_per_min": 60.0 * finished / wall,
        "best_score": float(result.best_score),
        "not_timed": ";".join(missing),
    }
    for category in CATEGORIES:
        row[f"{category} s"] = timers.seconds.get(category, 0.0)
    inside = sum(timers.seconds.get(c, 0.0) for c in ("model fit", "resampling", "model predict"))
    row["other s"] = wall - sum(timers.seconds.get(c, 0.0) for c in CATEGORIES)
    for _, _, phase in PHASES:
        row[f"{phase} s"] = timers.phases.get(phase, float("nan"))
    row["fit_predict_fraction"] = inside / wall
    return row


def sampler_growth(sizes: Sequence[int], repeats: int = 5) -> list[dict[str, Any]]:
    """Milliseconds per ``ask`` + space sampling on a study pre-filled with N trials.

    The sampler is set up as autoimb sets it (grouped multivariate TPE); the pre-filled trials
    are random draws from the default space with random scores.
    """
    from autoimb.engine.space import load_space

    space = load_space("default")
    rng = np.random.default_rng(SEED)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    source = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=SEED), direction="maximize"
    )
    for _ in range(max(sizes)):
        trial = source.ask()
        space.sample(trial, n_classes=2)
        source.tell(trial, float(rng.random()))
    pool = source.get_trials(deepcopy=False)
    rows = []
    for n in sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                n_startup_trials=8, multivariate=True, group=True, seed=SEED
            )
        study = optuna.create_study(sampler=sampler, direction="maximize")
        study.add_trials(pool[:n])
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            trial = study.ask()
            space.sample(trial, n_classes=2)
            times.append(1000.0 * (time.perf_counter() - started))
            study.tell(trial, float(rng.random()))
        rows.append(
            {
                "prefilled_trials": n,
                "median_ms": statistics.median(times),
                "min_ms": min(times),
                "max_ms": max(times),
                "repeats": repeats,
            }
        )
    return rows


# ------------------------------------------------------------------------------ summary


def summarise(searches: pd.DataFrame, sampler: pd.DataFrame, plot: Path, summary: Path) -> str:
    out = [
        f"Generated by `benchmarks/overhead.py` on {os.cpu_count()} logical cores "
        f"({platform.machine()}, Python {platform.python_version()}). Synthetic data: "
        "`make_classification`, 20 features, about 5% minority; metric, budget and `n_jobs` as "
        "listed; the default search space, seed 0. Times are exclusive (a resampler inside a "
        'fit counts as resampling only). "resampling" also holds the augmenters (jitter, '
        'mixup), which run through the same call; "model fit" holds the features stage.'
    ]
    if not searches.empty:
        rows = []
        for d in searches.sort_values(["rows", "n_jobs"]).to_dict("records"):
            phases = [d.get(f"{phase} s", float("nan")) for _, _, phase in PHASES]
            rows.append(
                (
                    f"{int(d['rows']):,}",
                    int(d["n_jobs"]),
                    f"{d['budget']:g}",
                    f"{d['wall_s']:.1f}",
                    *(f"{x:.1f}" if x == x else "-" for x in phases),
                    int(d["trials"]),
                    f"{int(d['complete'])}/{int(d['pruned'])}/{int(d['failed'])}",
                    f"{d['trials_per_min']:.1f}",
                    f"{100 * d['fit_predict_fraction']:.1f}%",
                )
            )
        out.append("\n### Trials per minute and the share of wall time inside model fit/predict\n")
        out.append(
            table(
                [
                    "rows",
                    "n_jobs",
                    "budget s",
                    "wall s",
                    "search s",
                    "after search s",
                    "trials",
                    "complete/pruned/failed",
                    "trials/min",
                    "fit+predict share",
                ],
                rows,
            )
        )
        out.append(
            '\n"search s" is the trial loop, "after search s" the ensemble '
            "selection, final refit and the rest of the call after it."
        )
        out.append(
            "\nThe fit+predict share counts model fitting, resampling and predicting; "
            "with `n_jobs` > 1 the timers add up across threads, so only the "
            "`n_jobs=1` rows give a share of wall time."
        )
        single = searches[searches.n_jobs == 1].sort_values("rows")
        if not single.empty:
            head = ["rows", *CATEGORIES, "other"]
            rows = []
            for _, r in single.iterrows():
                cells = [f"{100 * r[f'{c} s'] / r['wall_s']:.1f}%" for c in [*CATEGORIES, "other"]]
                rows.append((f"{int(r['rows']):,}", *cells))
            out.append("\n### Where the wall time goes (n_jobs=1)\n")
            out.append(table(head, rows))
        speed = []
        for n_rows, part in searches.groupby("rows"):
            one, two = part[part.n_jobs == 1], part[part.n_jobs == 2]
            if len(one) and len(two):
                ratio = float(two.trials_per_min.iloc[0] / one.trials_per_min.iloc[0])
                speed.append(
                    (
                        f"{int(n_rows):,}",
                        f"{one.trials_per_min.iloc[0]:.1f}",
                        f"{two.trials_per_min.iloc[0]:.1f}",
                        f"{ratio:.2f}x",
                    )
                )
        if speed:
            out.append("\n### Speed-up of n_jobs=2 over n_jobs=1 (trials per minute)\n")
            out.append(table(["rows", "n_jobs=1", "n_jobs=2", "speed-up"], speed))
        missing = sorted(
            {m for v in searches.not_timed if isinstance(v, str) for m in v.split(";") if m}
        )
        if missing:
            out.append(f"\nNot found in the library, so not timed: {', '.join(missing)}.")
    if not sampler.empty:
        sampler_plot(sampler, plot)
        out.append("\n### The sampler's own time as trials grow\n")
        out.append(
            "One `study.ask()` plus drawing a strategy from the default space, on a "
            "study already holding N trials (grouped multivariate TPE, as autoimb "
            "configures it); median of the repeats.\n"
        )
        out.append(
            table(
                ["trials in study", "median ms", "min ms", "max ms"],
                [
                    (
                        int(r.prefilled_trials),
                        f"{r.median_ms:.1f}",
                        f"{r.min_ms:.1f}",
                        f"{r.max_ms:.1f}",
                    )
                    for r in sampler.itertuples()
                ],
            )
        )
        out.append(f"\n![sampler time]({os.path.relpath(plot, summary.parent)})")
    return "\n".join(out)


def sampler_plot(sampler: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(sampler.prefilled_trials, sampler.median_ms, marker="o")
    ax.fill_between(sampler.prefilled_trials, sampler.min_ms, sampler.max_ms, alpha=0.2)
    ax.set_xlabel("trials already in the study")
    ax.set_ylabel("ms per ask + sample")
    ax.set_title("TPE sampler time per trial")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------- CLI


def merge(path: Path, new: pd.DataFrame, keys: list[str], fresh: bool) -> pd.DataFrame:
    """Earlier rows of the CSV stay unless this run measured the same keys again."""
    if path.exists() and not fresh:
        old = pd.read_csv(path)
        if not new.empty:
            seen = set(map(tuple, new[keys].to_numpy().tolist()))
            old = old[[tuple(k) not in seen for k in old[keys].to_numpy().tolist()]]
        new = pd.concat([old, new], ignore_index=True) if not old.empty else new
    if not new.empty:
        new.to_csv(path, index=False)
    return new


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        nargs="*",
        type=int,
        default=[1_000, 10_000, 100_000],
        help="rows of the synthetic data sets (none: sampler timing only)",
    )
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per search")
    parser.add_argument(
        "--jobs", nargs="+", type=int, default=[1, 2], help="n_jobs settings to run for every size"
    )
    parser.add_argument("--metric", default="average_precision")
    parser.add_argument(
        "--sampler-trials",
        nargs="*",
        type=int,
        default=[10, 50, 100, 200, 400, 800],
        help="pre-filled study sizes for the sampler timing (none to skip)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="overhead.csv and sampler.csv; rows of other sizes are kept",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="forget the rows already in OUT_DIR instead of adding to them",
    )
    add_summary_argument(parser, "overhead")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("autoimb").setLevel(logging.ERROR)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n_rows in args.sizes:
        for n_jobs in args.jobs:
            row = one_search(n_rows, n_jobs, args.budget, args.metric)
            rows.append(row)
            print(
                f"{n_rows:>7} rows n_jobs={n_jobs}: {row['trials']} trials in "
                f"{row['wall_s']:.1f} s = {row['trials_per_min']:.1f}/min, fit+predict "
                f"{100 * row['fit_predict_fraction']:.1f}% of wall time",
                flush=True,
            )
    searches = merge(
        args.out_dir / "overhead.csv", pd.DataFrame(rows), ["rows", "n_jobs"], args.fresh
    )
    sampler_csv = args.out_dir / "sampler.csv"
    if args.sampler_trials:
        sampler = pd.DataFrame(sampler_growth(args.sampler_trials))
        sampler.to_csv(sampler_csv, index=False)
    else:
        sampler = (
            pd.read_csv(sampler_csv)
            if sampler_csv.exists() and not args.fresh
            else (pd.DataFrame())
        )
    if args.sampler_trials:
        for r in sampler.itertuples():
            print(
                f"sampler with {r.prefilled_trials} trials: {r.median_ms:.1f} ms per ask",
                flush=True,
            )
    if args.summary is not None:
        body = summarise(searches, sampler, args.out_dir / "sampler_time.png", args.summary)
        write_section(args.summary, "overhead", body)
        print(f"summary written to {args.summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
