"""The report's answer to "which columns does the winner lean on": permutation importance.

The search measures it out of fold and keeps it in the model card, so a report on a saved model
shows it too; a report rebuilt from a study measures it again when given the training data.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from autoimb.report.plots import feature_importance_figure

__all__ = ["features_html"]

_ABSENT = (
    "No feature importance was measured for this winner: the search's time budget left no "
    "room for it (its notes say so), or the report was made from a study without the training "
    "data (<code>autoimb report ... --data DATA --target COL</code> measures it)."
)


def features_html(importance: Mapping[str, Any] | None) -> str:
    if not importance or not importance.get("features"):
        return f"<p class='note'>{_ABSENT}</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(f['feature']))}</td><td>{f['importance']:.4f}</td>"
        f"<td>{f['std']:.4f}</td></tr>"
        for f in importance["features"]
    )
    score = html.escape(str(importance.get("score", "score")))
    return (
        feature_importance_figure(importance)
        + f"<details><summary>Every column ({len(importance['features'])})</summary><table>"
        f"<thead><tr><th>column</th><th>drop in {score}</th><th>standard deviation</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></details>"
    )
