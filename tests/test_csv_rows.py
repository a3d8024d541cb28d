"""Malformed CSV rows are refused with their line, as pandas refuses a row with too many
fields: a row cut short is not read with its missing values empty, and a stray quote does
not merge the rows below it into one value."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from autoimb.data.files import read_table
from autoimb.exceptions import AutoImbError

HEADER = "id,a,b,region,note"
ROWS = [f"r{i},{i},{i * 2}.5,north,ok" for i in range(12)]


def write(path, lines, end="\n"):
    path.write_text("\n".join(lines) + end)
    return str(path)


def test_a_row_with_fewer_fields_is_refused_with_its_line_counted_as_an_editor_does(tmp_path):
    """The blank line above it is a line of the file, though not a row."""
    lines = [HEADER, *ROWS[:3], "", "r3,3,6.5", *ROWS[4:]]
    with pytest.raises(AutoImbError, match=r"line 6 has 3 field\(s\) where the header has 5"):
        read_table(write(tmp_path / "d.csv", lines))


def test_a_truncated_last_line_is_named_as_such(tmp_path):
    path = write(tmp_path / "d.csv", [HEADER, *ROWS, "r12,1"], end="")
    with pytest.raises(AutoImbError, match=r"line 14 has 2 field.*last line.*fix the line"):
        read_table(path)


@pytest.mark.parametrize("name", ["d.csv.gz", "u16.csv", "quoted.csv", "xl.csv"])
def test_a_short_row_is_found_in_every_form_a_file_is_read_in(tmp_path, name):
    """Compressed, UTF-16, with quoted values holding separators, or ";" named by Excel's
    sep= line: the line is counted in the file as written."""
    lines = [HEADER, *ROWS[:5], "r5,5", *ROWS[6:]]
    path, line = tmp_path / name, 7
    if name == "d.csv.gz":
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    elif name == "u16.csv":
        path.write_text("\n".join(lines) + "\n", encoding="utf-16")
    elif name == "quoted.csv":
        write(path, [line.replace(",north,", ',"north, east",') for line in lines])
    else:
        write(path, ["sep=;", *(line.replace(",", ";") for line in lines)])
        line = 8
    with pytest.raises(AutoImbError, match=rf"line {line} has 2 field\(s\) where the header has 5"):
        read_table(str(path))


def test_a_stray_quote_that_merges_rows_is_refused_with_the_line_it_opens_on(tmp_path):
    lines = [HEADER, *ROWS]
    lines[3] = lines[3].replace(",north,", ',"north,')  # opened by mistake on line 4
    lines[9] = lines[9].replace(",north,", ',north",')  # and closed on line 10
    with pytest.raises(AutoImbError, match=r"quote \(\"\) on line 4 .* to line 10.*data row 3"):
        read_table(write(tmp_path / "d.csv", lines))


def test_well_formed_rows_read_as_before(tmp_path):
    """Comments with line breaks and commas, an empty last value, blank and whitespace-only
    lines, and rows that each end with a separator."""
    comment = '"Called twice,\nasked for a refund, then\nleft, unhappy, as before"'
    lines = [HEADER, *ROWS[:3], f"r3,3,6.5,south,{comment}", "   ", "", "r4,4,8.5,west,", *ROWS[5:]]
    frame = read_table(write(tmp_path / "d.csv", lines))
    assert len(frame) == 12 and frame["note"].isna().sum() == 1
    assert frame["note"][3].count("\n") == 2
    trailing = read_table(write(tmp_path / "t.csv", [HEADER, *(row + "," for row in ROWS)]))
    pd.testing.assert_frame_equal(trailing, read_table(write(tmp_path / "p.csv", [HEADER, *ROWS])))
