"""The leaderboard: one row per trial of a study, best first.

A trial that Ctrl-C or a stopped worker cut is failed in Optuna's terms, with no error of its
own, and queued again; here it reads ``INTERRUPTED``, and it is not counted as finished.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from autoimb.config import STUDY_ATTR
from autoimb.stages.base import STAGES

STAGE_COLUMNS = STAGES
INTERRUPTED = "interrupted"  # trial attribute: Ctrl-C cut the trial while it ran
# Trial attribute: the finished trial whose strategy this one drew again. It is pruned before
# any fit (the same folds and seed would give the same scores), and not counted as finished.
REPEATS = "repeats"
# A report's state of such a repeat: pruned in Optuna's terms, but stopped by no pruner.
REPEAT = "REPEAT"


def _queued_again(trials: Sequence[FrozenTrial]) -> dict[int, int]:
    """Each trial queued again after its worker stopped: its number -> its retry's number."""
    return {
        int(t.system_attrs["retry_history"][-1]): t.number
        for t in trials
        if t.system_attrs.get("retry_history")
    }


def _interrupted(trial: FrozenTrial, queued_again: dict[int, int]) -> bool:
    """Failed with no error of its own (a failing strategy records one), and cut by Ctrl-C or
    queued again because its worker stopped: it never ran to an end."""
    return (
        trial.state == TrialState.FAIL
        and "error" not in trial.user_attrs
        and (bool(trial.user_attrs.get(INTERRUPTED)) or trial.number in queued_again)
    )


def _why_interrupted(trial: FrozenTrial, queued_again: dict[int, int]) -> str:
    cause = "Ctrl-C" if trial.user_attrs.get(INTERRUPTED) else "Ctrl-C, or its worker stopped"
    retry = queued_again.get(trial.number)
    again = f"; queued again as trial {retry}" if retry is not None else ""
    return f"interrupted before it finished ({cause}){again}"


def served_trials(card: Mapping[str, Any], study: str | None = None) -> frozenset[int] | None:
    """The trials a model serves, from its card: the winner, or an ensemble's members; None
    when the card does not say (one from before it kept the winner's trial), or when it
    records a study other than ``study``, whose trial numbers are not its own."""
    if study is not None and (card.get("study") or {}).get("name") not in (None, study):
        return None
    members = (card.get("config") or {}).get("members")
    if members:
        return frozenset(int(n) for n in members)
    return None if card.get("trial") is None else frozenset({int(card["trial"])})


def leaderboard(study: optuna.Study, served: Collection[int] | None = None) -> pd.DataFrame:
    """One row per trial that ran or runs, best first: the strategy, its score, fold scores,
    time, the error of a failed trial and why a pruned one was stopped. Queued trials that
    never started (the warm start's rest, when the budget ended first) are not listed.

    ``served`` (the trials the model serves, :func:`served_trials`) fills the ``served``
    column, left empty when not known: the top row is not always the model one got (a steadier
    trial, a race's winner or an ensemble may be served instead)."""
    rows = []
    queued_again = _queued_again(study.get_trials(deepcopy=False))
    for trial in study.trials:
        if trial.state == TrialState.WAITING:
            continue
        config = trial.user_attrs.get("config", {})
        decision = trial.user_attrs.get("decision") or {}
        interrupted = _interrupted(trial, queued_again)
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": "INTERRUPTED" if interrupted else trial.state.name,
            "score": trial.value if trial.state == TrialState.COMPLETE else np.nan,
            "served": None if served is None else trial.number in served,
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
        row["stopped"] = (
            _why_interrupted(trial, queued_again)
            if interrupted
            else trial.user_attrs.get("stopped")
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    order = frame["score"].fillna(-np.inf if maximize else np.inf)
    frame = frame.iloc[
        np.argsort(-order.to_numpy() if maximize else order.to_numpy(), kind="stable")
    ].reset_index(drop=True)
    # What "score" is, and which way is better: a cost's board is ordered lowest first.
    frame.attrs["metric"] = (study.user_attrs.get(STUDY_ATTR) or {}).get("metric")
    frame.attrs["greater_is_better"] = maximize
    return frame


def flat_leaderboard(study: optuna.Study, served: Collection[int] | None = None) -> pd.DataFrame:
    """The leaderboard with no nested values, for a CSV: a column per stage's choice
    (``model``), per parameter (``model.n_estimators``) and per fold (``fold_0`` …)."""
    board = leaderboard(study, served)
    if board.empty:
        return board
    params = pd.json_normalize(board.pop("params").tolist(), sep=".").set_index(board.index)
    scores = [list(f) if isinstance(f, list | tuple) else [] for f in board.pop("fold_scores")]
    width = max(map(len, scores), default=0)  # a pruned trial scored fewer folds: blanks after
    folds = pd.DataFrame([row + [np.nan] * (width - len(row)) for row in scores], index=board.index)
    folds.columns = [f"fold_{k}" for k in folds.columns]
    flat = pd.concat([board, params.sort_index(axis=1), folds], axis=1)
    # A file keeps no attrs: the metric goes in a column of its own, beside the score.
    flat.insert(3, "metric", board.attrs.get("metric"))
    return flat


def trials_text(n: int) -> str:
    """``1 trial``, ``3 trials``."""
    return f"{n} trial" if n == 1 else f"{n} trials"


_STATE_WORDS = {
    "COMPLETE": "finished",
    "FAIL": "failed",
    "PRUNED": "pruned",
    "RUNNING": "still running",
    "INTERRUPTED": "interrupted",
}


def states_text(states: pd.Series) -> str:
    """``3 failed, 1 finished``: the leaderboard's states counted, in words, most first."""
    return ", ".join(
        f"{n} repeat{'s' * (n > 1)} not fitted again"
        if state == REPEAT
        else f"{n} {_STATE_WORDS.get(str(state), str(state).lower())}"
        for state, n in states.value_counts().items()
    )


def repeats_apart(board: pd.DataFrame, study: optuna.Study) -> pd.DataFrame:
    """The leaderboard with each repeat of a settled trial's strategy in the state
    :data:`REPEAT`: it fitted nothing, and counted as pruned it would read as a strategy that
    lost on its first folds."""
    repeats = [
        t.number for t in study.get_trials(deepcopy=False) if t.user_attrs.get(REPEATS) is not None
    ]
    if board.empty or not repeats:
        return board
    board = board.copy()
    board.loc[board["trial"].isin(repeats), "state"] = REPEAT
    return board


def failed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials whose strategy failed; not the interrupted ones, which never ran to an end."""
    queued_again = _queued_again(study.get_trials(deepcopy=False))
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if not _interrupted(t, queued_again)
    ]


def finished_trials(study: optuna.Study) -> int:
    """Trials that ran to an end; queued ones that never started are not trials yet, and
    interrupted ones are queued again."""
    return finished_among(study.get_trials(deepcopy=False))


def finished_among(trials: Sequence[FrozenTrial]) -> int:
    """:func:`finished_trials` of the trials read once (a database storage fetches them all)."""
    return len(ran_to_an_end(trials))


def ran_to_an_end(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The trials :func:`finished_trials` counts: neither interrupted nor a repeat of another
    trial's strategy, which fitted nothing."""
    queued_again = _queued_again(trials)
    return [
        t
        for t in trials
        if t.state.is_finished()
        and not _interrupted(t, queued_again)
        and t.user_attrs.get(REPEATS) is None
    ]
