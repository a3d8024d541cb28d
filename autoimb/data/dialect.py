"""How a CSV file is written: its encoding, field separator and decimal mark, told from the
file itself, since spreadsheets write each of them as the user's country does."""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import re
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from autoimb._warnings import user_stacklevel

# A number with a decimal comma, as a ";"-separated file may write it: "1,5", "-0,25", "1.234,5".
_COMMA_DECIMAL = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+")
# Where a field may end in a decimal comma's digits: a comma first, which re finds fast.
_COMMA_DIGITS_END = re.compile(r',\d+[ \t]*(?:[€$£%][ \t]*)?"?[ \t]*(?=;|\n|$)')
# A number written with a decimal dot that cannot be thousands grouped by one ("102.51",
# "0.1234"): a ";" file holding such numbers may write its decimals with dots. Found from
# where it ends (a dot's digits, which re finds fast), then read back to its field's start.
_DOT_DECIMAL = re.compile(r"[-+]?\d+\.(?:\d{1,2}|\d{4,})")
_DOT_DIGITS_END = re.compile(r'\.(?:\d{1,2}|\d{4,})[ \t]*"?[ \t]*(?=;|\n|$)')
# A batch's numbers that can only be decimals of the other mark than training's: neither
# thousands grouped ("1,234", "1.234") nor, in the training file's own vote, a fair sign of a
# mark ("0.205" counts here: its leading zero groups nothing).
_PLAIN_DECIMALS = {
    mark: re.compile(rf"[-+]?(?:\d+[{mark}](?:\d{{1,2}}|\d{{4,}})|(?:0|\d{{4,}})[{mark}]\d{{3}})")
    for mark in ".,"
}
_DIGITS_END = {mark: re.compile(rf'[{mark}]\d+[ \t]*"?[ \t]*(?=;|\n|$)') for mark in ".,"}
# Fields of them that make a batch's mark plain, with none the training file's way.
_PLAINLY = 3
# Numbers of each kind counted at most: enough to outvote a text field that reads as a
# decimal ("1,3", an answer's options) with a column's numbers.
_ENOUGH_NUMBERS = 50
# Excel's line above the header of some exports, naming the separator: sep=; (or "sep=;").
_SEP_LINE = re.compile(r'"?sep=(.)"?\s*')
# A byte-order mark names its encoding (UTF-32's marks begin with UTF-16's: looked at first).
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)
_SEPARATORS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16  # the header and the first rows, enough to tell the separator
_SCAN_CHARS = 1 << 22  # the file is looked through for decimal commas this much at a time


class Dialect(NamedTuple):
    encoding: str
    sep: str
    decimal: str
    skip: int  # lines above the header: Excel's "sep=;" line


def dialect(path: Path, *, tabs: bool = False, decimal: str | None = None) -> Dialect:
    """A CSV file's encoding, separator and decimal mark (``decimal`` where given and the
    file is ";"-separated); ``tabs`` where its name says it is tab-separated. A "sep=" line
    names the separator whatever the name says, and is no row of the table."""
    encoding = _encoding(path)
    lines = _first_lines(path, encoding)
    named = _SEP_LINE.fullmatch(lines[0]) if lines else None
    skip = 1 if named else 0
    sep = named[1] if named else "\t" if tabs else _separator(lines, path, encoding)
    if sep != ";":
        return Dialect(encoding, sep, ".", skip)
    if decimal is None:
        return Dialect(encoding, sep, _decimal_mark(path, encoding, skip), skip)
    _warn_of_the_other_mark(path, "\n".join(lines[skip + 1 :]), decimal)
    return Dialect(encoding, sep, decimal, skip)


def _warn_of_the_other_mark(path: Path, rows: str, decimal: str) -> None:
    """A batch read with the training file's mark whose first rows plainly write the other:
    "3.185" read with a decimal comma was 3185, and nothing said so. It is still read as the
    model's data was (a batch of whole amounts, "12.000", has nothing to tell by, and one
    answer "1,3" or a time "08.30" must not change how every number reads)."""
    other = "," if decimal == "." else "."
    theirs = _numbers(rows, _DIGITS_END[other], _PLAIN_DECIMALS[other], 0)
    ours = _numbers(rows, _DIGITS_END[decimal], _PLAIN_DECIMALS[decimal], 0)
    if theirs >= _PLAINLY and not ours:
        warnings.warn(
            f"{path.name} seems to write its decimals with {other!r}, and the data searched "
            f"wrote them with {decimal!r}: it is read with {decimal!r}, as that data was, so "
            f"a number such as 3{other}185 reads as 3185. Write the batch as the search's data "
            "was written.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _first_lines(path: Path, encoding: str) -> list[str]:
    """The file's first whole lines, for guessing how it is written."""
    try:
        with opened(path) as handle:
            start = handle.read(_SNIFF_BYTES)
    except Exception:  # not readable as its name says: pandas will say what is wrong
        start = b""
    text = start.decode(encoding, errors="replace").lstrip("\ufeff")
    return text.splitlines()[:-1] if len(start) == _SNIFF_BYTES else text.splitlines()


def _decimal_mark(path: Path, encoding: str, skip: int) -> str:
    """ "," where ";" separates fields and its numbers are written with a decimal comma
    (spreadsheets in much of Europe write CSV so); else ".", which such a file may also use
    ("1.521" read as thousands grouped by "." was 1521).

    Every row counts, not the first ones: rows sorted by amount may write their first decimal
    comma on row 5,000 (a column of whole numbers until then was read as text). Numbers whose
    dot cannot group thousands ("102.51") count against the comma, so one text field "1,3"
    does not make every "32.211" of another column thirty-two thousand: "," where numbers with
    a decimal comma are found and are at least as many (each counted up to
    ``_ENOUGH_NUMBERS``, the look ending when either count is full). Only fields that end in a
    decimal's digits are looked at, so a large file takes a fraction of its reading."""
    commas = dots = 0
    try:
        with opened(path) as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, errors="replace")  # "\r" too
            for block in _row_blocks(text, skip + 1):
                commas += _numbers(block, _COMMA_DIGITS_END, _COMMA_DECIMAL, commas)
                dots += _numbers(block, _DOT_DIGITS_END, _DOT_DECIMAL, dots)
                if max(commas, dots) >= _ENOUGH_NUMBERS:
                    break
    except Exception:  # not readable as its name says: pandas will say what is wrong
        return "."
    return "," if commas and commas >= dots else "."


def _row_blocks(text: IO[str], header: int) -> Iterator[str]:
    """The text below the first ``header`` lines, in blocks of whole lines (the last may lack
    its line break)."""
    rest = ""
    while chunk := text.read(_SCAN_CHARS):
        block = rest + chunk
        end = block.rfind("\n") + 1  # whole lines; the rest goes with the next chunk
        block, rest = block[:end], block[end:]
        if header:
            lines = block.split("\n", header)
            header -= len(lines) - 1
            block = lines[-1] if not header else ""
        if block:
            yield block
    if rest and not header:
        yield rest


def _numbers(block: str, end: re.Pattern[str], number: re.Pattern[str], found: int) -> int:
    """How many fields of these ";"-separated lines are ``number``s (up to what
    ``_ENOUGH_NUMBERS`` leaves after ``found``): each field whose end ``end`` finds is read
    back to its start, not the whole line."""
    count = 0
    for match in end.finditer(block):
        if found + count >= _ENOUGH_NUMBERS:
            break
        line = block.rfind("\n", 0, match.start()) + 1
        start = block.rfind(";", line, match.start()) + 1 or line
        field = block[start : match.end()].strip(' \t"€$£%')
        count += bool(number.fullmatch(field.rstrip()))
    return count


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
        with opened(path) as handle:
            start = handle.read(4)
    except Exception:  # not readable as its name says: pandas will say what is wrong
        return "utf-8"
    return next((name for mark, name in _BYTE_ORDER_MARKS if start.startswith(mark)), "utf-8")


def opened(path: Path) -> IO[bytes]:
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
