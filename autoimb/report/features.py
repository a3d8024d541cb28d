"""The report's answer to "which columns does the winner lean on": permutation importance.

The search measures it out of fold and keeps it in the model card, so a report on a saved model
shows it too; a report rebuilt from a study measures it again when given the training data.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from autoimb.report.plots import feature_importance_figure

__all__ = ["features_html"]

# The one cause the search writes no note for (``Winner.importance_why`` gives those a note
# cannot: a study keeps none, an old model's card no importance).
_SWITCHED_OFF = "the search was run with importance=False"
_MEASURE = (
    " A report given the training data measures it (<code>autoimb report ... --data DATA "
    "--target COL</code>)."
)


def features_html(
    importance: Mapping[str, Any] | None, notes: Sequence[str] = (), why: str | None = None
) -> str:
    """The importance table and figure; where there is none, why: ``why`` where the winner's
    source said, else the search's note, else it was switched off (the one cause without a
    note)."""
    if not importance or not importance.get("features"):
        said = next((n for n in notes if n.startswith("No feature importance")), None)
        if why is None and said is not None:
            return f"<p class='note'>{html.escape(said)}{_MEASURE}</p>"
        because = html.escape(why or _SWITCHED_OFF)
        return (
            f"<p class='note'>No feature importance was measured for this winner: {because}."
            f"{_MEASURE}</p>"
        )
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
