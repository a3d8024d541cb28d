"""The command line's own streams: an encoding that cannot write every character (Windows'
cp1252 when redirected, ``PYTHONIOENCODING=ascii``) and a closed stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ecoli_with_ids
from conftest import run_cli as run

ASCII = {"PYTHONIOENCODING": "ascii"}


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ecoli1 with an id column, searched once, and new rows whose ids ascii cannot write."""
    folder = tmp_path_factory.mktemp("streams")
    frame = ecoli_with_ids(folder)
    done = run(
        "search", "ecoli.csv", "--target", "target", "--id", "row_id", "--n-trials", "1",
        "--space", "fast", "--cv", "3", "--seed", "0", "--quiet", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    new = frame.drop(columns=["target"]).head(5)
    new["row_id"] = [f"≈{i}" for i in range(len(new))]
    new.to_csv(folder / "new.csv", index=False)
    return folder


def test_text_the_stream_cannot_encode_does_not_stop_a_command(tmp_path):
    done = run("spaces", "fast", cwd=tmp_path, env=ASCII)  # its text holds "—"
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "fast" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_predictions_the_stream_cannot_encode_are_refused_not_altered(searched, encoding):
    told = {"PYTHONIOENCODING": encoding}
    done = run("predict", "ecoli.skops", "new.csv", "--id", "row_id", cwd=searched, env=told)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "autoimb: error:" in done.stderr and "Traceback" not in done.stderr
    assert f"({encoding}) cannot write" in done.stderr
    assert "--out" in done.stderr and "PYTHONIOENCODING=utf-8" in done.stderr
    written = run(
        "predict", "ecoli.skops", "new.csv", "--id", "row_id", "--out", f"{encoding}.csv",
        cwd=searched, env=told,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert list(pd.read_csv(searched / f"{encoding}.csv")["row_id"]) == [f"≈{i}" for i in range(5)]


def _predict_with_closed(stream: int, data: str, folder: Path) -> subprocess.CompletedProcess:
    """``autoimb predict`` with stdout (1) or stderr (2) closed, the other one read."""
    return subprocess.run(
        [sys.executable, "-m", "autoimb.cli", "predict", "ecoli.skops", data],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=lambda: os.close(stream),
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_predict_to_a_closed_stdout_is_refused_with_the_fix(searched):
    """``autoimb predict model data >&-``: the predictions would go nowhere, in silence."""
    done = _predict_with_closed(1, "ecoli.csv", searched)
    assert done.returncode == 2, done.stderr
    assert "autoimb: error:" in done.stderr and "stdout is closed" in done.stderr
    assert "--out" in done.stderr


@pytest.mark.slow
def test_messages_with_stderr_closed_never_join_the_predictions_on_stdout(searched):
    """``autoimb predict model data 2>&-``: Python's print to a None stream writes to stdout,
    where the predictions go; a message there would be a row of the CSV."""
    extra = pd.read_csv(searched / "new.csv").assign(note="x")  # warned of: not trained on
    extra.to_csv(searched / "extra.csv", index=False)
    done = _predict_with_closed(2, "extra.csv", searched)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("prediction,") and len(lines) == 6  # the header and five rows
    assert "autoimb:" not in done.stdout


def test_the_value_a_stdout_cannot_write_is_the_one_named(monkeypatch):
    """A value with a line break before it does not shift which one the refusal names."""
    import io

    from autoimb.cli.outputs import stdout_for
    from autoimb.exceptions import AutoImbError

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    table = pd.DataFrame({"id": ["two\nlines", "yes", "Zoë"], "prediction": [0, 1, 0]})
    with pytest.raises(AutoImbError, match="the predictions hold 'Zoë', which stdout"):
        stdout_for(table)
