"""Metric names, parsed once, so search, threshold tuning and reports agree on each score.

Every metric is a :class:`~autoimb.metrics.metric.Metric` (defined in its own module, and
importable from here too); this module maps names to them.

Names accepted by :func:`get_metric`:

- fixed names: ``average_precision`` (alias ``pr_auc``), ``roc_auc``, ``f1``, ``mcc``,
  ``g_mean``, ``balanced_accuracy`` (``bacc``), ``precision`` (``ppv``), ``recall``
  (``sensitivity``, ``tpr``);
- ``fbeta:<beta>`` or ``f<beta>`` (``"f2"``, ``"f0.5"``, ``"fbeta:0.5"``); canonical
  name ``"fbeta:2"``;
- ``recall@precision>=<floor>`` with a floor in (0, 1];
- ``cost:fn=<c_fn>,fp=<c_fp>`` with positive costs: expected cost per unit of sample
  weight, to be minimised.

Undefined ratios (0/0) count as 0.0 rather than NaN, so a threshold scan always has an
argmax. Exceptions: ``balanced_accuracy`` and ``g_mean`` leave a class absent from ``y``
out of their mean (as scikit-learn's balanced accuracy does); ``recall@precision`` is
negative below its floor (see :func:`make_recall_at_precision`); ranking metrics return NaN
when a class they need is missing, so callers can tell an undefined score from a bad one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType

from numpy.typing import ArrayLike

from autoimb.exceptions import AutoImbError, did_you_mean
from autoimb.metrics.formulas import (
    ConfusionFn,
    CountsFn,
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
    confusion_matrix,
)
from autoimb.metrics.metric import Metric, MetricKind

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


def _fmt(x: float) -> str:
    """Shortest exact text for a parameter, so ``2.0`` and ``2`` give one canonical name."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _threshold(name: str, counts_fn: CountsFn, multiclass_fn: ConfusionFn | None) -> Metric:
    return Metric(name, "threshold", True, counts_fn=counts_fn, multiclass_fn=multiclass_fn)


def make_fbeta(beta: float | str) -> Metric:
    """F-beta metric; beta > 1 weighs recall more, as rare-class detection usually wants."""
    b = _positive_number(beta, "F-beta's beta", "fbeta:2")
    if b == 1.0:  # one metric, one name: a study of 'f1' resumes under 'fbeta:1'
        return METRICS["f1"]
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


def precision_floor(metric: Metric) -> float | None:
    """A recall@precision metric's floor; None for any other metric."""
    prefix = "recall@precision>="
    return float(metric.name.removeprefix(prefix)) if metric.name.startswith(prefix) else None


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

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "pr_auc": "average_precision",
        "auprc": "average_precision",
        "auroc": "roc_auc",
        "gmean": "g_mean",
        "matthews_corrcoef": "mcc",  # scikit-learn's scorer name
        "bacc": "balanced_accuracy",
        "sensitivity": "recall",
        "tpr": "recall",
        "true_positive_rate": "recall",
        "ppv": "precision",
        "positive_predictive_value": "precision",
    }
)
"""Other names accepted for fixed metrics; a hyphen reads as an underscore ("PR-AUC")."""

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
        if "=" in value:  # 'fn=10;fp=1': another separator than the comma
            raise AutoImbError(
                f"Cannot parse cost metric {original!r}: separate the two costs with a comma, "
                "as in 'cost:fn=10,fp=1'."
            )
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


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?")
_PLACEHOLDER = re.compile(r"<\w+>")


def _filled_forms(name: str) -> list[str]:
    """Each parametrised form written with the numbers ``name`` holds, where it holds as many
    as the form takes ('recall@precision=0.8' gives 'recall@precision>=0.8'), else its
    example: a suggestion keeps the user's own numbers."""
    numbers = _NUMBER.findall(name)
    filled = []
    for form, example in METRIC_FORMS.items():
        slots = _PLACEHOLDER.findall(form)
        if numbers and len(numbers) == len(slots):
            text = form
            for number in numbers:
                text = _PLACEHOLDER.sub(number, text, count=1)
            filled.append(text)
        else:
            filled.append(example)
    return filled


_SPECIFICITY = ("specificity", "tnr", "true_negative_rate", "selectivity")
# Spelled closest to the precision floor, the opposite constraint: not to be offered as it.
_RECALL_FLOOR = re.compile(r"precision_?(@|at)_?recall")


def _unknown(name: str, original: str) -> AutoImbError:
    known = [*METRICS, *ALIASES]
    candidates = [*known, *_filled_forms(name), "fbeta:2"]
    hint = did_you_mean(name, candidates, cutoff=0.4)
    named = name.replace("-", "_")  # "F1-score"
    if name == "auc":  # the area under which curve: both are common
        hint = " Did you mean 'roc_auc' (ROC) or 'average_precision' (PR-AUC)?"
    elif named in _SPECIFICITY:
        hint = (
            " Specificity alone is not offered (calling every row negative maximises it); "
            "'balanced_accuracy' averages it with recall, 'g_mean' takes their geometric mean."
        )
    elif _RECALL_FLOOR.match(named):
        hint = (
            " A floor on recall is not offered ('recall@precision>=<floor>' sets one on "
            "precision); to weigh recall over precision use 'fbeta:2', or a cost such as "
            "'cost:fn=10,fp=1' that makes a missed positive dearer than a false alarm."
        )
    if (stem := named.removesuffix("_score")) != named:  # scikit-learn's function names
        if stem in known or _F_SHORT.fullmatch(stem):
            hint = f" Did you mean {stem!r}?"
        elif stem == "fbeta":
            hint = " Did you mean 'fbeta:2' (its beta after the colon)?"
    base, _, averaging = named.rpartition("_")
    if averaging in ("macro", "micro", "weighted", "binary", "samples") and base in known:
        # scikit-learn's scorer names ("f1_macro"): here the averaging follows the classes.
        hint = (
            f" Did you mean {base!r}? It scores the positive class on two classes and is the "
            "macro mean over the classes on more."
        )
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
            f"A metric is given by name or as a Metric, got {type(name).__name__}; pass e.g. "
            "'average_precision', or for a metric of your own an "
            "autoimb.metrics.metric.Metric (a threshold metric from the confusion counts, "
            "counts_fn=f(tp, fp, fn, tn), or a ranking one, "
            "ranking_fn=f(y_is_positive, score, weight))."
        )
    key = re.sub(r"\s+", "", name).lower()
    if key.replace("-", "_") in {*METRICS, *ALIASES}:
        key = key.replace("-", "_")
    # "F-1" as in "the F-1 score", and "fbeta-2" alike: a hyphen, not a negative beta.
    key = re.sub(r"^f[-_](?=\.?\d)", "f", key)
    key = re.sub(r"^fbeta[-_](?=\.?\d)", "fbeta:", key)
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


def recorded_metric(name: str, what: str) -> Metric:
    """The metric a study or model card names. One defined in Python (a :class:`Metric` of
    the user's) is recorded by its name only, which nothing here can rebuild: said so, not
    taken for a misspelling."""
    try:
        return get_metric(name)
    except AutoImbError:
        raise AutoImbError(
            f"{what} was searched for the metric {name!r}, which is not one of autoimb's: a "
            "Metric defined in Python is kept by its name only. Pass that Metric again from "
            "Python (autoimb.search(..., metric=it) resumes the study; result.report_html "
            "writes the report)."
        ) from None


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
    searched: Metric | None = None,
) -> dict[str, float]:
    """All :data:`REPORT_METRICS` that are defined on these rows, the ``searched`` metric
    first (a cost, or one of the user's own, too).

    Metrics that do not apply to the target, or come out NaN (e.g. ROC AUC with one
    class present), are left out so the report only holds real numbers.
    """
    n_classes = as_proba(proba, len(as_labels(y, "y"))).shape[1]
    out: dict[str, float] = {}
    if searched is not None and searched.name not in REPORT_METRICS:
        out[searched.name] = float(
            searched.score(y, proba, y_pred, sample_weight=sample_weight, pos_label=pos_label)
        )
    for name in REPORT_METRICS:
        metric = get_metric(name)
        if metric.kind == "threshold" and n_classes > 2 and metric.multiclass_fn is None:
            continue
        value = metric.score(y, proba, y_pred, sample_weight=sample_weight, pos_label=pos_label)
        if not math.isnan(value):
            out[name] = float(value)
    return out
