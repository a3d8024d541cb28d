"""Continue from a pretrained LightGBM booster: ``pretrained={"lightgbm": booster}``.

A booster fitted earlier on related data (here: one half of the shipped ecoli1 set, standing
in for last year's rows) becomes the starting point of every LightGBM fit of the search on the
new data (the other half): new trees are added to its trees. A model file written by
``booster.save_model(path)`` works too. The search space holds LightGBM alone, so that every
trial continues from the booster; the same search from scratch is run beside it to compare.

Run:  python examples/pretrained_booster.py [--budget SECONDS]   (or AUTOIMB_EXAMPLE_BUDGET)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import lightgbm
from sklearn.model_selection import train_test_split

import autoimb

LIGHTGBM_ONLY = """\
weighting:
  none: {}
  balanced: {}
model:
  lightgbm:
    n_estimators: {type: int, low: 10, high: 100, log: true, default: 30}
    learning_rate: {type: float, low: 0.02, high: 0.2, log: true, default: 0.05}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("AUTOIMB_EXAMPLE_BUDGET", "30")),
        help="seconds for both searches together (default: $AUTOIMB_EXAMPLE_BUDGET or 30)",
    )
    args = parser.parse_args()

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    X_old, X_new, y_old, y_new = train_test_split(X, y, test_size=0.5, stratify=y, random_state=2)
    booster = lightgbm.LGBMClassifier(n_estimators=50, verbose=-1).fit(X_old, y_old).booster_
    print(f"pretrained booster: {booster.num_trees()} trees on {len(y_old)} earlier rows")

    with tempfile.TemporaryDirectory() as tmp:
        space = Path(tmp) / "lightgbm_only.yaml"
        space.write_text(LIGHTGBM_ONLY, encoding="utf-8")
        for label, pretrained in [("from scratch", None), ("continued", {"lightgbm": booster})]:
            result = autoimb.search(
                X_new,
                y_new,
                metric="average_precision",
                space=space,
                time_budget=args.budget / 2,
                pretrained=pretrained,
                random_state=0,
            )
            print(f"{label:>12}: PR-AUC {result.best_score:.3f} with {result.strategy}")


if __name__ == "__main__":
    main()
