"""Data files for the command line: read a table, set apart its target, id and weight columns.

A mistyped column name is the most common input error, so the messages name the closest
column and list the ones there are.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import lzma
import re
import warnings
import zipfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from autoimb._warnings import user_stacklevel
from autoimb.exceptions import AutoImbError, did_you_mean
from autoimb.redact import shown

if TYPE_CHECKING:
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
# A number with a decimal comma, as a ";"-separated file may write it: "1,5", "-0,25", "1.234,5".
_COMMA_DECIMAL = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+")
# A byte-order mark names its encoding (UTF-32's marks begin with UTF-16's: looked at first).
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)


def read_table(
    source: str,
    na_values: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
    *,
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
    "NA", North America).
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
            encoding, sep, decimal = _dialect(path, decimal)
            how = {
                "sep": sep,
                "decimal": decimal,
                "na_values": na_values,
                "encoding": encoding,
                "low_memory": False,
                "dtype": dict.fromkeys(text_columns, str) or None,
            }
            frame = pd.read_csv(path, **how)
            if not isinstance(frame.index, pd.RangeIndex) and frame.iloc[:, -1].isna().all():
                # Every row ends with a separator: pandas took each row's first field for its
                # index, and every value moved one column to the left.
                how["index_col"] = False
                frame = pd.read_csv(path, **how)
            if kept:
                _keep_as_written(frame, kept, path, how)
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
        _refuse_repeated_names(source, path, sep, encoding, frame)
    if len(frame) == 0 and not empty_ok:
        raise AutoImbError(f"{source} has no rows.")
    if not parquet and decimal == ",":
        from autoimb.data.columns import read_numbers

        # Thousands grouped by ".", which pandas leaves as text: "1.234,50 €".
        for column, numbers in read_numbers(frame, set(text_columns), decimal=decimal).items():
            frame[column] = numbers
    return frame


def _refuse_repeated_names(
    source: str, path: Path, sep: str, encoding: str, frame: pd.DataFrame
) -> None:
    """pandas renames a second "amount" column "amount.1" in silence; a frame with two
    columns of one name is refused in Python, and so it is here."""
    import pandas as pd

    header = pd.read_csv(path, sep=sep, header=None, nrows=1, encoding=encoding, dtype=str)
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


_SEPARATORS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16  # the header and the first rows, enough to tell the separator


def _first_lines(path: Path, encoding: str) -> list[str]:
    """The file's first whole lines, for guessing how it is written."""
    try:
        with _opened(path) as handle:
            start = handle.read(_SNIFF_BYTES)
    except Exception:  # not readable as its name says: pandas will say what is wrong
        start = b""
    text = start.decode(encoding, errors="replace").lstrip("\ufeff")
    return text.splitlines()[:-1] if len(start) == _SNIFF_BYTES else text.splitlines()


def csv_decimal_mark(source: str) -> str | None:
    """The decimal mark :func:`read_table` reads a ";"-separated file with; None for other
    sources. Recorded with a model, it reads new files the same way."""
    path = Path(source)
    if not path.is_file() or table_suffix(path) in (".parquet", ".pq") or _content(path):
        return None
    _, sep, decimal = _dialect(path)
    return decimal if sep == ";" else None


def _dialect(path: Path, decimal: str | None = None) -> tuple[str, str, str]:
    """A CSV file's encoding, separator and decimal mark (``decimal`` where given and the
    file is ";"-separated)."""
    encoding = _encoding(path)
    suffix, named = table_suffix(path), [s.lower() for s in path.suffixes]
    tabs = suffix == ".tsv" or (suffix == ".txt" and ".tsv" in named)  # "x.tsv.txt"
    lines = _first_lines(path, encoding)
    sep = "\t" if tabs else _separator(lines, path, encoding)
    if sep != ";":
        return encoding, sep, "."
    return encoding, sep, decimal or _decimal_mark(lines, sep)


def _keep_as_written(
    frame: pd.DataFrame, kept: Mapping[str, Collection[str]], path: Path, how: dict[str, Any]
) -> None:
    """Put back the ``kept`` values that pandas' own missing markers ("NA", "None", "null" …)
    turned into missing values; the markers the user named stay missing."""
    import pandas as pd

    columns = [c for c in kept if c in frame.columns and frame[c].isna().any()]
    if not columns:
        return
    raw = pd.read_csv(path, **{**how, "usecols": columns, "dtype": str, "keep_default_na": False})
    for column in columns:
        restore = frame[column].isna() & raw[column].isin(list(kept[column]))
        frame[column] = frame[column].mask(restore, raw[column])


def _decimal_mark(lines: list[str], sep: str) -> str:
    """ "," where ";" separates fields and a field is a number written with a decimal comma
    (spreadsheets in much of Europe write CSV so); else ".", which such a file may also use
    ("1.521" read as thousands grouped by "." was 1521)."""
    rows = csv.reader(lines[1:200], delimiter=sep)
    commas = any(_COMMA_DECIMAL.fullmatch(field.strip()) for row in rows for field in row)
    return "," if commas else "."


def _separator(lines: list[str], path: Path, encoding: str) -> str:
    """Of comma, ";", tab and "|", the one that splits the header and the first rows into the
    same number of fields, the most (a European file's "spend, EUR" header and its decimal
    commas split unevenly by commas). Failing that, a comma unless the header is one field
    holding another of them."""
    import pandas as pd

    fields = {}
    for sep in _SEPARATORS:
        counts = {len(row) for row in csv.reader(lines[:50], delimiter=sep) if row}
        if len(counts) == 1 and (count := counts.pop()) > 1:
            fields[sep] = count
    if fields:  # the most fields: a text column's one comma per row splits fewer
        return max(fields, key=fields.__getitem__)
    header = pd.read_csv(path, nrows=0, encoding=encoding).columns
    if len(header) != 1:
        return ","
    return next((sep for sep in _SEPARATORS[1:] if sep in str(header[0])), ",")


def _encoding(path: Path) -> str:
    """UTF-8, unless a byte-order mark names another encoding (Excel's "Unicode text" and
    PowerShell write UTF-16 with one)."""
    try:
        with _opened(path) as handle:
            start = handle.read(4)
    except Exception:  # not readable as its name says: pandas will say what is wrong
        return "utf-8"
    return next((name for mark, name in _BYTE_ORDER_MARKS if start.startswith(mark)), "utf-8")


def _opened(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed as pandas decompresses it by its name."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".zip":  # the member stays readable after the archive is closed
        with zipfile.ZipFile(path) as archive:
            return archive.open(archive.namelist()[0])
    if suffix == ".zst":
        import zstandard  # what pandas itself reads .zst files with

        return zstandard.open(path, "rb")
    return path.open("rb")


def _undecoded(path: Path) -> str:
    """Where the file first fails to decode as UTF-8 (its line, and the bytes there), or ""."""
    try:
        with _opened(path) as handle:
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
) -> Columns:
    """Features, labels, ids, weights and groups; the named columns never become features."""
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
    frame = _labelled_rows(frame, target)
    named = list(dict.fromkeys(c for _, c in named_by if c is not None))
    X = frame.drop(columns=named)
    if X.shape[1] == 0:
        raise AutoImbError(f"no feature columns are left besides {named}.")

    def column(name: str | None) -> pd.Series | None:
        return frame[name] if name else None

    return Columns(
        X, frame[target], column(id_col), _weights(column(weight_col)), column(group_col)
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


def _labelled_rows(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows that have a label, with a warning naming the others: an export often leaves the
    label empty where it is not known yet, and those rows have nothing to teach or score."""
    import pandas as pd

    unlabelled = frame[target].isna().to_numpy()
    if not unlabelled.any():
        return frame
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
    labels = kept[target]
    if pd.api.types.is_float_dtype(labels) and (labels == labels.round()).all():
        # The empty cells made the file's whole numbers floats: 0 and 1, not 0.0 and 1.0.
        kept[target] = labels.astype("int64")
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
