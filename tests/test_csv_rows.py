"""CSV rows pandas reads without a word but maybe wrongly are read as pandas reads them, with
a warning naming their lines: rows with fewer fields than the header (some exporters leave
out empty last fields; a file cut short ends with one), and lines that look like rows taken
into one quoted value (a stray quote merges them)."""

from __future__ import annotations

import csv
import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from autoimb.data.files import read_table

HEADER = "id,a,b,region,note"
ROWS = [f"r{i},{i},{i * 2}.5,north,ok" for i in range(12)]


@pytest.fixture(autouse=True, params=[None, 7], ids=["whole", "in-blocks-of-7-bytes"])
def block_bytes(request, monkeypatch):
    """Every file here is also scanned a few bytes at a time, as a large one is in blocks."""
    if request.param is not None:
        import autoimb.data.rows as rows

        monkeypatch.setattr(rows, "_BLOCK_BYTES", request.param)


def write(path, lines, end="\n"):
    path.write_text("\n".join(lines) + end)
    return str(path)


def read_quietly(path):
    """The frame read, and that no warning came with it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_table(str(path))


def test_a_row_with_fewer_fields_is_read_with_a_warning_naming_its_line(tmp_path):
    """The blank line above it is a line of the file, though not a row; the row's last values
    are read as missing, as pandas reads them."""
    lines = [HEADER, *ROWS[:3], "", "r3,3,6.5", *ROWS[4:]]
    with pytest.warns(UserWarning, match=r"1 row\(s\) have fewer fields than the header's 5 "):
        frame = read_table(write(tmp_path / "d.csv", lines))
    expected = pd.read_csv(tmp_path / "d.csv")
    pd.testing.assert_frame_equal(frame, expected)
    assert len(frame) == 12 and frame.loc[3, ["region", "note"]].isna().all()


def test_rows_without_their_empty_last_fields_are_counted_and_the_first_named(tmp_path):
    """As old Excel writes them: the rows whose last cell is empty lack its comma."""
    rows = [row if i % 3 else row.rsplit(",", 1)[0] for i, row in enumerate(ROWS)]
    with pytest.warns(UserWarning) as caught:
        frame = read_table(write(tmp_path / "d.csv", [HEADER, *rows]))
    assert len(caught) == 1
    said = str(caught[0].message)
    assert "4 row(s) have fewer fields than the header's 5 (line 2 has 4, line 5 has 4, " in said
    assert "line 8 has 4 …); their last values are read as missing" in said
    assert "written or copied only in part" not in said
    assert len(frame) == 12 and frame["note"].isna().sum() == 4


def test_a_truncated_last_line_is_named_as_such(tmp_path):
    path = write(tmp_path / "d.csv", [HEADER, *ROWS, "r12,1"], end="")
    with pytest.warns(UserWarning, match=r"line 14 has 2\).*Line 14, the file's last, ends "):
        frame = read_table(path)
    assert len(frame) == 13 and frame.iloc[-1, 2:].isna().all()


def test_old_excel_rows_are_read_as_pandas_reads_them(tmp_path):
    """A last column empty on most rows, its comma left out where it is: read as pandas
    reads it, every row there."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"f": rng.normal(size=40).round(3), "y": [0, 1] * 20})
    codes = np.where(rng.random(40) < 0.3, "A", "")
    lines = ["f,y,code"] + [
        f"{f},{y},{c}" if c else f"{f},{y}" for f, y, c in zip(frame.f, frame.y, codes, strict=True)
    ]
    with pytest.warns(UserWarning, match=r"row\(s\) have fewer fields than the header's 3"):
        read = read_table(write(tmp_path / "d.csv", lines))
    pd.testing.assert_frame_equal(read, pd.read_csv(tmp_path / "d.csv"))


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
    with pytest.warns(UserWarning, match=rf"header's 5 \(line {line} has 2\)"):
        frame = read_table(str(path))
    assert len(frame) == 12 and frame.iloc[5, 2:].isna().all()


def test_short_rows_are_found_where_quoted_separators_make_up_their_count(tmp_path):
    """Half the rows lack their last field, the others quote a comma in it: as many commas
    in all as whole rows would hold."""
    rows = [row.rsplit(",", 1)[0] + (',"ok, twice"' if i % 2 else "") for i, row in enumerate(ROWS)]
    with pytest.warns(UserWarning, match=r"6 row\(s\) have fewer fields .* \(line 2 has 4, "):
        frame = read_table(write(tmp_path / "d.csv", [HEADER, *rows]))
    assert frame["note"].isna().sum() == 6


def test_a_stray_quote_that_merges_rows_is_warned_of_with_its_lines(tmp_path):
    lines = [HEADER, *ROWS]
    lines[3] = lines[3].replace(",north,", ',"north,')  # opened by mistake on line 4
    lines[9] = lines[9].replace(",north,", ',north",')  # and closed on line 10
    with pytest.warns(UserWarning) as caught:
        frame = read_table(write(tmp_path / "d.csv", lines))
    assert len(caught) == 1  # the merged row, short of fields, is not named twice
    said = str(caught[0].message)
    assert "a quoted value opens on line 4 and ends on line 10, spanning 7 lines" in said
    assert "those lines are read as one row, data row 3 (id 'r2')" in said
    assert 'Remove the stray quote (a quote inside a value is written twice, "")' in said
    assert len(frame) == 6  # as pandas reads it


def test_a_stray_quote_in_a_wide_table_of_text_is_warned_of(tmp_path):
    """Without number columns, five columns make a line look like a row."""
    header = "id,name,city,region,channel"
    rows = [f"c{i},name {i},city {i},north,web" for i in range(10)]
    rows[2] = rows[2].replace(",north,", ',"north,')
    rows[7] = rows[7].replace(",north,", ',north",')
    with pytest.warns(UserWarning, match=r"opens on line 4 and ends on line 9, spanning 6"):
        read_table(write(tmp_path / "d.csv", [header, *rows]))


def test_multi_line_text_with_commas_reads_without_a_warning(tmp_path):
    """Python's csv writer quotes a history of "date, channel, outcome" lines: three fields a
    line, as many as the table's columns, but no number where the amounts are."""
    rng = np.random.default_rng(0)
    history = "\n".join(f"2024-0{m}-01, phone, callback" for m in range(1, 5))
    with (tmp_path / "t.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["amount", "history", "churned"])
        for i in range(30):
            out.writerow([round(rng.normal(), 3), history if i == 0 else "none", int(i % 4 == 0)])
    frame = read_quietly(tmp_path / "t.csv")
    assert frame.shape == (30, 3) and frame["history"][0] == history
    note = '"a, b, c\nd, e, f\ng, h, i\nj, k, l"'  # a row's commas, no row's numbers
    (tmp_path / "few.csv").write_text(
        "id,note,n\n" + "".join(f"r{i},{note},{i}\n" for i in range(5))
    )
    assert read_quietly(tmp_path / "few.csv").shape == (5, 3)


def test_well_formed_rows_read_as_before(tmp_path):
    """Comments with line breaks and commas, an empty last value, blank and whitespace-only
    lines, and rows that each end with a separator."""
    comment = '"Called twice,\nasked for a refund, then\nleft, unhappy, as before"'
    lines = [HEADER, *ROWS[:3], f"r3,3,6.5,south,{comment}", "   ", "", "r4,4,8.5,west,", *ROWS[5:]]
    frame = read_quietly(write(tmp_path / "d.csv", lines))
    assert len(frame) == 12 and frame["note"].isna().sum() == 1
    assert frame["note"][3].count("\n") == 2
    trailing = read_quietly(write(tmp_path / "t.csv", [HEADER, *(row + "," for row in ROWS)]))
    pd.testing.assert_frame_equal(
        trailing, read_quietly(write(tmp_path / "p.csv", [HEADER, *ROWS]))
    )


@pytest.mark.parametrize("trailing", ["", ","], ids=["plain", "every-row-ends-with-a-separator"])
def test_a_file_read_in_blocks_of_rows_is_the_frame_one_read_gives(tmp_path, monkeypatch, trailing):
    """Each block types its columns alone: numbers with one text value late in the file, text
    that starts after an empty first block, booleans with a blank or a word late, a ";"
    file's decimal commas: all as pandas reads the file at once."""
    import autoimb.data.files as files

    lines = ["num;late_text;blank_first;flag;flag_text;amount;later_flag;code;big;target"]
    for i in range(230):
        late_text = "see note" if i == 200 else str(i)
        flag = "" if i == 210 else ("True" if i % 2 else "False")
        flag_text = "maybe" if i == 225 else "True"
        blank_first = "" if i < 120 else "t"
        num = "" if i == 5 else f"{i / 7:.3f}".replace(".", ",")
        amount = f"{i},5 €"
        later_flag = "" if i < 120 else str(i % 3 == 0)  # a label filled in later rows only
        code = str(i % 2) if i < 100 else ("TRUE" if i % 2 else "FALSE")
        big = str(i if i < 100 else 2**63 + i)  # past int64: unsigned, exactly
        fields = [num, late_text, blank_first, flag, flag_text, amount, later_flag, code, big]
        lines.append(";".join([*fields, str(i % 2)]) + trailing)
    path = write(tmp_path / "d.csv", lines)
    monkeypatch.setattr(files, "CHUNK_ROWS", 1_000_000)
    whole = read_table(path)
    monkeypatch.setattr(files, "CHUNK_ROWS", 50)
    pd.testing.assert_frame_equal(read_table(path), whole)
    assert whole["late_text"].iloc[200] == "see note" and whole["late_text"].iloc[3] == "3"
    assert whole["num"].iloc[7] == 1.0 and whole["amount"].iloc[2] == 2.5
    assert whole["later_flag"].iloc[120] is True and whole["code"].iloc[1] == "1"
    assert whole["big"].iloc[200] == 2**63 + 200


def test_a_short_row_below_a_quoted_value_over_two_lines_is_named(tmp_path):
    """The separators inside a quoted value that goes on over a line break are not the row's:
    counted as its, they would make up for the short row's missing one."""
    lines = ["a,b,c", '1,"first', 'then, more, text",3', "4,5"]
    with pytest.warns(UserWarning, match=r"1 row\(s\) have fewer fields than the header's 3 "):
        frame = read_table(write(tmp_path / "q.csv", lines))
    assert frame.shape == (2, 3) and frame["b"].iloc[0] == "first\nthen, more, text"
