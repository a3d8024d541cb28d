"""The portfolio builder and its leave-one-family-out measure run end to end on tiny inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from autoimb.data.dataset import validate
from autoimb.engine.space import load_space
from autoimb.engine.transfer import as_trial_params
from autoimb.stages import STAGES

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SHIPPED = Path(__file__).resolve().parents[1] / "search_spaces" / "portfolio.yaml"
sys.path.insert(0, str(BENCHMARKS))
from _portfolio_table import META_FEATURES, Portfolio, describe, meta_features  # noqa: E402


def run_script(script: str, *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def fits_default(config: dict) -> bool:
    space = load_space("default")
    available = {stage: list(space.stages.get(stage, {"none": {}})) for stage in STAGES}
    return as_trial_params(config, space, available) is not None


@pytest.mark.slow
def test_build_and_measure_smoke(keel: Path, tmp_path: Path) -> None:
    common = ("--data-dir", str(keel), "--work", str(tmp_path))
    log = run_script(
        "portfolio.py", "candidates", "--budget", "60", "--trials", "6", "--datasets", "iris0",
        *common,
    )  # fmt: skip
    assert "search iris0" in log
    run_script("portfolio.py", "score", "--cap", "3", "--datasets", "iris0", "hepatitis", *common)
    out = tmp_path / "portfolio.yaml"
    run_script("portfolio.py", "ship", "--size", "3", "--out", str(out), *common)
    document = yaml.safe_load(out.read_text())
    assert document["strategies"], "nothing was shipped"
    assert all(fits_default(config) for config in document["strategies"])
    assert set(document["order"]) == {"threshold", "ranking"}
    for order in document["order"].values():
        assert 1 <= len(order) <= 3 and all(0 <= i < len(document["strategies"]) for i in order)

    report = tmp_path / "P.md"
    text = run_script("portfolio_lofo.py", "simulate", "--report", str(report), *common)
    assert "nearest sets (LOFO)" in text and "portfolio-simulate" in report.read_text()
    lofo = tmp_path / "lofo.csv"
    text = run_script(
        "portfolio_lofo.py", "search", "--budget", "3", "--datasets", "iris0",
        "--out", str(lofo), "--report", str(report), *common,
    )  # fmt: skip
    assert "global order (LOFO)" in text
    assert len(lofo.read_text().splitlines()) == 3  # header, previous, global_lofo


def test_shipped_portfolio_parses_and_fits_the_default_space() -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    entries = document["strategies"]
    assert 8 <= len(entries) <= 16
    assert len({repr(sorted(e.items())) for e in entries}) == len(entries), "duplicates"
    for config in entries:
        assert set(config) <= set(STAGES)
        assert all("name" in choice for choice in config.values())
        assert fits_default(config), config
    for kind in ("threshold", "ranking"):
        assert sorted(set(document["order"][kind])) == sorted(document["order"][kind])
        assert len(document["order"][kind]) == 8
    assert len(document["found_on"]) == len(document["fit_seconds"]) == len(entries)


def table_of_two_worlds() -> Portfolio:
    """Strategy 0 wins on small sets (family "small"), strategy 1 on large ones ("large")."""
    small = describe(rows=200, columns=8, minority=10, imbalance=19, categorical=0, missing=0)
    large = describe(
        rows=50_000, columns=40, minority=900, imbalance=54, categorical=0.5, missing=0
    )
    meta = np.array([small] * 6 + [large] * 6)
    meta[:, 0] += np.linspace(0, 0.1, 12)  # distinct sets
    wins_small = np.r_[np.ones(6), np.zeros(6)]
    scores = np.vstack([wins_small, 1 - wins_small, np.full(12, 0.5)])
    return Portfolio(
        strategies=[{"model": {"name": m}} for m in ("logistic_regression", "lightgbm", "xgboost")],
        cost=np.array([1.0, 1.0, 1.0]),
        names=[f"set{i}" for i in range(12)],
        families=["small"] * 6 + ["large"] * 6,
        meta=meta,
        scores={"threshold": scores, "ranking": scores},
        start={"threshold": np.zeros(12), "ranking": np.zeros(12)},
    )


def test_the_portfolio_is_ordered_by_the_most_similar_sets() -> None:
    table = table_of_two_worlds()
    near_small = describe(rows=250, columns=9, minority=12, imbalance=20, categorical=0, missing=0)
    near_large = table.meta[-1]
    assert table.order(near_small, "threshold", neighbours=4)[0] == 0
    assert table.order(near_large, "threshold", neighbours=4)[0] == 1
    # Without meta-features, the greedy order over every set: both winners before the middling.
    assert set(table.order(None, "threshold")[:2]) == {0, 1}


def test_a_left_out_family_never_informs_the_order() -> None:
    table = table_of_two_worlds()
    near_small = table.meta[0]
    # With the "small" family out, the nearest remaining sets are large ones: lightgbm first.
    assert table.order(near_small, "threshold", neighbours=4, exclude_families=("small",))[0] == 1
    assert 0 not in table.order(near_small, "threshold", exclude_strategies=(0,))


def test_meta_features_describe_the_data(small_binary) -> None:
    X, y = small_binary
    data = validate(X, y)
    counts = np.bincount(data.y)
    values = dict(zip(META_FEATURES, meta_features(data), strict=True))
    assert values["rows"] == pytest.approx(np.log10(len(y)))
    assert values["minority"] == pytest.approx(np.log10(counts.min()))
    assert values["imbalance"] == pytest.approx(np.log10(counts.max() / counts.min()))
    assert 0 <= values["categorical"] <= 1 and 0 <= values["missing"] <= 1
