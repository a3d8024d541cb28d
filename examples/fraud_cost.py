"""Fraud-style costs: a missed positive costs 10, a false alarm 1, each row weighted by amount.

The shipped yeast4 set (51 positives in 1,484 rows) stands in for a table of transactions,
and an ``amount`` column is made up for it. Passed as ``sample_weight=``, the amount makes a
missed large transaction cost more than a missed small one: the metric ``cost:fn=10,fp=1`` is
the expected cost per unit of weight, lower is better. The weight is carried through
resampling and used when the decision threshold is chosen.

Run:  python examples/fraud_cost.py [--budget SECONDS]   (or set AUTOIMB_EXAMPLE_BUDGET)
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autoimb

FN_COST, FP_COST = 10, 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=float(os.environ.get("AUTOIMB_EXAMPLE_BUDGET", "30")),
        help="search seconds (default: $AUTOIMB_EXAMPLE_BUDGET or 30)",
    )
    args = parser.parse_args()

    frame = autoimb.datasets.load("yeast4")  # the features and a "target" column
    rng = np.random.default_rng(0)
    frame["amount"] = rng.lognormal(mean=3.0, sigma=1.0, size=len(frame)).round(2)
    y = frame.pop("target")
    amount = frame.pop("amount")  # a weight here, not a feature

    result = autoimb.search(
        frame,
        y,
        metric=f"cost:fn={FN_COST},fp={FP_COST}",
        sample_weight=amount,
        time_budget=args.budget,
        space="fast",  # a few cheap choices; "default" searches everything (minutes)
        random_state=0,
    )

    # Flagging nothing misses every fraud: that is the cost to beat.
    flag_nothing = FN_COST * amount[y == 1].sum() / amount.sum()
    print(f"strategy: {result.strategy}")
    print(f"flag a row when P(fraud) >= {result.best_pipeline.probability_threshold:.4f}")
    print(f"expected cost per unit of amount: {result.best_score:.4f}")
    print(f"flagging nothing would cost:      {flag_nothing:.4f}")
    # Weights count in units of their mean; times the mean amount, the cells are in amount.
    print("out-of-fold confusion matrix, in amount:")
    print((result.report()["confusion_matrix"] * amount.mean()).round(0))


if __name__ == "__main__":
    main()
