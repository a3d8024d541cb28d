"""``autoimb report --data``: the data must be the search's own.

The report computes the winner's cross-validation again on ``--data`` for its curves: on data
with other columns the model cannot run, and on other rows the curves would show scores the
search never measured, under the search's name.
"""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING, Any

from autoimb.cli.console import say
from autoimb.cli.resume import study_settings
from autoimb.exceptions import AutoImbError, SchemaError

if TYPE_CHECKING:
    import optuna
    import pandas as pd


def check_training_data(
    args: argparse.Namespace,
    X: pd.DataFrame,
    y: pd.Series,
    weights: pd.Series | None,
    card: dict[str, Any] | None,
    study: optuna.Study | None,
) -> None:
    """Refuse ``--data`` the model cannot read, as ``predict`` does, and data other than the
    search's (its fingerprint, or the rows its model card counts) unless ``--force``."""
    from autoimb.data.conform import conform, input_columns
    from autoimb.data.frames import given_durations

    schema = (card or {}).get("schema")
    if schema:
        features = set(input_columns(schema))
        for option in ("group", "weight", "id"):
            if (column := getattr(args, option, None)) in features:
                raise AutoImbError(
                    f"--{option} {column} names a column the model reads as a feature, not "
                    f"the search's {option} column: name the one the search took with "
                    f"--{option}, or leave --{option} out if it took none."
                )
        try:
            with warnings.catch_warnings():  # only whether it fits matters here
                warnings.simplefilter("ignore")
                conform(given_durations(X, schema.get("durations", [])), schema)
        except SchemaError as exc:
            raise AutoImbError(f"{args.data} does not fit the model: {exc}") from exc
    difference = _difference(X, y, weights, card, study)
    if difference is None:
        return
    if not args.force:
        raise AutoImbError(
            f"{args.data} is not the data the search ran on: {difference}. --data takes the "
            "training data, whose cross-validation the report computes again (to score other "
            "rows, use autoimb predict); pass --force to report on it knowingly."
        )
    say(f"warning: {args.data} is not the data the search ran on ({difference}); going on")


def _difference(
    X: pd.DataFrame,
    y: pd.Series,
    weights: pd.Series | None,
    card: dict[str, Any] | None,
    study: optuna.Study | None,
) -> str | None:
    from autoimb.data.dataset import fingerprint_difference, validate

    before = study_settings(study).get("fingerprint")
    if before:
        with warnings.catch_warnings():  # the search already warned of the same data
            warnings.simplefilter("ignore")
            now = validate(X, y, sample_weight=weights).fingerprint()
        difference = fingerprint_difference(before, now)
        added = set(now["columns"]) - set(before.get("columns", []))
        if difference is not None and now["rows"] == before.get("rows") and added:
            difference += (
                "; an identifier, weight or group column the search set apart is named again "
                "with --id, --weight or --group"
            )
        return difference
    rows = ((card or {}).get("data") or {}).get("rows")
    return None if rows is None else fingerprint_difference({"rows": rows}, {"rows": len(y)})


def refuse_marker_labels(y: pd.Series, target: str, force: bool) -> None:
    """A "?" label beside two other classes stands for labels not known: as a class it makes
    a binary search multi-class, however many rows it holds (often more than the rare class).
    Of two classes ("+", "-") it is one."""
    import shlex

    from autoimb.data.columns import MISSING_MARKERS

    counts = y.value_counts(sort=False)  # in the order the labels come
    marked = [v for v in counts.index if str(v).strip().lower() in MISSING_MARKERS]
    classes = counts.drop(marked)
    marks = marked if len(classes) > 1 else []
    if not marks:
        return
    rows = int(y.isin(marks).sum())
    said = ", ".join(repr(m) for m in marks)
    value = ",".join(dict.fromkeys(m.strip() for m in marks))
    option = f"--na-values {shlex.quote(value)}"
    if value.startswith("-"):  # else an option's name, and "--" the options' end
        option = f"--na-values={shlex.quote(value + ',')}"
    if force:  # --force also replaces a model or allows other data: keeping is said
        say(
            f"warning: {rows} row(s) of column {target!r} labelled {said} kept as a class "
            f"(--force); pass {option} to leave them out"
        )
    else:
        raise AutoImbError(
            f"{rows} row(s) of column {target!r} are labelled {said}, which marks a missing "
            f"value; kept as a class, the column has {len(counts)} classes. Pass {option} to "
            "leave those rows out, or --force to keep it a class."
        )


def refuse_unknown_pos_label(y: pd.Series, pos_label: Any) -> None:
    """``--pos-label`` that is no class, refused with the options (the search refused it too,
    but after "starting a new study" had been said of a study never made)."""
    from autoimb.data.labels import check_target, positive_code

    if pos_label is not None:
        positive_code(pos_label, check_target(y, len(y))[1])
