"""Searching for the decision rule that scores best on a set of rows.

On imbalanced data the default ``argmax`` rule is rarely the best one, so a threshold
(binary) or per-class scale factors (multi-class) are tuned for the chosen metric. These
scores are in-sample; :mod:`autoimb.posthoc.crossfit` makes them honest.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from autoimb.exceptions import AutoImbError
from autoimb.metrics.formulas import as_labels, as_proba, as_weights, check_codes, check_pos_label
from autoimb.metrics.metric import Metric
from autoimb.metrics.registry import METRICS, precision_floor
from autoimb.posthoc.decision import Decision, FloatArray, IntArray

__all__ = [
    "MAX_CANDIDATES",
    "best_candidate",
    "checked_inputs",
    "choose_decision",
    "middle_of_best",
    "sorted_candidates",
    "tuning_metric",
]

MAX_CANDIDATES = 1024
"""Most thresholds scanned per binary search; score quantiles beyond that keep 1M rows fast."""

# Per-class factors 10**-3 .. 10**3 in steps of 10**0.1; 1.0 is on the grid exactly, so
# coordinate ascent starts from plain argmax and can only improve on it.
_SCALE_GRID: FloatArray = 10.0 ** (np.arange(-30, 31) / 10.0)
_MAX_PASSES = 4


def checked_inputs(
    y: ArrayLike, proba: ArrayLike, sample_weight: ArrayLike | None, pos_label: int
) -> tuple[IntArray, FloatArray, FloatArray, int]:
    """Validated codes, probabilities, weights (ones when absent) and positive class."""
    yt = as_labels(y, "y")
    if yt.shape[0] == 0:
        raise AutoImbError("y is empty; a decision needs at least one labelled row.")
    p = as_proba(proba, yt.shape[0])
    check_codes(yt, p.shape[1], "y")
    pos = check_pos_label(pos_label, p.shape[1])
    w = as_weights(sample_weight, yt.shape[0])
    if w is None:
        w = np.ones(yt.shape[0], dtype=np.float64)
    return yt, p, w, pos


def tuning_metric(metric: Metric) -> Metric:
    """The metric a decision is tuned for; ranking metrics ignore the rule, so use F1."""
    return METRICS["f1"] if metric.kind == "ranking" else metric


def middle_of_best(values: FloatArray, greater_is_better: bool) -> int:
    """Index in the middle of the longest run of best values.

    The middle of a plateau sits farthest from where the score drops, so it is the
    choice least likely to fall off the plateau on new data.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v if greater_is_better else -v
    if np.isnan(v).all():
        raise AutoImbError(
            "The metric is undefined (NaN) for every candidate decision; check that both "
            "classes are present with positive weight."
        )
    v = np.where(np.isnan(v), -np.inf, v)
    best = float(np.max(v))
    if best == -np.inf:
        raise AutoImbError(
            "The metric is infinitely bad for every candidate decision (an overflow, or a "
            "division by zero in a metric of one's own); give it costs or a formula that stay "
            "finite."
        )
    # An infinite best (a likelihood ratio where no negative is flagged) is its own plateau.
    slack = 0.0 if math.isinf(best) else 1e-12 * max(1.0, abs(best))
    on = np.flatnonzero(v >= best - slack)
    breaks = np.flatnonzero(np.diff(on) > 1)
    # concatenate, not np.r_: this runs tens of thousands of times in a multi-class ascent
    starts = np.concatenate((on[:1], on[breaks + 1]))
    ends = np.concatenate((on[breaks], on[-1:]))
    k = int(np.argmax(ends - starts))
    return int((starts[k] + ends[k]) // 2)


def _binary_candidates(
    score: FloatArray, is_pos: NDArray[np.bool_], w: FloatArray, max_candidates: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Candidate thresholds (descending) with their weighted tp, fp, fn, tn, in one sort.

    Each candidate lies strictly between two adjacent distinct scores, so it is as far
    as the data allows from flipping any row. The first candidate predicts nothing
    positive; the last predicts everything positive.
    """
    order = np.argsort(-score, kind="stable")
    return sorted_candidates(score[order], is_pos[order], w[order], max_candidates)


def sorted_candidates(
    s: FloatArray, is_pos: NDArray[np.bool_], w: FloatArray, max_candidates: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`_binary_candidates` of rows already in descending score order (stable).

    Cross-fitting sorts all rows once: each fold's complement, taken in that order, is
    sorted too, exactly as sorting it alone would give.
    """
    if not w.all() and w.any():  # a row of weight 0 counts nowhere, not even as a candidate
        s, is_pos, w = s[w > 0], is_pos[w > 0], w[w > 0]
    n = s.shape[0]
    cum_pos = np.cumsum(np.where(is_pos, w, 0.0))
    cum_neg = np.cumsum(np.where(is_pos, 0.0, w))
    total_pos, total_neg = cum_pos[-1], cum_neg[-1]
    last = np.empty(n, dtype=bool)  # the last row of each tied group
    np.not_equal(s[1:], s[:-1], out=last[:-1])
    last[-1] = True
    ends = np.flatnonzero(last)
    values = s[ends]  # distinct scores, descending
    n_groups = ends.shape[0]
    if n_groups + 1 > max_candidates:
        rows = _candidate_rows(n, max(max_candidates - 1, 1))
        found = np.searchsorted(ends, rows)  # non-decreasing: drop the repeats
        keep = found[np.concatenate(([True], found[1:] != found[:-1]))]
    else:
        keep = np.arange(n_groups)
    upper = values[keep]
    floor = 0.0 if values[-1] > 0 else float(values[-1])
    lower = np.where(keep + 1 < n_groups, values[np.minimum(keep + 1, n_groups - 1)], floor)
    mid = upper * 0.5 + lower * 0.5
    thresholds = np.where(mid > lower, mid, upper)  # rounding may land on `lower`
    top = float(values[0])
    none = (top + 1.0) * 0.5 if top < 1.0 else top
    if none <= top:
        none = float(np.nextafter(top, np.inf))
    tp = np.concatenate(([0.0], cum_pos[ends[keep]]))
    fp = np.concatenate(([0.0], cum_neg[ends[keep]]))
    return np.concatenate(([none], thresholds)), tp, fp, total_pos - tp, total_neg - fp


def _candidate_rows(n: int, count: int) -> NDArray[np.int64]:
    """About ``count`` rows of a ranking of ``n``, ascending: a third spread evenly, a third
    ever closer towards its top and a third towards its bottom, where a rare class's best
    threshold lies (a precision floor's often within the first few dozen rows)."""
    third = count // 3
    even = np.linspace(0, n - 1, max(count - 2 * third, 2))
    near_ends = np.geomspace(1, n, third) - 1 if third else np.empty(0)
    rows = np.concatenate([even, near_ends, n - 1 - near_ends])
    return np.unique(np.round(rows).astype(np.int64))


def _choose_threshold(
    yt: IntArray, p: FloatArray, w: FloatArray, pos: int, metric: Metric, max_candidates: int
) -> tuple[Decision, float]:
    thresholds, tp, fp, fn, tn = _binary_candidates(p[:, pos], yt == pos, w, max_candidates)
    values = metric.from_counts(tp, fp, fn, tn)
    i = best_candidate(metric, values, tp, fp, fn, tn)
    return Decision(threshold=float(thresholds[i]), pos_label=pos), float(values[i])


def best_candidate(
    metric: Metric,
    values: FloatArray,
    tp: FloatArray,
    fp: FloatArray,
    fn: FloatArray,
    tn: FloatArray,
) -> int:
    """The candidate threshold to take: the middle of the best plateau. For recall at a
    precision floor, the best recall's thresholds all meet the floor, and its plateau runs into
    the negatives (no recall to gain, precision lost); the most precise of them are farthest
    from the floor, so ties in recall go to precision."""
    i = middle_of_best(values, metric.greater_is_better)
    if precision_floor(metric) is None:
        return i
    best = np.abs(values - values[i]) <= 1e-12 * max(1.0, abs(float(values[i])))
    precision = METRICS["precision"].from_counts(tp, fp, fn, tn)
    return middle_of_best(np.where(best, precision, -np.inf), True)


def _choose_scale(
    yt: IntArray, p: FloatArray, w: FloatArray, pos: int, metric: Metric
) -> tuple[Decision, float]:
    n_classes = p.shape[1]
    codes = yt * n_classes
    flat = n_classes * n_classes
    rows = np.arange(p.shape[0])
    # Grid points scored together: their rows' predictions, at most about 2M cells at once.
    block = max(1, min(_SCALE_GRID.shape[0], 2_000_000 // max(1, p.shape[0])))
    grids = [_SCALE_GRID[start : start + block] for start in range(0, _SCALE_GRID.shape[0], block)]
    # What every block of a size shares (two sizes at most, however many blocks large data
    # takes): each grid point's cells apart, and the rows' weights for them.
    sizes = {grid.shape[0] for grid in grids}
    offsets = {size: codes[:, None] + flat * np.arange(size)[None, :] for size in sizes}
    weights = {size: np.repeat(w, size) for size in sizes}

    # The heaviest class stays at 1: argmax ignores a common factor, so one is free.
    heft = np.bincount(yt, weights=w, minlength=n_classes)
    anchor = int(np.argmax(heft))
    held = heft > 0  # the classes these rows hold, each of which a rule should predict

    def grid_values(
        c: int, other_arg: IntArray, other_best: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """The metric for each factor of class ``c``, and how many held classes each factor
        predicts for some row: every factor's confusion matrix from one bincount, scored in
        one call."""
        values, shown = [], []
        best = other_best[:, None]
        ahead = (c < other_arg)[:, None]
        for grid in grids:
            mine = p[:, c, None] * grid[None, :]
            # argmax breaks ties towards the lower index; mirror it exactly.
            wins = (mine > best) | ((mine == best) & ahead)
            size = grid.shape[0]
            cells = (offsets[size] + np.where(wins, c, other_arg[:, None])).ravel()
            cms = np.bincount(cells, weights=weights[size], minlength=flat * size)
            cms = cms.reshape(size, n_classes, n_classes)
            values.append(metric.score_confusions(cms, pos_label=pos))
            shown.append((cms.sum(axis=1)[:, held] > 0).sum(axis=1))
        return np.concatenate(values), np.concatenate(shown)

    def against_others(scale: FloatArray, c: int) -> tuple[IntArray, FloatArray]:
        others = p * scale
        others[:, c] = -np.inf
        other_arg = np.argmax(others, axis=1)
        return other_arg, others[rows, other_arg]

    def ascend(scale: FloatArray, keep_classes: bool) -> FloatArray:
        """Coordinate ascent from ``scale``; with ``keep_classes``, no step leaves a held class
        unpredicted that another factor would keep."""
        last = None  # the class changed last: once back at it unchanged since, nothing moves
        for _ in range(_MAX_PASSES):
            changed = False
            for c in range(n_classes):
                if c == anchor:
                    continue
                if c == last and not changed:
                    break  # every other class was scored against this same scale: it stands
                values, shown = grid_values(c, *against_others(scale, c))
                kept = np.where(shown == shown.max(), values, np.nan)
                if keep_classes and not np.isnan(kept).all():
                    values = kept
                j = middle_of_best(values, metric.greater_is_better)
                if _SCALE_GRID[j] != scale[c]:
                    scale[c] = _SCALE_GRID[j]
                    changed, last = True, c
            if not changed:
                break
        return scale

    def predicted(scale: FloatArray) -> NDArray[np.bool_]:
        """Whether each class is predicted for some row of positive weight."""
        chosen = np.argmax(p * scale, axis=1)
        return np.bincount(chosen, weights=w, minlength=n_classes) > 0

    def scored(scale: FloatArray) -> tuple[int, float, Decision]:
        decision = Decision(class_scale=tuple(float(s) for s in scale), pos_label=pos)
        cm = np.bincount(codes + decision.apply(p), weights=w, minlength=flat)
        cm = cm.reshape(n_classes, n_classes)
        kept = int((cm.sum(axis=0)[held] > 0).sum())
        return kept, metric.score_confusion(cm, pos_label=pos), decision

    def every_class_kept(scale: FloatArray) -> FloatArray:
        """The rule the metric likes best may predict a small class for no row: MCC, one
        correlation over every class, can score higher without it. A classifier whose
        ``classes_`` hold a class should be able to predict it, so such a class's factor rises
        to the least that predicts it for its most probable row, and the ascent goes on from
        there without dropping a class again. A rule that predicts every class stays as it is."""
        lifted = False
        for c in np.flatnonzero(held):
            now = predicted(scale)
            if now[c]:
                continue
            _, shown = grid_values(int(c), *against_others(scale, int(c)))
            gained = np.flatnonzero(shown > now[held].sum())
            if gained.size:
                scale[c], lifted = _SCALE_GRID[gained[0]], True
        return ascend(scale, keep_classes=True) if lifted else scale

    # From plain argmax, one factor at a time; and from factors that undo the class priors,
    # since a metric that multiplies the classes' recalls (g-mean) is 0 wherever two classes
    # go unpredicted, and no single factor's change lifts it off that plateau.
    found = scored(every_class_kept(ascend(np.ones(n_classes, dtype=np.float64), False)))
    with np.errstate(over="ignore", divide="ignore"):  # a class these rows do not weigh
        prior = heft[anchor] / np.maximum(heft, np.finfo(float).tiny)
    nearest = np.abs(np.log10(prior)[:, None] * 10.0 - np.arange(-30, 31)[None, :]).argmin(axis=1)
    other = scored(every_class_kept(ascend(_SCALE_GRID[nearest].astype(np.float64), False)))
    sign = 1.0 if metric.greater_is_better else -1.0
    better = other[0] > found[0] or (
        other[0] == found[0] and sign * other[1] > sign * found[1] + 1e-12
    )
    _, score, decision = other if better else found
    return decision, score


def choose_decision(
    y: ArrayLike,
    proba: ArrayLike,
    metric: Metric,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
    max_candidates: int = MAX_CANDIDATES,
) -> tuple[Decision, float]:
    """Best decision rule for ``metric`` on these rows, and its (in-sample) score.

    Binary: one vectorised scan over at most ``max_candidates`` thresholds, taking the
    middle of the best plateau. Multi-class: coordinate ascent over a log grid of
    per-class factors. A ranking metric does not depend on the rule, so F1 is tuned.
    """
    yt, p, w, pos = checked_inputs(y, proba, sample_weight, pos_label)
    tuned = tuning_metric(metric)
    if int(max_candidates) < 2:
        raise AutoImbError(f"max_candidates must be at least 2, got {max_candidates}.")
    if p.shape[1] == 2:
        return _choose_threshold(yt, p, w, pos, tuned, int(max_candidates))
    return _choose_scale(yt, p, w, pos, tuned)
