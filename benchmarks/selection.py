"""Choosing under noise: which rule picks, among a search's finished trials, the one that does
best on held-out rows?

One real search per (data set, outer fold) as in quality.py (outer stratified 3-fold split,
seed 0, one thread). Then each candidate trial (the best few by the search's score, at the
whole budget and at ``--early`` seconds into it, and each rule's pick) is

- cross-validated again on the search's own folds (its out-of-fold probabilities: the
  threshold, as the search tunes it),
- cross-validated on a fresh split of the same rows (another seed),
- refitted on the whole outer training part and scored on the outer test part with that
  threshold.

Every selection rule is then replayed on the same candidates, so rules are compared on the
same trials, free of the noise of running a search twice:

    python benchmarks/selection.py run --datasets ecoli1 yeast4 --budget 60
    python benchmarks/selection.py summary --summary  # the rules' held-out means, paired

The CSV is resumable: (data set, fold, budget) searches already there are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL, ROOT, outer_splits
from _markdown import add_summary_argument, publish, table
from _paired import tally
from quality import OUTER_FOLDS, SEED, score, strategy_label, strategy_names

OUT = ROOT / "benchmarks" / "results" / "selection.csv"
TOP = 6  # candidates by the search's score, at each of the two budgets
FRESH_SPLITS = 3  # fresh splits each candidate is measured on (seeds + 1, + 2, ...)


def _trials(result: Any) -> tuple[list[Any], float]:
    from optuna.trial import TrialState

    trials = result.study.trials
    start = min(t.datetime_start for t in trials if t.datetime_start)
    done = [t for t in trials if t.state == TrialState.COMPLETE and "fold_scores" in t.user_attrs]
    return done, start.timestamp()


def _finished_by(trials: Sequence[Any], start: float, seconds: float) -> list[Any]:
    return [t for t in trials if t.datetime_complete.timestamp() - start <= seconds]


def _steady_pick(trials: Sequence[Any], metric: Any) -> int:
    from autoimb import config
    from autoimb.posthoc.steady import Candidate, choose_steadily

    candidates = [Candidate.of(t) for t in trials]
    return choose_steadily(candidates, metric, standard_errors=config.NOISE_STANDARD_ERRORS)


def _measure(
    trial: Any,
    data: Any,
    cv: Any,
    fresh: Sequence[Any],
    metric: Any,
    seed: int,
    X_test: Any,
    y_test: Any,
    kept: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """The trial again on its folds and on fresh ones, and refitted for the held-out rows;
    the first fresh split's columns are ``fresh_*``, the k-th's ``fresh{k}_*``. ``kept``
    receives the trial's out-of-fold and held-out probabilities, for replaying blends."""
    from autoimb import config
    from autoimb.engine.budget import row_budget
    from autoimb.engine.evaluate import evaluate
    from autoimb.engine.pipeline import StrategyPipeline
    from autoimb.posthoc.candidates import choose_decision
    from autoimb.posthoc.steady import steady_score

    strategy = trial.user_attrs["config"]
    options = {
        "random_state": seed,
        "n_threads": 1,
        "max_rows": row_budget(len(data.y)),
        "member_share": config.SEARCH_MEMBER_SHARE,
    }
    own = evaluate(strategy, cv, metric, **options)
    agains = [evaluate(strategy, split, metric, **options) for split in fresh]
    model = StrategyPipeline(strategy, data.schema(), random_state=seed, n_threads=1)
    proba = model.fit(data.X, data.y, data.sample_weight).predict_proba(X_test)
    pooled, _ = choose_decision(
        np.concatenate([data.y, data.y]),
        np.vstack([own.oof, agains[0].oof]),
        metric,
        pos_label=data.pos_label,
    )
    n_classes = proba.shape[1]
    codes = np.searchsorted(data.classes, y_test)
    if kept is not None:
        kept[trial.number] = (own.oof, proba)
    return {
        "trial": trial.number,
        "value": float(trial.value),
        "fold_scores": json.dumps([float(s) for s in trial.user_attrs["fold_scores"]]),
        "steady": trial.user_attrs.get("steady"),
        "seconds": float(trial.user_attrs.get("seconds", 0.0)),
        "finished_at": trial.datetime_complete.timestamp(),
        "own_value": own.value,
        **{
            f"fresh{'' if k == 1 else k}_{key}": value
            for k, later in enumerate(agains, start=1)
            for key, value in (
                ("value", later.value),
                ("fold_scores", json.dumps([float(s) for s in later.fold_scores])),
                ("steady", steady_score(data.y, later.oof, pos_label=data.pos_label)),
            )
        },
        "test": score(metric.name, codes, proba, own.decision.apply(proba), n_classes),
        "test_pooled": score(metric.name, codes, proba, pooled.apply(proba), n_classes),
        "test_ap": score("average_precision", codes, proba, proba.argmax(1), n_classes),
        "label": strategy_label(strategy_names(strategy)),
    }


def search_and_measure(
    name: str,
    fold: int,
    metric_name: str,
    budget: float,
    early: float,
    split: tuple,
    keep: Path | None = None,
    fresh_splits: int = FRESH_SPLITS,
) -> list[dict[str, Any]]:
    import autoimb
    from autoimb.config import STUDY_ATTR
    from autoimb.data.dataset import validate
    from autoimb.engine.budget import folds_for_size
    from autoimb.engine.evaluate import CrossValidation
    from autoimb.engine.splits import recorded_folds
    from autoimb.metrics.registry import get_metric

    X, y, X_test, y_test = split
    metric = get_metric(metric_name)
    started = time.perf_counter()
    result = autoimb.search(
        X, y, metric=metric_name, time_budget=budget, n_jobs=1, random_state=SEED
    )
    seconds = time.perf_counter() - started
    n_classes = int(max(y.max(), y_test.max())) + 1
    product = score(
        metric_name,
        y_test,
        _aligned(result.best_pipeline, X_test, n_classes),
        np.asarray(result.best_pipeline.predict(X_test), dtype=np.int64),
        n_classes,
    )
    trials, start = _trials(result)
    data = validate(X, y)
    attrs = result.study.user_attrs[STUDY_ATTR]
    seed = int(attrs["seed"])
    cv = CrossValidation(
        data, folds_for_size(recorded_folds(attrs, None, len(y)), len(y)), random_state=seed
    )
    fresh = [cv.resplit(seed + k) for k in range(1, fresh_splits + 1)]
    picks: set[int] = set()
    for horizon in (early, budget):
        seen = _finished_by(trials, start, horizon)
        if not seen:
            continue
        top = sorted(seen, key=lambda t: -metric_sign(metric) * float(t.value))[:TOP]
        picks |= {t.number for t in top} | {_steady_pick(seen, metric)}
    by_number = {t.number: t for t in trials}
    rows = []
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for number in sorted(picks):
        row = _measure(by_number[number], data, cv, fresh, metric, seed, X_test, y_test, kept)
        rows.append(
            {
                "dataset": name,
                "fold": fold,
                "metric": metric_name,
                "budget": budget,
                "early": early,
                "study_start": start,
                "n_train": len(y),
                "minority_train": int(np.bincount(y).min()),
                "complete": len(trials),
                "product": product,
                "product_winner": "ensemble"
                if "members" in result.best_config
                else strategy_label(strategy_names(result.best_config)),
                "search_seconds": seconds,
                **row,
            }
        )
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        numbers = sorted(kept)
        np.savez_compressed(
            keep / f"{name}_{fold}_{budget:g}.npz",
            trials=np.asarray(numbers),
            oof=np.stack([kept[n][0] for n in numbers]),
            proba=np.stack([kept[n][1] for n in numbers]),
            y=data.y,
            y_test=np.searchsorted(data.classes, y_test),
            scored=cv.scores(np.arange(len(data.y)))[0],
        )
    return rows


def metric_sign(metric: Any) -> float:
    return 1.0 if metric.greater_is_better else -1.0


def _aligned(model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    from quality import aligned_proba

    return aligned_proba(model, X, n_classes)


def run(args: argparse.Namespace) -> None:
    done: set[tuple[str, int, float]] = set()
    if args.out.exists():
        frame = pd.read_csv(args.out)
        done = {(r.dataset, int(r.fold), float(r.budget)) for r in frame.itertuples()}
    started = time.monotonic()
    for name in args.datasets:
        for fold, split in outer_splits(name, args.data_dir, OUTER_FOLDS, SEED, args.folds):
            if (name, fold, float(args.budget)) in done:
                continue
            try:
                with warnings.catch_warnings(), threadpool_limits(limits=1):
                    warnings.simplefilter("ignore")
                    rows = search_and_measure(
                        name, fold, args.metric, args.budget, args.early, split, args.keep,
                        args.fresh_splits,
                    )  # fmt: skip
            except Exception as exc:  # a failing search is reported and skipped
                print(f"{name} fold {fold}: {type(exc).__name__}: {exc}", flush=True)
                continue
            pd.DataFrame(rows).to_csv(args.out, mode="a", header=not args.out.exists(), index=False)
            print(
                f"[{time.monotonic() - started:6.0f}s] {name} fold {fold}: "
                f"{len(rows)} candidates, product {rows[0]['product']:.3f}",
                flush=True,
            )


# --- the rules, replayed on one search's measured candidates --------------------------------


def _best(seen: pd.DataFrame) -> pd.Series:
    return seen.sort_values(["value", "trial"], ascending=[False, True]).iloc[0]


def _race(k: int, key: Callable[[pd.Series], float]) -> Callable[[pd.DataFrame], pd.Series]:
    """Among the ``k`` best by the search's score, the one ``key`` rates highest."""

    def rule(seen: pd.DataFrame) -> pd.Series:
        top = seen.sort_values(["value", "trial"], ascending=[False, True]).head(k)
        return top.loc[top.apply(key, axis=1).idxmax()]

    return rule


def _pooled_steady(row: pd.Series) -> float:
    return float(np.nanmean([row.steady, row.fresh_steady]))


def _row_candidates(seen: pd.DataFrame, split: str) -> dict[int, Any]:
    """The measured candidates as the shipped choice sees them on one split: ``""`` the
    search's own, ``"fresh_"`` the first fresh one, ``"fresh2_"`` the second …"""
    from autoimb.posthoc.steady import Candidate

    return {
        int(r.trial): Candidate(
            int(r.trial),
            float(r[f"{split}value"]),
            json.loads(r[f"{split}fold_scores"]),
            None if pd.isna(r[f"{split}steady"]) else float(r[f"{split}steady"]),
            float(r.seconds),
        )
        for _, r in seen.iterrows()
    }


def _steady_within(
    standard_errors: float, splits: Sequence[str] = ("",)
) -> Callable[[pd.DataFrame], pd.Series]:
    """The shipped rule with a wider or narrower band, among the measured candidates only, on
    the fold scores of ``splits`` pooled (the search's race pools its own and one fresh split:
    :func:`autoimb.posthoc.steady.choose_pooled`)."""

    def rule(seen: pd.DataFrame) -> pd.Series:
        from autoimb.metrics.registry import get_metric
        from autoimb.posthoc.steady import choose_pooled

        metric = get_metric(seen.metric.iloc[0])
        measured = [_row_candidates(seen, split) for split in splits]
        pick = choose_pooled(measured, metric, standard_errors=standard_errors)
        return seen[seen.trial == pick].iloc[0]

    return rule


def _contenders(seen: pd.DataFrame, top: int, with_pick: bool) -> pd.DataFrame:
    """The ``top`` best-scoring trials; with the single-split steady pick, the pick and the
    ``top`` best-scoring others, as the search races them
    (:func:`autoimb.posthoc.steady.contenders`)."""
    ranked = seen.sort_values(["value", "trial"], ascending=[False, True])
    if not with_pick:
        return ranked.head(top)
    pick = seen[seen.steady_pick]
    return pd.concat([pick, ranked[~ranked.trial.isin(pick.trial)].head(top)])


def _raced(
    top: int, with_pick: bool, splits: Sequence[str] = ("", "fresh_")
) -> Callable[[pd.DataFrame], pd.Series]:
    """The steady rule on ``splits`` pooled, among :func:`_contenders`."""
    pooled = _steady_within(1.0, splits)
    return lambda seen: pooled(_contenders(seen, top, with_pick))


# A default search's first trials: the space's 4 baselines and the portfolio's 8 strategies.
QUEUED = 12


def _queued_first(seen: pd.DataFrame) -> pd.Series:
    """The race, but among the contenders within noise of the best (pooled over the search's
    folds and the fresh split) the queued trials come first: they were chosen on other data,
    so their scores here were not picked for luck on these folds."""
    from autoimb.metrics.registry import get_metric
    from autoimb.posthoc.steady import pooled, top_scoring, within_noise

    ranked = _contenders(seen, 3, with_pick=True)
    metric = get_metric(seen.metric.iloc[0])
    candidates = pooled([_row_candidates(ranked, split) for split in ("", "fresh_")])
    best = top_scoring(candidates, metric)
    sign = 1.0 if metric.greater_is_better else -1.0
    rivals = [
        c
        for c in candidates
        if c.steady is not None
        and (
            c is best
            or within_noise(best.fold_scores, c.fold_scores, sign=sign, standard_errors=1.0)
        )
    ]
    if best not in rivals:
        return seen[seen.trial == best.number].iloc[0]
    first = [c for c in rivals if c.number < QUEUED] or rivals
    pick = max(first, key=lambda c: (c.steady, -c.seconds, -c.number)).number
    return seen[seen.trial == pick].iloc[0]


# Repeated cross-validation of the contenders: two or three fresh splits pooled; only CSVs
# measured on three fresh splits have the columns for them.
REPEATED: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "race_2fresh": _raced(3, with_pick=True, splits=("", "fresh_", "fresh2_")),
    "race_3fresh": _raced(3, with_pick=True, splits=("", "fresh_", "fresh2_", "fresh3_")),
    "race_fresh_pair": _raced(3, with_pick=True, splits=("fresh_", "fresh2_")),
    "race6_3fresh": _raced(6, with_pick=True, splits=("", "fresh_", "fresh2_", "fresh3_")),
}
RULES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "best": _best,
    "steady": lambda seen: seen.loc[seen.steady_pick].iloc[0],
    "race": _raced(3, with_pick=True),
    "race_top2": _raced(2, with_pick=False),
    "race_top6": _raced(6, with_pick=False),
    "race3_fresh_only": _race(3, lambda r: r.fresh_value),
    "race3_ap": _race(3, _pooled_steady),
    "race_queued_first": _queued_first,
    **REPEATED,
    "steady_2se": _steady_within(2.0),
    "best_ap": lambda seen: seen.loc[seen.steady.idxmax()],
    "oracle": lambda seen: seen.loc[seen.test.idxmax()],
}


def replay(frame: pd.DataFrame) -> pd.DataFrame:
    """Each rule's held-out score per search and horizon (early, the whole budget)."""
    from autoimb import config

    rows = []
    for (name, fold, budget), part in frame.groupby(["dataset", "fold", "budget"]):
        for horizon in ("early", "budget"):
            seconds = part[horizon].iloc[0]
            seen = part[part.finished_at - part.study_start <= seconds].copy()
            if seen.empty:
                continue
            # The shipped rule needs every finished trial; it was measured when it ran, so
            # replay it from the candidates' columns only where its pick is among them.
            seen["steady_pick"] = False
            pick = int(_steady_within(config.NOISE_STANDARD_ERRORS)(seen).trial)
            seen.loc[seen.trial == pick, "steady_pick"] = True
            for rule, choose in RULES.items():
                if rule in REPEATED and "fresh3_value" not in seen:
                    continue  # measured before the candidates were on more fresh splits
                chosen = choose(seen)
                rows.append(
                    {
                        "dataset": name,
                        "fold": fold,
                        "budget": budget,
                        "horizon": f"{seconds:g} s",
                        "rule": rule,
                        "trial": int(chosen.trial),
                        "test": chosen.test,
                        "fresh_value": chosen.fresh_value,
                        "test_pooled": chosen.test_pooled,
                        "minority_train": part.minority_train.iloc[0],
                    }
                )
    return pd.DataFrame(rows)


def summarise(frame: pd.DataFrame, against: str = "steady") -> str:
    """Each rule's held-out score, and its difference from rule ``against``'s, paired."""
    played = replay(frame)
    lines = []
    for horizon, part in played.groupby("horizon", sort=False):
        wide = part.pivot_table(index=["dataset", "fold"], columns="rule", values="test")
        rows = []
        for rule in [name for name in RULES if name in wide]:
            diff = wide[rule] - wide[against]
            result = tally(diff)
            rows.append(
                [
                    rule,
                    len(wide),
                    f"{wide[rule].mean():.4f}",
                    f"{diff.mean():+.4f}",
                    result.counts(),
                    f"{result.p:.3f}",
                ]
            )
        optimism = part.assign(gap=part.fresh_value - part.test).groupby("rule").gap.mean()
        for row in rows:
            row.append(f"{optimism[row[0]]:+.4f}")
        lines.append(f"### trials finished by {horizon}\n")
        lines.append(
            table(
                [
                    "rule",
                    "searches",
                    "held-out",
                    f"against {against}",
                    "b/t/w",
                    "Wilcoxon p",
                    "fresh-split score minus held-out",
                ],
                rows,
            )
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("--datasets", nargs="+", required=True)
    go.add_argument("--folds", nargs="+", type=int, default=[0])
    go.add_argument("--metric", default="f1")
    go.add_argument("--budget", type=float, default=60.0)
    go.add_argument("--early", type=float, default=10.0, help="the short budget replayed")
    go.add_argument("--out", type=Path, default=OUT)
    go.add_argument("--fresh-splits", type=int, default=FRESH_SPLITS, help="at least 1")
    go.add_argument(
        "--keep", type=Path, help="folder for each search's candidates' probabilities (.npz)"
    )
    go.add_argument("--data-dir", type=Path, default=KEEL)
    show = sub.add_parser("summary")
    show.add_argument(
        "--out", type=Path, nargs="+", default=[OUT, OUT.with_name("selection_small.csv")]
    )
    show.add_argument("--against", default="steady", choices=list(RULES), help="paired with")
    add_summary_argument(show, "selection")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "run":
        run(args)
        return
    blocks = [
        f"**{path.name}**\n\n{summarise(pd.read_csv(path), args.against)}" for path in args.out
    ]
    publish("\n".join(blocks), args.summary, "selection")


if __name__ == "__main__":
    main()
