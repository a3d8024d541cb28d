"""The HTML report: one self-contained file (images embedded, no network) to show a colleague.

It is built from a :class:`~autoimb.result.SearchResult`, or later from an Optuna study and/or
a saved model's card. A study alone gives the leaderboard, the history and what mattered; the
winner's curves, metric table and confusion matrix need its out-of-fold predictions, which a
study does not store, so given the training data the winner's cross-validation is run again
(one trial's cost) with the study's folds and seed.
"""

from __future__ import annotations

import datetime
import html
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from autoimb import __version__, config
from autoimb._checks import check_path, check_rows_paired
from autoimb.atomic import write_atomic
from autoimb.engine.copies import COPIES_CAVEAT
from autoimb.engine.splits import Folds, recorded_folds
from autoimb.exceptions import AutoImbError
from autoimb.leaderboard import (
    STAGE_COLUMNS,
    finished_trials,
    leaderboard,
    repeats_apart,
    served_trials,
    states_text,
    trials_text,
)
from autoimb.metrics.notes import averaged_name
from autoimb.metrics.registry import Metric, confusion_matrix, get_metric, report_metrics
from autoimb.report import GENERATOR_TAG
from autoimb.report.features import features_html
from autoimb.report.guidance import how_sure_html, in_sample_html, what_next_html
from autoimb.report.plots import (
    calibration_figure,
    choices_figure,
    history_figure,
    importance_figure,
    ranking_figure,
    threshold_figure,
)
from autoimb.report.setup import data_section, recorded_setup, setup_text
from autoimb.report.style import CSS
from autoimb.report.tables import (
    confusion_html,
    kv_table,
    num,
    short,
    table,
)
from autoimb.report.winner import OutOfFold, Winner, study_attrs
from autoimb.strategy import Ensemble, parse_strategy, strategy_label, strategy_stages

__all__ = ["OutOfFold", "Winner", "write_report", "write_study_report"]

TOP_TRIALS = 15
_STAGES = ("model", *[s for s in STAGE_COLUMNS if s != "model"])  # the model first
_NEEDS_DATA = (
    "The winner's curves, metric table and confusion matrix need its out-of-fold predictions, "
    "which a study does not store. Pass the training data (<code>autoimb report ... --data "
    "DATA --target COL</code>) to run the winner's cross-validation again, or use "
    "<code>autoimb search --report</code> / <code>result.report_html()</code>."
)


# ----------------------------------------------------------------------------- entry points


def write_report(result: Any, path: str | Path) -> Path:
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
    groups: Any = None,
    force: bool = False,
) -> Path:
    """Write a report from a study and/or a saved model's card, without a ``SearchResult``.

    The winner is the model (its card) when given, else the study's best trial. With ``X, y``
    (the training data, and ``groups`` where the search split by group) its cross-validation
    runs again with the study's kind of folds and seed, for the curves and the confusion
    matrix; without them those sections say what they need. ``force`` reports on a weighted
    search's rows without their weights, knowingly.
    """
    if study is None and model_card is None:
        raise AutoImbError("a report needs a study, a model, or both.")
    notes = []
    winner = Winner.from_card(model_card) if model_card is not None else Winner.from_study(study)
    if model_card is not None and study is not None:  # its trial numbers are its study's
        winner.served = served_trials(model_card, study.study_name)
    if study is None:
        notes.append(
            "No study was found, so the leaderboard, history and parameter importances are absent."
        )
    elif model_card is None:
        notes.append(
            "Without the model, the winner shown is the study's top-scoring trial; the search "
            "may have served another (a steadier trial, a race's winner or an ensemble): report "
            "the model file for what it serves."
        )
    elif model_card is not None and _went_on(study, model_card):
        notes.append(
            "The study went on after this model was saved: its leaderboard and history "
            "include trials this model never saw."
        )
    if X is not None and y is not None:
        check_rows_paired(X, groups=groups)
        attrs = {**(model_card or {}), **(study_attrs(study) if study is not None else {})}
        weighted = (attrs.get("fingerprint") or {}).get("weights") is not None
        if weighted and sample_weight is None and not force:
            raise AutoImbError(
                "the search weighted its rows: pass the same sample_weight= for the report's "
                "curves and confusion matrix, which would otherwise count every row alike "
                "(force=True reports so knowingly)."
            )
        winner.reevaluate(
            X,
            y,
            cv=_recorded_folds(attrs, groups, len(X)),
            seed=int(attrs.get("seed", 0)),
            sample_weight=sample_weight,
        )
        notes.append("The winner's out-of-fold predictions were computed again for this report.")
    return _write(path, winner, study, notes)


def _recorded_folds(attrs: Mapping[str, Any], groups: Any, n_rows: int) -> Folds:
    """The search's kind of folds (stratified where a model from before they were kept says
    nothing): a report on leaky folds would promise what group or time folds did not."""
    if attrs.get("split", "stratified") not in config.FOLD_KINDS:
        raise AutoImbError(
            f"the search ran on {attrs.get('folds', 'a splitter of its own')}, which a report "
            "cannot rebuild; write the report from Python (SearchResult.report_html)."
        )
    return recorded_folds({"cv": 5, **attrs}, groups, n_rows)


def _went_on(study: optuna.Study, card: Mapping[str, Any]) -> bool:
    """Whether the study has finished trials the model never saw; a model card from before
    the count was kept says whether its strategy is still the study's best."""
    if "finished_trials" in card:
        return finished_trials(study) > int(card["finished_trials"])
    if not any(t.state == TrialState.COMPLETE for t in study.trials):
        return False
    best, strategy = study.best_trial, parse_strategy(card.get("config", {}))
    if isinstance(strategy, Ensemble):
        return best.number not in strategy.members
    return strategy_stages(best.user_attrs.get("config", {})) != strategy.to_config()


def _write(path: str | Path, winner: Winner, study: optuna.Study | None, notes: list[str]) -> Path:
    path = check_path("path", path)
    if path.is_dir():
        raise AutoImbError(
            f"{path} is a folder; give the report's file name in it, such as "
            f"{path / 'report.html'}."
        )
    if path.suffix.lower() not in (".html", ".htm"):
        raise AutoImbError(f"{path}: a report is an HTML page; name it so, as report.html.")
    # A pair of "$" in a column name or class label is text, not TeX math to typeset.
    with warnings.catch_warnings(), matplotlib.rc_context({"text.parse_math": False}):
        warnings.simplefilter("ignore")  # plotting and importance warnings are not the reader's
        page = _page(winner, study, notes)
    return write_atomic(path, lambda temporary: temporary.write_text(page, encoding="utf-8"))


# --------------------------------------------------------------------------------- the page


def _page(winner: Winner, study: optuna.Study | None, notes: list[str]) -> str:
    board = pd.DataFrame()
    if study is not None:
        board = repeats_apart(leaderboard(study, winner.served), study)
    done = board[board["state"] == "COMPLETE"] if not board.empty else board
    maximize = study is None or study.direction == optuna.study.StudyDirection.MAXIMIZE
    metric = winner.metric.name
    setup = recorded_setup(winner.setup, study)
    sections = [
        ("winner", "Winner", _winner_section(winner, setup_text(setup))),
        ("curves", "Curves", _curves_section(winner)),
        (
            "features",
            "Which columns matter",
            features_html(winner.importance, winner.notes, winner.importance_why),
        ),
        (
            "leaderboard",
            "Leaderboard",
            _leaderboard_section(board, done, winner.probability_threshold is not None),
        ),
        ("history", "Optimisation history", _history_section(board, done, metric, maximize)),
        ("choices", "Which choices mattered", _choices_section(study, done, metric, maximize)),
        ("next", "What next", what_next_html(study, winner)),
        ("data", "Data", data_section(winner, study, setup.get("split"))),
    ]
    title = f"autoimb report: {metric}"
    subtitle = f"autoimb {__version__} · {datetime.datetime.now():%Y-%m-%d %H:%M}"
    if study is not None:
        ran = finished_trials(study)
        subtitle += f" · study {html.escape(study.study_name)} ({trials_text(ran)} ran)"
    nav = " ".join(f'<a href="#{key}">{name}</a>' for key, name, _ in sections)
    body = "".join(f'<section id="{k}"><h2>{n}</h2>{c}</section>' for k, n, c in sections)
    note = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"{GENERATOR_TAG}"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{html.escape(title)}</h1><p class='sub'>{subtitle}</p>{note}"
        f"<nav>{nav}</nav></header>{body}</main></body></html>\n"
    )


def _winner_section(w: Winner, searched: str | None) -> str:
    rows = [
        ("strategy", html.escape(strategy_label(w.config))),
        (
            html.escape(w.metric.name),
            f"{num(w.score)}{w.metric.unit} ({html.escape(w.score_basis)})",
        ),
    ]
    if w.scored_on_copies:  # a caveat the last section alone would leave unread
        rows.append(
            (
                "caution",
                f"<b>{COPIES_CAVEAT}</b>: copies of a row were validated by models trained on "
                "them, so this score and its interval are too high; see the note on copied "
                "rows under <a href='#next'>What next</a>.",
            )
        )
    if w.interval is not None:
        low, high = w.interval
        held = w.interval_held()  # a precision floor's interval is of one side of it
        span = f"{num(low)} – {num(high)} for {w.interval_set()}"
        rows.append(
            (
                f"on new data ({config.INTERVAL_LEVEL:.0%} interval)",
                f"{html.escape(held[0])}: {held[1]} {span}" if held else span,
            )
        )
    if w.search_score is not None and w.search_score != w.score:
        rows.append(("score that chose it", num(w.search_score)))
    if len(w.classes) == 2:
        positive = w.classes[w.decision.pos_label] if w.decision.pos_label < 2 else "?"
        rows.append(("positive class", html.escape(str(positive))))
    rows.append(("decision", html.escape(w.decision.describe(w.classes, w.probability_threshold))))
    if w.trial is not None:
        rows.append(("trial", str(w.trial)))
    if searched:
        rows.append(("searched with", html.escape(searched)))
    parts = [kv_table(rows), how_sure_html(w), "<h3>Strategy</h3>", _strategy_table(w.config)]
    if w.oof is None:
        return "".join(parts) + f'<p class="note">{_NEEDS_DATA}</p>'
    oof, pos = w.oof, w.decision.pos_label
    predicted = w.decision.apply(oof.proba)
    metrics = report_metrics(
        oof.y, oof.proba, predicted, sample_weight=oof.weights, pos_label=pos, searched=w.metric
    )
    matrix = confusion_matrix(oof.y, predicted, len(w.classes), sample_weight=oof.weights)
    weighted = oof.weights is not None and not np.allclose(oof.weights, 1.0)
    parts += [
        "<div class='row'><div><h3>Every metric, out of fold (optimistic)</h3>",
        kv_table(
            [
                (html.escape(averaged_name(_metric_of(k, w.metric), len(w.classes))), num(v))
                for k, v in metrics.items()
            ]
        ),
        "</div><div><h3>Confusion matrix</h3>",
        confusion_html(matrix, w.classes),
        "<p class='caption'>Rows weighted by sample_weight, in units of the mean weight: "
        "counts of weight, not of rows.</p>"
        if weighted
        else "",
        "</div></div>",
        in_sample_html(w),
    ]
    return "".join(parts)


def _metric_of(name: str, searched: Metric) -> Metric:
    """The searched metric (a cost, or one of the user's own) or a registered one."""
    return searched if name == searched.name else get_metric(name)


def _strategy_table(config: Mapping[str, Any]) -> str:
    strategy = parse_strategy(config)
    if isinstance(strategy, Ensemble):
        return "".join(
            f"<h4>trial {n}, weight {strategy.weights.get(n, 0.0):.2f}</h4>"
            + _strategy_table(member.to_config())
            for n, member in strategy.members.items()
        )
    rows = []
    for stage in sorted(config, key=lambda s: _STAGES.index(s) if s in _STAGES else len(_STAGES)):
        params = ", ".join(f"{k}={short(v)}" for k, v in config[stage].items() if k != "name")
        rows.append(
            (
                html.escape(stage),
                f"<b>{html.escape(str(config[stage].get('name')))}</b> "
                f"<span class='muted'>{html.escape(params)}</span>",
            )
        )
    return kv_table(rows)


def _curves_section(w: Winner) -> str:
    if w.oof is None:
        return (
            "<p class='caption'>No curves: they are drawn from the out-of-fold predictions, "
            "which need the training data (see the Winner section).</p>"
        )
    figures = [ranking_figure(w, w.oof, "pr"), ranking_figure(w, w.oof, "roc")]
    if w.decision.threshold is not None:
        figures.append(threshold_figure(w, w.oof))
    figures.append(calibration_figure(w, w.oof))
    out = "<div class='grid'>" + "".join(figures) + "</div>"
    if w.oof.proba.shape[1] > 2:
        out += (
            "<p class='caption'>With more than two classes the decision is a factor per class "
            "(the argmax of the scaled probabilities) rather than one threshold, so there is no "
            "metric-against-threshold curve; the factors are in the decision above. Each curve "
            "is one class against the rest.</p>"
        )
    return out


def _leaderboard_section(board: pd.DataFrame, done: pd.DataFrame, calibrated: bool) -> str:
    """``calibrated``: the Winner section states the served threshold on predict_proba's
    scale (known from a model, not from a study alone)."""
    if board.empty:
        return "<p class='note'>No study, so no leaderboard.</p>"
    known = board["served"].notna().any()  # the top row is not always the model served
    rows = [
        [
            str(rank),
            str(r.trial),
            *(["<b>served</b>" if r.served else ""] if known else []),
            num(r.score),
            html.escape(strategy_label({s: {"name": getattr(r, s)} for s in _STAGES})),
            f"<span class='muted'>{html.escape(_params_text(r.params))}</span>",
            num(r.threshold, 3),
            num(r.seconds, 1),
        ]
        for rank, r in enumerate(done.head(TOP_TRIALS).itertuples(), start=1)
    ]
    head = [
        "rank",
        "trial",
        *(["served"] if known else []),
        "score",
        "strategy",
        "parameters",
        "threshold (model score)",
        "seconds",
    ]
    out = f"<p>{trials_text(len(board))}: {states_text(board['state'])}.</p>" + table(head, rows)
    if done["threshold"].notna().any() and calibrated:
        out += (
            "<p class='caption'>Each trial's threshold is on its model's own score, before "
            "calibration; the Winner section writes the served decision on predict_proba's "
            "calibrated scale, so the two numbers differ for the same cut.</p>"
        )
    elif done["threshold"].notna().any():
        out += (
            "<p class='caption'>Each trial's threshold is on its model's own score, before "
            "calibration, as is the decision in the Winner section: a study does not keep "
            "the threshold on predict_proba's calibrated scale (the model file does).</p>"
        )
    errors = board.loc[board["state"] == "FAIL", "error"].fillna("no error recorded")
    if len(errors):
        causes = errors.value_counts().head(5)
        out += "<h3>Why trials failed</h3>" + table(
            ["trials", "error"], [[str(n), html.escape(str(e))] for e, n in causes.items()]
        )
    return out


def _params_text(params: Any) -> str:
    if not isinstance(params, Mapping):
        return ""
    return "; ".join(
        f"{stage}: " + ", ".join(f"{k}={short(v)}" for k, v in values.items())
        for stage, values in params.items()
        if values
    )


def _history_section(board: pd.DataFrame, done: pd.DataFrame, metric: str, maximize: bool) -> str:
    if done.empty:
        return "<p class='note'>No finished trials in a study, so no history.</p>"
    return history_figure(board, done, metric, maximize)


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
        same = "Every finished trial made the same choices."
        return f"<p class='note'>{same}{fixed}</p>" + importances
    return choices_figure(done, stages, metric, maximize, fixed) + importances


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
    return importance_figure(importances)
