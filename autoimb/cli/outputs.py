"""Where the command line writes: never over an input, never over a file it did not write.

A report, a predictions file or a leaderboard carries a mark autoimb recognises (the report's
generator tag, the predictions' or leaderboard's column names), so rerunning the same command
replaces its own output while a user's file is refused unless ``--force``. Files are written
through a temporary file in the same folder and renamed into place, so an interrupted write
leaves the old file whole.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd

from autoimb.atomic import write_atomic
from autoimb.data.files import COMPRESSED, is_parquet, table_suffix
from autoimb.exceptions import AutoImbError
from autoimb.report import GENERATOR_TAG

REPORT_FORMATS = (".html", ".htm")
TABLE_FORMATS = (".csv", ".tsv", ".parquet", ".pq")  # CSV and TSV also compressed (".csv.gz")


def check_writable(path: Path, formats: Sequence[str], what: str) -> None:
    """Before any work: a path that names a folder, a format autoimb does not write, or a
    folder it cannot write in is refused, instead of failing once the work is done."""
    if path.is_dir():
        raise AutoImbError(
            f"{path} is a folder; give a file path for the {what}, such as "
            f"{path / ('name' + formats[0])}."
        )
    if not path.suffix and path.name.lower() in formats:  # ".skops": a name of a suffix alone
        raise AutoImbError(
            f"{path} has no name before its suffix; give one, such as "
            f"{path.with_name('name' + path.name.lower())}."
        )
    suffix = table_suffix(path)
    if path.suffix.lower() in COMPRESSED and suffix not in (".csv", ".tsv"):
        suffix = path.suffix.lower()  # only text tables are written compressed
    if suffix not in formats:
        compressed = " (only .csv and .tsv are written compressed, as .csv.gz)"
        raise AutoImbError(
            f"{path}: autoimb writes the {what} as {', '.join(formats[:-1])} or {formats[-1]}; "
            f"give a path that ends so{compressed if '.csv' in formats else ''}."
        )
    folder = path.parent.resolve()
    while not folder.exists():  # the folders still to create go in the nearest existing one
        folder = folder.parent
    try:  # tried, not asked of os.access: root passes that where a file system refuses (/proc)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise AutoImbError(
            f"cannot write {path}: {folder} is not writable ({exc.strerror}); choose another path."
        ) from None


def stdout_for(table: pd.DataFrame) -> TextIO:
    """stdout, where it can take the table as it is: the command line's streams write what their
    encoding cannot with escapes, which would alter an id or a label in silence, and a closed
    stdout (``>&-``) is None, to which pandas writes nothing and says nothing."""
    stream = sys.stdout
    if stream is None:
        raise AutoImbError(
            "stdout is closed, so the predictions would go nowhere; write them to a file with "
            "--out FILE.csv."
        )
    encoding = getattr(stream, "encoding", None)
    if not encoding or encoding.lower().replace("-", "").startswith("utf"):
        return stream  # writes every character: a million ids need no look
    texts = [str(name) for name in table.columns]
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            texts.extend(str(value) for value in table[column].dropna().unique())
    try:
        "".join(texts).encode(encoding)
    except UnicodeEncodeError:
        value = next(text for text in texts if not _writes(text, encoding))
        raise AutoImbError(
            f"the predictions hold {value!r}, which stdout's encoding ({encoding}) cannot write; "
            "write them to a file with --out FILE.csv (UTF-8), or set PYTHONIOENCODING=utf-8."
        ) from None
    except LookupError:  # an encoding Python does not know: its writes will tell
        pass
    return stream


def write_table(path: Path, table: pd.DataFrame) -> Path:
    """As its name says: Parquet, tab-separated or comma-separated (compressed by suffix)."""
    suffix = table_suffix(path)
    if suffix in (".parquet", ".pq"):
        # A column of mixed values (a forest's max_features: "sqrt" or 0.5) is text to Parquet.
        mixed = {
            c: table[c].map(lambda v: v if v is None or pd.isna(v) else str(v))
            for c in table.columns
            if table[c].dtype == object
        }
        flat = table.assign(**mixed)
        return write_atomic(path, lambda tmp: flat.to_parquet(tmp, index=False))
    separator = "\t" if suffix == ".tsv" else ","
    return write_atomic(path, lambda tmp: table.to_csv(tmp, index=False, sep=separator))


def typed_id(path: Path, ids: pd.Series, source: str) -> pd.Series:
    """An id column read from a CSV as text keeps codes such as 007 as written; in a typed
    table (Parquet) whole numbers that read back as written are numbers, so the predictions
    join the source table's numeric id. A typed source's text ids are text there too."""
    text = ids.dtype == object or pd.api.types.is_string_dtype(ids)
    if table_suffix(path) not in (".parquet", ".pq") or not text or is_parquet(source):
        return ids
    numbers = pd.to_numeric(ids, errors="coerce")
    if numbers.isna().any() or (numbers % 1 != 0).any():
        return ids
    whole = numbers.astype("int64")
    return whole if whole.astype(str).eq(ids.astype(str)).all() else ids


def check_output(
    path: Path,
    inputs: Sequence[str | Path | None],
    force: bool,
    ours: Callable[[Path], bool],
    formats: Sequence[str],
    what: str,
) -> None:
    """Refuse an output path that is an input, or an existing file autoimb did not write."""
    check_writable(path, formats, what)
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


def check_storage_apart(storage: str, files: dict[str, str | Path | None]) -> None:
    """A journal file must be a file of its own: the model or report written over it would
    lose every trial, and data named as the storage is no study (``files``: option → path)."""
    if "://" in storage:
        return
    where = Path(storage).resolve()
    for option, path in files.items():
        if path is not None and Path(path).resolve() == where:
            raise AutoImbError(
                f"--storage {storage} is also {option}: the study is kept in a journal file "
                "of its own. Name another file for --storage (e.g. study.optuna.log)."
            )


def is_report(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return GENERATOR_TAG in handle.read(4096)
    except OSError:
        return False


def is_predictions(path: Path) -> bool:
    """What ``predict`` writes: an id column or none, ``prediction``, then only ``proba_``
    columns. A user's scored table beside its features and notes is not, whatever it holds."""
    columns = [str(c) for c in _columns(path)]
    if columns[:1] != ["prediction"]:
        columns = columns[1:]  # the --id column
    probabilities = columns[1:]
    return (
        columns[:1] == ["prediction"]
        and len(probabilities) > 0
        and all(c.startswith("proba_") for c in probabilities)
    )


def is_leaderboard(path: Path) -> bool:
    return _columns(path)[:3] == ["trial", "state", "score"]


def _columns(path: Path) -> list[str]:
    """The column names of a table autoimb wrote, read in the format its name gives; none if
    it is no table."""
    suffix = table_suffix(path)
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet  # pandas' own Parquet engine; only the schema is read

            return list(pyarrow.parquet.read_schema(path).names)
        separator = "\t" if suffix == ".tsv" else ","
        return list(pd.read_csv(path, nrows=0, sep=separator).columns)
    except Exception:  # not a table at all: certainly not ours
        return []


def _writes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
