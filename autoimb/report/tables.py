"""The report's small HTML pieces: tables and the way numbers are written in them.

Shares and counts are written so that a small nonzero share never reads as none, nor a
large count as a run of digits to count by hand.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["confusion_html", "count_text", "kv_table", "num", "share_text", "short", "table"]


def num(value: Any, digits: int = 4) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):.{digits}f}"


def short(value: Any) -> str:
    """A parameter's value: floats to four significant digits, collections as JSON."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def count_text(value: Any) -> str:
    """A summary's value, whole numbers grouped by thousands (100,050 rows), and no exponent
    for a large ratio (2,500, not 2.5e+03)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating) and math.isfinite(value) and abs(value) >= 1000:
        return f"{float(value):,.0f}"
    return short(value)


def share_text(share: float, digits: int = 0) -> str:
    """A share as a percentage; one too small (or too near all) to show at ``digits`` says
    so, as "<1%" or ">99%", instead of rounding to 0% or 100%."""
    step = 10.0**-digits  # the smallest percentage written
    if 0.0 < share * 100 < step / 2:
        return f"<{step:.{digits}f}%"
    if 100 - step / 2 <= share * 100 < 100.0:
        return f">{100 - step:.{digits}f}%"
    return f"{share:.{digits}%}"


def kv_table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def confusion_html(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """Cells shaded by their share of the true class, so the misses stand out."""
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1e-12)
    head = (
        "<tr><th>true \\ predicted</th>"
        + "".join(f"<th>{html.escape(c)}</th>" for c in labels)
        + "</tr>"
    )
    body = "".join(
        f"<tr><th>{html.escape(label)}</th>"
        + "".join(
            f"<td style='background: rgba(37, 99, 235, {0.06 + 0.6 * share[i, j]:.2f})'>"
            f"{matrix[i, j]:,.0f} "
            f"<span class='muted'>({html.escape(share_text(share[i, j]))})</span></td>"
            for j in range(len(labels))
        )
        + "</tr>"
        for i, label in enumerate(labels)
    )
    return f"<table class='confusion'>{head}{body}</table>"
