"""Where the command line writes: never over an input, never over a file it did not write.

A report, a predictions file or a leaderboard carries a mark autoimb recognises (the report's
generator tag, the predictions' or leaderboard's column names), so rerunning the same command
replaces its own output while a user's file is refused unless ``--force``. Files are written
through a temporary file in the same folder and renamed into place, so an interrupted write
leaves the old file whole.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from autoimb.exceptions import AutoImbError
from autoimb.report import GENERATOR_TAG


def check_output(
    path: Path, inputs: Sequence[str | Path | None], force: bool, ours: Callable[[Path], bool]
) -> None:
    """Refuse an output path that is an input, or an existing file autoimb did not write."""
    target = path.resolve()
    for source in inputs:
        if source is not None and Path(source).exists() and Path(source).resolve() == target:
            raise AutoImbError(
                f"{path} is also an input of this command; write the output somewhere else."
            )
    if path.exists() and not force and not ours(path):
        raise AutoImbError(
            f"{path} already exists and was not written by autoimb; pass --force to replace "
            "it, or choose another path."
        )


def is_report(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return GENERATOR_TAG in handle.read(4096)
    except OSError:
        return False


def is_predictions(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet  # pandas' own Parquet engine; only the schema is read

            columns = list(pyarrow.parquet.read_schema(path).names)
        except Exception:  # not a table at all: certainly not ours
            return False
    else:
        columns = _csv_columns(path)
    return "prediction" in columns and any(str(c).startswith("proba_") for c in columns)


def is_leaderboard(path: Path) -> bool:
    return _csv_columns(path)[:3] == ["trial", "state", "score"]


def _csv_columns(path: Path) -> list[str]:
    """A CSV file's column names; none if it is no table."""
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except Exception:  # not a table at all: certainly not ours
        return []


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(temporary path)``, then rename it over ``path`` in one step, with the mode a
    plain write would leave (the temporary file is private to its owner)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, _mode_of_a_plain_write(path))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _mode_of_a_plain_write(path: Path) -> int:
    """An existing file's permissions, else what the umask allows a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
