"""Nothing stale: a study resumed on other data is refused, and a refused run leaves no trace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autoimb
from autoimb.data.dataset import fingerprint_difference, validate
from autoimb.engine.storage import existing_study
from autoimb.exceptions import AutoImbError
from autoimb.leaderboard import finished_trials

FAST = {"metric": "f1", "n_trials": 1, "space": "fast", "cv": 3, "random_state": 0}


def shuffled_labels(X, y):
    """The same shape and columns, other values: a replaced data file of the same size."""
    changed = X.copy()
    changed.iloc[:, 0] = changed.iloc[:, 0].to_numpy()[::-1]
    return changed, y


def test_the_fingerprint_names_what_changed(small_binary) -> None:
    X, y = small_binary
    before = validate(X, y).fingerprint()
    assert fingerprint_difference(before, validate(X, y).fingerprint()) is None
    assert "rows" in fingerprint_difference(before, validate(X[:-2], y[:-2]).fingerprint())
    assert (
        fingerprint_difference(before, validate(X.drop(columns=X.columns[0]), y).fingerprint())
        == "the columns learnt from differ: this data does not learn from ['x0'] (absent, or "
        "constant, empty or an identifier in these rows)"
    )  # no empty "added []"
    assert "other values" in fingerprint_difference(
        before, validate(*shuffled_labels(X, y)).fingerprint()
    )
    # Weights alone were taken for values read with other missing-value markers.
    weights = np.linspace(1, 2, len(y))
    weighted = validate(X, y, sample_weight=weights).fingerprint()
    assert fingerprint_difference(before, weighted).endswith(
        "but was searched without sample weights, and these rows are weighted"
    )
    assert fingerprint_difference(weighted, before).endswith("and these rows are not weighted")
    other = validate(X, y, sample_weight=weights[::-1]).fingerprint()
    assert fingerprint_difference(weighted, other).endswith("with other sample weights")
    older = {key: value for key, value in before.items() if key != "weights"}
    assert fingerprint_difference(older, validate(X, y).fingerprint()) is None  # an older record


def test_a_study_resumed_on_other_data_is_refused_unless_asked(small_binary, tmp_path) -> None:
    X, y = small_binary
    log = str(tmp_path / "study.log")
    autoimb.search(X, y, storage=log, **FAST)
    autoimb.search(X, y, storage=log, **FAST)  # the same data resumes
    other = shuffled_labels(X, y)
    with pytest.raises(AutoImbError, match="run on other data: it has the same"):
        autoimb.search(*other, storage=log, **FAST)
    result = autoimb.search(*other, storage=log, allow_other_data=True, **FAST)
    assert finished_trials(result.study) == 3  # one per call; queued strategies wait


def test_the_same_rows_in_another_order_are_named_so_not_other_values(
    small_binary, tmp_path
) -> None:
    """Its folds would split the rows otherwise, so the study refuses them; it said "other
    values" and pointed to missing-value markers, for the same file sorted otherwise."""
    X, y = small_binary
    order = np.random.default_rng(0).permutation(len(y))
    moved = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    before = validate(X, y).fingerprint()
    said = fingerprint_difference(before, validate(*moved).fingerprint())
    assert said.startswith(f"it has the same {len(y)} rows, with their labels, in another order")
    assert "give the rows in the order it searched them" in said
    # A row's label or weight moved apart from it is other data, not another order.
    relabelled = X.iloc[order].reset_index(drop=True), y
    assert "other values" in fingerprint_difference(before, validate(*relabelled).fingerprint())
    weights = np.linspace(1, 2, len(y))
    weighted = validate(X, y, sample_weight=weights).fingerprint()
    assert "in another order" in fingerprint_difference(
        weighted, validate(*moved, sample_weight=weights[order]).fingerprint()
    )
    assert "in another order" not in fingerprint_difference(
        weighted, validate(*moved, sample_weight=weights).fingerprint()
    )
    log = str(tmp_path / "study.log")
    autoimb.search(X, y, storage=log, **FAST)
    with pytest.raises(AutoImbError, match=r"in another order.*Start another study"):
        autoimb.search(*moved, storage=log, **FAST)


@pytest.mark.parametrize(("option", "value"), [("cv", 1), ("n_jobs", 0), ("metric", "nope")])
def test_a_refused_run_leaves_no_study_behind(small_binary, tmp_path, option, value) -> None:
    X, y = small_binary
    log = str(tmp_path / "study.log")
    with pytest.raises(AutoImbError):
        autoimb.search(X, y, storage=log, **{**FAST, option: value})
    assert existing_study(log, "autoimb") is None


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoimb.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_the_command_line_refuses_a_changed_file_and_offers_the_ways_on(
    small_binary, tmp_path
) -> None:
    X, y = small_binary
    frame = X.assign(target=np.asarray(y))
    frame.to_csv(tmp_path / "data.csv", index=False)
    args = ["search", "data.csv", "--target", "target", "--n-trials", "1", "--space", "fast"]
    assert cli(*args, cwd=tmp_path).returncode == 0
    changed = frame.copy()
    changed[X.columns[0]] = changed[X.columns[0]].to_numpy()[::-1]
    changed.to_csv(tmp_path / "data.csv", index=False)
    refused = cli(*args, cwd=tmp_path)
    assert refused.returncode == 2
    assert "run on other data" in refused.stderr and "--new-study" in refused.stderr
    same_storage = ["--storage", "data.optuna.log", "--out", "other.skops"]
    fresh = cli(*args, "--new-study", *same_storage, cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "autoimb-2" in fresh.stderr + fresh.stdout
    assert cli(*args, "--force", cwd=tmp_path).returncode == 0
