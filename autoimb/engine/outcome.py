"""What a search leaves for the work after its trials: the study, its folds, the best trials'
out-of-fold predictions and what their fits took."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import optuna

from autoimb import config
from autoimb.engine.budget import TrialClock, refit_seconds
from autoimb.engine.evaluate import CrossValidation
from autoimb.engine.pipeline import StrategyPipeline


class Predictions:
    """Out-of-fold probabilities of the best trials, kept in memory for thresholds and ensembles."""

    def __init__(self, greater_is_better: bool, keep: int = config.KEPT_PREDICTIONS) -> None:
        self.sign = 1.0 if greater_is_better else -1.0
        self.keep = keep
        self.items: dict[int, tuple[float, np.ndarray]] = {}
        self.lock = threading.Lock()

    def add(self, number: int, value: float, oof: np.ndarray) -> None:
        # Kept as float32 logarithms, half float64's memory: float32 probabilities tied every
        # score above 1 - 6e-8 at 1.0 (a balanced logistic model on 30 positives in 300k rows:
        # average precision 0.54 read as 0.39), where their logarithms stay apart.
        with np.errstate(divide="ignore"):
            logs = np.log(np.clip(oof, 0.0, None)).astype(np.float32)
        with self.lock:
            self.items[number] = (value, logs)
            if len(self.items) > self.keep:
                worst = min(self.items, key=lambda n: self.sign * self.items[n][0])
                del self.items[worst]

    def get(self, number: int) -> np.ndarray | None:
        item = self.items.get(number)
        return None if item is None else np.exp(item[1].astype(np.float64))

    def kept(self, numbers: Iterable[int]) -> dict[int, tuple[float, np.ndarray]]:
        return {n: self.items[n] for n in numbers if n in self.items}

    def put_back(self, kept: Mapping[int, tuple[float, np.ndarray]]) -> None:
        """Predictions the trials since pushed out, back: an ensemble chosen before them
        still needs its members'."""
        with self.lock:
            self.items.update(kept)


# Set on the KeyboardInterrupt a search stops on: its trials' out-of-fold predictions, which
# a save of the best so far (:func:`autoimb.engine.stopped.finish_study`) would otherwise
# compute again, at the cost of the winner's cross-validation.
PREDICTIONS_OF_STOPPED = "autoimb_predictions"


@dataclass
class SearchOutcome:
    study: optuna.Study
    cv: CrossValidation
    predictions: Predictions
    random_state: int
    fit_seconds: dict[int, float]
    growth: dict[int, float]
    # More trials until a given time (monotonic clock), when the budget is time and not a
    # number of trials: what an ensemble winner leaves of the time kept for the race. Returns
    # how many finished.
    more_trials: Callable[[float], int] | None = None
    clock: TrialClock | None = None  # what the search kept back for after its trials
    # The fold models of a trial that ran with no time kept for its refit, while it is the
    # trial the search would choose: served, averaged, where that refit no longer fits.
    fold_models: dict[int, list[StrategyPipeline]] = field(default_factory=dict)
    # Trials that could not be the winner because the time left could not refit them: a model
    # of one already saved (the command line's, from an earlier run) is still worth keeping.
    too_slow_to_refit: list[int] = field(default_factory=list)
    # How many strategies the space holds, where each had run and the search stopped there.
    tried_every: int = 0
    # The best score among the trials the winner was chosen from: a trial another process
    # finishes while this one refits is not among them, and is new to the next resume.
    best_seen: float | None = None
    finished_seen: int | None = None  # and how many trials had finished then

    def refit_seconds(self, members: Iterable[int]) -> float:
        """What refitting these trials on all rows takes (:func:`budget.refit_seconds`)."""
        n_splits, rows = self.cv.n_splits, self.cv.rows_seconds
        return refit_seconds(self.fit_seconds, self.growth, members, n_splits, rows)
