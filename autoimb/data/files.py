"""Data files for the command line: read a table, set apart its target, id and weight columns.

A mistyped column name is the most common input error, so the messages name the closest
column and list the ones there are.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from autoimb._warnings import user_stacklevel
from autoimb.data.dialect import Dialect, dialect, opened
from autoimb.data.label_text import typed_labels
from autoimb.data.label_text import whole as typed_whole
from autoimb.data.rows import warn_of_broken_rows
from autoimb.exceptions import AutoImbError, did_you_mean
from autoimb.redact import shown

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
_DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq", *COMPRESSED}
# Files a user may well pass that are not tables in text: read as CSV they give nonsense.
_OTHER_FORMATS = {
    ".xlsx": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".ods": "a spreadsheet",
    ".json": "JSON",
    ".jsonl": "JSON",
    ".feather": "a Feather file",
    ".pkl": "a pickle",
    ".pickle": "a pickle",
}
# What a file's first bytes say it is, whatever its name says (a Parquet file saved as .csv).
_MAGIC = (
    (b"PAR1", "Parquet"),
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an Excel workbook"),
    (b"ARROW1", "a Feather file"),
)
# A compressed file whose name lacks the suffix that says so, read as text, is undecodable bytes.
_COMPRESSED_MAGIC = (
    (b"\x1f\x8b", ".gz"),
    (b"\xfd7zXZ\x00", ".xz"),
    (b"\x28\xb5\x2f\xfd", ".zst"),
    *((b"BZh" + str(level).encode(), ".bz2") for level in range(1, 10)),
)


def read_table(
    source: str,
    na_values: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
    *,
    label: str | None = None,
    empty_ok: bool = False,
    decimal: str | None = None,
    kept: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """A CSV (plain or compressed) or Parquet file, or failing that a shipped data set;
    ``text_columns`` of a CSV are read as text, digits and leading zeros as written. A file
    with a header and no rows is refused unless ``empty_ok`` (new rows to predict may be
    none).

    ``decimal``: the mark a ";"-separated file writes decimals with, as training's file did
    (guessed when None: a batch of "12.000" alone reads as twelve). ``kept``: values of text
    columns kept as written where pandas would read a missing value (a model's category
    "NA", North America). ``label``: the label column, typed from its text so that class codes
    stay as written (:mod:`autoimb.data.label_text`), and a label spelled as one of pandas'
    own missing markers kept as written.
    """
    import pandas as pd

    path = Path(source)
    if not path.exists():
        from autoimb.data import datasets

        if source in datasets.list():
            return datasets.load(source)
        if path.suffix or len(path.parts) > 1:  # a file's name: the shipped sets are no help
            raise AutoImbError(f"{shown(source)}: no such file.")
        raise AutoImbError(
            f"{shown(source)}: no such file, nor a shipped data set ({', '.join(datasets.list())})."
        )
    if path.is_dir():
        raise AutoImbError(f"{source} is a directory; give a CSV or Parquet file.")
    content = _content(path)
    if content in COMPRESSED:
        raise AutoImbError(
            f"{source} is compressed ({content[1:]}) but not named so; name it "
            f"{path.name}{content} (e.g. data.csv{content}), and it is read as it is."
        )
    if kind := _OTHER_FORMATS.get(path.suffix.lower()) or (content != "Parquet" and content):
        raise AutoImbError(
            f"{source} is {kind}, which autoimb does not read; save the table as CSV or Parquet "
            "and pass that file."
        )
    parquet = path.suffix.lower() in (".parquet", ".pq") or content == "Parquet"
    try:
        if parquet:
            frame = pd.read_parquet(path)
        else:
            encoding, sep, decimal, skip = _dialect(path, decimal)
            how = {
                "sep": sep,
                "skiprows": skip or None,  # Excel's "sep=;" line above the header
                "decimal": decimal,
                "na_values": na_values,
                "encoding": encoding,
                "low_memory": False,  # a block's columns typed whole, not in parts of it
                "dtype": dict.fromkeys([*text_columns, *([label] if label else [])], str) or None,
            }
            frame = _read_csv(path, how)
            if not isinstance(frame.index, pd.RangeIndex) and frame.iloc[:, -1].isna().all():
                # Every row ends with a separator: pandas took each row's first field for its
                # index, and every value moved one column to the left.
                how["index_col"] = False
                frame = _read_csv(path, how)
            as_written: dict[str, Collection[str] | None] = {**(kept or {})}
            if label:
                as_written[label] = None
            _keep_as_written(frame, as_written, path, how)
            if label in frame.columns:
                frame[label] = typed_labels(frame[label], decimal)
    except pd.errors.EmptyDataError:
        raise AutoImbError(f"{source} is empty: no header, no rows.") from None
    except UnicodeDecodeError:
        raise AutoImbError(_not_utf8(source, _undecoded(path))) from None
    except Exception as exc:  # any failure to parse the file is a problem with the input
        kind = "Parquet" if parquet else "CSV"
        # Some pandas versions stumble on the fields of undecodable bytes before decoding them.
        if not parquet and encoding == "utf-8" and (where := _undecoded(path)):
            raise AutoImbError(_not_utf8(source, where)) from None
        raise AutoImbError(f"cannot read {source} as {kind}: {type(exc).__name__}: {exc}") from None
    if not parquet:
        _refuse_repeated_names(source, path, how, frame)
        warn_of_broken_rows(source, path, frame, encoding, sep, skip)
    if len(frame) == 0 and not empty_ok:
        raise AutoImbError(f"{source} has no rows.")
    if not parquet and decimal == ",":
        from autoimb.data.columns import read_numbers

        # Thousands grouped by ".", which pandas leaves as text: "1.234,50 €".
        as_written = {*text_columns, label}
        for column, numbers in read_numbers(frame, as_written, decimal=decimal).items():
            frame[column] = numbers
    return frame


# Rows pandas parses at a time. Read at once, a file's every field is held as text beside
# the frame it becomes: about 4.5 times the frame at its peak, against 2.5 times in blocks.
CHUNK_ROWS = 50_000


def _read_csv(path: Path, how: dict[str, Any]) -> pd.DataFrame:
    """The file as one read gives it, read in blocks of rows. Each block types its columns
    alone; where a column's blocks disagree (numbers, then a marker such as "n/a"; a label
    empty in the first block, then True/False), but for whole numbers that a missing value
    makes decimal, the file is read at once, as before blocks, to type it whole."""
    import numpy as np
    import pandas as pd

    chunks = list(pd.read_csv(path, chunksize=CHUNK_ROWS, **how))
    if len(chunks) == 1:
        return chunks[0]
    widened = {np.dtype(np.int64), np.dtype(np.float64)}
    for column in chunks[0].columns:
        kinds = {chunk[column].dtype for chunk in chunks}
        if len(kinds) > 1 and not kinds <= widened:
            del chunks
            return pd.read_csv(path, **how)
    return pd.concat(chunks)


def _refuse_repeated_names(
    source: str, path: Path, how: dict[str, Any], frame: pd.DataFrame
) -> None:
    """pandas renames a second "amount" column "amount.1" in silence; a frame with two
    columns of one name is refused in Python, and so it is here."""
    import pandas as pd

    read = {k: how[k] for k in ("sep", "encoding", "skiprows")}
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, **read)
    names = [n for n in header.iloc[0] if isinstance(n, str)] if len(header) else []  # no blanks
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise AutoImbError(
            f"{source} has more than one column named {repeated[:5]}; rename them so each "
            "column's name is its own."
        )


def _content(path: Path) -> str | None:
    """A format the first bytes name, where the name says another (a Parquet or Excel file
    saved as .csv): None for text, and for compressed files pandas opens by their name."""
    if path.suffix.lower() in (".parquet", ".pq", *COMPRESSED):
        return None
    try:
        with path.open("rb") as handle:
            start = handle.read(8)
    except OSError:
        return None  # pandas will say what is wrong
    return next(
        (kind for magic, kind in (*_MAGIC, *_COMPRESSED_MAGIC) if start.startswith(magic)), None
    )


def is_parquet(source: str) -> bool:
    """Whether :func:`read_table` reads ``source`` as Parquet: by its name, or by its first
    bytes whatever its name."""
    path = Path(source)
    return table_suffix(path) in (".parquet", ".pq") or _content(path) == "Parquet"


def csv_decimal_mark(source: str) -> str | None:
    """The decimal mark :func:`read_table` reads a ";"-separated file with; None for other
    sources. Recorded with a model, it reads new files the same way."""
    path = Path(source)
    if not path.is_file() or table_suffix(path) in (".parquet", ".pq") or _content(path):
        return None
    _, sep, decimal, _ = _dialect(path)
    return decimal if sep == ";" else None


def _dialect(path: Path, decimal: str | None = None) -> Dialect:
    """How the CSV file is written, tab-separated where its name says so ("x.tsv.txt" too)."""
    suffix, named = table_suffix(path), [s.lower() for s in path.suffixes]
    tabs = suffix == ".tsv" or (suffix == ".txt" and ".tsv" in named)
    return dialect(path, tabs=tabs, decimal=decimal)


def _keep_as_written(
    frame: pd.DataFrame,
    kept: Mapping[str, Collection[str] | None],
    path: Path,
    how: dict[str, Any],
) -> None:
    """Put back the values that pandas' own missing markers ("NA", "None", "null" …) turned
    into missing values: those ``kept`` names for a column, any for a column it maps to None
    (the label column: a class spelled "NA" is the user's to keep or leave out, as "?" is, and
    is not dropped as an unlabelled row). The markers the user named and empty cells stay
    missing."""
    import pandas as pd

    columns = [c for c in kept if c in frame.columns and frame[c].isna().any()]
    if not columns:
        return
    raw = pd.read_csv(path, **{**how, "usecols": columns, "dtype": str, "keep_default_na": False})
    for column in columns:
        written, values = raw[column], kept[column]
        if values is None:
            wanted = written.notna() & written.str.strip().ne("")
        else:
            wanted = written.isin(list(values))
        frame[column] = frame[column].mask(frame[column].isna() & wanted, written)


def _undecoded(path: Path) -> str:
    """Where the file first fails to decode as UTF-8 (its line, and the bytes there), or ""."""
    try:
        with opened(path) as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    near = line[max(exc.start - 12, 0) : exc.start + 4].rstrip(b"\r\n")
                    text = near.decode("utf-8", "backslashreplace")
                    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
                    return f'line {number}: "{shown}"'
    except Exception:  # not readable as its name says: the caller's own error stands
        return ""
    return ""


def _not_utf8(source: str, where: str) -> str:
    """Refuse rather than guess: read as Windows-1252, a file in another code page would give
    wrong text that no error shows, and categories that new rows written as UTF-8 miss."""
    return (
        f"{source} is not UTF-8 text{f' ({where})' if where else ''}; it may be Windows-1252 "
        "or Latin-1, as older spreadsheet programs save CSV. Save it as UTF-8 (in Excel: Save "
        "As, 'CSV UTF-8') and pass that file."
    )


_ROLES = {
    "--target": "labels",
    "--id": "row identifiers",
    "--weight": "row weights",
    "--group": "group labels",
}


class Columns(NamedTuple):
    X: pd.DataFrame
    y: pd.Series
    ids: pd.Series | None
    weights: pd.Series | None
    groups: pd.Series | None


def split_columns(
    frame: pd.DataFrame,
    target: str,
    *,
    id_col: str | None = None,
    weight_col: str | None = None,
    group_col: str | None = None,
    na_values: Collection[str] = (),
) -> Columns:
    """Features, labels, ids, weights and groups; the named columns never become features.
    ``na_values``: the markers the file was read with, which leave out a label they mark
    however it is padded (" ?")."""
    named_by = (
        ("--target", target),
        ("--id", id_col),
        ("--weight", weight_col),
        ("--group", group_col),
    )
    for option, column in named_by:
        if column is not None and column not in frame.columns:
            raise AutoImbError(missing_column(column, option, frame.columns))
    # One column in two roles serves neither (`--weight w --group w` split by the weights).
    for index, (earlier, named) in enumerate(named_by):
        for option, column in named_by[index + 1 :]:
            if column is not None and column == named:
                raise AutoImbError(
                    f"{option} {column!r} is also the {earlier} column, and the "
                    f"{_ROLES[earlier]} cannot be {_ROLES[option]} as well; name another column "
                    f"with {option}, or leave it out."
                )
    blanks = _blank_labels(frame[target], na_values)
    unlabelled = (frame[target].isna() | frame[target].isin(blanks)).to_numpy()
    if group_col is not None:
        _every_row_grouped(frame[group_col], ~unlabelled, group_col)
    frame = _labelled_rows(frame, target, blanks, unlabelled)
    named = list(dict.fromkeys(c for _, c in named_by if c is not None))
    X = frame.drop(columns=named)
    if X.shape[1] == 0:
        raise AutoImbError(f"no feature columns are left besides {named}.")

    def column(name: str | None) -> pd.Series | None:
        return frame[name] if name else None

    return Columns(
        X, frame[target], column(id_col), _weights(column(weight_col)), column(group_col)
    )


def _every_row_grouped(groups: pd.Series, labelled: np.ndarray, column: str) -> None:
    """A labelled row without a group, refused by the option and the rows (the search's own
    check, later, could name neither)."""
    empty = (groups.isna() | groups.astype(str).str.strip().eq("")).to_numpy() & labelled
    if not empty.any():
        return
    rows = [str(i + 1) for i in empty.nonzero()[0][:5]]
    more = ", ..." if int(empty.sum()) > len(rows) else ""
    raise AutoImbError(
        f"column {column!r} (--group) is empty in {int(empty.sum())} labelled row(s) (data "
        f"row(s) {', '.join(rows)}{more}, counting from 1); give every row a group, or leave "
        "those rows out of the file."
    )


def _weights(weights: pd.Series | None) -> pd.Series | None:
    """Amounts written as a feature's may be ("$1,911.25", "12 %"): read the same way, when
    every one of them reads; otherwise left for the weights' check to name what does not."""
    import pandas as pd

    from autoimb.data.columns import as_numbers

    if weights is None or pd.api.types.is_numeric_dtype(weights):
        return weights
    numbers = as_numbers(weights)
    return numbers if numbers.notna().sum() == weights.notna().sum() else weights


def _blank_labels(labels: pd.Series, na_values: Collection[str]) -> list[str]:
    """The labels that stand for none: empty, spaces, a missing-value marker however padded."""
    import pandas as pd

    missing = {"", *(str(v).strip() for v in na_values)}  # pandas' own match is exact
    return [v for v in pd.unique(labels) if isinstance(v, str) and v.strip() in missing]


def _labelled_rows(
    frame: pd.DataFrame, target: str, blanks: list[str], unlabelled: np.ndarray
) -> pd.DataFrame:
    """The rows that have a label (``unlabelled``: missing, or one of ``blanks``), with a
    warning naming the others: an export often leaves the label empty where it is not known
    yet, and those rows have nothing to teach or score. A label of spaces is as empty (a third
    class " " made a binary search a multi-class one)."""
    labels = frame[target]
    if not unlabelled.any():
        whole = typed_whole(labels)
        return frame if whole is labels else frame.assign(**{target: whole})
    if unlabelled.all():
        raise AutoImbError(f"column {target!r} (--target) holds no labels: every value is empty.")
    count = int(unlabelled.sum())
    numbers = [str(i + 1) for i in unlabelled.nonzero()[0][:5]]
    more = ", ..." if count > len(numbers) else ""
    warnings.warn(
        f"{count} row(s) without a {target!r} label left out (data row(s) "
        f"{', '.join(numbers)}{more}, counting from 1); fill them in to use them.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
    kept = frame.loc[~unlabelled].reset_index(drop=True)
    kept[target] = typed_whole(typed_labels(kept[target]) if blanks else kept[target])
    return kept


def missing_column(column: str, option: str, columns: Sequence[Any]) -> str:
    names = [str(c) for c in columns]
    hint = did_you_mean(column, names)
    shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
    return f"{option} {column!r} is not a column of the data.{hint} Its columns: {shown}."


def table_suffix(path: Path) -> str:
    """The format a file's name gives its table: the last suffix, a compression's passed
    over (``x.tsv.gz`` is tab-separated; ``x.tsv.csv`` is not)."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) > 1 and suffixes[-1] in COMPRESSED:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def file_stem(source: str) -> str:
    """``data.csv.gz`` → ``data``: the default name of what a search writes."""
    name = Path(source).name
    while Path(name).suffix.lower() in _DATA_SUFFIXES:
        name = Path(name).stem
    return name or "model"
