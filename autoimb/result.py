"""What a search returns: the fitted winner, the leaderboard and the evidence behind them."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from autoimb import config
from autoimb.data.labels import plain
from autoimb.leaderboard import finished_trials, leaderboard, served_trials
from autoimb.metrics.notes import floor_condition
from autoimb.metrics.registry import Metric, confusion_matrix, report_metrics
from autoimb.posthoc.interval import score_interval
from autoimb.posthoc.threshold import Decision, ThresholdedClassifier
from autoimb.strategy import strategy_label


@dataclass
class Evidence:
    """Out-of-fold predictions of the winner, on which its threshold and report are computed."""

    y: np.ndarray
    oof: np.ndarray
    fold_ids: np.ndarray
    sample_weight: np.ndarray | None
    pos_label: int
    summary: dict[str, Any]


@dataclass
class SearchResult:
    """The outcome of :func:`autoimb.search`.

    Attributes
    ----------
    best_pipeline
        The winner refitted on all data; ``predict`` applies the tuned threshold (the
        result's own ``predict`` and ``predict_proba`` are its). Where that
        refit would overrun the time budget (a first trial as slow as the budget), the mean
        of the winner's fold models instead, and a note says so.
    best_score
        The winner's cross-validated score (thresholds cross-fitted), measured so that the
        luck that chose it is left out where possible: on a fresh split of the folds for a
        single winner (a third split when the fresh one also settled a close call between
        trials), nested (weights chosen again without each fold) for an ensemble.
        ``score_basis`` says which; a fresh split removes the luck of the fold assignment, not
        that of the rows, which ``score_interval`` accounts for.
    search_score
        The score that chose the winner: its score on the search's own folds, or an ensemble's
        score on the predictions its weights were chosen on.
    score_basis
        How ``best_score`` was measured, in words (also in the model card and the report).
    score_interval
        ``(low, high)``: where the exported pipeline's score on a new set as large as the
        training data falls with probability 0.8; :meth:`score_interval_for` gives it for
        any size and level. For recall at a precision floor, it is of the side of the floor
        the score is on, and ``floor_miss_chance`` says how often precision falls below it.
    best_config
        The winning strategy, stage by stage, and its threshold (``threshold`` on the model's
        own scores, ``predict_scores``; ``probability_threshold`` on ``predict_proba``'s, where
        ``predict`` turns positive); for an ensemble, its members' strategies and weights.
    ensemble
        The ensemble selection over the best trials, whether or not it won (``chosen``;
        ``reason`` says what was chosen and why), or None when it was not tried.
    advice
        The learning curve over the minority-class size, when asked for (``advice=True``).
    feature_importance
        How much each input column matters to the winner, by permutation out of fold (see the
        property), or None when the budget left no time for it.
    notes
        What the search wants the user to know, in sentences: why this winner, how its score
        was measured, what failed or was left out, what to change.
    leaderboard
        Every trial of the study: state, score, whether the model serves it (``served``: the
        top row may not be the model), stages, parameters, threshold, fold scores, seconds,
        and the error or the reason a trial was stopped.
    metric, decision, classes_
        The metric searched for, the decision rule tuned for it (a threshold on two classes,
        class factors on more) and the class labels, in the order of ``predict_proba``.
    study
        The Optuna study the trials are stored in (resume or inspect it with Optuna's tools).
    """

    best_pipeline: ThresholdedClassifier
    best_score: float
    best_config: dict[str, Any]
    metric: Metric
    study: optuna.Study
    evidence: Evidence
    decision: Decision
    notes: list[str] = field(default_factory=list)
    ensemble: Any = None
    advice: Any = None
    search_score: float | None = None
    score_basis: str = ""

    @property
    def score_interval(self) -> tuple[float, float]:
        # The search computed it once for its model card; the CLI, report and repr read that.
        stored = getattr(self.best_pipeline, "model_card_", {}).get("score_interval")
        if stored:
            return float(stored[0]), float(stored[1])
        return self.score_interval_for(len(self.evidence.y))

    @property
    def floor_miss_chance(self) -> float | None:
        """For recall at a precision floor: how often precision on a new set as large as the
        training data falls below the floor; None for another metric."""
        return getattr(self.best_pipeline, "model_card_", {}).get("floor_miss_chance")

    def score_interval_for(
        self, n_rows: int, level: float = config.INTERVAL_LEVEL
    ) -> tuple[float, float]:
        """Where the score on ``n_rows`` new rows falls with probability ``level``.

        Both the uncertainty of ``best_score`` (it rests on the training rows) and the chance
        variation of a new set of that size are in it, by the bootstrap over the out-of-fold
        rows (:mod:`autoimb.posthoc.interval`); smaller sets give wider intervals.
        """
        ev = self.evidence
        return score_interval(
            ev.y,
            ev.oof,
            ev.fold_ids,
            self.metric,
            center=self.best_score,
            n_rows=n_rows,
            level=level,
            sample_weight=ev.sample_weight,
            pos_label=ev.pos_label,
        )

    @property
    def feature_importance(self) -> pd.DataFrame | None:
        """``feature``, ``importance``, ``std``: most important input column first.

        Each fold's model predicts its own validation rows with one column shuffled; the
        importance is the mean drop of a score that needs no threshold (``attrs["score"]``: the
        metric itself when it ranks probabilities, else average precision) over folds ×
        repeats, and ``std`` its spread. Near zero, or below it, means the winner does not
        need the column. None when there was no time for it (``notes`` says so).
        """
        entry = getattr(self.best_pipeline, "model_card_", {}).get("feature_importance")
        if not entry:
            return None
        table = pd.DataFrame(entry["features"], columns=["feature", "importance", "std"])
        table.attrs.update({k: v for k, v in entry.items() if k != "features"})
        return table

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first; ``served`` marks the trial(s) the model is."""
        return leaderboard(self.study, served_trials(self.model_card()))

    @property
    def strategy(self) -> str:
        """The winner in a few words: its stages' choices, or the trials it ensembles."""
        return strategy_label(self.best_config)

    @property
    def classes_(self) -> np.ndarray:
        return self.best_pipeline.classes_

    @property
    def applied_decision(self) -> Decision:
        """The rule ``best_pipeline`` applies now, which ``set_params(decision_threshold=...)``
        after the search changes: what a report says of the predictions follows it."""
        return self.best_pipeline.decision

    def report(self) -> dict[str, Any]:
        """Every registered metric for the winner on out-of-fold predictions, and its confusion.

        ``metrics`` and the confusion apply the served decision (threshold or class factors)
        and, for an ensemble, its weights, all tuned on these same rows: in-sample, so they
        read optimistic, the threshold metrics most. The number to quote is ``score``
        (``best_score``, measured as ``score_basis`` says, with the search's rule: the
        decision's ``set_after_search`` says when ``set_params`` has changed the rule since).
        The confusion counts rows, in integers; with ``sample_weight``, weight in units of
        its mean. Over more than two classes, f1, fbeta, precision, recall and the ranking
        metrics are macro means over the classes.
        """
        ev = self.evidence
        rule = self.applied_decision
        predicted = rule.apply(ev.oof)
        labels = list(self.classes_)  # the labels themselves: ``.loc[1, 1]`` for 0/1 targets
        matrix = confusion_matrix(ev.y, predicted, len(labels), sample_weight=ev.sample_weight)
        if ev.sample_weight is None:  # counts of rows, as scikit-learn gives them
            matrix = matrix.astype(np.int64)
        return {
            "metric": self.metric.name,
            "score": self.best_score,
            "decision": {
                **rule.labelled(self.classes_),
                # the threshold where predict_proba meets predict (``threshold``: the scores')
                "probability_threshold": self.best_pipeline.probability_threshold,
                "set_after_search": rule != self.decision,
            },
            "metrics": report_metrics(
                ev.y,
                ev.oof,
                predicted,
                sample_weight=ev.sample_weight,
                pos_label=ev.pos_label,
                searched=self.metric,
            ),
            "confusion_matrix": pd.DataFrame(
                matrix,
                index=pd.Index(labels, name="true"),
                columns=pd.Index(labels, name="predicted"),
            ),
            "data": ev.summary,
        }

    def model_card(self) -> dict[str, Any]:
        return dict(self.best_pipeline.model_card_)

    def predict(self, X: Any) -> np.ndarray:
        """``best_pipeline.predict``: labels at the tuned threshold, as a fitted AutoML is used."""
        return self.best_pipeline.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``best_pipeline.predict_proba``: the winner's probabilities, columns in ``classes_``."""
        return self.best_pipeline.predict_proba(X)

    def save(self, path: str | Path, *, overwrite: bool = True) -> Path:
        """Save the inference-only pipeline; the suffix chooses: ``.skops`` (safe to load), or
        ``.joblib`` / ``.pkl`` / ``.pickle`` (loaded only with ``trust=True``). A model that
        predicts from training rows holds them (the card's ``keeps_training_rows``), and warns."""
        from autoimb.export import save

        return save(self.best_pipeline, path, overwrite=overwrite)

    def report_html(self, path: str | Path) -> Path:
        from autoimb.report.html import write_report

        return write_report(self, path)

    def _interval_text(self) -> str:
        low, high = self.score_interval
        held = floor_condition(self.metric, self.best_score, self.floor_miss_chance)
        return f" [{low:.4f}, {high:.4f}]" + (f" {held[0]}" if held else "")

    def _copies_caveat(self) -> str:
        from autoimb.engine.copies import copies_caveat

        return copies_caveat(self.notes)

    def __repr__(self) -> str:
        from autoimb.engine.remeasure import SHORT

        positive = self.classes_[self.decision.pos_label] if len(self.classes_) == 2 else None
        ran = finished_trials(self.study)
        basis = "; ".join(  # how far to trust the score
            filter(None, (SHORT.get(self.score_basis, self.score_basis), self._copies_caveat()))
        )
        measured = f" ({basis})" if basis else ""
        return (
            f"SearchResult({self.metric.name}={self.best_score:.4f}{measured}"
            f"{self._interval_text()}, "
            f"{self.strategy!r}, positive={plain(positive)!r}, trials={ran})"
        )

    def _repr_html_(self) -> str:
        """What a notebook shows: the winner, how good and how sure, the top of the board."""
        rows = [
            ("strategy", self.strategy),
            (self.metric.name, f"{self.best_score:.4f}{self._interval_text()}"),
            ("measured", "; ".join(filter(None, (self.score_basis, self._copies_caveat())))),
            (
                "decision",
                self.applied_decision.describe(
                    self.classes_, self.best_pipeline.probability_threshold
                ),
            ),
        ]
        if len(self.classes_) == 2:
            rows.insert(2, ("positive class", str(self.classes_[self.decision.pos_label])))
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        board = self.leaderboard.head(5)
        columns = ("trial", "score", "served", "resampler", "weighting", "model")
        shown = [c for c in columns if c in board]
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<table>{cells}</table>{board[shown].to_html(index=False)}" + (
            f"<ul>{notes}</ul>" if notes else ""
        )
