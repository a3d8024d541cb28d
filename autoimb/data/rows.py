"""Rows of a CSV file that pandas reads without a word but wrongly: a row cut short, whose
missing fields become empty values, and rows a stray quote merged into one field.

pandas refuses a row with more fields than the header, naming its line; one with fewer is
refused here the same way. The frame read tells whether either can be there (an empty value
in the last column, a line break in a text value), so a sound file is not read again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from autoimb.data.dialect import opened
from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import pandas as pd

_FIX = "fix the line (or remove it) and read the file again"


def refuse_broken_rows(
    source: str, path: Path, frame: pd.DataFrame, encoding: str, sep: str, skip: int
) -> None:
    """Refuse a row with fewer fields than the header, and a quoted field that took in lines
    which are rows of their own, each named by its line as an editor counts them."""
    columns = frame.shape[1]
    if columns < 2 or len(frame) == 0:
        return  # a row of one field is never short
    header = skip + 1  # Excel's "sep=;" line and the header
    merged = _merged_row(frame, sep)
    if merged is not None:
        _refuse_merged(source, path, frame, encoding, sep, header, merged)
    if not frame.iloc[:, -1].isna().any():
        return  # every row has its last field
    data = _text_bytes(path, encoding)
    if not _fields_missing(data, sep, header, len(frame) * (columns - 1)):
        return
    if b'"' in data:  # quoted fields may hold separators and line breaks: parsed as CSV
        short = _first_short_record(path, encoding, sep, header, columns)
    else:
        short = _first_short_line(data, sep, header, columns)
    if short is not None:
        line, fields, last = short
        cut = " (the file's last line: was it written or copied only in part?)" if last else ""
        raise AutoImbError(
            f"{source}: line {line} has {fields} field(s) where the header has {columns}, so "
            f"its last {columns - fields} value(s) would be read as missing{cut}; {_FIX}."
        )


def _merged_row(frame: pd.DataFrame, sep: str) -> int | None:
    """The first row whose text value spans lines that each hold as many separators as a
    whole row: a quote opened by mistake and closed by another many lines below. A comment
    with line breaks holds no such lines (two of them at least, and three columns or more,
    so that prose with a comma a line is no row)."""
    import pandas as pd

    columns = frame.shape[1]
    if columns < 3:
        return None
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        try:
            spanning = values.str.contains("\n", regex=False, na=False)
        except AttributeError:  # no text in the column
            continue
        for row, text in values[spanning.to_numpy(dtype=bool)].items():
            inner = text.split("\n")[1:-1]  # whole lines; the first and last are parts
            if len(inner) >= 2 and all(line.count(sep) >= columns - 1 for line in inner):
                return frame.index.get_loc(row)
    return None


def _refuse_merged(
    source: str,
    path: Path,
    frame: pd.DataFrame,
    encoding: str,
    sep: str,
    header: int,
    row: int,
) -> None:
    records = enumerate(_records(path, encoding, sep, header))
    found = next((record for number, record in records if number == row), None)
    if found is None:
        return  # the file does not read as pandas read it: no line to name
    first, last, fields = found
    raise AutoImbError(
        f'{source}: a quote (") on line {first} opens a field that runs to line {last}, '
        f"taking in {last - first - 1} line(s) that look like rows of their own: data row "
        f"{row + 1} ({frame.columns[0]} {fields[0]!r}) is those lines merged, and they are "
        "not read as rows. Remove the stray quote (a quote inside a value is written twice, "
        '""), or close it where its field ends, and read the file again.'
    )


def _records(
    path: Path, encoding: str, sep: str, header: int
) -> Iterator[tuple[int, int, list[str]]]:
    """The rows below the header as pandas reads them: the lines each starts and ends on,
    and its fields; blank lines, which pandas passes over, are left out."""
    with opened(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text, delimiter=sep)
        end = 0
        for number, fields in enumerate(reader):
            start, end = end + 1, reader.line_num
            blank = not fields or (len(fields) == 1 and not fields[0].strip())
            if number >= header and not blank:
                yield start, end, fields


def _first_short_record(
    path: Path, encoding: str, sep: str, header: int, columns: int
) -> tuple[int, int, bool] | None:
    """The first row with fewer fields than the header: its line, its fields, and whether
    it is the last row."""
    short = None
    for start, _, fields in _records(path, encoding, sep, header):
        if short is not None:
            return (*short, False)
        if len(fields) < columns:
            short = start, len(fields)
    return None if short is None else (*short, True)


def _fields_missing(data: bytes, sep: str, header: int, expected: int) -> bool:
    """Whether the rows may hold fewer separators than the header's: pandas refused any row
    with more, so rows that hold as many in all hold them each. Counted on the bytes, less
    those in the header and in quoted values; an empty value in the last column costs no
    second parse of the file."""
    import numpy as np

    mark = sep.encode()
    end = -1
    for _ in range(header):
        end = data.find(b"\n", end + 1)
        if end < 0:
            return True  # no row below the header: parsed as CSV to tell
    above = data.count(mark, 0, end)
    found = data.count(mark) - above
    if found == expected or b'"' not in data:
        return found != expected
    codes = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(codes == ord('"'))
    if len(quotes) % 2:
        return True  # a quote inside an unquoted value: parsed as CSV to tell
    separators = np.flatnonzero(codes == ord(sep))
    quoted = np.searchsorted(separators, quotes[1::2]) - np.searchsorted(separators, quotes[::2])
    return found - int(quoted.sum()) != expected


def _first_short_line(
    data: bytes, sep: str, header: int, columns: int
) -> tuple[int, int, bool] | None:
    """As :func:`_first_short_record` for a file without quotes, where a row is a line: the
    separators of every line are counted at once."""
    import numpy as np

    if not data:
        return None
    codes = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(codes == 10)
    if data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    separators = np.add.reduceat(codes == ord(sep), starts, dtype=np.int64)
    for index in np.flatnonzero(separators[header:] < columns - 1) + header:
        if data[starts[index] : ends[index]].strip():  # blank lines are no rows
            later = data[ends[index] :].strip()
            return int(index) + 1, int(separators[index]) + 1, not later
    return None


def _text_bytes(path: Path, encoding: str) -> bytes:
    """The file's text as UTF-8, decompressed, where its separators and line ends are single
    bytes whatever else it holds."""
    with opened(path) as raw:
        data = raw.read()
    return data if encoding.startswith("utf-8") else data.decode(encoding).encode("utf-8")
