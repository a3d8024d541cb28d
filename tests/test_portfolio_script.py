"""The portfolio builder runs end to end, and the shipped portfolio fits the default space."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from autoimb.engine.space import load_space
from autoimb.engine.transfer import as_trial_params, portfolio
from autoimb.stages import STAGES

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "portfolio.py"
SHIPPED = Path(__file__).resolve().parents[1] / "search_spaces" / "portfolio.yaml"


def run_script(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"portfolio.py failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def fits_default(config: dict) -> bool:
    space = load_space("default")
    available = {stage: list(space.stages.get(stage, {"none": {}})) for stage in STAGES}
    return as_trial_params(config, space, available) is not None


def test_build_smoke_writes_a_valid_portfolio(keel: Path, tmp_path: Path) -> None:
    out = tmp_path / "portfolio.yaml"
    log = run_script(
        "build",
        "--sets", "2",
        "--max-rows", "130",
        "--budget", "2.5",
        "--top", "1",
        "--metrics", "f1", "mcc",
        "--size", "3",
        "--cap", "10",
        "--data-dir", str(keel),
        "--out", str(out),
    )  # fmt: skip
    assert "glass_0_6_vs_5" in log and "shuttle_c2_vs_c4" in log
    text = out.read_text()
    assert text.startswith("# Warm-start portfolio")
    assert "BUILD sets used (2" in text
    strategies = yaml.safe_load(text)["strategies"]
    assert strategies, "the greedy selection chose nothing"
    assert all(fits_default(config) for config in strategies)


def test_shipped_portfolio_parses_and_fits_the_default_space() -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    assert set(document) == {"strategies"}
    entries = portfolio()
    assert 1 <= len(entries) <= 12
    assert len({repr(sorted(e.items())) for e in entries}) == len(entries), "duplicates"
    for config in entries:
        assert set(config) <= set(STAGES)
        assert all("name" in choice for choice in config.values())
        assert fits_default(config), config
