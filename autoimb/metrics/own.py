"""A metric of the user's own, checked before the search: one that cannot score, or that
takes the name of one of autoimb's, would fail every trial or mix two metrics in one study."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from autoimb.exceptions import AutoImbError
from autoimb.metrics.metric import Metric
from autoimb.metrics.registry import get_metric

__all__ = ["check_for_classes", "check_own_metric"]


def check_own_metric(metric: Metric) -> None:
    """A Metric of the user's may not take the name of one of autoimb's: a study records its
    metric by name, so a resume would go on with autoimb's under it and mix the two."""
    try:
        ours = get_metric(metric.name)
    except AutoImbError:
        _scores_an_example(metric)
        return
    fields = ("kind", "greater_is_better", "counts_fn", "multiclass_fn", "ranking_fn")
    if not all(_same(getattr(ours, f), getattr(metric, f)) for f in fields):
        raise AutoImbError(
            f"a Metric of your own is named {metric.name!r}, which is autoimb's "
            f"{ours.name!r}: a study records its metric by name, so a resume would go on with "
            "autoimb's. Give yours a name of its own."
        )


def _scores_an_example(metric: Metric) -> None:
    """A metric of the user's, tried on ten rows before the search: one that raises, or gives
    no number, would fail every trial, and the search would blame the data."""
    y = np.array([0, 0, 0, 0, 0, 1, 1, 0, 1, 0])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.2, 0.8, 0.6, 0.7, 0.9, 0.1])
    example = "ten rows, three positive"
    try:
        if metric.kind == "ranking":
            value = metric.score_proba(y, np.c_[1 - p, p])
        else:
            value = metric.score_labels(y, (p > 0.5).astype(int))
    except Exception as exc:
        raise AutoImbError(
            f"the metric {metric.name!r} raised {type(exc).__name__}: {exc}, scoring {example}; "
            "fix it before the search (every trial would fail)."
        ) from exc
    if not np.isfinite(value):
        raise AutoImbError(
            f"the metric {metric.name!r} gave {value!r} scoring {example}; it must give a finite "
            "number for any rows with both classes (every trial would fail)."
        )
    if metric.kind == "threshold":
        _scores_many_thresholds(metric, y, p)


def check_for_classes(metric: Metric, n_classes: int) -> None:
    """Over several classes, a threshold metric needs its multi-class formula, tried here on a
    confusion matrix of the data's own class count (a cost matrix of one's own fits only that
    size): one that raised or gave no number failed every trial, and the search blamed the data
    and the space. Refused before the search, with the fix."""
    if n_classes <= 2 or metric.kind != "threshold":
        return
    if metric.multiclass_fn is None:
        fix = "choose a mean over the classes such as 'f1' (macro) or 'balanced_accuracy'"
        try:
            get_metric(metric.name)
        except AutoImbError:
            fix = (
                "give your Metric a multiclass_fn=f(confusion_matrix) scoring a K x K confusion "
                f"matrix (rows true, columns predicted), or {fix}"
            )
        raise AutoImbError(
            f"the metric {metric.name!r} is defined for two classes, and y has {n_classes} "
            f"classes; {fix}."
        )
    cm = np.ones((n_classes, n_classes)) + np.diag(np.arange(5.0, 5.0 + n_classes))
    example = f"a {n_classes}-class confusion matrix (rows true, columns predicted)"
    try:
        value = metric.score_confusion(cm)
    except Exception as exc:
        raise AutoImbError(
            f"the metric {metric.name!r}'s multiclass_fn raised {type(exc).__name__}: {exc}, "
            f"scoring {example}; fix it before the search (every trial would fail)."
        ) from exc
    if not np.isfinite(value):
        raise AutoImbError(
            f"the metric {metric.name!r}'s multiclass_fn gave {value!r} scoring {example}; it "
            "must give a finite number (every trial would fail)."
        )


def _scores_many_thresholds(metric: Metric, y: np.ndarray, p: np.ndarray) -> None:
    """The threshold scan calls ``counts_fn`` once with arrays of counts, one per threshold:
    one written for single numbers (``if tp + fp > 0``, ``float(...)``) fails every trial."""
    cuts = np.array([0.15, 0.35, 0.5, 0.65, 0.85])
    flagged = p[None, :] > cuts[:, None]
    positive = (y == 1)[None, :]
    counts = [(flagged & positive), (flagged & ~positive), (~flagged & positive)]
    tp, fp, fn = (c.sum(axis=1).astype(float) for c in counts)
    tn = len(y) - tp - fp - fn
    try:
        with np.errstate(all="ignore"):
            values = metric.from_counts(tp, fp, fn, tn)
        fits = values.shape == cuts.shape
    except Exception as exc:
        fits, values = False, f"{type(exc).__name__}: {exc}"
    if not fits:
        raise AutoImbError(
            f"the metric {metric.name!r}'s counts_fn must take arrays of counts (tp, fp, fn, tn: "
            f"one per threshold, the search scores them all at once) and return as many "
            f"scores; given {len(cuts)} thresholds' counts it gave {str(values)[:120]}. Write it "
            "with numpy operations (np.where rather than if/else, no float(...))."
        )
    if np.isinf(values).any():
        raise AutoImbError(
            f"the metric {metric.name!r} gave an infinite score at some thresholds (a ratio "
            "whose denominator reaches 0, such as fp when no negative is flagged); make it "
            "finite, e.g. with a small constant added to the denominator (every trial would fail)."
        )


def _same(a: Any, b: Any) -> bool:
    """Equal values, or partial functions of one function with equal arguments."""
    if isinstance(a, partial) and isinstance(b, partial):
        return (
            a.func is b.func
            and len(a.args) == len(b.args)
            and all(_same(x, y) for x, y in zip(a.args, b.args, strict=True))
            and a.keywords.keys() == b.keywords.keys()
            and all(_same(a.keywords[k], b.keywords[k]) for k in a.keywords)
        )
    return a is b or a == b
