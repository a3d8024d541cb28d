from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autoimb import datasets

KEEL = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "keel"


@pytest.fixture(scope="session")
def keel() -> Path:
    if not KEEL.is_dir():
        pytest.skip(f"the KEEL data sets are not at {KEEL}")
    return KEEL


def read_keel(name: str) -> pd.DataFrame:
    """A KEEL set from ../shared/datasets, skipping the test where the folder is absent."""
    file = KEEL / f"{name}.csv.gz"
    if not file.exists():
        pytest.skip(f"KEEL data set {file} is not available")
    return pd.read_csv(file, na_values=["?"])


def shipped(name: str) -> tuple[pd.DataFrame, pd.Series]:
    return datasets.load(name, return_X_y=True)


@pytest.fixture(scope="session")
def yeast4() -> tuple[pd.DataFrame, pd.Series]:
    return shipped("yeast4")


@pytest.fixture(scope="session")
def small_binary() -> tuple[pd.DataFrame, pd.Series]:
    """ecoli1: 336 rows, numeric; quick enough for whole searches."""
    return shipped("ecoli1")


@pytest.fixture(scope="session")
def hepatitis() -> tuple[pd.DataFrame, pd.Series]:
    """Categorical text columns and missing values: its yes/no columns as text."""
    X, y = shipped("hepatitis")
    for column in X.columns:
        if X[column].nunique() <= 2:
            X[column] = X[column].map({1.0: "no", 2.0: "yes"})
    return X, y


@pytest.fixture(scope="session")
def glass() -> tuple[pd.DataFrame, pd.Series]:
    return shipped("glass_multiclass")


@pytest.fixture(scope="session")
def car() -> tuple[pd.DataFrame, pd.Series]:
    """All columns categorical."""
    return shipped("car_good")


def half_split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[: n // 2], order[n // 2 :]


@pytest.fixture(scope="session")
def too_much_for_half_a_second() -> tuple[np.ndarray, np.ndarray]:
    """5,000 rows × 50 columns: five folds of 200 boosting rounds take seconds, not 0.5 s."""
    from sklearn.datasets import make_classification

    return make_classification(5_000, 50, weights=[0.95], random_state=0)


def run_cli(
    *args: str, cwd: Path, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own; ``env`` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "autoimb.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """The real command line, running, to be interrupted as Ctrl-C in a terminal would."""
    return subprocess.Popen(
        [sys.executable, "-m", "autoimb.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        # As from a terminal: a test run started in the background inherits Ctrl-C ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def ecoli_with_ids(folder: Path) -> pd.DataFrame:
    """ecoli1 (336 rows) with a ``row_id`` column first, written to ``folder/ecoli.csv``."""
    frame = datasets.load("ecoli1")
    frame.insert(0, "row_id", [f"r{i}" for i in range(len(frame))])
    frame.to_csv(folder / "ecoli.csv", index=False)
    return frame


@pytest.fixture
def broken_resampler(monkeypatch) -> str:
    """A resampler named ``broken`` that fails every fit, registered for one test; its error
    text is returned."""
    from autoimb.stages import REGISTRY, Component

    def broken(params, ctx):
        raise RuntimeError("cannot find neighbours")

    monkeypatch.setitem(
        REGISTRY["resampler"], "broken", Component("broken", "resampler", broken, "Always fails.")
    )
    return "cannot find neighbours"
