"""A custom search space: a YAML file passed as ``space=`` (or ``--space`` on the command line).

The space below searches only two resamplers, two weightings and two models, and tries one
strategy first. ``autoimb spaces fast`` (or ``default``) prints a built-in space's every
stage, component and range; a file uses the same names. The YAML is written to ``--out``
(default: a temporary folder, removed at the end).

Run:  python examples/custom_space.py [--budget SECONDS] [--out FOLDER]
      (or set AUTOIMB_EXAMPLE_BUDGET)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import autoimb

SPACE = """\
name: tiny
description: SMOTE or nothing, balanced weights or none, logistic regression or LightGBM.

initial:
  - {resampler: none, weighting: balanced, model: logistic_regression}

resampler:
  none: {}
  smote:
    sampling_ratio: {type: float, low: 0.3, high: 1.0, default: 0.5}

weighting:
  none: {}
  balanced: {}

model:
  logistic_regression:
    C: {type: float, low: 0.01, high: 10.0, log: true, default: 1.0}
  lightgbm:
    n_estimators: {type: int, low: 20, high: 200, log: true, default: 60}
    num_leaves: {type: int, low: 4, high: 16, log: true, default: 8}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("AUTOIMB_EXAMPLE_BUDGET", "30")),
        help="search seconds (default: $AUTOIMB_EXAMPLE_BUDGET or 30)",
    )
    parser.add_argument("--out", type=Path, help="keep the YAML file here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        space_file = out / "tiny.yaml"
        space_file.write_text(SPACE, encoding="utf-8")

        X, y = autoimb.datasets.load("hepatitis", return_X_y=True)  # 155 rows, with NaN
        result = autoimb.search(
            X, y, metric="mcc", space=space_file, time_budget=args.budget, random_state=0
        )

    print(f"best: {result.strategy}, MCC {result.best_score:.3f}")
    print(result.leaderboard[["trial", "resampler", "weighting", "model", "score"]].head(8))


if __name__ == "__main__":
    main()
