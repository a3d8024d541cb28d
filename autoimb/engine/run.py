"""Run a search: trials until the budget, the trial count or Ctrl-C ends it.

A failing strategy becomes a FAIL trial with its error kept; the search goes on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import warnings
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from autoimb import config
from autoimb._warnings import user_stacklevel
from autoimb.data.dataset import Dataset
from autoimb.engine.budget import (
    TrialClock,
    fidelities,
    folds_for_size,
    model_threads,
    recorded_cv_seconds,
    row_budget,
)
from autoimb.engine.evaluate import CrossValidation, Evaluation, FoldTime, evaluate
from autoimb.engine.loop import ctrl_c_within, optimize
from autoimb.engine.outcome import PREDICTIONS_OF_STOPPED, Predictions, SearchOutcome
from autoimb.engine.pipeline import StrategyPipeline, grown_seconds, growth_at_refit
from autoimb.engine.run_text import all_failed_message, no_time_for_trials, say_resumed
from autoimb.engine.settings import SearchSettings
from autoimb.engine.space_size import CUT_BY_TIME, SettledStrategies, strategy_count
from autoimb.engine.space_warnings import warn_numeric_only
from autoimb.engine.storage import make_storage, worker_id
from autoimb.engine.study import open_study
from autoimb.engine.torch_first import import_torch_first
from autoimb.exceptions import AutoImbError, TrialTimeout
from autoimb.leaderboard import INTERRUPTED, REPEATS, finished_trials
from autoimb.posthoc.selection_time import full_selection_calls, score_seconds
from autoimb.posthoc.steady import Candidate, choose_steadily, contenders

logger = logging.getLogger("autoimb")
# A threshold metric's fold scores, before every fold is in, each take the fold's own best
# threshold (class factors on more classes): optimistic beside a finished trial's cross-fitted
# ones, which the leaderboard says.
_OWN_DECISION = " (fold scores at each fold's best {})"


def run(settings: SearchSettings, data: Dataset) -> SearchOutcome:
    """Run trials until the budget, the trial count or Ctrl-C ends the search."""
    weighted = data.sample_weight is not None
    settings.space.check_models(
        n_classes=data.n_classes, sample_weight=weighted, n_rows=len(data.y)
    )
    warn_numeric_only(settings.space, data)
    import_torch_first(settings.space, data)
    folds = folds_for_size(settings.cv, len(data.y))
    study, seed, cv, created = open_study(
        settings, data, lambda seed: CrossValidation(data, folds, random_state=seed)
    )
    objective = _Objective(study, settings, data, cv, seed)
    finished_before = finished_trials(study)
    if finished_before:
        say_resumed(study, settings, finished_before)
    if objective.tried_everything():
        pass  # every strategy of the space has run
    elif objective.earlier and objective.clock.spent():  # a trial started now would be cut
        warnings.warn(
            no_time_for_trials(objective.clock), UserWarning, stacklevel=user_stacklevel()
        )
    else:
        try:
            objective.stopped_by_user = optimize(study, objective, settings, settings.deadline)
        except KeyboardInterrupt as stopped:
            if created and not any(t.state == TrialState.COMPLETE for t in study.trials):
                with contextlib.suppress(Exception):  # the interrupt is what the user sees
                    _forget_empty_study(study, settings)  # a corrected command starts afresh
            setattr(stopped, PREDICTIONS_OF_STOPPED, objective.predictions)
            raise
    if not any(t.state == TrialState.COMPLETE for t in study.trials):
        message = all_failed_message(study, settings.space)
        if created:
            _forget_empty_study(study, settings)
        raise AutoImbError(message)
    return SearchOutcome(
        study,
        cv,
        objective.predictions,
        seed,
        objective.fit_seconds,
        objective.growth,
        more_trials=None if settings.n_trials is not None else objective.more_trials,
        clock=objective.clock,
        fold_models=objective.fold_models,
        tried_every=objective.settled.count if objective.tried_everything() else 0,
    )


def _mark_cut(trial: optuna.Trial, started: float) -> None:
    """Optuna fails a trial Ctrl-C cuts; marked, the leaderboard tells it from a failure and a
    resumed search does not count it as finished (it is queued again)."""
    trial.set_user_attr("seconds", time.monotonic() - started)
    trial.set_user_attr(INTERRUPTED, True)


def _forget_empty_study(study: optuna.Study, settings: SearchSettings) -> None:
    """A study this run stored, in which no trial finished (too short a budget, Ctrl-C),
    holds nothing to resume, while its recorded settings would refuse the fix its error
    advises or the corrected command (another space or metric, a longer budget): it is
    deleted, unless another process is running one of its trials."""
    if settings.storage is None or any(
        t.state in (TrialState.COMPLETE, TrialState.RUNNING) for t in study.trials
    ):
        return
    optuna.delete_study(study_name=study.study_name, storage=make_storage(settings.storage))


class _Objective:
    """One trial: sample a strategy, cross-validate it (climbing fidelities on large data), and
    keep its out-of-fold predictions and fit time for what follows the search."""

    def __init__(
        self,
        study: optuna.Study,
        settings: SearchSettings,
        data: Dataset,
        cv: CrossValidation,
        seed: int,
    ) -> None:
        self.study, self.settings, self.data, self.cv, self.seed = study, settings, data, cv, seed
        self.predictions = Predictions(settings.metric.greater_is_better)
        self.stopped_by_user = False  # a callback's study.stop(): no more trials, spare time or not
        self.failed_in_a_row = self.repeats_in_a_row = 0
        # A trial of the study completed, this run's or an earlier one's (timed or not).
        self.worked = any(t.state == TrialState.COMPLETE for t in study.trials)
        self.fit_seconds: dict[int, float] = {}
        # The wall time of each finished trial's cross-validation on all rows: the cost of
        # doing it again on a fresh split (its lower-fidelity rungs are not done again).
        self.cv_seconds: dict[int, float] = {}
        self.score_seconds: float | None = None  # one of the ensemble selection's scores
        self.growth: dict[int, float] = {}  # the final refit's fit time over the trial's
        self.candidates: list[Candidate] = []  # the finished trials, as finish sees them
        self.fold_models: dict[int, list[StrategyPipeline]] = {}
        self._fold_models_lock = threading.Lock()
        # A resumed study's finished trials: their out-of-fold predictions are not held here.
        self.earlier = self._timed_earlier_trials()
        self.threads = model_threads(settings.n_jobs, len(data.y))
        self.rungs = fidelities(len(data.y))
        self.max_rows = row_budget(len(data.y))
        # What the space's draws depend on besides the trial: the same for every trial.
        self.drawn_for = {
            "n_classes": data.n_classes,
            "sample_weight": data.sample_weight is not None,
            "n_rows": len(data.y),
            "read_as_given": tuple(settings.pretrained),
        }
        self.settled = SettledStrategies(strategy_count(settings.space, **self.drawn_for))
        self.clock = TrialClock(
            settings.time_budget,
            settings.deadline,
            settings.advice_share,
            settings.remeasure,
            cv,
            self.fit_seconds,
            self.growth,
            self._contenders,
            self.cv_seconds,
            self._selection_seconds if settings.ensemble else None,
            earlier=self.earlier,
            final_model=settings.final_model,
        )

    def _timed_earlier_trials(self) -> set[int]:
        """A resumed study's finished trials, timed as this process times its own: the trial
        the search would choose may be one of them, and the time kept back must then cover its
        cross-validation again and its refit (a 5 s resumed search ran 9 s without)."""
        earlier = set()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            attrs = trial.user_attrs
            cv_seconds = recorded_cv_seconds(attrs)
            if cv_seconds is None:
                continue
            # A trial of an older version recorded neither: its cross-validation's time
            # stands for its fits' (the predictions' share of it is small).
            self.fit_seconds[trial.number] = float(attrs.get("fit_seconds", cv_seconds))
            self.growth[trial.number] = float(attrs.get("growth", 1.0))
            self.cv_seconds[trial.number] = cv_seconds
            self.candidates.append(Candidate.of(trial))
            earlier.add(trial.number)
        return earlier

    def _contenders(self) -> list[int]:
        """The trial the search would choose now (:mod:`autoimb.posthoc.steady`), whose refit
        the time reserve must cover, then the others its choice would race on a fresh split;
        the top-scoring trial alone when none that finished was timed."""
        if self.candidates:
            candidates, metric = list(self.candidates), self.settings.metric
            chosen = choose_steadily(
                candidates, metric, standard_errors=config.NOISE_STANDARD_ERRORS
            )
            return contenders(candidates, chosen, metric, top=config.RACE_TOP)
        try:
            return [self.study.best_trial.number]
        except ValueError:
            return []

    def _selection_seconds(self, candidates: int) -> float | None:
        """What selecting an ensemble among this many candidates would take, from one of its
        scores timed on the first finished trial's predictions."""
        if self.score_seconds is None:
            return None
        return self.score_seconds * full_selection_calls(candidates, self.cv.n_splits)

    def _time_a_score(self, oof: np.ndarray) -> None:
        cv, data = self.cv, self.data
        y, fold_ids, weights = cv.scores(data.y, cv.fold_ids, data.sample_weight)
        self.score_seconds = score_seconds(
            cv.scores(oof)[0],
            y,
            fold_ids,
            self.settings.metric,
            sample_weight=weights,
            pos_label=data.pos_label,
        )

    def __call__(self, trial: optuna.Trial) -> float:
        started = time.monotonic()
        trial.set_user_attr("worker", worker_id())
        if trial.user_attrs.get(INTERRUPTED):  # a cut trial queued again inherits its marks
            trial.set_user_attr(INTERRUPTED, False)
        scored: list[float] = []  # each fold's score as the pruner saw it
        try:
            outcome, cv_seconds = self._evaluate(trial, started, scored)
        except optuna.TrialPruned as exc:
            self._keep_partial(trial, started, str(exc), scored)
            raise
        except TrialTimeout as exc:
            # Cut by its time cap or the end of the budget: stopped, not failed.
            self._keep_partial(trial, started, str(exc)[:500], scored)
            trial.set_user_attr(CUT_BY_TIME, True)
            raise optuna.TrialPruned(str(exc)) from exc
        except KeyboardInterrupt:
            _mark_cut(trial, started)
            raise
        except Exception as exc:
            if ctrl_c_within(exc):  # it landed in a journal write's lock release, which failed
                _mark_cut(trial, started)
                raise KeyboardInterrupt from exc
            trial.set_user_attr("seconds", time.monotonic() - started)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
            raise
        seconds = time.monotonic() - started
        trial.set_user_attr("seconds", seconds)
        trial.set_user_attr("fold_scores", outcome.fold_scores)
        trial.set_user_attr("decision", outcome.decision.to_dict())
        candidate = outcome.candidate(trial.number, self.cv, seconds)
        if candidate.steady is not None:
            trial.set_user_attr("steady", candidate.steady)
        trial.set_user_attr("cv_seconds", cv_seconds)
        growth = self._growth(trial.user_attrs["config"], outcome)
        # What a later process resuming the study needs to reckon this trial's refit.
        trial.set_user_attr("fit_seconds", outcome.fit_seconds)
        trial.set_user_attr("growth", growth)
        self.fit_seconds[trial.number] = outcome.fit_seconds
        self.growth[trial.number] = growth
        self.cv_seconds[trial.number] = cv_seconds
        self.candidates.append(candidate)
        self.predictions.add(trial.number, outcome.value, outcome.oof)
        self._keep_fold_models(trial.number, outcome)
        if self.score_seconds is None and self.settings.ensemble:
            self._time_a_score(outcome.oof)
        return outcome.value

    def _keep_partial(
        self, trial: optuna.Trial, started: float, why: str, scored: list[float]
    ) -> None:
        """A stopped trial's time, why it stopped, and the fold scores it got, for the
        leaderboard: pruned between folds, those of the folds it finished, each with the fold's
        own best threshold as the pruner compared them (a cross-fitted threshold needs every
        fold); pruned at a rung of a large search, that rung's."""
        trial.set_user_attr("seconds", time.monotonic() - started)
        trial.set_user_attr("stopped", why)
        if scored:
            trial.set_user_attr("fold_scores", scored)

    def _keep_fold_models(self, number: int, outcome: Evaluation) -> None:
        """Keep the fold models of a trial that had no time kept for its refit, and only while
        it is the trial the search would choose (a model per fold is held in memory)."""
        with self._fold_models_lock:  # parallel trials finish at once
            if outcome.models:
                self.fold_models[number] = [fitted.pipeline for fitted in outcome.models]
            if not self.fold_models:  # the usual case once the first trials' are let go
                return
            chosen = self._contenders()[:1]
            for kept in [n for n in self.fold_models if n not in chosen]:
                del self.fold_models[kept]

    def _growth(self, strategy: dict[str, Any], outcome: Evaluation) -> float:
        """The final refit's fit time over the trial's, from what each part of its fits took;
        without those times, the most any part grows."""
        if outcome.fit_seconds <= 0 or not outcome.stage_seconds:
            return growth_at_refit(strategy)
        k = self.cv.n_splits
        rows_factor = k / max(k - 1, 1) if len(self.data.y) >= config.SUPERLINEAR_FIT_ROWS else 1.0
        grown = grown_seconds(
            strategy, outcome.fit_seconds, outcome.stage_seconds, rows_factor=rows_factor
        )
        return grown / outcome.fit_seconds

    def _evaluate(
        self, trial: optuna.Trial, started: float, scored: list[float]
    ) -> tuple[Evaluation, float]:
        """The trial's evaluation, and the seconds its cross-validation on all rows took;
        ``scored`` gathers each fold's score as the folds end."""
        data, settings = self.data, self.settings
        strategy = settings.space.sample(trial, **self.drawn_for)
        trial.set_user_attr("config", strategy)
        repeats = self.settled.repeated(self.study, strategy)
        if repeats is not None:  # on the same folds with the same seed it would score the same
            trial.set_user_attr(REPEATS, repeats)
            raise optuna.TrialPruned(f"repeats trial {repeats}'s strategy: not fitted again")

        n_folds = self.cv.n_splits
        decision = "threshold" if data.n_classes == 2 else "class factors"
        basis = "" if settings.metric.kind == "ranking" else _OWN_DECISION.format(decision)

        def report(step: int, value: float, fold_score: float) -> None:
            scored.append(fold_score)
            trial.report(value, step)
            # After the last fold there is nothing left to save: the trial finishes and is
            # judged by its cross-fitted score, like every other.
            if step + 1 < n_folds and trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {step + 1} of {n_folds}{basis}")

        deadline = self.clock.trial_deadline(started)
        if deadline is None and settings.n_jobs != 1:
            deadline = math.inf  # its fits look at the clock, where Ctrl-C tells them to stop
        options = {
            "random_state": self.seed,
            "n_threads": self.threads,
            "max_rows": self.max_rows,
            "deadline": deadline,
            "pretrained": settings.pretrained,
            "member_share": config.SEARCH_MEMBER_SHARE,
        }
        # Until a trial has finished nothing is known of what a refit costs, so a trial that
        # starts then runs to the deadline with no time kept for one: its fold models are kept.
        keep = settings.deadline is not None and not self.fit_seconds
        if len(self.rungs) == 1:
            begun = time.monotonic()
            outcome = evaluate(
                strategy, self.cv, settings.metric, report=report, keep_models=keep, **options
            )
            return outcome, time.monotonic() - begun
        return self._climb(trial, strategy, options, keep, scored)

    def _climb(
        self,
        trial: optuna.Trial,
        strategy: dict[str, Any],
        options: dict[str, Any],
        keep: bool,
        scored: list[float],
    ) -> tuple[Evaluation, float]:
        """Evaluate on ever larger training samples while the pruner promotes the trial.

        Each rung is reported at its size in units of the smallest (1, 3, 9 …), the resource
        successive halving counts: its first rung is then the smallest sample, where pruning
        saves the most. The first trial goes straight to all rows: the pruner promotes the only
        trial at a rung, so its smaller samples would cost time for nothing (at 100k rows, 3 of
        the first trial's 9 s, most of a 10 s search).
        """
        metric = self.settings.metric
        rungs = self.rungs[-1:] if _first_to_finish(trial) else self.rungs
        measured: list[FoldTime] = []  # the last rung's folds: can the next one end in time?
        for fraction in rungs:
            begun = time.monotonic()
            whole = fraction >= 1.0
            outcome = evaluate(
                strategy,
                self.cv,
                metric,
                fraction=fraction,
                keep_models=keep and whole,
                measured=measured,
                **options,
            )
            seconds, measured = time.monotonic() - begun, outcome.fold_times
            trial.set_user_attr("fraction", fraction)
            if fraction < 1.0:
                trial.report(outcome.value, round(fraction / self.rungs[0]))
                if trial.should_prune():
                    scored[:] = outcome.fold_scores  # the rung's, on a sample of the training rows
                    raise optuna.TrialPruned(f"not promoted past {fraction:.1%} of the majority")
        return outcome, seconds

    def stop_when_budget_spent(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.failed_in_a_row = self.failed_in_a_row + 1 if trial.state == TrialState.FAIL else 0
        repeat = trial.user_attrs.get(REPEATS) is not None
        self.repeats_in_a_row = self.repeats_in_a_row + 1 if repeat else 0
        self.worked = self.worked or trial.state == TrialState.COMPLETE
        # Stopped where the next trial would repeat one, or where the sampler finds no new one.
        no_new = self.repeats_in_a_row >= config.REPEATS_BEFORE_STOPPING
        drawn_out = no_new or self.tried_everything()
        if self.clock.spent() or drawn_out:
            study.stop()
        elif self.failed_in_a_row >= config.FAILURES_BEFORE_GIVING_UP and not self.worked:
            # Nothing has worked, in the fixed strategies or after them: the rest of a long
            # budget would only delay the error that says why.
            study.stop()

    def tried_everything(self) -> bool:
        """Whether each strategy of a finite space has run: the next trial would repeat one."""
        return self.settled.every_one(self.study)

    def more_trials(self, until: float) -> int:
        """Trials until ``until``, with nothing kept back: the caller has counted what follows."""
        if self.stopped_by_user or self.tried_everything():
            return 0
        finished = len(self.candidates)
        self.clock = TrialClock(
            time_budget=self.settings.time_budget,
            deadline=until,
            share_after=0.0,
            remeasure=False,
            cv=self.cv,
            fit_seconds={},  # nothing to reserve for: no refit or race is counted here
            growth={},
            contenders=list,
            cv_seconds={},
        )
        self.stopped_by_user = optimize(self.study, self, self.settings, until)
        return len(self.candidates) - finished


def _first_to_finish(trial: optuna.Trial) -> bool:
    """Whether no other trial has finished yet, so none has a rung this one could lose to."""
    finished = trial.study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
    )
    return all(t.number == trial.number for t in finished)
