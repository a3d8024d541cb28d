"""Data-collection advice: would more minority examples help? ``advice=True``.

After the search the winner is retrained on growing shares of the minority class, and a
learning curve fitted to those scores predicts the score with 2× and 5× more minority
examples: ``result.advice.summary()`` says it in a sentence, ``result.advice.to_frame()``
gives the measured and predicted points, each size also as a ``fraction`` of the whole data's
minority count (a measured point trains on a fold, below 1).

The curve is measured after the trials, in the time the budget leaves, so this example counts
trials instead of seconds: a budget of a few seconds leaves no time for it.

Run:  python examples/collection_advice.py [--trials N]   (or set AUTOIMB_EXAMPLE_TRIALS)
"""

from __future__ import annotations

import argparse
import os

import autoimb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials",
        type=int,
        default=int(os.environ.get("AUTOIMB_EXAMPLE_TRIALS", "20")),
        help="search trials (default: $AUTOIMB_EXAMPLE_TRIALS or 20)",
    )
    args = parser.parse_args()

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)  # 77 positives in 336 rows
    result = autoimb.search(
        X,
        y,
        metric="f1",
        n_trials=args.trials,
        space="fast",  # a few cheap choices; "default" searches everything (minutes)
        advice=True,
        random_state=0,
    )
    print(f"F1 {result.best_score:.3f} with {result.strategy}")
    if result.advice is None:  # it was skipped; the notes say why
        print("\n".join(result.notes))
        return
    print(result.advice.summary())
    print(result.advice.to_frame().round(3).to_string(index=False))


if __name__ == "__main__":
    main()
