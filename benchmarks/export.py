"""The exported model: its size on disk, `autoimb predict` wall time including start-up, and the
scoring rate of a single-strategy LightGBM winner on 100k rows.

    python benchmarks/export.py                 # the README's quick start: yeast4, F1, 60 s
    python benchmarks/export.py --budget 20 --summary

The quick start's search runs through the command line, as a user runs it; `autoimb predict`
is timed three times in fresh processes (the fastest is reported, with the slowest beside it).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import add_summary_argument, publish, table


def cli(*args: str, cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "autoimb.cli", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def lightgbm_rate(folder: Path, rows: int) -> tuple[float, float]:
    """Rows per second of a saved single-strategy LightGBM winner, and its size in MB."""
    import autoimb

    X, y = autoimb.datasets.load("yeast4", return_X_y=True)
    result = autoimb.search(
        X, y, metric="f1", n_trials=1, warm_start=None, ensemble=False, random_state=0
    )
    assert result.best_config["model"]["name"] == "lightgbm", result.best_config
    path = result.save(folder / "lightgbm.skops")
    model = autoimb.load(path)
    rng = np.random.default_rng(0)
    big = X.iloc[rng.integers(0, len(X), rows)].reset_index(drop=True)
    big = big + rng.normal(0, 0.01, big.shape)
    model.predict(big.iloc[:100])  # first call's one-off costs are not the rate
    started = time.perf_counter()
    model.predict(big)
    return rows / (time.perf_counter() - started), path.stat().st_size / 1e6


def forest_save_seconds(folder: Path, trees: int) -> tuple[float, float]:
    """Seconds to save a balanced random forest of ``trees`` trees (thousands of arrays):
    autoimb's writer, and skops' own ``dump`` of the same forest."""
    import skops.io
    from imblearn.ensemble import BalancedRandomForestClassifier

    import autoimb
    import autoimb.export

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    forest = BalancedRandomForestClassifier(
        n_estimators=trees, sampling_strategy="all", replacement=True, bootstrap=False
    ).fit(X, y)
    started = time.perf_counter()
    autoimb.export.save(forest, folder / "forest.skops")
    own = time.perf_counter() - started
    started = time.perf_counter()
    skops.io.dump(forest, folder / "plain.skops")
    return own, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trees", type=int, default=1000)
    add_summary_argument(parser, "export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autoimb-export-") as tmp:
        folder = Path(tmp)
        search_seconds = cli(
            "search",
            "yeast4",
            "--target",
            "target",
            "--metric",
            "f1",
            "--time-budget",
            str(args.budget),
            "--quiet",
            "--seed",
            "0",
            cwd=folder,
        )
        import autoimb

        X = autoimb.datasets.load("yeast4", return_X_y=True)[0]
        X.to_csv(folder / "new.csv", index=False)
        model = folder / "yeast4.skops"
        size = model.stat().st_size / 1e6
        strategy = autoimb.load(model).model_card_["config"]
        what = "ensemble" if "members" in strategy else strategy["model"]["name"]
        times = [
            cli("predict", str(model), "new.csv", "--out", "p.csv", "--force", cwd=folder)
            for _ in range(3)
        ]
        # The command line's own modules alone: the libraries predict loads (scikit-learn,
        # pandas, skops) come on top, inside the wall time above.
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import autoimb.cli.main"], check=True)
        start_up = time.monotonic() - started
        rate, lgbm_size = lightgbm_rate(folder, args.rows)
        save_seconds, plain_seconds = forest_save_seconds(folder, args.trees)
    rows = [
        ["quick-start model size", f"{size:.1f} MB ({what})", "≤ 5 MB"],
        [
            f"`autoimb predict` on {len(X):,} rows, wall",
            f"{min(times):.2f} s (slowest {max(times):.2f} s; the command line's own modules "
            f"{start_up:.2f} s, before the libraries)",
            "≤ 1.5 s",
        ],
        [
            f"single-strategy LightGBM winner on {args.rows:,} rows",
            f"{rate:,.0f} rows/s ({lgbm_size:.2f} MB)",
            "≥ 50,000 rows/s",
        ],
        [
            f"saving a balanced random forest of {args.trees:,} trees",
            f"{save_seconds:.2f} s (skops' own `dump`: {plain_seconds:.2f} s)",
            "",
        ],
    ]
    text = "\n".join(
        [
            f"Generated by `benchmarks/export.py` on {os.cpu_count()} logical cores "
            f"({platform.machine()}, Python {platform.python_version()}): the README's quick "
            f"start (`autoimb search yeast4 --target target --metric f1 --time-budget "
            f"{args.budget:g}`, {search_seconds:.0f} s), then its model.\n",
            table(["what", "measured", "goal"], rows),
        ]
    )
    publish(text, args.summary, "export")
    return 0


if __name__ == "__main__":
    sys.exit(main())
