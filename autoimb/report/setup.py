"""How the search ran and on which rows: the report's line on its metric, folds, seed, budget
and weights, and its Data section, which says which rows the folds never validated."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import optuna

from autoimb.config import STUDY_ATTR
from autoimb.report.tables import count_text, kv_table, share_text, table

__all__ = ["SETUP_KEYS", "data_section", "recorded_setup", "setup_text"]

# What a model card keeps of how its search ran; a study records the first four.
SETUP_KEYS = (
    *("metric", "folds", "split", "seed"),
    *("time_budget", "n_trials", "sample_weights", "stopped"),
)
_FOLDS_SAY = {
    "time": " (each validated on rows later than those it trained on)",
    "group": " (a group's rows all in one fold)",
}


def recorded_setup(setup: Mapping[str, Any] | None, study: optuna.Study | None) -> dict[str, Any]:
    """What is known of how the search ran: the model card's (``setup``), else the study's."""
    known = {k: v for k, v in (setup or {}).items() if v is not None}
    attrs = (study.user_attrs.get(STUDY_ATTR) or {}) if study is not None else {}
    for key in SETUP_KEYS[:4]:
        if key not in known and attrs.get(key) is not None:
            known[key] = attrs[key]
    if "sample_weights" not in known and attrs.get("fingerprint"):
        known["sample_weights"] = attrs["fingerprint"].get("weights") is not None
    return known


def setup_text(known: Mapping[str, Any]) -> str | None:
    """The search's metric, folds, seed, budget and weights in one line (``known``: from
    :func:`recorded_setup`); None where nothing is known."""
    parts = []
    if "metric" in known:
        parts.append(str(known["metric"]))
    if "folds" in known:
        parts.append(f"on {known['folds']}{_FOLDS_SAY.get(known.get('split'), '')}")
    if "seed" in known:
        parts.append(f"seed {known['seed']}")
    if known.get("stopped"):
        parts.append("stopped before its budget was spent (Ctrl-C, SIGTERM or an error)")
    else:
        # The saving run's own, which a resumed study's earlier runs add to.
        limits = []
        if "n_trials" in known:
            limits.append(f"n_trials={known['n_trials']}")
        if "time_budget" in known:
            limits.append(f"time_budget={known['time_budget']:g} s")
        if limits:
            parts.append(f"{' and '.join(limits)} for the run that saved it")
    if "sample_weights" in known:
        weighted = known["sample_weights"]
        parts.append("rows weighted by sample_weight" if weighted else "no sample weights")
    return ", ".join(parts) if parts else None


def data_section(w: Any, study: optuna.Study | None, split: str | None) -> str:
    """``w``: the report's Winner; ``split``: the search's kind of folds, where known."""
    summary = w.summary
    if summary is None and study is not None:
        attrs = study.user_attrs.get(STUDY_ATTR, {})
        summary = {"rows": attrs.get("rows"), "classes": ", ".join(attrs.get("classes", []))}
    if not summary:
        return "<p class='note'>No data summary was recorded.</p>"
    rows = [
        (html.escape(str(k).replace("_", " ")), html.escape(count_text(v)))
        for k, v in summary.items()
        if k != "class_counts"
    ]
    fingerprint = (study.user_attrs.get(STUDY_ATTR, {}) if study is not None else {}).get(
        "fingerprint"
    )
    if fingerprint:
        # The study refuses to resume on data with another fingerprint (rows, columns, values).
        rows.append(("data fingerprint", html.escape(str(fingerprint.get("hash")))))
    out = kv_table(rows) + _unvalidated_html(w, summary.get("rows"), split)
    counts = summary.get("class_counts") or {}
    if counts:
        total = sum(counts.values())
        out += "<h3>Class counts</h3>" + table(
            ["class", "rows", "share"],
            [
                [html.escape(str(c)), f"{n:,}", html.escape(share_text(n / total, 1))]
                for c, n in counts.items()
            ],
        )
    return out


def _unvalidated_html(w: Any, rows: Any, split: str | None) -> str:
    """Why the other sections count fewer rows than the data has, where the folds left some
    unvalidated: time folds' first block only trains."""
    scored = len(w.oof.y) if w.oof is not None else w.interval_rows
    if not isinstance(rows, int) or not scored or scored >= rows:
        return ""
    why = (
        "time folds validate each block on the rows before it, so the first block only trains"
        if split == "time"
        else "the folds left the others out of every validation"
    )
    return (
        f"<p class='caption'>No fold validated {rows - scored:,} of the {rows:,} rows: {why}. "
        "The out-of-fold figures, the confusion matrix, the interval and the feature "
        f"importance come from the {scored:,} rows some fold validated.</p>"
    )
