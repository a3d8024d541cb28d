"""Whether a study may go on with the data at hand: the classes and the data's fingerprint it
recorded when it began, against this data's."""

from __future__ import annotations

import logging
from typing import Any

from autoimb.data.dataset import Dataset, fingerprint_difference
from autoimb.exceptions import OtherDataError

logger = logging.getLogger("autoimb")


def other_classes(attrs: dict[str, Any], data: Dataset) -> str | None:
    """How the study's classes differ from the data's, in a few words; None if they do not."""
    recorded, now = attrs.get("classes"), [str(c) for c in data.classes]
    if recorded is None or list(recorded) == now:
        return None
    if [_whole_text(c) for c in recorded] == now:  # 1.0 in the file: once the class 1.0
        return (
            f"its classes are {recorded}, this data's {now}: the command line now reads labels "
            "written 1.0 as the class 1 (predictions' column proba_1), and the study began "
            "before it did"
        )
    return f"its classes are {recorded}, this data's {now}"


def _whole_text(label: str) -> str:
    try:
        number = float(label)
    except ValueError:
        return label
    return str(int(number)) if number.is_integer() else label


def other_data(attrs: dict[str, Any], data: Dataset) -> str | None:
    """How the data differs from what the study recorded of its own; None if it does not."""
    if not attrs.get("fingerprint"):  # a study from before fingerprints: rows are all it knows
        return fingerprint_difference({"rows": attrs.get("rows")}, {"rows": len(data.y)})
    return fingerprint_difference(attrs["fingerprint"], data.fingerprint())


def check_same_data(name: str, attrs: dict[str, Any], data: Dataset, allowed: bool) -> None:
    """A resumed study must search the data it was created on, or its winner is stale."""
    difference = other_data(attrs, data)
    if difference is None:
        return
    if not allowed:
        raise OtherDataError(
            f"study {name!r} was run on other data: {difference}. Start another study "
            "(study_name=..., or --study-name / --new-study on the command line), or pass "
            "allow_other_data=True (--force) to go on with it knowingly."
        )
    logger.warning(
        "study %r was run on other data (%s); going on as asked, its earlier scores are not "
        "comparable",
        name,
        difference,
    )
