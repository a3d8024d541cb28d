"""A multi-class target: the shipped glass_multiclass set (214 rows, six classes, 9 to 76 each).

With more than two classes the metrics are macro averages, and instead of one threshold
the search tunes a per-class probability scaling (``result.best_config["class_scale"]``).

Run:  python examples/multiclass.py [--budget SECONDS]   (or set AUTOIMB_EXAMPLE_BUDGET)
"""

from __future__ import annotations

import argparse
import os

import autoimb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("AUTOIMB_EXAMPLE_BUDGET", "30")),
        help="search seconds (default: $AUTOIMB_EXAMPLE_BUDGET or 30)",
    )
    args = parser.parse_args()

    print("shipped data sets:", autoimb.datasets.list())
    X, y = autoimb.datasets.load("glass_multiclass", return_X_y=True)
    print("class counts:", y.value_counts().to_dict())

    result = autoimb.search(
        X,
        y,
        metric="f1",  # macro F1: every class counts the same, however small
        time_budget=args.budget,
        space="fast",  # a few cheap choices; "default" searches everything (minutes)
        random_state=0,
    )
    print(f"macro F1: {result.best_score:.3f} with {result.strategy}")
    print("classes:", result.classes_.tolist())
    print("per-class scaling:", [round(s, 2) for s in result.best_config["class_scale"]])
    print("out-of-fold confusion matrix:")
    print(result.report()["confusion_matrix"])
    rows = X.iloc[::50]  # a few rows of different classes
    print("true:     ", y.iloc[::50].tolist())
    print("predicted:", result.best_pipeline.predict(rows).tolist())
    print(result.best_pipeline.predict_proba(rows).round(2))


if __name__ == "__main__":
    main()
