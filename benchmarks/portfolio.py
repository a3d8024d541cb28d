"""Build the warm-start portfolio from all KEEL dev sets, with the table that orders it per set.

``candidates``: one short default-space search per source data set (the KEEL set of each family
with the most minority rows), one for F1 and one for PR-AUC; each search's best complete trial
that is not a baseline is a candidate. The space's baselines (every search runs them first)
and the previous portfolio are scored too, as references.

``score``: every candidate is cross-validated (3 folds) on every dev set, all 80 (the larger
ones on a stratified sample of ``--max-rows`` rows); one fit serves F1, MCC and PR-AUC, since
the out-of-fold probabilities do not depend on the metric (each threshold is cross-fitted).
Resumable: a set already in the scores CSV is skipped.

``ship``: scores are min-max normalised per (set, metric); the threshold kind averages F1 and
MCC, the ranking kind is PR-AUC. Per kind, greedy forward selection over all dev sets orders
``--size`` strategies; the shipped YAML holds them and the two orders.

    python benchmarks/portfolio.py candidates --budget 8      # about 10 min
    python benchmarks/portfolio.py score --max-rows 2500      # about 50 min
    python benchmarks/portfolio.py ship

``benchmarks/portfolio_lofo.py`` measures the result leave-one-family-out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
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
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import autoimb
from autoimb.data.dataset import Dataset, validate
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.engine.space import SearchSpace, load_space
from autoimb.engine.transfer import as_trial_params
from autoimb.exceptions import AutoImbError, TrialTimeout
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.crossfit import honest_score
from autoimb.stages import STAGES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, load_keel
from _portfolio_table import META_FEATURES, Portfolio, greedy, meta_features

SHIPPED = ROOT / "search_spaces" / "portfolio.yaml"
RESULTS = ROOT / "benchmarks" / "results"
CANDIDATES = "portfolio_candidates.json"
SCORES = "portfolio_scores.csv"
META = "portfolio_meta.csv"
SEARCH_METRICS = ("f1", "average_precision")
SCORE_METRICS = ("f1", "mcc", "average_precision")
KINDS = {"threshold": ("f1", "mcc"), "ranking": ("average_precision",)}
SEED = 0
CV = 3

logger = logging.getLogger("benchmarks.portfolio")

Config = dict[str, dict[str, Any]]


# ----------------------------------------------------------------------------- data


def keel_index(folder: Path = KEEL) -> pd.DataFrame:
    index = pd.read_csv(folder / "index.csv")
    index["family"] = index["name"].map(family)
    return index.sort_values("name").reset_index(drop=True)


def family(name: str) -> str:
    """The source data set a KEEL variant was cut from: ``ecoli_0_1_vs_2_3_5`` → ``ecoli``."""
    return re.split(r"[_0-9]", name, maxsplit=1)[0]


def sources(index: pd.DataFrame) -> list[str]:
    """Per family, the set with the most minority rows (the steadiest search), fewer rows first."""
    ranked = index.sort_values(["minority", "rows"], ascending=[False, True])
    return sorted(ranked.groupby("family", sort=False)["name"].first())


def sample(X: pd.DataFrame, y: np.ndarray, max_rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A stratified sample of ``max_rows`` rows (the imbalance ratio kept), or all of them."""
    if len(y) <= max_rows:
        return X, y
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=max_rows, stratify=y, random_state=SEED
    )
    keep = np.sort(keep)
    return X.iloc[keep].reset_index(drop=True), y[keep]


# ----------------------------------------------------------------------------- configs


def full_config(config: Config, space: SearchSpace) -> Config:
    """Every stage spelled out, missing parameters at the space's defaults."""
    out: Config = {}
    for stage in STAGES:
        choice = dict(config.get(stage) or {"name": "none"})
        params = space.stages.get(stage, {}).get(choice["name"], {})
        out[stage] = {"name": choice["name"]} | {
            p.name: choice.get(p.name, p.default) for p in params.values() if p.distribution
        }
    return out


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


def key(config: Config) -> str:
    return json.dumps(compact(config), sort_keys=True, default=str)


def fits(config: Config, space: SearchSpace) -> bool:
    available = {stage: list(space.stages.get(stage, {"none": {}})) for stage in STAGES}
    return as_trial_params(config, space, available) is not None


# ----------------------------------------------------------------------------- candidates


def search_best(
    name: str,
    metric: str,
    budget: float,
    max_rows: int,
    folder: Path,
    seed: int,
    trials: int | None = None,
) -> Config | None:
    """The best complete non-baseline trial of a short default-space search, or None.

    Each search has its own seed: with one seed, every short search starts from the same
    random strategies, and their best trials are mostly the same few.
    """
    X, y = sample(*load_keel(name, folder), max_rows)
    result = autoimb.search(
        X, y, metric=metric, time_budget=budget, n_trials=trials, cv=CV, random_state=seed,
        warm_start=None, ensemble=False, verbose=False,
    )  # fmt: skip
    baselines = len(load_space().initial)  # every search without a warm start runs them first
    done = [
        t
        for t in result.study.trials
        if t.state == optuna.trial.TrialState.COMPLETE
        and "config" in t.user_attrs
        and t.number >= baselines
    ]
    done.sort(key=lambda t: t.value, reverse=result.metric.greater_is_better)
    logger.info("search %-32s %-18s %3d complete", name, metric, len(done))
    return dict(done[0].user_attrs["config"]) if done else None


def candidates(args: argparse.Namespace) -> None:
    folder = Path(args.data_dir)
    index = keel_index(folder)
    space = load_space("default")
    started = time.monotonic()
    pool: dict[str, dict[str, Any]] = {}

    def add(config: Config, origin: str, role: str) -> None:
        config = full_config(config, space)
        if fits(compact(config), space):
            pool.setdefault(
                key(config), {"config": compact(config), "origin": origin, "role": role}
            )

    for choice in space.initial:
        add({stage: {"name": n} for stage, n in choice.items()}, "baseline", "baseline")
    previous = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    for config in previous["strategies"]:
        add(config, "previous portfolio", "previous")
    names = [n for n in sources(index) if not args.datasets or n in args.datasets]
    for seed, (name, metric) in enumerate(itertools.product(names, SEARCH_METRICS)):
        if index.loc[index["name"] == name, "classes"].item() > 2 and metric != "f1":
            continue
        best = search_best(name, metric, args.budget, args.max_rows, folder, seed, args.trials)
        if best is not None:
            add({s: best[s] for s in STAGES if s in best}, f"{name}/{metric}", "candidate")
    entries = list(pool.values())
    path = Path(args.work) / CANDIDATES
    path.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    logger.info(
        "%d entries in %.1f min → %s", len(entries), (time.monotonic() - started) / 60, path
    )


# ----------------------------------------------------------------------------- scores


def score_set(
    entries: Sequence[dict[str, Any]],
    name: str,
    max_rows: int,
    cap: float,
    folder: Path,
    skip: set[int] = frozenset(),
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Honest 3-fold scores of every entry on one set (NaN for ``skip``), and its meta-features."""
    X_all, y_all = load_keel(name, folder)
    meta = meta_features(validate(X_all, y_all))
    data: Dataset = validate(*sample(X_all, y_all, max_rows))
    cv = CrossValidation(data, CV, random_state=SEED)
    space = load_space("default")
    metrics = [get_metric(m) for m in SCORE_METRICS]
    rows = []
    for i, entry in enumerate(entries):
        if i in skip:
            rows += [
                {"set": name, "entry": i, "metric": m, "score": np.nan, "seconds": cap}
                for m in SCORE_METRICS
            ]
            continue
        config = full_config(entry["config"], space)
        try:
            run = evaluate(
                config, cv, metrics[0], random_state=SEED, deadline=time.monotonic() + cap
            )
        except (AutoImbError, TrialTimeout, ValueError, RuntimeError, MemoryError) as exc:
            logger.info("  entry %d failed on %s: %s", i, name, str(exc)[:120])
            rows += [
                {"set": name, "entry": i, "metric": m, "score": np.nan, "seconds": cap}
                for m in SCORE_METRICS
            ]
            continue
        for metric in metrics:
            try:
                value, _ = honest_score(
                    data.y, run.oof, cv.fold_ids, metric, pos_label=data.pos_label
                )
            except (AutoImbError, ValueError):
                value = math.nan
            rows.append(
                {"set": name, "entry": i, "metric": metric.name, "seconds": run.fit_seconds,
                 "score": value if math.isfinite(value) else np.nan}
            )  # fmt: skip
    return rows, meta


def score(args: argparse.Namespace) -> None:
    folder = Path(args.data_dir)
    work = Path(args.work)
    entries = json.loads((work / CANDIDATES).read_text(encoding="utf-8"))
    scores_path, meta_path = work / SCORES, work / META
    done = set(pd.read_csv(scores_path)["set"]) if scores_path.exists() else set()
    for name in keel_index(folder)["name"]:
        if name in done or (args.datasets and name not in args.datasets):
            continue
        t0 = time.monotonic()
        rows, meta = score_set(entries, name, args.max_rows, args.cap, folder, slow(args, work))
        pd.DataFrame(rows).to_csv(
            scores_path, mode="a", header=not scores_path.exists(), index=False
        )
        pd.DataFrame([[name, *meta]], columns=["set", *META_FEATURES]).to_csv(
            meta_path, mode="a", header=not meta_path.exists(), index=False
        )
        logger.info("scored %d entries on %-32s %.1fs", len(entries), name, time.monotonic() - t0)


def slow(args: argparse.Namespace, work: Path) -> set[int]:
    """Entries too slow for a short search's first trials, once ``--probe`` sets have timed them.

    A strategy that needs more than ``--drop-slower`` seconds for a 3-fold CV on a small set
    cannot be among the first trials of a 10 s search; scoring it everywhere would take hours.
    """
    path = work / SCORES
    if args.drop_slower is None or not path.exists():
        return set()
    seconds = pd.read_csv(path).groupby(["entry", "set"])["seconds"].first().unstack()
    if seconds.shape[1] < args.probe:
        return set()
    entries = json.loads((work / CANDIDATES).read_text(encoding="utf-8"))
    too_slow = seconds.index[seconds.iloc[:, : args.probe].mean(axis=1) > args.drop_slower]
    return {int(i) for i in too_slow if entries[i]["role"] == "candidate"}  # baselines always run


# ----------------------------------------------------------------------------- the table


def normalise(column: np.ndarray) -> np.ndarray:
    """Min-max over the entries; NaN → 0, a flat column → 1."""
    out = np.zeros_like(column)
    finite = np.isfinite(column)
    if finite.any():
        low, high = column[finite].min(), column[finite].max()
        out[finite] = 1.0 if high - low < 1e-12 else (column[finite] - low) / (high - low)
    return out


def load_table(work: Path, folder: Path = KEEL) -> tuple[list[dict[str, Any]], Portfolio]:
    """Every scored entry as a :class:`Portfolio` (its ``start`` from the baselines)."""
    entries = json.loads((work / CANDIDATES).read_text(encoding="utf-8"))
    scores = pd.read_csv(work / SCORES)
    meta = pd.read_csv(work / META).drop_duplicates("set").set_index("set")
    names = [n for n in keel_index(folder)["name"] if n in meta.index]
    wide = scores.pivot_table(
        index="entry", columns=["metric", "set"], values="score", dropna=False
    )
    seconds = scores.groupby("entry")["seconds"].mean().reindex(range(len(entries))).to_numpy()
    normalised = {
        m: np.column_stack(
            [normalise(wide[(m, n)].reindex(range(len(entries))).to_numpy()) for n in names]
        )
        for m in SCORE_METRICS
    }
    kinds = {k: np.mean([normalised[m] for m in ms], axis=0) for k, ms in KINDS.items()}
    baselines = [i for i, e in enumerate(entries) if e["role"] == "baseline"]
    return entries, Portfolio(
        strategies=[e["config"] for e in entries],
        cost=seconds,
        names=names,
        families=[family(n) for n in names],
        meta=meta.loc[names, list(META_FEATURES)].to_numpy(dtype=float),
        scores=kinds,
        start={k: v[baselines].max(axis=0) for k, v in kinds.items()},
    )


def origin_family(entry: dict[str, Any]) -> str | None:
    """The family whose data found a candidate (None for baselines and references)."""
    return family(entry["origin"].split("/")[0]) if entry["role"] == "candidate" else None


def excluded(entries: Sequence[dict[str, Any]], held_out: str | None) -> list[int]:
    """Entries a portfolio may not hold: not candidates, or found on the held-out family."""
    return [
        i for i, e in enumerate(entries)
        if e["role"] != "candidate" or (held_out is not None and origin_family(e) == held_out)
    ]  # fmt: skip


def ship(args: argparse.Namespace) -> None:
    """One greedy order per metric family over all dev sets; the file keeps what they use."""
    entries, table = load_table(Path(args.work), Path(args.data_dir))
    pool = [i for i in range(len(entries)) if i not in excluded(entries, None)]
    if not pool:
        raise SystemExit("no candidates were found: run `candidates` with a larger --budget")
    orders = {
        kind: greedy(table.scores[kind], table.start[kind], table.cost, pool, args.size)
        for kind in KINDS
    }
    kept = list(dict.fromkeys(orders["threshold"] + orders["ranking"]))
    start = {k: float(table.start[k].mean()) for k in KINDS}
    reach = {
        k: float(np.maximum(table.start[k], table.scores[k][orders[k]].max(axis=0)).mean())
        for k in KINDS
    }
    header = textwrap.fill(
        f"Warm-start portfolio, built {dt.date.today().isoformat()} by benchmarks/portfolio.py "
        f"(candidates, score --max-rows {args.max_rows}, ship --size {args.size}); see "
        "benchmarks/PORTFOLIO.md. Candidates from short searches on each of the 30 KEEL "
        f"families, cross-validated on all {len(table.names)} dev sets; `order` is, per metric "
        "family (threshold: mean of normalised F1 and MCC; ranking: normalised PR-AUC), greedy "
        "forward selection on the mean best normalised score over all dev sets, starting from "
        "the space's baselines. Mean best normalised score, baselines alone → with the "
        + "; ".join(f"{k}: {start[k]:.3f} → {reach[k]:.3f}" for k in KINDS)
        + ". Ordering by the nearest dev sets in meta-feature space was measured and lost to "
        "this global order, leave-one-family-out.",
        92,
    )
    document = {
        "strategies": [entries[i]["config"] for i in kept],
        "order": {k: [kept.index(i) for i in orders[k]] for k in KINDS},
        "found_on": [entries[i]["origin"] for i in kept],
        "fit_seconds": [round(float(table.cost[i]), 3) for i in kept],
    }
    body = "\n".join(f"# {line}" for line in header.splitlines())
    flow = yaml.safe_dump(document, default_flow_style=None, sort_keys=False, width=10_000)
    Path(args.out).write_text(f"{body}\n{flow}", encoding="utf-8")
    logger.info("wrote %s: %d strategies (%s)", args.out, len(kept), reach)


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("candidates", help="short searches on one set per family")
    c.add_argument("--budget", type=float, default=10.0, help="seconds per search")
    c.add_argument("--trials", type=int, help="also stop each search after N trials")
    s = sub.add_parser("score", help="cross-validate every candidate on every dev set")
    s.add_argument("--cap", type=float, default=4.0, help="seconds per evaluation")
    s.add_argument("--drop-slower", type=float, help="skip entries slower than this (s) ...")
    s.add_argument("--probe", type=int, default=3, help="... on the first N sets scored")
    sh = sub.add_parser("ship", help="write the portfolio file from the scores")
    sh.add_argument("--size", type=int, default=8, help="strategies tried first")
    sh.add_argument("--out", default=str(SHIPPED))
    for command in (c, s, sh):
        command.add_argument("--max-rows", type=int, default=2500, help="sample larger sets")
        command.add_argument("--data-dir", default=str(KEEL), help="folder of the KEEL sets")
        command.add_argument(
            "--work", default=str(RESULTS), help="folder of the candidates and scores"
        )
        command.add_argument("--datasets", nargs="+", help="only these sets (default: all)")
    args = parser.parse_args(argv)
    quiet_logs()
    with threadpool_limits(1):
        {"candidates": candidates, "score": score, "ship": ship}[args.command](args)


def quiet_logs() -> None:
    """The script's own progress lines, without autoimb's, Optuna's and the models' chatter."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("autoimb").setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    main()
