"""Every script in examples/ runs to the end on a tiny budget and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted([*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*.sh")])

# A line each example must print; an example missing here need only print something.
EXPECTED = {
    "cli_round_trip.py": "proba_1",
    "collection_advice.py": "minority examples",
    "custom_space.py": "best: ",
    "fraud_cost.py": "expected cost per unit of amount",
    "multiclass.py": "macro F1",
    "pretrained_booster.py": "continued: PR-AUC",
    "recall_at_precision.py": "held out:",
    "two_workers.py": "trials in the study",
}


def test_examples_are_found() -> None:
    assert len(SCRIPTS) >= 6
    assert set(EXPECTED) <= {script.name for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: script.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "AUTOIMB_EXAMPLE_BUDGET": "3", "AUTOIMB_EXAMPLE_TRIALS": "1"}
    command = ["bash", str(script)] if script.suffix == ".sh" else [sys.executable, str(script)]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{script.name} printed nothing"
    assert EXPECTED.get(script.name, "") in done.stdout
    assert not list(tmp_path.iterdir()), "an example wrote to its working directory"
