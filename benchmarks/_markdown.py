"""Write one generated section of a markdown file, keeping everything around it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(path: Path, name: str, body: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` (or append it).

    Hand-written text outside the markers survives a rerun of the script that owns the section.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{block}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{block}\n" if text.strip() else f"{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; floats are written with three decimals."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if value != value else f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def add_summary_argument(parser: argparse.ArgumentParser, section: str) -> None:
    """``--summary [PATH]``: where a script writes its generated section (RESULTS.md by default)."""
    parser.add_argument(
        "--summary",
        type=Path,
        nargs="?",
        default=None,
        const=RESULTS,
        help=f"write the {section} section of this markdown file "
        "(default when given without a path: benchmarks/RESULTS.md)",
    )


def publish(text: str, summary: Path | None, section: str) -> None:
    """Print a script's summary, and write it into its section of ``summary`` when given."""
    print(text)
    if summary is not None:
        write_section(summary, section, text)
