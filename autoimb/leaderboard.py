"""The leaderboard: one row per trial of a study, best first."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from autoimb.stages.base import STAGES

STAGE_COLUMNS = STAGES


def leaderboard(study: optuna.Study) -> pd.DataFrame:
    """One row per trial that ran or runs, best first: the strategy, its score, fold scores,
    time, the error of a failed trial and why a pruned one was stopped. Queued trials that
    never started (the warm start's rest, when the budget ended first) are not listed."""
    rows = []
    for trial in study.trials:
        if trial.state == TrialState.WAITING:
            continue
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
        row["stopped"] = trial.user_attrs.get("stopped")
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


def flat_leaderboard(study: optuna.Study) -> pd.DataFrame:
    """The leaderboard with no nested values, for a CSV: a column per stage's choice
    (``model``), per parameter (``model.n_estimators``) and per fold (``fold_0`` …)."""
    board = leaderboard(study)
    if board.empty:
        return board
    params = pd.json_normalize(board.pop("params").tolist(), sep=".").set_index(board.index)
    folds = pd.DataFrame(
        [list(f) if isinstance(f, list | tuple) else [] for f in board.pop("fold_scores")],
        index=board.index,
    )
    folds.columns = [f"fold_{k}" for k in folds.columns]
    return pd.concat([board, params.sort_index(axis=1), folds], axis=1)


def finished_trials(study: optuna.Study) -> int:
    """Trials that ran to an end; queued ones that never started are not trials yet."""
    return sum(t.state.is_finished() for t in study.trials)
