"""The HTML report: one self-contained file (images embedded, no network) to show a colleague.

It is built from a :class:`~autoimb.result.SearchResult`, or later from an Optuna study and/or
a saved model's card. A study alone gives the leaderboard, the history and what mattered; the
winner's curves, metric table and confusion matrix need its out-of-fold predictions, which a
study does not store, so given the training data the winner's cross-validation is run again
(one trial's cost) with the study's folds and seed.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from optuna.trial import TrialState

from autoimb import __version__
from autoimb.exceptions import AutoImbError
from autoimb.metrics import Metric, confusion_matrix, get_metric, report_metrics
from autoimb.progress import strategy_label
from autoimb.result import STAGE_COLUMNS, leaderboard
from autoimb.study import STUDY_ATTR, model_threads
from autoimb.threshold import Decision, threshold_curve, tuning_metric

if TYPE_CHECKING:
    from autoimb.result import SearchResult

__all__ = ["OutOfFold", "Winner", "write_report", "write_study_report"]

TOP_TRIALS = 15
_STAGES = ("model", *[s for s in STAGE_COLUMNS if s != "model"])  # the model first
_ACCENT, _MARK = "#2563eb", "crimson"
_NEEDS_DATA = (
    "The winner's curves, metric table and confusion matrix need its out-of-fold predictions, "
    "which a study does not store. Pass the training data (<code>autoimb report ... --data "
    "DATA --target COL</code>) to run the winner's cross-validation again, or use "
    "<code>autoimb search --report</code> / <code>result.report_html()</code>."
)


@dataclass
class OutOfFold:
    """The winner's out-of-fold probabilities with the rows' label codes and weights."""

    y: np.ndarray
    proba: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, proba: np.ndarray, weights: np.ndarray | None) -> OutOfFold:
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
        return cls(np.asarray(y), np.asarray(proba, dtype=float), w)


@dataclass
class Winner:
    """What the report says about the chosen strategy, whatever it was rebuilt from."""

    metric: Metric
    score: float | None
    config: dict[str, Any]
    decision: Decision
    classes: list[str]
    trial: int | None = None
    oof: OutOfFold | None = None
    summary: dict[str, Any] | None = None

    @classmethod
    def from_result(cls, result: SearchResult) -> Winner:
        ev = result.evidence
        return cls(
            result.metric,
            result.best_score,
            _stages(result.best_config),
            result.decision,
            [str(c) for c in result.classes_],
            trial=result.study.best_trial.number,
            oof=OutOfFold.of(ev.y, ev.oof, ev.sample_weight),
            summary=ev.summary,
        )

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Winner:
        return cls(
            get_metric(card["metric"]),
            card.get("cv_score"),
            _stages(card.get("config", {})),
            Decision.from_dict(card.get("decision") or {}),
            [str(c) for c in card.get("classes", [])],
            summary=card.get("data"),
        )

    @classmethod
    def from_study(cls, study: optuna.Study) -> Winner:
        if not any(t.state == TrialState.COMPLETE for t in study.trials):
            raise AutoImbError(f"study {study.study_name!r} has no finished trial to report on.")
        attrs = _study_attrs(study)
        best = study.best_trial
        return cls(
            get_metric(attrs["metric"]),
            best.value,
            _stages(best.user_attrs.get("config", {})),
            Decision.from_dict(best.user_attrs.get("decision") or {}),
            [str(c) for c in attrs.get("classes", [])],
            trial=best.number,
        )

    def reevaluate(
        self, X: Any, y: Any, *, cv: int = 5, seed: int = 0, sample_weight: Any = None
    ) -> None:
        """Cross-validate the winner's strategy again on its training data, for its curves."""
        from autoimb.data import validate
        from autoimb.evaluate import CrossValidation, evaluate

        data = validate(X, y, sample_weight=sample_weight)
        classes = [str(c) for c in data.classes]
        if self.classes and classes != self.classes:
            raise AutoImbError(
                f"the data's classes {classes} differ from the winner's {self.classes}; pass "
                "the data (and target column) the search ran on."
            )
        outcome = evaluate(
            self.config,
            CrossValidation(data, cv, random_state=seed),
            self.metric,
            random_state=seed,
            n_threads=model_threads(1, len(data.y)),
        )
        self.oof = OutOfFold.of(data.y, outcome.oof, data.sample_weight)
        self.classes, self.summary = classes, data.summary()
        if self.score is None:
            self.score = outcome.value


def _stages(config: Mapping[str, Any]) -> dict[str, Any]:
    """The strategy without the decision fields a model card merges into it."""
    return {k: dict(v) for k, v in config.items() if isinstance(v, Mapping)}


def _study_attrs(study: optuna.Study) -> dict[str, Any]:
    attrs = study.user_attrs.get(STUDY_ATTR)
    if attrs is None:
        raise AutoImbError(
            f"study {study.study_name!r} was not made by autoimb (it records no search "
            "settings); pass a study that an autoimb search wrote."
        )
    return dict(attrs)


# ----------------------------------------------------------------------------- entry points


def write_report(result: SearchResult, path: str | Path) -> Path:
    """Write the report of a finished search, every section included, to ``path``."""
    return _write(path, Winner.from_result(result), result.study, [])


def write_study_report(
    path: str | Path,
    *,
    study: optuna.Study | None = None,
    model_card: Mapping[str, Any] | None = None,
    X: Any = None,
    y: Any = None,
    sample_weight: Any = None,
) -> Path:
    """Write a report from a study and/or a saved model's card, without a ``SearchResult``.

    The winner is the model (its card) when given, else the study's best trial. With ``X, y``
    (the training data) its cross-validation runs again with the study's folds and seed, for
    the curves and the confusion matrix; without them those sections say what they need.
    """
    if study is None and model_card is None:
        raise AutoImbError("a report needs a study, a model, or both.")
    notes = []
    winner = Winner.from_card(model_card) if model_card is not None else Winner.from_study(study)
    if study is None:
        notes.append("No study was found, so the leaderboard, history and importances are absent.")
    elif model_card is not None and any(t.state == TrialState.COMPLETE for t in study.trials):
        best = study.best_trial
        if _stages(best.user_attrs.get("config", {})) != winner.config:
            notes.append(
                f"The study's best trial ({best.number}, score {best.value:.4f}) is not "
                "this model's strategy: the study went on after the model was saved."
            )
    if X is not None and y is not None:
        attrs = _study_attrs(study) if study is not None else {}
        winner.reevaluate(
            X,
            y,
            cv=int(attrs.get("cv", 5)),
            seed=int(attrs.get("seed", 0)),
            sample_weight=sample_weight,
        )
        notes.append("The winner's out-of-fold predictions were computed again for this report.")
    return _write(path, winner, study, notes)


def _write(path: str | Path, winner: Winner, study: optuna.Study | None, notes: list[str]) -> Path:
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotting and importance warnings are not the reader's
        page = _page(winner, study, notes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------- the page


def _page(winner: Winner, study: optuna.Study | None, notes: list[str]) -> str:
    board = leaderboard(study) if study is not None else pd.DataFrame()
    done = board[board["state"] == "COMPLETE"] if not board.empty else board
    maximize = study is None or study.direction == optuna.study.StudyDirection.MAXIMIZE
    metric = winner.metric.name
    sections = [
        ("winner", "Winner", _winner_section(winner)),
        ("curves", "Curves", _curves_section(winner)),
        ("leaderboard", "Leaderboard", _leaderboard_section(board, done)),
        ("history", "Optimisation history", _history_section(board, done, metric, maximize)),
        ("choices", "Which choices mattered", _choices_section(study, done, metric, maximize)),
        ("data", "Data", _data_section(winner, study)),
    ]
    title = f"autoimb report: {metric}"
    subtitle = f"autoimb {__version__} · {datetime.datetime.now():%Y-%m-%d %H:%M}"
    if study is not None:
        subtitle += f" · study {html.escape(study.study_name)} ({len(study.trials)} trials)"
    nav = " ".join(f'<a href="#{key}">{name}</a>' for key, name, _ in sections)
    body = "".join(f'<section id="{k}"><h2>{n}</h2>{c}</section>' for k, n, c in sections)
    note = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<header><h1>{html.escape(title)}</h1><p class='sub'>{subtitle}</p>{note}"
        f"<nav>{nav}</nav></header>{body}</main></body></html>\n"
    )


def _winner_section(w: Winner) -> str:
    rows = [
        ("strategy", html.escape(strategy_label(w.config))),
        (f"{html.escape(w.metric.name)} (cross-validated)", _num(w.score)),
        ("decision", html.escape(_decision_text(w))),
    ]
    if w.trial is not None:
        rows.append(("trial", str(w.trial)))
    parts = [_kv_table(rows), "<h3>Strategy</h3>", _strategy_table(w.config)]
    if w.oof is None:
        return "".join(parts) + f'<p class="note">{_NEEDS_DATA}</p>'
    oof, pos = w.oof, w.decision.pos_label
    predicted = w.decision.apply(oof.proba)
    metrics = report_metrics(oof.y, oof.proba, predicted, sample_weight=oof.weights, pos_label=pos)
    matrix = confusion_matrix(oof.y, predicted, len(w.classes), sample_weight=oof.weights)
    parts += [
        "<div class='row'><div><h3>Every metric, out of fold</h3>",
        _kv_table([(html.escape(k), _num(v)) for k, v in metrics.items()]),
        "</div><div><h3>Confusion matrix</h3>",
        _confusion_html(matrix, w.classes),
        "</div></div>",
        "<p class='caption'>Out-of-fold predictions with the chosen decision applied. The "
        "headline score is cross-fitted (each fold's threshold chosen on the other folds), so "
        "it can be a little below the in-sample value of the same metric here.</p>",
    ]
    return "".join(parts)


def _decision_text(w: Winner) -> str:
    d = w.decision
    positive = w.classes[d.pos_label] if d.pos_label < len(w.classes) else str(d.pos_label)
    if d.threshold is not None:
        return f"predict {positive} when P({positive}) ≥ {d.threshold:.4g}"
    if d.class_scale is not None:
        scales = ", ".join(f"{c}: {s:.3g}" for c, s in zip(w.classes, d.class_scale, strict=False))
        return f"argmax of the probabilities scaled per class ({scales})"
    return "argmax of the probabilities"


def _strategy_table(config: Mapping[str, Any]) -> str:
    rows = []
    for stage in sorted(config, key=lambda s: _STAGES.index(s) if s in _STAGES else len(_STAGES)):
        params = ", ".join(f"{k}={_short(v)}" for k, v in config[stage].items() if k != "name")
        rows.append(
            (
                html.escape(stage),
                f"<b>{html.escape(str(config[stage].get('name')))}</b> "
                f"<span class='muted'>{html.escape(params)}</span>",
            )
        )
    return _kv_table(rows)


def _curves_section(w: Winner) -> str:
    if w.oof is None:
        return f'<p class="note">{_NEEDS_DATA}</p>'
    figures = [_ranking_figure(w, w.oof, "pr"), _ranking_figure(w, w.oof, "roc")]
    if w.decision.threshold is not None:
        figures.append(_threshold_figure(w, w.oof))
    figures.append(_calibration_figure(w, w.oof))
    out = "<div class='grid'>" + "".join(figures) + "</div>"
    if w.oof.proba.shape[1] > 2:
        out += (
            "<p class='caption'>With more than two classes the decision is a factor per class "
            "(the argmax of the scaled probabilities) rather than one threshold, so there is no "
            "metric-against-threshold curve; the factors are in the decision above. Each curve "
            "is one class against the rest.</p>"
        )
    return out


def _leaderboard_section(board: pd.DataFrame, done: pd.DataFrame) -> str:
    if board.empty:
        return "<p class='note'>No study, so no leaderboard.</p>"
    counts = ", ".join(f"{n} {s.lower()}" for s, n in board["state"].value_counts().items())
    rows = [
        [
            str(rank),
            str(r.trial),
            _num(r.score),
            html.escape(strategy_label({s: {"name": getattr(r, s)} for s in _STAGES})),
            f"<span class='muted'>{html.escape(_params_text(r.params))}</span>",
            _num(r.threshold, 3),
            _num(r.seconds, 1),
        ]
        for rank, r in enumerate(done.head(TOP_TRIALS).itertuples(), start=1)
    ]
    head = ["rank", "trial", "score", "strategy", "parameters", "threshold", "seconds"]
    out = f"<p>{len(board)} trials: {counts}.</p>" + _table(head, rows)
    errors = board.loc[board["state"] == "FAIL", "error"].fillna("no error recorded")
    if len(errors):
        causes = errors.value_counts().head(5)
        out += "<h3>Why trials failed</h3>" + _table(
            ["trials", "error"], [[str(n), html.escape(str(e))] for e, n in causes.items()]
        )
    return out


def _params_text(params: Any) -> str:
    if not isinstance(params, Mapping):
        return ""
    return "; ".join(
        f"{stage}: " + ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        for stage, values in params.items()
        if values
    )


def _history_section(board: pd.DataFrame, done: pd.DataFrame, metric: str, maximize: bool) -> str:
    if done.empty:
        return "<p class='note'>No finished trials in a study, so no history.</p>"
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
        f"Score of each finished trial (coloured by model) and the best so far. The other "
        f"{len(board) - len(done)} trials were pruned, failed or are still running.",
    )


def _choices_section(
    study: optuna.Study | None, done: pd.DataFrame, metric: str, maximize: bool
) -> str:
    if study is None or done.empty:
        return "<p class='note'>No finished trials in a study, so nothing to compare.</p>"
    tried = {s: sorted(done[s].dropna().astype(str).unique()) for s in _STAGES if s in done}
    stages = [s for s, names in tried.items() if len(names) > 1]
    fixed = "; ".join(f"{s}: always {names[0]}" for s, names in tried.items() if len(names) == 1)
    fixed = f" One choice only, so not drawn: {html.escape(fixed)}." if fixed else ""
    importances = "<h3>Parameter importances</h3>" + _importance_html(study, len(done))
    if not stages:
        return f"<p class='note'>Every trial made the same choices.{fixed}</p>" + importances
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
            medianprops={"color": _MARK},
        )
        for i, v in enumerate(values):
            ax.scatter(i + jitter.uniform(-0.15, 0.15, len(v)), v, s=12, alpha=0.6, color=_ACCENT)
        labels = [f"{n} ({len(v)})" for n, v in zip(names, values, strict=True)]
        ax.set_xticks(range(len(names)), labels=labels, rotation=25, ha="right", fontsize=8)
        ax.set(title=f"by {stage}", ylabel=metric)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(stages) :]:
        ax.set_visible(False)
    out = _figure_html(
        fig,
        "score by strategy choice",
        "Scores of the finished trials for each choice of each stage (best median first, number "
        "of trials in brackets). The sampler tries promising choices more often, so a box with "
        f"few trials behind it is weak evidence either way.{fixed}",
    )
    return out + importances


def _importance_html(study: optuna.Study, n_done: int) -> str:
    if n_done < 4:
        return "<p class='note'>Importances need at least 4 finished trials.</p>"
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except Exception as exc:  # a failed section must not cost the whole report
        return f"<p class='note'>Importances could not be computed: {html.escape(str(exc))}</p>"
    if not importances:
        return "<p class='note'>No parameter was searched in every finished trial.</p>"
    names = list(importances)[:12][::-1]
    fig, ax = _figure(7, 0.45 * len(names) + 1.2)
    ax.barh(names, [importances[n] for n in names], color=_ACCENT)
    ax.set(xlabel="importance (fANOVA)")
    ax.tick_params(axis="y", labelsize=8)
    return _figure_html(
        fig,
        "parameter importances",
        "How much of the score's variance each parameter explains (Optuna's fANOVA). Optuna "
        "uses the parameters every finished trial shares, mostly the stage choices; a "
        "component's own hyper-parameters appear only if every trial used that component.",
    )


def _data_section(w: Winner, study: optuna.Study | None) -> str:
    summary = w.summary
    if summary is None and study is not None:
        attrs = study.user_attrs.get(STUDY_ATTR, {})
        summary = {"rows": attrs.get("rows"), "classes": ", ".join(attrs.get("classes", []))}
    if not summary:
        return "<p class='note'>No data summary was recorded.</p>"
    rows = [
        (html.escape(str(k).replace("_", " ")), html.escape(_short(v)))
        for k, v in summary.items()
        if k != "class_counts"
    ]
    out = _kv_table(rows)
    counts = summary.get("class_counts") or {}
    if counts:
        total = sum(counts.values())
        out += "<h3>Class counts</h3>" + _table(
            ["class", "rows", "share"],
            [[html.escape(str(c)), f"{n:,}", f"{n / total:.1%}"] for c, n in counts.items()],
        )
    return out


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


def _ranking_figure(w: Winner, oof: OutOfFold, kind: str) -> str:
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
    chosen = f"chosen threshold {w.decision.threshold or 0.0:.3g}"
    if kind == "pr":
        if len(curves) == 1:
            base = float(oof.weights[curves[0][1]].sum() / oof.weights.sum())
            ax.axhline(base, ls="--", color="grey", lw=1, label=f"chance ({base:.3f})")
        if rates:
            ax.plot(rates[1], rates[0], "o", color=_MARK, ms=8, label=chosen)
        ax.set(xlabel="recall", ylabel="precision", title="Precision and recall")
        caption = (
            "Precision against recall of the out-of-fold probabilities; the dot is the "
            "chosen threshold. On a rare class this curve says more than ROC does."
        )
    else:
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
        if rates:
            ax.plot(rates[2], rates[1], "o", color=_MARK, ms=8, label=chosen)
        ax.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC")
        caption = "ROC curve of the out-of-fold probabilities; the dot is the chosen threshold."
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="lower left" if kind == "pr" else "lower right")
    ax.grid(alpha=0.3)
    return _figure_html(fig, ax.get_title(), caption)


def _threshold_figure(w: Winner, oof: OutOfFold) -> str:
    pos, chosen = w.decision.pos_label, float(w.decision.threshold or 0.0)
    tuned = tuning_metric(w.metric)
    thresholds, values = threshold_curve(
        oof.y, oof.proba, w.metric, sample_weight=oof.weights, pos_label=pos, n_points=401
    )
    at_chosen = tuned.score_labels(
        oof.y, w.decision.apply(oof.proba), sample_weight=oof.weights, pos_label=pos, n_classes=2
    )
    fig, ax = _figure()
    ax.plot(thresholds, values, color=_ACCENT)
    ax.axvline(chosen, color=_MARK, ls="--", lw=1)
    ax.plot(
        chosen,
        at_chosen,
        "o",
        color=_MARK,
        ms=8,
        label=f"chosen {chosen:.3g}: {tuned.name} {at_chosen:.3f}",
    )
    ax.set(
        xlabel=f"threshold on P({w.classes[pos]})",
        ylabel=tuned.name,
        title=f"{tuned.name} against the threshold",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    caption = (
        "The metric on all out-of-fold predictions at each threshold; the chosen one sits "
        "in the middle of the best plateau, where small shifts in the data matter least."
    )
    if tuned.name != w.metric.name:
        caption += (
            f" {w.metric.name} ranks probabilities and does not depend on the threshold, "
            f"so the threshold is tuned for {tuned.name}."
        )
    return _figure_html(fig, ax.get_title(), caption)


def _calibration_figure(w: Winner, oof: OutOfFold) -> str:
    fig, ax = _figure()
    curves = _one_vs_rest(w, oof)
    for label, is_class, score in curves:
        ax.plot(*_reliability(is_class, score, oof.weights), "o-", ms=4, label=label)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="calibrated")
    if len(curves) == 1:
        spread = ax.twinx()
        spread.hist(
            curves[0][2], bins=25, range=(0, 1), weights=oof.weights, color="grey", alpha=0.2
        )
        spread.set_yticks([])
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="mean predicted probability",
        ylabel="observed frequency",
        title="Calibration",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    caption = (
        "Observed frequency of the class against the mean predicted probability, in ten "
        "equal-count bins (grey: how the probabilities spread). Resampling and class "
        "weights shift probabilities on purpose and the tuned decision makes up for it, "
        "so read them as risks only where the curve follows the diagonal."
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


# ----------------------------------------------------------------------------- HTML helpers


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


def _num(value: Any, digits: int = 4) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):.{digits}f}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def _kv_table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _confusion_html(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """Cells shaded by their share of the true class, so the misses stand out."""
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1e-12)
    head = (
        "<tr><th>true \\ predicted</th>"
        + "".join(f"<th>{html.escape(c)}</th>" for c in labels)
        + "</tr>"
    )
    body = "".join(
        f"<tr><th>{html.escape(label)}</th>"
        + "".join(
            f"<td style='background: rgba(37, 99, 235, {0.06 + 0.6 * share[i, j]:.2f})'>"
            f"{matrix[i, j]:,.0f} <span class='muted'>({share[i, j]:.0%})</span></td>"
            for j in range(len(labels))
        )
        + "</tr>"
        for i, label in enumerate(labels)
    )
    return f"<table class='confusion'>{head}{body}</table>"


_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2933;
       background: #f5f7fa; margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
header h1 { margin: 0; font-size: 26px; }
.sub, .muted, .caption { color: #616e7c; }
.caption { font-size: 13px; }
nav a { margin-right: 14px; color: #2563eb; text-decoration: none; }
section { background: #fff; border-radius: 8px; padding: 16px 22px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
h2 { margin-top: 4px; border-bottom: 1px solid #e4e7eb; padding-bottom: 6px; }
h3 { font-size: 16px; margin: 16px 0 6px; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left;
         vertical-align: top; }
thead th { background: #f0f4f8; }
table.kv th { font-weight: 600; color: #3e4c59; }
table.confusion td { text-align: right; }
.row { display: flex; flex-wrap: wrap; gap: 32px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 12px; }
figure { margin: 0; }
img { max-width: 100%; height: auto; }
.note { background: #fffbea; border-left: 4px solid #f0b429; padding: 8px 12px; }
"""
