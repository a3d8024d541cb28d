"""The report's matplotlib figures, each returned as HTML holding its PNG inline (base64).

Figures are drawn by Agg through their own canvas, so pyplot's global backend is untouched
and the report stays one self-contained file.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autoimb.leaderboard import states_text, trials_text
from autoimb.posthoc.threshold import threshold_curve, tuning_metric
from autoimb.report.winner import OutOfFold, Winner

ACCENT, MARK = "#2563eb", "crimson"
LABEL_CHARS = 40
"""Tick labels longer than this are shortened, so a long name cannot push the axes off the
figure; the full names stay in the report's tables."""


def _guarded(what: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """One figure that cannot be drawn says so in its place instead of costing the report."""

    def wrap(draw: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(draw)
        def guarded(*args: Any, **kwargs: Any) -> str:
            try:
                return draw(*args, **kwargs)
            except Exception as exc:
                why = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
                return (
                    f"<p class='note'>The {what} figure could not be drawn "
                    f"({html.escape(why)}).</p>"
                )

        return guarded

    return wrap


@_guarded("optimisation history")
def history_figure(board: pd.DataFrame, done: pd.DataFrame, metric: str, maximize: bool) -> str:
    """Each finished trial's score, coloured by model, with the best so far."""
    done = done.sort_values("trial")
    fig, ax = _figure(9.5, 3.8)
    for model, group in done.groupby("model"):
        ax.scatter(group["trial"], group["score"], s=22, alpha=0.8, label=str(model))
    best = done["score"].cummax() if maximize else done["score"].cummin()
    ax.step(done["trial"], best, where="post", color="black", lw=1.4, label="best so far")
    ax.set(xlabel="trial", ylabel=metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(alpha=0.3)
    return _figure_html(
        fig,
        "optimisation history",
        "Score of each finished trial (coloured by model) and the best so far."
        + _others(board[board["state"] != "COMPLETE"]),
    )


def _others(rest: pd.DataFrame) -> str:
    """The trials without a score, by what became of them."""
    if rest.empty:
        return ""
    return f" Not drawn: the other {trials_text(len(rest))} ({states_text(rest['state'])})."


@_guarded("score by strategy choice")
def choices_figure(
    done: pd.DataFrame, stages: Sequence[str], metric: str, maximize: bool, fixed: str
) -> str:
    """The finished trials' scores for each choice of each stage that had more than one."""
    ncols = min(len(stages), 2)
    nrows = math.ceil(len(stages) / ncols)
    fig = Figure(figsize=(10, 3.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    jitter = np.random.default_rng(0)
    for ax, stage in zip(axes, stages, strict=False):
        groups = {str(k): g["score"].to_numpy() for k, g in done.groupby(stage)}
        names = sorted(groups, key=lambda k: np.median(groups[k]), reverse=maximize)
        values = [groups[n] for n in names]
        ax.boxplot(
            values,
            positions=range(len(names)),
            widths=0.55,
            showfliers=False,
            medianprops={"color": MARK},
        )
        for i, v in enumerate(values):
            ax.scatter(i + jitter.uniform(-0.15, 0.15, len(v)), v, s=12, alpha=0.6, color=ACCENT)
        labels = [f"{n} ({len(v)})" for n, v in zip(names, values, strict=True)]
        ax.set_xticks(range(len(names)), labels=labels, rotation=25, ha="right", fontsize=8)
        ax.set(title=f"by {stage}", ylabel=metric)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(stages) :]:
        ax.set_visible(False)
    return _figure_html(
        fig,
        "score by strategy choice",
        "Scores of the finished trials for each choice of each stage (best median first, number "
        "of trials in brackets). The sampler tries promising choices more often, so a box with "
        f"few trials behind it is weak evidence either way.{fixed}",
    )


@_guarded("parameter importance")
def importance_figure(importances: Mapping[str, float]) -> str:
    """The parameters that explain most of the score's variance, largest on top."""
    names = list(importances)[:12][::-1]
    fig, ax = _figure(7, 0.45 * len(names) + 1.2)
    ax.barh(range(len(names)), [importances[n] for n in names], color=ACCENT)
    ax.set_yticks(range(len(names)), labels=[_label(n) for n in names])
    ax.set(xlabel="importance (fANOVA)")
    ax.tick_params(axis="y", labelsize=8)
    return _figure_html(
        fig,
        "parameter importances",
        "How much of the score's variance each parameter explains (Optuna's fANOVA). Optuna "
        "uses the parameters every finished trial shares, mostly the stage choices; a "
        "component's own hyper-parameters appear only if every trial used that component.",
    )


@_guarded("feature importance")
def feature_importance_figure(importance: Mapping[str, Any], top: int = 20) -> str:
    """The input columns whose shuffling costs the winner most, with their spread."""
    table = pd.DataFrame(importance["features"], columns=["feature", "importance", "std"])
    shown = table.head(top).iloc[::-1]
    score = str(importance.get("score", "score"))
    fig, ax = _figure(7, 0.32 * len(shown) + 1.3)
    ax.barh(
        range(len(shown)),
        shown["importance"],
        xerr=shown["std"],
        color=ACCENT,
        ecolor="#3e4c59",
        capsize=3,
        label="mean drop ± one standard deviation",
    )
    ax.set_yticks(range(len(shown)), labels=[_label(str(n)) for n in shown["feature"]])
    ax.axvline(0, color="grey", lw=1)
    ax.set(xlabel=f"drop in {_label(score)} when the column is shuffled")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    shown_of = ""
    if len(table) > top:
        shown_of = f" The {len(shown)} most important of {len(table)} columns."
    return _figure_html(
        fig,
        "feature importance",
        f"Each fold's model scores its own validation rows again with one column shuffled "
        f"({importance.get('repeats', '?')} times in each of {importance.get('folds', '?')} "
        f"folds, {importance.get('rows', 0):,} rows in all); the bar is the mean drop in "
        f"{html.escape(score)}, the line one standard deviation over folds × repeats. A bar "
        f"near zero, or below it, is a column the winner does not need.{shown_of}",
    )


# ----------------------------------------------------------------------------------- curves


def _one_vs_rest(w: Winner, oof: OutOfFold) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, is that class, its probability)`` per curve; binary shows the positive class."""
    n_classes = oof.proba.shape[1]
    codes = range(n_classes) if n_classes > 2 else [w.decision.pos_label]
    return [(w.classes[c], oof.y == c, oof.proba[:, c]) for c in codes]


def _chosen_rates(w: Winner, oof: OutOfFold) -> tuple[float, float, float] | None:
    """Precision, recall and false-positive rate at the chosen threshold (binary only)."""
    d = w.decision
    if d.threshold is None:
        return None
    hit = oof.proba[:, d.pos_label] >= d.threshold
    is_pos = oof.y == d.pos_label
    tp, fp = oof.weights[hit & is_pos].sum(), oof.weights[hit & ~is_pos].sum()
    fn, tn = oof.weights[~hit & is_pos].sum(), oof.weights[~hit & ~is_pos].sum()
    return tp / max(tp + fp, 1e-12), tp / max(tp + fn, 1e-12), fp / max(fp + tn, 1e-12)


@_guarded("precision-recall or ROC")
def ranking_figure(w: Winner, oof: OutOfFold, kind: str) -> str:
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    fig, ax = _figure()
    curves = _one_vs_rest(w, oof)
    for label, is_class, score in curves:
        if kind == "pr":
            precision, recall, _ = precision_recall_curve(
                is_class, score, sample_weight=oof.weights
            )
            area = average_precision_score(is_class, score, sample_weight=oof.weights)
            ax.step(recall, precision, where="post", label=f"{label} (AP {area:.3f})")
        else:
            fpr, tpr, _ = roc_curve(is_class, score, sample_weight=oof.weights)
            area = roc_auc_score(is_class, score, sample_weight=oof.weights)
            ax.plot(fpr, tpr, label=f"{label} (AUC {area:.3f})")
    rates = _chosen_rates(w, oof)
    chosen = f"chosen threshold (score {w.decision.threshold or 0.0:.3g})"
    # Several classes are decided by scaled probabilities, not one threshold: no dot.
    dot = "; the dot is the chosen threshold" if rates else ", one class against the rest"
    if kind == "pr":
        if len(curves) == 1:
            base = float(oof.weights[curves[0][1]].sum() / oof.weights.sum())
            ax.axhline(base, ls="--", color="grey", lw=1, label=f"chance ({base:.3f})")
        if rates:
            ax.plot(rates[1], rates[0], "o", color=MARK, ms=8, label=chosen)
        ax.set(xlabel="recall", ylabel="precision", title="Precision and recall")
        caption = (
            f"Precision against recall of the out-of-fold probabilities{dot}. On a rare class "
            "this curve says more than ROC does."
        )
    else:
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
        if rates:
            ax.plot(rates[2], rates[1], "o", color=MARK, ms=8, label=chosen)
        ax.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC")
        caption = f"ROC curve of the out-of-fold probabilities{dot}."
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="lower left" if kind == "pr" else "lower right")
    ax.grid(alpha=0.3)
    return _figure_html(fig, ax.get_title(), caption)


def _score_scale(w: Winner) -> str:
    """The curves are drawn on the model's own scores; the decision the user reads is on the
    calibrated probabilities' scale: both numbers, so neither looks like the other's error."""
    positive = w.classes[w.decision.pos_label]
    if w.probability_threshold is None:
        return "Thresholds are on the model's own scores, before predict_proba's calibration."
    return html.escape(
        f"Thresholds are on the model's own scores; the chosen "
        f"{float(w.decision.threshold or 0.0):.3g} is P({positive}) >= "
        f"{w.probability_threshold:.3g} on predict_proba's calibrated scale.",
        quote=False,
    )


@_guarded("threshold")
def threshold_figure(w: Winner, oof: OutOfFold) -> str:
    pos, chosen = w.decision.pos_label, float(w.decision.threshold or 0.0)
    tuned = tuning_metric(w.metric)
    thresholds, values = threshold_curve(
        oof.y, oof.proba, w.metric, sample_weight=oof.weights, pos_label=pos, n_points=401
    )
    at_chosen = tuned.score_labels(
        oof.y, w.decision.apply(oof.proba), sample_weight=oof.weights, pos_label=pos, n_classes=2
    )
    fig, ax = _figure()
    ax.plot(thresholds, values, color=ACCENT)
    ax.axvline(chosen, color=MARK, ls="--", lw=1)
    ax.plot(
        chosen,
        at_chosen,
        "o",
        color=MARK,
        ms=8,
        label=f"chosen {chosen:.3g}: {tuned.name} {at_chosen:.3f}",
    )
    ax.set(
        xlabel=f"threshold on the model's score for {w.classes[pos]}",
        ylabel=tuned.name,
        title=f"{tuned.name} against the threshold",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if w.metric.name.startswith("recall@precision>="):
        # Its best recall is the lowest threshold that still meets the floor: on its edge.
        where = (
            "the chosen one gives the most recall that still meets the precision floor on "
            "these rows, so it sits next to where precision drops below the floor: new data "
            "can fall below it (ask for a higher floor than you need to keep a margin). "
        )
    else:
        where = (
            "the chosen one sits in the middle of the best plateau, where small shifts in the "
            "data matter least. "
        )
    caption = (
        "The metric on all out-of-fold predictions at each threshold; " + where + _score_scale(w)
    )
    if tuned.name != w.metric.name:
        caption += (
            f" {w.metric.name} ranks probabilities and does not depend on the threshold, "
            f"so the threshold is tuned for {tuned.name}."
        )
    return _figure_html(fig, ax.get_title(), caption)


@_guarded("calibration")
def calibration_figure(w: Winner, oof: OutOfFold) -> str:
    """The reliability curve above, how the probabilities spread below, on their own axes."""
    fig = Figure(figsize=(5.4, 4.6), layout="constrained")
    ax, spread = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    curves = _one_vs_rest(w, oof)
    for label, is_class, score in curves:
        ax.plot(*_reliability(is_class, score, oof.weights), "o-", ms=4, label=f"class {label}")
        spread.hist(score, bins=25, range=(0, 1), weights=oof.weights, alpha=0.5)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    ax.set(ylim=(0, 1.02), ylabel="observed frequency", title="Calibration")
    ax.legend(fontsize=8, loc="upper left", title="out-of-fold", title_fontsize=8)
    ax.grid(alpha=0.3)
    spread.set(xlim=(0, 1), xlabel="predicted probability", ylabel="rows")
    spread.grid(alpha=0.3)
    caption = (
        "Above: observed frequency of the class against the mean predicted probability, in "
        "ten equal-count bins. Below: how many rows get each probability. Resampling and class "
        "weights shift a model's probabilities on purpose and the tuned decision makes up for "
        "it; these are the model's own scores, which the exported pipeline's predict_proba "
        "calibrates (two classes)."
    )
    return _figure_html(fig, "calibration", caption)


def _reliability(
    is_class: np.ndarray, score: np.ndarray, weights: np.ndarray, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean probability and observed frequency per equal-count bin."""
    edges = np.unique(np.quantile(score, np.linspace(0, 1, n_bins + 1)))
    if len(edges) < 2:
        edges = np.array([score.min(), score.min() + 1e-12])
    size = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, size - 1)
    total = np.bincount(bins, weights=weights, minlength=size)
    keep = total > 0
    predicted = np.bincount(bins, weights=weights * score, minlength=size)[keep] / total[keep]
    observed = np.bincount(bins, weights=weights * is_class, minlength=size)[keep] / total[keep]
    return predicted, observed


# -------------------------------------------------------------------------- figure helpers


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def _figure(width: float = 5.4, height: float = 4.0) -> tuple[Figure, Any]:
    """A figure drawn by Agg through its own canvas, so pyplot's global backend is untouched."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _figure_html(fig: Figure, alt: str, caption: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"
        f"<figcaption class='caption'>{caption}</figcaption></figure>"
    )
