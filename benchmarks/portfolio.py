"""Build the warm-start portfolio from KEEL data sets, and measure what it buys at small budgets.

The binary KEEL sets are split in two halves by sorted name (even positions BUILD, odd
positions HELD-OUT), so the measurement never sees a set the portfolio was built from.

``build``: short searches (default space, no warm start) on small build sets (the smallest of
each source data set first), for F1, MCC and PR-AUC, give the candidates (each search's best
complete trials, plus the default space's baselines); every candidate is cross-validated (3
folds) on every build set, its score min-max normalised per (set, metric), and a portfolio
chosen greedily as in auto-sklearn 2.0: each step adds the candidate that most raises the mean
over (set, metric) of the best normalised score so far. The default space's baselines count as
chosen from the start, since every default search runs them first; near-ties go to the cheaper
candidate.

``measure``: on small held-out sets (chosen the same way), an outer stratified split; on each
outer training part ``autoimb.search`` with ``warm_start="portfolio"`` and with ``None`` (same
seed, same budget), scored on the outer test part with hard predictions.

    python benchmarks/portfolio.py build --sets 12 --budget 15 --top 2   # about 15 min
    python benchmarks/portfolio.py measure --sets 10 --budgets 5 15     # about 13 min
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import re
import sys
import textwrap
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from sklearn.metrics import f1_score, matthews_corrcoef
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

import autoimb
from autoimb.data.dataset import Dataset, validate
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.space import SearchSpace, load_space
from autoimb.engine.transfer import as_trial_params
from autoimb.exceptions import AutoImbError, TrialTimeout
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.threshold import honest_score
from autoimb.stages import STAGES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, load_keel
from _markdown import table, write_section

SHIPPED = ROOT / "search_spaces" / "portfolio.yaml"
REPORT = ROOT / "benchmarks" / "PORTFOLIO.md"
BUILD_METRICS = ("f1", "mcc", "average_precision")
METRIC_LABEL = {"average_precision": "PR-AUC", "f1": "F1", "mcc": "MCC"}
SEED = 0
BUILD_CV = 3
# Gains within this much of the best (in mean normalised score) count as a tie: the cheaper wins.
TIE = 0.002
# Differences in outer-test score below this count as a tie when measuring.
SCORE_TIE = 1e-3

logger = logging.getLogger("benchmarks.portfolio")

Config = dict[str, dict[str, Any]]


# ----------------------------------------------------------------------------- data


def keel_index(folder: Path = KEEL) -> pd.DataFrame:
    """The binary KEEL sets (the portfolio serves binary metrics), smallest first."""
    index = pd.read_csv(folder / "index.csv")
    return index[index["classes"] == 2].sort_values(["rows", "name"]).reset_index(drop=True)


def halves(index: pd.DataFrame) -> tuple[list[str], list[str]]:
    """BUILD and HELD-OUT names: alternate positions in name order, so both span every family."""
    names = sorted(index["name"])
    return names[0::2], names[1::2]


def family(name: str) -> str:
    """The source data set a KEEL variant was cut from: ``ecoli_0_1_vs_2_3_5`` → ``ecoli``."""
    return re.split(r"[_0-9]", name, maxsplit=1)[0]


def pick(names: Sequence[str], index: pd.DataFrame, n: int | None, max_rows: int) -> list[str]:
    """Up to ``n`` sets of at most ``max_rows`` rows: each family's smallest first, then its next.

    Small sets keep the run short; one per family first keeps a handful of sets from being all
    glass and ecoli variants.
    """
    rows = dict(zip(index["name"], index["rows"], strict=True))
    fitting = sorted((rows[name], name) for name in names if rows[name] <= max_rows)
    seen: dict[str, int] = {}
    ranked = []
    for size, name in fitting:
        rank = seen.get(family(name), 0)
        seen[family(name)] = rank + 1
        ranked.append((rank, size, name))
    ordered = [name for _, _, name in sorted(ranked)]
    return ordered if n is None else ordered[:n]


# ----------------------------------------------------------------------------- build


def full_config(choice: dict[str, str], space: SearchSpace) -> Config:
    """A baseline (``{stage: name}``) with every stage and hyper-parameter spelled out."""
    config: Config = {}
    for stage in STAGES:
        name = choice.get(stage, "none")
        params = space.stages.get(stage, {}).get(name, {})
        config[stage] = {"name": name} | {
            p.name: p.default for p in params.values() if p.distribution is not None
        }
    return config


def key(config: Config) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def completed(study: optuna.Study) -> int:
    """Trials that finished: enqueued strategies the budget never reached stay WAITING."""
    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def search_candidates(
    name: str, budget: float, top: int, metrics: Sequence[str], folder: Path = KEEL
) -> list[tuple[Config, str]]:
    """The best complete trials of short default-space searches on one set, one per metric."""
    X, y = load_keel(name, folder)
    found: list[tuple[Config, str]] = []
    for metric in metrics:
        started = time.monotonic()
        result = autoimb.search(
            X,
            y,
            metric=metric,
            time_budget=budget,
            cv=BUILD_CV,
            space="default",
            random_state=SEED,
            warm_start=None,
            ensemble=False,
        )
        done = [
            t
            for t in result.study.trials
            if t.state == optuna.trial.TrialState.COMPLETE and "config" in t.user_attrs
        ]
        done.sort(key=lambda t: t.value, reverse=result.metric.greater_is_better)
        for trial in done[:top]:
            found.append((dict(trial.user_attrs["config"]), f"{name}/{metric}"))
        logger.info(
            "search %-32s %-18s %3d trials  best %.3f  %.1fs",
            name,
            metric,
            completed(result.study),
            result.best_score,
            time.monotonic() - started,
        )
    return found


def score_candidates(
    candidates: Sequence[Config],
    name: str,
    metrics: Sequence[str],
    cap: float,
    folder: Path = KEEL,
) -> tuple[np.ndarray, np.ndarray]:
    """Honest 3-fold scores of every candidate on one set, (candidate, metric), and fit seconds.

    Each candidate is fitted once: its out-of-fold probabilities do not depend on the metric,
    only the cross-fitted threshold does. A candidate that fails or runs past ``cap`` seconds
    scores NaN (normalised to 0) and is charged ``cap`` seconds.
    """
    X, y = load_keel(name, folder)
    data: Dataset = validate(X, y)
    cv = CrossValidation(data, BUILD_CV, random_state=SEED)
    the_metrics = [get_metric(m) for m in metrics]
    scores = np.full((len(candidates), len(metrics)), np.nan)
    seconds = np.full(len(candidates), cap)
    for i, config in enumerate(candidates):
        try:
            run = evaluate(
                config,
                cv,
                the_metrics[0],
                random_state=SEED,
                deadline=time.monotonic() + cap,
            )
        except (AutoImbError, TrialTimeout, ValueError, RuntimeError, MemoryError) as exc:
            logger.info("  candidate %d failed on %s: %s", i, name, str(exc)[:120])
            continue
        seconds[i] = run.fit_seconds
        for j, metric in enumerate(the_metrics):
            value, _ = honest_score(data.y, run.oof, cv.fold_ids, metric, pos_label=data.pos_label)
            scores[i, j] = value if math.isfinite(value) else np.nan
    return scores, seconds


def normalise(scores: np.ndarray) -> np.ndarray:
    """Min-max per column (one column per set and metric); NaN → 0, a flat column → 1."""
    out = np.zeros_like(scores)
    for j in range(scores.shape[1]):
        column = scores[:, j]
        finite = np.isfinite(column)
        if not finite.any():
            continue
        low, high = column[finite].min(), column[finite].max()
        if high - low < 1e-12:
            out[finite, j] = 1.0
        else:
            out[finite, j] = (column[finite] - low) / (high - low)
    return out


def greedy(
    normalised: np.ndarray, cost: np.ndarray, start: Sequence[int], size: int
) -> list[tuple[int, float]]:
    """Indices added greedily with the mean best normalised score after each step.

    ``start`` (the baselines) counts as already chosen; a near-tie (within TIE) goes to the
    candidate with the lower mean fit time.
    """
    current = normalised[list(start)].max(axis=0) if start else np.zeros(normalised.shape[1])
    chosen: list[tuple[int, float]] = []
    taken = set(start)
    while len(chosen) < size:
        pool = [i for i in range(len(normalised)) if i not in taken]
        if not pool:
            break
        gains = np.array([np.maximum(current, normalised[i]).mean() for i in pool])
        gains -= current.mean()
        best_gain = gains.max()
        if best_gain <= 0:
            break
        near = [i for i, g in zip(pool, gains, strict=True) if g >= best_gain - TIE]
        pick = min(near, key=lambda i: cost[i])
        current = np.maximum(current, normalised[pick])
        taken.add(pick)
        chosen.append((pick, float(current.mean())))
    return chosen


def compact(config: Config) -> Config:
    """Leave out stages at ``none`` the portfolio reader fills in, and round long floats."""
    out: Config = {}
    for stage in STAGES:
        choice = config.get(stage) or {"name": "none"}
        if choice["name"] == "none" and stage in ("features", "augmenter"):
            continue
        out[stage] = {
            k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in choice.items()
        }
    return out


def fits(config: Config, space: SearchSpace) -> bool:
    available = {stage: list(space.stages.get(stage, {"none": {}})) for stage in STAGES}
    return as_trial_params(config, space, available) is not None


def paragraphs(*texts: str, width: int = 92) -> str:
    return "\n\n".join(textwrap.fill(text, width) for text in texts)


def dump(strategies: Sequence[Config], header: str) -> str:
    """YAML with one flow-style line per strategy, best first."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines.append("strategies:")
    for config in strategies:
        text = yaml.safe_dump(config, default_flow_style=True, sort_keys=False, width=10_000)
        lines.append(f"  - {text.strip()}")
    return "\n".join(lines) + "\n"


def build(args: argparse.Namespace) -> None:
    started = time.monotonic()
    folder = Path(args.data_dir)
    index = keel_index(folder)
    build_half, _ = halves(index)
    sets = pick(build_half, index, args.sets, args.max_rows)
    space = load_space("default")
    metrics = tuple(args.metrics)
    logger.info("build sets (%d): %s", len(sets), ", ".join(sets))

    baselines = [full_config(choice, space) for choice in space.initial]
    candidates: dict[str, Config] = {key(c): c for c in baselines}
    origin: dict[str, str] = {key(c): "baseline" for c in baselines}
    for name in sets:
        for config, where in search_candidates(name, args.budget, args.top, metrics, folder):
            candidates.setdefault(key(config), config)
            origin.setdefault(key(config), where)
    pool = [c for c in candidates.values() if fits(compact(c), space)]
    searched = time.monotonic() - started
    logger.info("%d candidates after %.0fs of searches", len(pool), searched)

    columns: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for name in sets:
        t0 = time.monotonic()
        scores, fit = score_candidates(pool, name, metrics, args.cap, folder)
        columns.append(scores)
        seconds.append(fit)
        logger.info("scored %d candidates on %-32s %.1fs", len(pool), name, time.monotonic() - t0)
    raw = np.concatenate(columns, axis=1)  # candidate × (set, metric)
    normalised = normalise(raw)
    cost = np.mean(seconds, axis=0)
    start = list(range(len(baselines)))
    chosen = greedy(normalised, cost, start, args.size)
    baseline_mean = float(normalised[start].max(axis=0).mean())
    total = time.monotonic() - started

    if not chosen:
        # Nothing beat the baselines on these sets: ship them, so the file is never empty.
        chosen = [(i, baseline_mean) for i in start]
    strategies = [compact(pool[i]) for i, _ in chosen]
    for config in strategies:
        if not fits(config, space):
            raise AutoImbError(f"a portfolio strategy left the default space: {config}")
    command = (
        f"python benchmarks/portfolio.py build --sets {args.sets} --max-rows {args.max_rows} "
        f"--budget {args.budget:g} --top {args.top} --size {args.size}"
    )
    if metrics != BUILD_METRICS:
        command += f" --metrics {' '.join(metrics)}"
    final = chosen[-1][1] if chosen else baseline_mean
    header = paragraphs(
        "Warm-start portfolio: strategies tried first by autoimb.search(warm_start='portfolio'), "
        "best first. Built by benchmarks/portfolio.py; see benchmarks/PORTFOLIO.md.",
        f"Built {dt.date.today().isoformat()} with: {command}. Wall time {total / 60:.1f} min on "
        f"a 2-core machine shared with other work ({searched / 60:.1f} min of searches).",
        "The binary KEEL sets (../shared/datasets/keel) are split by sorted name: even positions "
        "are the BUILD half, odd positions the HELD-OUT half, which never informs the portfolio "
        "and measures it. The quality benchmark (benchmarks/quality.py) uses all sets, so half "
        "of them were seen by this portfolio.",
        f"BUILD sets used ({len(sets)}: the smallest of each source data set first, at most "
        f"{args.max_rows} rows): " + ", ".join(sets) + ".",
        f"Candidates: the top {args.top} complete trials of {args.budget:g}s default-space "
        "searches (no warm start, 3-fold CV) per set for "
        f"{', '.join(METRIC_LABEL[m] for m in metrics)}, plus the default space's baselines; "
        f"{len(pool)} in all, each scored by honest 3-fold CV on every build set and min-max "
        "normalised per (set, metric). Greedy forward selection (as in auto-sklearn 2.0) adds the "
        "candidate that most raises the mean over (set, metric) of the best normalised score, "
        "starting from the default baselines (which every default search runs first); near-ties "
        f"(within {TIE}) go to the cheaper candidate. Mean best normalised score: baselines alone "
        f"{baseline_mean:.3f}, with the portfolio {final:.3f}.",
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(strategies, header), encoding="utf-8")
    for (i, after), config in zip(chosen, strategies, strict=True):
        logger.info(
            "chose %-28s mean %.3f  fit %.2fs  %s",
            origin[key(pool[i])],
            after,
            cost[i],
            json.dumps(config),
        )
    logger.info("wrote %s (%d strategies) in %.1f min", out, len(strategies), total / 60)


# ----------------------------------------------------------------------------- measure


def outer_score(metric: str, y: np.ndarray, pred: np.ndarray, pos: int) -> float:
    if metric == "f1":
        return float(f1_score(y, pred, pos_label=pos, zero_division=0))
    return float(matthews_corrcoef(y, pred))


def measure(args: argparse.Namespace) -> None:
    started = time.monotonic()
    folder = Path(args.data_dir)
    index = keel_index(folder)
    _, held_out = halves(index)
    sets = pick(held_out, index, args.sets, args.max_rows)
    rows: list[dict[str, Any]] = []
    logger.info("held-out sets (%d): %s", len(sets), ", ".join(sets))
    for name in sets:
        X, y = load_keel(name, folder)
        pos = int(np.argmin(np.bincount(y)))
        outer = StratifiedKFold(args.folds, shuffle=True, random_state=SEED)
        for fold, (train, test) in enumerate(outer.split(X, y)):
            for metric in args.metrics:
                for budget in args.budgets:
                    for arm in ("portfolio", None):
                        t0 = time.monotonic()
                        result = autoimb.search(
                            X.iloc[train],
                            y[train],
                            metric=metric,
                            time_budget=budget,
                            random_state=SEED,
                            warm_start=arm,
                        )
                        pred = np.asarray(result.best_pipeline.predict(X.iloc[test]))
                        rows.append(
                            {
                                "dataset": name,
                                "fold": fold,
                                "metric": metric,
                                "budget": budget,
                                "arm": arm or "none",
                                "score": outer_score(metric, y[test], pred, pos),
                                "trials": completed(result.study),
                                "seconds": time.monotonic() - t0,
                            }
                        )
                    a, b = rows[-2], rows[-1]
                    logger.info(
                        "%-32s fold %d %-4s %4gs  portfolio %.3f (%d trials)  none %.3f (%d)",
                        name,
                        fold,
                        metric,
                        budget,
                        a["score"],
                        a["trials"],
                        b["score"],
                        b["trials"],
                    )
    frame = pd.DataFrame(rows)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    total = time.monotonic() - started
    body = summary(frame, sets, args, total)
    write_section(Path(args.report), "portfolio-measure", body)
    print(body)


def summary(
    frame: pd.DataFrame, sets: Sequence[str], args: argparse.Namespace, total: float
) -> str:
    """Per (metric, budget): mean scores, wins/ties/losses and mean difference, paired."""
    table_rows = []
    for (metric, budget), part in frame.groupby(["metric", "budget"], sort=False):
        wide = part.pivot_table(index=["dataset", "fold"], columns="arm", values="score")
        trials = part.pivot_table(index=["dataset", "fold"], columns="arm", values="trials")
        diff = wide["portfolio"] - wide["none"]
        table_rows.append(
            [
                METRIC_LABEL.get(metric, metric),
                f"{budget:g}s",
                len(diff),
                float(wide["portfolio"].mean()),
                float(wide["none"].mean()),
                f"{int((diff > SCORE_TIE).sum())}/{int((diff.abs() <= SCORE_TIE).sum())}/"
                f"{int((diff < -SCORE_TIE).sum())}",
                float(diff.mean()),
                f"{trials['portfolio'].mean():.1f} / {trials['none'].mean():.1f}",
            ]
        )
    header = [
        "metric",
        "budget",
        "pairs",
        "portfolio",
        "no warm start",
        "wins/ties/losses",
        "mean diff",
        "complete trials (portfolio / none)",
    ]
    command = (
        f"python benchmarks/portfolio.py measure --sets {args.sets} --max-rows {args.max_rows} "
        f"--folds {args.folds} --budgets {' '.join(f'{b:g}' for b in args.budgets)} "
        f"--metrics {' '.join(args.metrics)}"
    )
    text = paragraphs(
        f"Measured {dt.date.today().isoformat()} with `{command}`: {total / 60:.1f} min wall "
        "time on a 2-core machine shared with other work (budgets are wall-clock, so contention "
        "costs both arms trials alike).",
        f"Held-out sets ({len(sets)}: the smallest of each source data set in the held-out half "
        f"first, at most {args.max_rows} rows): " + ", ".join(sets) + ".",
        f"Outer stratified {args.folds}-fold split (seed {SEED}); each search (default space, "
        f"5-fold CV, seed {SEED}, ensemble selection on) is fitted on the outer training part and "
        "its hard predictions are scored on the outer test part (minority class positive). A "
        f"pair is one (set, outer fold); a difference under {SCORE_TIE:g} is a tie.",
    )
    return f"{text}\n\n{table(header, table_rows)}"


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the portfolio from the BUILD half")
    b.add_argument("--sets", type=int, default=12, help="N small build sets")
    b.add_argument("--max-rows", type=int, default=1000, help="skip larger sets")
    b.add_argument("--budget", type=float, default=15.0, help="seconds per candidate search")
    b.add_argument("--top", type=int, default=2, help="best trials kept per search")
    b.add_argument("--size", type=int, default=8, help="strategies in the portfolio")
    b.add_argument("--cap", type=float, default=20.0, help="seconds per candidate evaluation")
    b.add_argument("--metrics", nargs="+", default=list(BUILD_METRICS), choices=list(BUILD_METRICS))
    b.add_argument("--out", default=str(SHIPPED), help="where the YAML goes")
    m = sub.add_parser("measure", help="warm start vs none on the HELD-OUT half")
    m.add_argument("--sets", type=int, default=10, help="N small held-out sets")
    m.add_argument("--max-rows", type=int, default=1000, help="skip larger sets")
    m.add_argument("--budgets", type=float, nargs="+", default=[5.0, 15.0])
    m.add_argument("--metrics", nargs="+", default=["f1"], choices=["f1", "mcc"])
    m.add_argument("--folds", type=int, default=2, help="outer stratified folds")
    m.add_argument("--report", default=str(REPORT), help="markdown file for the summary")
    m.add_argument("--csv", default=None, help="optional per-run CSV")
    for command in (b, m):
        command.add_argument("--data-dir", default=str(KEEL), help="folder of the KEEL sets")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("autoimb").setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    with threadpool_limits(1):
        build(args) if args.command == "build" else measure(args)


if __name__ == "__main__":
    main()
