"""What a winner's score says to its user, in a sentence for the notes: a precision floor
missed or at risk, and a score no better than predicting one class for every row."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autoimb.data.labels import plain
from autoimb.metrics.metric import Metric
from autoimb.metrics.registry import _fmt, precision_floor


def missed_floor(
    metric: Metric,
    score: float,
    search_score: float | None = None,
    chance: float | None = None,
    study_best: tuple[int, float] | None = None,
) -> str | None:
    """For a recall@precision score below its floor, a sentence saying so; else None.
    ``search_score``: the winner's score on the search's folds, which may have met it;
    ``chance``: how often precision on as many new rows falls below the floor;
    ``study_best``: the study's top-scoring trial and its score, which may have met it where
    the winner did not (then the floor is within reach)."""
    floor = precision_floor(metric)
    if floor is None or score >= 0:
        return None
    winner_met = search_score is not None and search_score >= 0
    if study_best is not None and study_best[1] >= 0 and not winner_met:
        number, recall = study_best
        return (
            f"The winner's precision (about {floor + score:.3f}) fell short of {_fmt(floor)}: "
            f"the score {score:.4f} is the shortfall, not a recall. Trial {number} met the "
            f"floor on the search's folds (recall {recall:.4f}) but was not the one chosen "
            "(see the notes on the choice): the floor is within reach on these rows, near its "
            "edge. Search longer, or lower the floor a little."
        )
    if winner_met:
        often = "often" if chance is None else f"about {chance:.0%} of the time"
        return (
            f"The winner met precision {_fmt(floor)} on the search's folds (recall "
            f"{search_score:.4f}) but not when measured again (precision about "
            f"{floor + score:.3f}): it sits near the floor, and precision on a new set of as "
            f"many rows falls below it {often}. Ask for a higher floor than you need to keep "
            "a margin."
        )
    return (
        f"No strategy reached precision {_fmt(floor)}: the score {score:.4f} is how far the "
        f"winner's precision (about {floor + score:.3f}) fell short of it, not a recall. Lower "
        "the floor, or add columns that tell the classes apart better."
    )


# A chance of missing the floor on new rows worth a note.
FLOOR_RISK = 0.1


def floor_at_risk(metric: Metric, score: float, chance: float | None) -> str | None:
    """For a recall@precision winner that met its floor, a sentence when new rows of the same
    number fall below it with a ``chance`` worth saying (the score's interval is then of its
    recall alone); else None."""
    floor = precision_floor(metric)
    if floor is None or score < 0 or chance is None or chance < FLOOR_RISK:
        return None
    return (
        f"On a new set of as many rows, precision falls below {_fmt(floor)} about "
        f"{chance:.0%} of the time (the score's interval is of its recall where it holds): "
        "the chosen threshold sits near the floor's edge. Ask for a higher floor than you need "
        "to keep a margin."
    )


def floor_condition(metric: Metric, score: float, chance: float | None) -> tuple[str, str] | None:
    """For recall at a precision floor, ``(condition, quantity)``: the interval of its score is
    of one side of the floor, the one ``score`` is on (``quantity``: recall, or precision's
    shortfall), and holds only if new rows land there; ``chance`` (precision below the floor)
    says how often they do not. None for another metric."""
    floor = precision_floor(metric)
    if floor is None:
        return None
    held = score >= 0
    other = None if chance is None else chance if held else 1.0 - chance
    often = ""
    if other is not None:
        share = "less than 1%" if other < 0.01 else "more than 99%" if other > 0.99 else None
        other_side = "it does not" if held else "it reaches it"
        often = f" ({share or f'about {other:.0%}'} of the time {other_side})"
    if held:
        return f"if precision holds its {_fmt(floor)} floor{often}", "recall"
    return f"if precision stays below its {_fmt(floor)} floor{often}", "precision's shortfall"


def trivial_rule_note(
    metric: Metric,
    score: float,
    y: np.ndarray,
    weights: np.ndarray | None,
    pos_label: int,
    positive: Any,
    *,
    classes: Any = None,
) -> str | None:
    """A sentence when predicting one class for every row scores no worse than the winner
    (``score``, cross-validated) on these rows (class codes ``y``; ``positive`` is the class
    ``pos_label`` codes; over several ``classes``, each one's rule); else None. With a costly
    miss and few positives, flagging every row can cost less than a model, and nothing else
    would tell."""
    if metric.kind != "threshold" or not math.isfinite(score):
        return None
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    if classes is not None and len(classes) > 2:
        totals = np.bincount(np.asarray(y), weights=w, minlength=len(classes))
        rules = {}
        for code, label in enumerate(classes):
            everything_here = np.zeros((len(classes), len(classes)))
            everything_here[:, code] = totals
            rules[f"predicting {label} for every row"] = metric.score_confusion(everything_here)
    else:
        positives = float(w[np.asarray(y) == pos_label].sum())
        negatives = float(w.sum()) - positives
        rules = {
            f"predicting {positive} for every row": float(
                metric.from_counts(positives, negatives, 0.0, 0.0)
            ),
            f"predicting {positive} for no row": float(
                metric.from_counts(0.0, 0.0, positives, negatives)
            ),
        }
    sign = 1.0 if metric.greater_is_better else -1.0
    for rule, value in rules.items():
        if sign * value >= sign * score:
            word = "costs" if metric.name.startswith("cost:") else f"scores {metric.name}"
            return (
                f"{rule[0].upper()}{rule[1:]} {word} {value:.4f} on these rows, no worse than "
                f"the winner's {score:.4f}: no model found beats that rule here. Use the rule, "
                f"or add {'positives' if len(rules) == 2 else 'rows of the rare classes'} or "
                "columns that tell the classes apart."
            )
    return None


def unpredicted_classes_note(
    metric: Metric, y: np.ndarray, predicted: np.ndarray, classes: Any
) -> str | None:
    """Over several classes, a sentence when the chosen rule predicts some class for no row
    out of fold (a defect class dropped in silence); else None. The rule's class factors keep
    every class that some factor can bring to a row, whatever the metric (MCC, one correlation,
    can score higher without a small class), so such a class is one the models give too
    little probability to be predicted at all."""
    if len(classes) <= 2:
        return None
    # As the user wrote them: class 3 is [3], not ['3'].
    never = [plain(classes[c]) for c in np.unique(y) if not np.any(predicted == c)]
    if not never:
        return None
    return (
        f"Class(es) {never} are never predicted out of fold: the models found give them too "
        "little probability for any row to be predicted them, even with their class factor "
        "at its largest, so they do not tell them apart from the other classes. Add rows of "
        "those classes, or columns that tell them apart."
    )


_OVER_CLASSES = {
    "mcc": "one correlation over every class",
    "g_mean": "the geometric mean of the classes' recalls",
    "balanced_accuracy": "the mean of the classes' recalls",
}


def over_classes(metric: Metric) -> str:
    """How the metric takes more than two classes, in a few words."""
    if metric.kind == "ranking":
        return "each class against the others, averaged (macro)"
    return _OVER_CLASSES.get(metric.name, "averaged over every class (macro)")


def averaged_name(metric: Metric, n_classes: int) -> str:
    """``f1 (macro)``: a metric's name beside its score over more than two classes, where it
    is a mean over them (binary f1 and macro f1 of the same rows differ)."""
    if n_classes > 2 and "(macro)" in over_classes(metric):
        return f"{metric.name} (macro)"
    return metric.name
