"""Rows of a CSV file that pandas reads without a word but maybe wrongly: rows with fewer
fields than the header, whose missing fields become empty values, and rows a stray quote
merged into one field.

Both are read as pandas reads them, with a warning naming their lines: some exporters (old
Excel among them) leave out a row's empty last fields, and a quoted text value may hold line
breaks. The frame read tells whether either can be there (an empty value in the last column,
a line break in a text value), so a sound file is not read again.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from autoimb._warnings import user_stacklevel
from autoimb.data.dialect import opened

if TYPE_CHECKING:
    import pandas as pd

_NAMED = 3  # short rows named by their line in the warning


class _Short(NamedTuple):
    """Rows with fewer fields than the header: how many, the first ones' lines and field
    counts, and whether the last of them is the file's last row."""

    count: int
    first: list[tuple[int, int]]
    last_line: int
    at_end: bool


class _Tally:
    """The short rows met so far, as :class:`_Short` tells of them."""

    def __init__(self) -> None:
        self.count, self.last_line = 0, 0
        self.first: list[tuple[int, int]] = []

    def add(self, line: int, fields: int) -> None:
        self.count, self.last_line = self.count + 1, line
        if len(self.first) < _NAMED:
            self.first.append((line, fields))

    def short(self, *, at_end: bool) -> _Short | None:
        return _Short(self.count, self.first, self.last_line, at_end) if self.count else None


def warn_of_broken_rows(
    source: str, path: Path, frame: pd.DataFrame, encoding: str, sep: str, skip: int
) -> None:
    """Warn of rows with fewer fields than the header and of a quoted value that took in
    lines which look like rows of their own, each named by its line as an editor counts them."""
    columns = frame.shape[1]
    if columns < 2 or len(frame) == 0:
        return  # a row of one field is never short
    header = skip + 1  # Excel's "sep=;" line and the header
    merged, row = None, _merged_row(frame, sep)
    if row is not None:  # the line the merged row starts on: no short row of its own
        merged = _warn_merged(source, path, frame, encoding, sep, header, row)
    if not frame.iloc[:, -1].isna().any():
        return  # every row has its last field
    scan = _scan(path, encoding, sep, header)
    if not scan.fields_missing(len(frame) * (columns - 1)):
        return
    if scan.quotes:  # quoted fields may hold separators and line breaks: parsed as CSV
        short = _short_records(path, encoding, sep, header, columns, merged)
    else:
        short = _short_lines(path, encoding, sep, header, columns)
    if short is not None:
        _warn_short(source, short, columns, cut=short.at_end and not scan.line_end)


def _warn_short(source: str, short: _Short, columns: int, *, cut: bool) -> None:
    named = ", ".join(f"line {line} has {fields}" for line, fields in short.first)
    more = " …" if short.count > len(short.first) else ""
    if cut:
        advice = (
            f" Line {short.last_line}, the file's last, ends without a line break: the file may "
            "have been written or copied only in part; write it again whole, or remove that line."
        )
    else:
        advice = " Where a row lost its fields another way, fix its line and read the file again."
    warnings.warn(
        f"{source}: {short.count} row(s) have fewer fields than the header's {columns} "
        f"({named}{more}); their last values are read as missing (some exporters leave out "
        f"a row's empty last fields).{advice}",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _merged_row(frame: pd.DataFrame, sep: str) -> int | None:
    """The first row whose text value spans lines that look like the table's rows: a quote
    opened by mistake and closed by another many lines below. Such lines (two at least) hold
    as many fields as a row, and numbers in at least half the fields where the table's
    number columns are; in a table without number columns, five columns at least. A comment
    whose lines hold a comma or two, in a table of a few columns, is no such line."""
    import pandas as pd

    columns = frame.shape[1]
    if columns < 3:
        return None
    kinds = pd.api.types
    numbers = [
        index
        for index, dtype in enumerate(frame.dtypes)
        if kinds.is_numeric_dtype(dtype) and not kinds.is_bool_dtype(dtype)
    ]
    if not numbers and columns < 5:
        return None
    for column in frame.columns:
        values = frame[column]
        if kinds.is_numeric_dtype(values) or kinds.is_datetime64_any_dtype(values):
            continue
        try:
            spanning = values.str.contains("\n", regex=False, na=False)
        except AttributeError:  # no text in the column
            continue
        for row, text in values[spanning.to_numpy(dtype=bool)].items():
            inner = text.split("\n")[1:-1]  # whole lines; the first and last are parts
            if len(inner) >= 2 and _look_like_rows(inner, sep, columns, numbers):
                return frame.index.get_loc(row)
    return None


def _look_like_rows(lines: list[str], sep: str, columns: int, numbers: list[int]) -> bool:
    if not all(line.count(sep) == columns - 1 for line in lines):
        return False
    if not numbers:
        return True
    fields = [line.split(sep) for line in lines]
    found = sum(_is_number(row[index]) for row in fields for index in numbers)
    return 2 * found >= len(fields) * len(numbers)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))  # a ";" file's decimal comma
    except ValueError:
        return False
    return True


def _warn_merged(
    source: str,
    path: Path,
    frame: pd.DataFrame,
    encoding: str,
    sep: str,
    header: int,
    row: int,
) -> int | None:
    """Warn of the merged row; the line it starts on."""
    records = enumerate(_records(path, encoding, sep, header))
    found = next((record for number, record in records if number == row), None)
    if found is None:
        return None  # the file does not read as pandas read it: no line to name
    first, last, fields = found
    warnings.warn(
        f"{source}: a quoted value opens on line {first} and ends on line {last}, spanning "
        f"{last - first + 1} lines, and the {last - first - 1} between look like rows of the "
        f'table; if its quote (") is stray, those lines are read as one row, data row '
        f"{row + 1} ({frame.columns[0]} {fields[0]!r}). Remove the stray quote (a quote "
        'inside a value is written twice, ""), or close it where its value ends, and read '
        "the file again.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
    return first


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


def _short_records(
    path: Path, encoding: str, sep: str, header: int, columns: int, merged: int | None
) -> _Short | None:
    """The rows with fewer fields than the header, parsed as CSV; a row of lines merged by
    a stray quote (on line ``merged``), warned of already, is left out."""
    tally, short = _Tally(), False
    for start, _, fields in _records(path, encoding, sep, header):
        short = len(fields) < columns and start != merged
        if short:
            tally.add(start, len(fields))
    return tally.short(at_end=short)


class _Scan(NamedTuple):
    """What one pass over a file's bytes tells of its separators."""

    header_whole: bool  # as many line breaks as the header's lines
    below: int  # separators below the header
    quoted: int  # separators inside quoted values, the header's too
    quotes: bool
    unpaired: bool  # a quote inside an unquoted value
    line_end: bool  # the file ends with a line break

    def fields_missing(self, expected: int) -> bool:
        """Whether the rows may hold fewer separators than the header's: pandas refused any
        row with more, so rows that hold as many in all hold them each. Counted less those in
        the header and in quoted values; an empty value in the last column costs no second
        parse of the file."""
        if not self.header_whole:
            return True  # no row below the header: parsed as CSV to tell
        if self.below < expected or not self.quotes:  # quoted separators only lessen the count
            return self.below != expected
        if self.unpaired:
            return True  # parsed as CSV to tell
        return self.below - self.quoted != expected


def _scan(path: Path, encoding: str, sep: str, header: int) -> _Scan:
    """The separators counted a block of lines at a time: a large file is never held whole."""
    import numpy as np

    mark, lines, below, quoted, quotes, inside, block = sep.encode(), 0, 0, 0, False, False, b""
    for block in _text_blocks(path, encoding):
        start = 0
        for _ in range(max(header - lines, 0)):  # the header's lines are no rows
            start = block.find(b"\n", start) + 1 or len(block)
        lines += block.count(b"\n")
        below += block.count(mark, start)
        if not inside and b'"' not in block:
            continue
        quotes = True
        codes = np.frombuffer(block, np.uint8)
        bounds = np.flatnonzero(codes == ord('"'))
        if inside:  # a quoted value goes on from the block before
            bounds = np.concatenate(([-1], bounds))
        inside = len(bounds) % 2 == 1
        if inside:
            bounds = np.append(bounds, len(block))
        found = np.flatnonzero(codes == ord(sep))
        quoted += int(
            (np.searchsorted(found, bounds[1::2]) - np.searchsorted(found, bounds[::2])).sum()
        )
    return _Scan(lines >= header, below, quoted, quotes, inside, block[-1:] == b"\n")


def _short_lines(path: Path, encoding: str, sep: str, header: int, columns: int) -> _Short | None:
    """As :func:`_short_records` for a file without quotes, where a row is a line: the
    separators of a block's lines are counted at once."""
    import numpy as np

    mark, lines, tally = ord(sep), 0, _Tally()
    for block in _text_blocks(path, encoding):
        codes = np.frombuffer(block, np.uint8)
        ends = np.flatnonzero(codes == 10)
        if block[-1:] != b"\n":
            ends = np.append(ends, len(block))
        running = np.concatenate(([0], np.cumsum(codes == mark, dtype=np.int64)))
        starts = np.concatenate(([0], ends[:-1] + 1))
        separators = running[ends] - running[starts]
        body = max(header - lines, 0)  # the block's first line below the header
        for i in np.flatnonzero(separators[body:] < columns - 1) + body:
            if block[starts[i] : ends[i]].strip():  # blank lines are no rows
                tally.add(lines + int(i) + 1, int(separators[i]) + 1)
        lines += len(ends)
    return tally.short(at_end=tally.last_line == lines)


# The text read at a time: blocks of whole lines about this size.
_BLOCK_BYTES = 1 << 24


def _text_blocks(path: Path, encoding: str) -> Iterator[bytes]:
    """The file's text as UTF-8, decompressed, in blocks of whole lines (the last may lack its
    line break), where separators and line ends are single bytes whatever else it holds."""
    with opened(path) as raw:
        utf8 = encoding.startswith("utf-8")
        source = raw if utf8 else io.TextIOWrapper(raw, encoding=encoding, newline="")
        rest = b""
        while chunk := source.read(_BLOCK_BYTES):
            text = rest + (chunk if utf8 else chunk.encode("utf-8"))
            cut = text.rfind(b"\n") + 1
            rest = text[cut:]
            if cut:
                yield text[:cut]
        if rest:
            yield rest
