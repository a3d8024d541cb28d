"""Imbalance-aware metrics behind one registry, so search, threshold tuning and reports agree.

Every metric is a :class:`Metric`. Threshold metrics are defined once, on (weighted)
confusion counts of the positive class, and that single definition serves three callers:
the vectorised threshold scan (:meth:`Metric.from_counts`), scoring hard labels
(:meth:`Metric.score_labels`) and the final report. Ranking metrics score probabilities
and need no threshold.

Names accepted by :func:`get_metric`:

- fixed names: ``average_precision`` (alias ``pr_auc``), ``roc_auc``, ``f1``, ``mcc``,
  ``g_mean``, ``balanced_accuracy``, ``precision``, ``recall``;
- ``fbeta:<beta>`` or ``f<beta>`` (``"f2"``, ``"f0.5"``, ``"fbeta:0.5"``); canonical
  name ``"fbeta:2"``;
- ``recall@precision>=<floor>`` with a floor in (0, 1];
- ``cost:fn=<c_fn>,fp=<c_fp>`` with positive costs: expected cost per unit of sample
  weight, to be minimised.

Undefined ratios (0/0) count as 0.0 rather than NaN, so a threshold scan always has an
argmax. Exceptions: ``balanced_accuracy`` leaves a class absent from ``y`` out of its
mean (as scikit-learn does); ``recall@precision`` is negative below its floor (see
:func:`make_recall_at_precision`); ranking metrics return NaN when a class they need is
missing, so callers can tell an undefined score from a bad one.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from autoimb.exceptions import AutoImbError
from autoimb.formulas import (
    ConfusionFn,
    CountsFn,
    FloatArray,
    RankingFn,
    _average_precision,
    _balanced_accuracy,
    _cost,
    _f1,
    _fbeta,
    _g_mean,
    _macro_ovr,
    _mcc,
    _multiclass_balanced_accuracy,
    _multiclass_g_mean,
    _multiclass_mcc,
    _precision,
    _recall,
    _recall_at_precision,
    _roc_auc,
    as_labels,
    as_proba,
    as_weights,
    check_codes,
    check_pos_label,
    confusion_matrix,
)

__all__ = [
    "ALIASES",
    "METRICS",
    "METRIC_FORMS",
    "REPORT_METRICS",
    "Metric",
    "MetricKind",
    "confusion_matrix",
    "get_metric",
    "make_cost",
    "make_fbeta",
    "make_recall_at_precision",
    "registered_metrics",
    "report_metrics",
]

MetricKind = Literal["threshold", "ranking"]


@dataclass(frozen=True)
class Metric:
    """One scoring rule; the canonical ``name`` identifies it (equality and hashing).

    Parameters
    ----------
    name : str
        Canonical name, as :func:`get_metric` returns it.
    kind : {"threshold", "ranking"}
        Threshold metrics score hard labels and drive the decision threshold; ranking
        metrics score probabilities.
    greater_is_better : bool
        Direction for optimisers.
    counts_fn, multiclass_fn, ranking_fn : callable, optional
        The implementation: vectorised formula on binary confusion counts, score of a
        multi-class confusion matrix (None = binary only), and binary ranking score on
        ``(y_is_positive, score, weights)``.
    """

    name: str
    kind: MetricKind
    greater_is_better: bool
    counts_fn: CountsFn | None = field(default=None, repr=False, compare=False)
    multiclass_fn: ConfusionFn | None = field(default=None, repr=False, compare=False)
    ranking_fn: RankingFn | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("threshold", "ranking"):
            raise AutoImbError(f"Metric kind must be 'threshold' or 'ranking', got {self.kind!r}.")
        if self.kind == "threshold" and self.counts_fn is None:
            raise AutoImbError(f"Threshold metric {self.name!r} needs a counts_fn.")
        if self.kind == "ranking" and self.ranking_fn is None:
            raise AutoImbError(f"Ranking metric {self.name!r} needs a ranking_fn.")

    # -- threshold metrics -------------------------------------------------------------

    def _need_threshold(self, method: str) -> None:
        if self.kind != "threshold":
            raise AutoImbError(
                f"{self.name!r} is a ranking metric and scores probabilities; "
                f"call score_proba (or score) instead of {method}."
            )

    def from_counts(self, tp: ArrayLike, fp: ArrayLike, fn: ArrayLike, tn: ArrayLike) -> FloatArray:
        """Metric for arrays of weighted counts of the positive class, one per threshold.

        Vectorised so a threshold scan evaluates every candidate in one pass; 0/0 gives 0.0.
        """
        self._need_threshold("from_counts")
        counts_fn = self.counts_fn
        if counts_fn is None:  # unreachable after __post_init__; keeps the type exact
            raise AutoImbError(f"Threshold metric {self.name!r} has no counts_fn.")
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (tp, fp, fn, tn)))
        return np.asarray(counts_fn(*arrays), dtype=np.float64)

    def score_confusion(self, cm: ArrayLike, *, pos_label: int = 1) -> float:
        """Score of a (weighted) confusion matrix; 2x2 uses ``pos_label``, larger is multi-class.

        Shared by label scoring and the multi-class decision search, which builds
        matrices directly to skip per-call validation.
        """
        self._need_threshold("score_confusion")
        m = np.asarray(cm, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2:
            raise AutoImbError(
                f"a confusion matrix must be square with at least 2 classes, got {m.shape}."
            )
        n_classes = m.shape[0]
        if n_classes == 2:
            p = check_pos_label(pos_label, 2)
            o = 1 - p
            return float(self.from_counts(m[p, p], m[o, p], m[p, o], m[o, o]))
        if self.multiclass_fn is None:
            raise AutoImbError(
                f"{self.name!r} is defined for binary targets only, but the target has "
                f"{n_classes} classes; choose a multi-class metric such as 'f1', 'mcc', "
                "'balanced_accuracy' or 'g_mean'."
            )
        return float(self.multiclass_fn(m))

    def score_labels(
        self,
        y: ArrayLike,
        y_pred: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
        pos_label: int = 1,
        n_classes: int = 2,
    ) -> float:
        """Score hard predictions; binary uses ``pos_label``, multi-class macro-averages.

        Multi-class: f1/fbeta/precision/recall are the macro one-vs-rest mean,
        balanced_accuracy the mean per-class recall, g_mean their geometric mean, mcc the
        multi-class MCC.
        """
        self._need_threshold("score_labels")
        cm = confusion_matrix(y, y_pred, n_classes, sample_weight)
        return self.score_confusion(cm, pos_label=pos_label)

    # -- ranking metrics ---------------------------------------------------------------

    def score_proba(
        self,
        y: ArrayLike,
        proba: ArrayLike,
        *,
        sample_weight: ArrayLike | None = None,
        pos_label: int = 1,
    ) -> float:
        """Ranking score of probabilities; NaN when a class needed for it has no weight.

        Binary scores ``proba[:, pos_label]``; multi-class is the macro one-vs-rest mean,
        NaN if any class is missing, so callers can detect an undefined score.
        """
        if self.kind != "ranking":
            raise AutoImbError(
                f"{self.name!r} is a threshold metric and scores hard labels; "
                "call score_labels (or score with y_pred) instead of score_proba."
            )
        ranking_fn = self.ranking_fn
        if ranking_fn is None:  # unreachable after __post_init__; keeps the type exact
            raise AutoImbError(f"Ranking metric {self.name!r} has no ranking_fn.")
        yt = as_labels(y, "y")
        p = as_proba(proba, yt.shape[0])
        n_classes = p.shape[1]
        check_codes(yt, n_classes, "y")
        w = as_weights(sample_weight, yt.shape[0])
        if w is None:
            w = np.ones(yt.shape[0], dtype=np.float64)
        if n_classes == 2:
            pl = check_pos_label(pos_label, 2)
            return float(ranking_fn(yt == pl, p[:, pl], w))
        per_class = [ranking_fn(yt == c, p[:, c], w) for c in range(n_classes)]
        return float(np.mean(per_class))

    def score(
        self,
        y: ArrayLike,
        proba: ArrayLike | None,
        y_pred: ArrayLike | None = None,
        *,
        sample_weight: ArrayLike | None = None,
        pos_label: int = 1,
    ) -> float:
        """Score by kind, so callers holding both probabilities and labels need not branch."""
        if self.kind == "ranking":
            if proba is None:
                raise AutoImbError(
                    f"{self.name!r} is a ranking metric and needs proba; "
                    "pass the predict_proba output."
                )
            return self.score_proba(y, proba, sample_weight=sample_weight, pos_label=pos_label)
        if y_pred is None:
            raise AutoImbError(
                f"{self.name!r} is a threshold metric and needs y_pred (hard labels); "
                "pass the thresholded predictions."
            )
        if proba is not None:
            n_classes = int(np.shape(proba)[1]) if np.ndim(proba) == 2 else 2
        else:
            yt, yp = as_labels(y, "y"), as_labels(y_pred, "y_pred")
            top = max(int(yt.max(initial=0)), int(yp.max(initial=0)))
            n_classes = max(2, top + 1)
        return self.score_labels(
            y, y_pred, sample_weight=sample_weight, pos_label=pos_label, n_classes=n_classes
        )


# ------------------------------------------------------------------------- the registry


def _fmt(x: float) -> str:
    """Shortest exact text for a parameter, so ``2.0`` and ``2`` give one canonical name."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _threshold(name: str, counts_fn: CountsFn, multiclass_fn: ConfusionFn | None) -> Metric:
    return Metric(name, "threshold", True, counts_fn=counts_fn, multiclass_fn=multiclass_fn)


def make_fbeta(beta: float | str) -> Metric:
    """F-beta metric; beta > 1 weighs recall more, as rare-class detection usually wants."""
    b = _positive_number(beta, "F-beta's beta", "fbeta:2")
    counts_fn = partial(_fbeta, beta=b)
    return _threshold(f"fbeta:{_fmt(b)}", counts_fn, partial(_macro_ovr, counts_fn=counts_fn))


def make_recall_at_precision(floor: float | str) -> Metric:
    """Recall subject to precision >= floor, for budgets on false alarms (binary only).

    When precision is below the floor the score is ``-(floor - precision)``: negative, so
    it ranks below every feasible result, yet still larger for trials closer to the floor.
    """
    f = _finite_number(floor, "recall@precision floor", "recall@precision>=0.9")
    if not 0.0 < f <= 1.0:
        raise AutoImbError(
            f"recall@precision floor must be in (0, 1], got {_fmt(f)}; "
            "write e.g. 'recall@precision>=0.9'."
        )
    return _threshold(f"recall@precision>={_fmt(f)}", partial(_recall_at_precision, floor=f), None)


def make_cost(c_fn: float | str, c_fp: float | str) -> Metric:
    """Expected misclassification cost per unit of sample weight, lower is better (binary).

    ``(n_fn * c_fn + n_fp * c_fp) / total weight``, with counts weighted.
    """
    cfn = _positive_number(c_fn, "The fn cost", "cost:fn=10,fp=1")
    cfp = _positive_number(c_fp, "The fp cost", "cost:fn=10,fp=1")
    return Metric(
        f"cost:fn={_fmt(cfn)},fp={_fmt(cfp)}",
        "threshold",
        False,
        counts_fn=partial(_cost, c_fn=cfn, c_fp=cfp),
        multiclass_fn=None,
    )


def _finite_number(value: float | str, what: str, example: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise AutoImbError(
            f"{what} must be a number, got {value!r}; write e.g. {example!r}."
        ) from None
    if not math.isfinite(x):
        raise AutoImbError(
            f"{what} must be a finite number, got {value!r}; write e.g. {example!r}."
        )
    return x


def _positive_number(value: float | str, what: str, example: str) -> float:
    x = _finite_number(value, what, example)
    if x <= 0:
        raise AutoImbError(
            f"{what} must be a positive number, got {_fmt(x)}; write e.g. {example!r}."
        )
    return x


METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        "average_precision": Metric(
            "average_precision", "ranking", True, ranking_fn=_average_precision
        ),
        "roc_auc": Metric("roc_auc", "ranking", True, ranking_fn=_roc_auc),
        "f1": _threshold("f1", _f1, partial(_macro_ovr, counts_fn=_f1)),
        "mcc": _threshold("mcc", _mcc, _multiclass_mcc),
        "g_mean": _threshold("g_mean", _g_mean, _multiclass_g_mean),
        "balanced_accuracy": _threshold(
            "balanced_accuracy", _balanced_accuracy, _multiclass_balanced_accuracy
        ),
        "precision": _threshold("precision", _precision, partial(_macro_ovr, counts_fn=_precision)),
        "recall": _threshold("recall", _recall, partial(_macro_ovr, counts_fn=_recall)),
    }
)
"""Fixed-name metrics by canonical name."""

ALIASES: Mapping[str, str] = MappingProxyType({"pr_auc": "average_precision"})
"""Other names accepted for fixed metrics."""

METRIC_FORMS: Mapping[str, str] = MappingProxyType(
    {
        "fbeta:<beta>": "fbeta:0.5",
        "f<beta>": "f2",
        "recall@precision>=<floor>": "recall@precision>=0.9",
        "cost:fn=<c_fn>,fp=<c_fp>": "cost:fn=10,fp=1",
    }
)
"""Parametrised name forms, each with an example that :func:`get_metric` accepts."""

REPORT_METRICS: tuple[str, ...] = (
    "average_precision",
    "roc_auc",
    "f1",
    "fbeta:2",
    "mcc",
    "g_mean",
    "balanced_accuracy",
    "precision",
    "recall",
)
"""Metrics computed for a winner's report."""

_F_SHORT = re.compile(r"f(?P<beta>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)")


def _parse_cost(body: str, original: str) -> Metric:
    costs: dict[str, str] = {}
    for part in body.split(","):
        key, sep, value = part.partition("=")
        if not sep or key not in ("fn", "fp") or key in costs:
            raise AutoImbError(
                f"Cannot parse cost metric {original!r}; write 'cost:fn=<c_fn>,fp=<c_fp>' "
                "with each cost given once, e.g. 'cost:fn=10,fp=1'."
            )
        costs[key] = value
    if set(costs) != {"fn", "fp"}:
        raise AutoImbError(
            f"Cost metric {original!r} must give both costs; write e.g. 'cost:fn=10,fp=1'."
        )
    return make_cost(costs["fn"], costs["fp"])


def _unknown(name: str, original: str) -> AutoImbError:
    known = [*METRICS, *ALIASES]
    candidates = [*known, *METRIC_FORMS.values(), "fbeta:2"]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.4)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return AutoImbError(
        f"Unknown metric {original!r}.{hint} Known metrics: {', '.join(known)}; "
        f"parametrised forms: {', '.join(METRIC_FORMS)} "
        f"(e.g. {', '.join(repr(v) for v in METRIC_FORMS.values())})."
    )


def get_metric(name: str | Metric) -> Metric:
    """Resolve a metric name (any documented form) or pass a :class:`Metric` through.

    Case and whitespace are ignored, so names from YAML or the command line parse alike.
    """
    if isinstance(name, Metric):
        return name
    if not isinstance(name, str):
        raise AutoImbError(
            f"A metric is given by name or as a Metric, got {type(name).__name__}; "
            "pass e.g. 'average_precision'."
        )
    key = re.sub(r"\s+", "", name).lower()
    key = ALIASES.get(key, key)
    if key in METRICS:
        return METRICS[key]
    if key.startswith("fbeta:"):
        return make_fbeta(key.removeprefix("fbeta:"))
    short = _F_SHORT.fullmatch(key)
    if short:
        return make_fbeta(short["beta"])
    if key.startswith("recall@precision>="):
        return make_recall_at_precision(key.removeprefix("recall@precision>="))
    if key.startswith("cost:"):
        return _parse_cost(key.removeprefix("cost:"), name)
    raise _unknown(key, name)


def registered_metrics() -> tuple[Metric, ...]:
    """Every fixed metric plus one example per parametrised form, for exhaustive checks."""
    out: dict[str, Metric] = dict(METRICS)
    for example in METRIC_FORMS.values():
        metric = get_metric(example)
        out.setdefault(metric.name, metric)
    return tuple(out.values())


def report_metrics(
    y: ArrayLike,
    proba: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    pos_label: int = 1,
) -> dict[str, float]:
    """All :data:`REPORT_METRICS` that are defined on these rows.

    Metrics that do not apply to the target, or come out NaN (e.g. ROC AUC with one
    class present), are left out so the report only holds real numbers.
    """
    n_classes = as_proba(proba, len(as_labels(y, "y"))).shape[1]
    out: dict[str, float] = {}
    for name in REPORT_METRICS:
        metric = get_metric(name)
        if metric.kind == "threshold" and n_classes > 2 and metric.multiclass_fn is None:
            continue
        value = metric.score(y, proba, y_pred, sample_weight=sample_weight, pos_label=pos_label)
        if not math.isnan(value):
            out[name] = float(value)
    return out
