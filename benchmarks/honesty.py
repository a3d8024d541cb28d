"""How honest autoimb's numbers are: the gap, the interval and the probabilities, per metric.

Reads the CSV that `benchmarks/quality.py` writes (autoimb's rows carry, in ``detail``, how
``best_score`` was measured, the interval it gave for the outer test fold's size, and the Brier
score and expected calibration error of its probabilities before and after calibration) and
prints, per metric and for small and large sets apart:

- the signed gap ``best_score − outer-test score`` (goal: within ±0.015), single and ensemble
  winners apart;
- how often the outer-test score falls inside ``score_interval_for(<test rows>, 0.8)`` (goal:
  80% ± 5);
- Brier score and ECE of the calibrated probabilities against the same model's uncalibrated
  ones and against balanced LightGBM, and F1/MCC of ``predict`` (unchanged by calibration).

    python benchmarks/quality.py --methods autoimb lgbm_balanced \
        --out benchmarks/results/honesty.csv
    python benchmarks/honesty.py benchmarks/results/honesty.csv --summary
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _keel import KEEL
from _markdown import add_summary_argument, table, write_section

# A set is "small" when its outer test fold holds fewer minority rows than this: there a test
# score is itself so noisy that no estimate can be close to it every time.
SMALL_MINORITY = 30
LEVEL = 0.8


def load(path: Path, index: pd.DataFrame) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"detail": str, "error": str})
    frame = frame[frame["error"].isna() | (frame["error"] == "")].copy()
    details = frame["detail"].fillna("").map(lambda s: json.loads(s) if s else {})
    for key in ("interval_low", "interval_high", "brier", "ece", "brier_raw", "ece_raw"):
        frame[key] = details.map(lambda d, k=key: d.get(k, np.nan)).astype(float)
    frame["basis"] = details.map(lambda d: d.get("score_basis", ""))
    frame["ensemble"] = details.map(lambda d: bool(d.get("ensemble_of")))
    minority = index.set_index("name")["minority"]
    per_test_fold = frame["dataset"].map(minority) / 3
    frame["size"] = np.where(per_test_fold < SMALL_MINORITY, "small", "large")
    return frame


def gap_table(auto: pd.DataFrame) -> str:
    rows = []
    for (metric, size), part in auto.groupby(["metric", "size"]):
        gap = part["cv_score"] - part["score"]
        single = gap[~part["ensemble"]]
        ensemble = gap[part["ensemble"]]
        rows.append(
            [
                metric,
                size,
                len(part),
                float(gap.mean()),
                float(gap.abs().mean()),
                float(single.mean()) if len(single) else np.nan,
                f"{float(ensemble.mean()):.3f} ({len(ensemble)})" if len(ensemble) else "-",
            ]
        )
    header = [
        "metric",
        "sets",
        "fits",
        "signed gap",
        "mean abs gap",
        "single winners",
        "ensembles (n)",
    ]
    return table(header, rows)


def basis_table(auto: pd.DataFrame) -> str:
    """The gap by how ``best_score`` was measured: which measure is honest, which is not."""
    rows = []
    for (basis, size), part in auto.groupby(["basis", "size"]):
        gap = part["cv_score"] - part["score"]
        rows.append(
            [basis or "unknown", size, len(part), float(gap.mean()), float(gap.abs().mean())]
        )
    return table(["best_score measured", "sets", "fits", "signed gap", "mean abs gap"], rows)


def coverage_table(auto: pd.DataFrame) -> str:
    rows = []
    for (metric, size), part in auto.groupby(["metric", "size"]):
        part = part.dropna(subset=["interval_low", "interval_high"])
        inside = (part["score"] >= part["interval_low"] - 1e-12) & (
            part["score"] <= part["interval_high"] + 1e-12
        )
        below = part["score"] < part["interval_low"] - 1e-12
        width = part["interval_high"] - part["interval_low"]
        rows.append(
            [
                metric,
                size,
                len(part),
                f"{inside.mean():.1%}",
                f"{below.mean():.1%}",
                f"{(~inside & ~below).mean():.1%}",
                float(width.mean()),
            ]
        )
    header = ["metric", "sets", "fits", f"inside ({LEVEL:.0%} nominal)", "below", "above", "width"]
    return table(header, rows)


def calibration_table(frame: pd.DataFrame) -> str:
    binary = frame.dropna(subset=["brier"])
    auto = binary[binary["method"] == "autoimb"]
    peer = binary[binary["method"] == "lgbm_balanced"].drop_duplicates(["dataset", "fold"])
    rows = []
    for metric, part in auto.groupby("metric"):
        keys = part.set_index(["dataset", "fold"])
        lgbm = peer.set_index(["dataset", "fold"]).reindex(keys.index)
        better_brier = (keys["brier"] < keys["brier_raw"] - 1e-12).mean()
        better_ece = (keys["ece"] < keys["ece_raw"] - 1e-12).mean()
        rows.append(
            [
                metric,
                len(part),
                float(keys["brier"].mean()),
                float(keys["brier_raw"].mean()),
                float(lgbm["brier"].mean()),
                float(keys["ece"].mean()),
                float(keys["ece_raw"].mean()),
                float(lgbm["ece"].mean()),
                f"{better_brier:.0%} / {better_ece:.0%}",
            ]
        )
    header = [
        "searched for",
        "fits",
        "Brier",
        "Brier uncalibrated",
        "Brier balanced LGBM",
        "ECE",
        "ECE uncalibrated",
        "ECE balanced LGBM",
        "calibrated better (Brier / ECE)",
    ]
    return table(header, rows)


def summary(frame: pd.DataFrame, source: Path) -> str:
    auto = frame[frame["method"] == "autoimb"]
    bases = auto["basis"].value_counts()
    lines = [
        f"From `{source.as_posix()}`: {auto['dataset'].nunique()} data sets, "
        f"{len(auto)} autoimb fits. A set is small when its outer test fold holds fewer than "
        f"{SMALL_MINORITY} minority rows.",
        "",
        "**Signed gap** (`best_score` − outer-test score; goal ±0.015):",
        "",
        gap_table(auto),
        "",
        "The gap by how `best_score` was measured (all metrics):",
        "",
        basis_table(auto),
        "",
        f"**Interval coverage** (outer-test score inside `score_interval_for(test rows, "
        f"{LEVEL})`; goal {LEVEL:.0%} ± 5 points):",
        "",
        coverage_table(auto),
        "",
        "**Calibration** of `predict_proba` on the outer test folds (binary sets):",
        "",
        calibration_table(frame),
        "",
        "How `best_score` was measured: "
        + ", ".join(f"{basis or 'unknown'} {n}" for basis, n in bases.items())
        + ".",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="a CSV written by benchmarks/quality.py")
    parser.add_argument(
        "--index",
        type=Path,
        default=KEEL / "index.csv",
        help="the data sets' index (for minority counts)",
    )
    add_summary_argument(parser, "honesty")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    text = summary(load(args.csv, pd.read_csv(args.index)), args.csv)
    print(text)
    if args.summary is not None:
        write_section(args.summary, "honesty", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
