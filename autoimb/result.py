"""What a search returns: the fitted winner, the leaderboard and the evidence behind them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from autoimb.components import STAGES
from autoimb.metrics import Metric, confusion_matrix, report_metrics
from autoimb.progress import strategy_label
from autoimb.threshold import Decision, ThresholdedClassifier

STAGE_COLUMNS = STAGES


def leaderboard(study: optuna.Study) -> pd.DataFrame:
    """One row per trial, best first: the strategy, its score, fold scores, time and error."""
    rows = []
    for trial in study.trials:
        config = trial.user_attrs.get("config", {})
        decision = trial.user_attrs.get("decision") or {}
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": trial.state.name,
            "score": trial.value if trial.state == TrialState.COMPLETE else np.nan,
        }
        for stage in STAGE_COLUMNS:
            row[stage] = (config.get(stage) or {}).get("name")
        row["params"] = {
            stage: {k: v for k, v in (config.get(stage) or {}).items() if k != "name"}
            for stage in STAGE_COLUMNS
            if config.get(stage)
        }
        row["threshold"] = decision.get("threshold")
        row["fold_scores"] = trial.user_attrs.get("fold_scores")
        row["seconds"] = trial.user_attrs.get("seconds")
        row["error"] = trial.user_attrs.get("error")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    order = frame["score"].fillna(-np.inf if maximize else np.inf)
    frame = frame.iloc[
        np.argsort(-order.to_numpy() if maximize else order.to_numpy(), kind="stable")
    ]
    return frame.reset_index(drop=True)


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
        The winner refitted on all data; ``predict`` applies the tuned threshold.
    best_score
        The winner's honest cross-validated score (thresholds cross-fitted), measured again on
        a fresh split of the folds when there was time: the score on the folds that chose the
        winner is optimistic, as the best of many noisy estimates.
    search_score
        The winner's score on the search's own folds, the one it was chosen by.
    best_config
        The winning strategy, stage by stage, and its threshold; for an ensemble, its members'
        strategies and weights.
    ensemble
        The ensemble selection over the best trials (``reason`` says what was chosen and why),
        or None when it was not tried or did not win.
    advice
        The learning curve over the minority-class size, when asked for (``advice=True``).
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

    @property
    def leaderboard(self) -> pd.DataFrame:
        return leaderboard(self.study)

    @property
    def strategy(self) -> str:
        """The winner in a few words: its stages' choices, or the trials it ensembles."""
        return strategy_label(self.best_config)

    @property
    def classes_(self) -> np.ndarray:
        return self.best_pipeline.classes_

    def report(self) -> dict[str, Any]:
        """Every registered metric for the winner on out-of-fold predictions, and its confusion."""
        ev = self.evidence
        predicted = self.decision.apply(ev.oof)
        labels = [str(c) for c in self.classes_]
        matrix = confusion_matrix(ev.y, predicted, len(labels), sample_weight=ev.sample_weight)
        return {
            "metric": self.metric.name,
            "score": self.best_score,
            "decision": self.decision.to_dict(),
            "metrics": report_metrics(
                ev.y, ev.oof, predicted, sample_weight=ev.sample_weight, pos_label=ev.pos_label
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

    def save(self, path: str | Path, *, overwrite: bool = True) -> Path:
        """Save the inference-only pipeline (skops by default; ``.joblib`` on request)."""
        from autoimb.export import save

        return save(self.best_pipeline, path, overwrite=overwrite)

    def report_html(self, path: str | Path) -> Path:
        from autoimb.report import write_report

        return write_report(self, path)

    def __repr__(self) -> str:
        card = json.dumps({k: v for k, v in self.best_config.items() if k != "threshold"})
        return (
            f"SearchResult({self.metric.name}={self.best_score:.4f}, "
            f"trials={len(self.study.trials)}, best={card})"
        )
