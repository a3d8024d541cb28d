"""After the trials: ensemble or single winner, threshold, fresh-fold score, feature importance,
refit, model card.

Every way a search ends goes through :func:`finish`: a finished ``search()``, a worker joining
a study, and the command line's Ctrl-C (:func:`autoimb.engine.stopped.finish_study`).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from autoimb import config
from autoimb.data.dataset import Dataset
from autoimb.engine.advice import LearningCurveAdvice, minority_learning_curve
from autoimb.engine.budget import (
    ensemble_seconds,
    model_threads,
    remaining,
)
from autoimb.engine.copies import copied_rows, note_of
from autoimb.engine.evaluate import FittedFold, evaluate
from autoimb.engine.importance import winner_importance
from autoimb.engine.model_card import model_card
from autoimb.engine.outcome import SearchOutcome
from autoimb.engine.pipeline import StrategyPipeline, fallbacks
from autoimb.engine.pretrained import pretrained_note
from autoimb.engine.remeasure import ensemble_score, remeasure
from autoimb.engine.run_text import failed_note, tried_space_note, unrun_note, warn_if_tied
from autoimb.engine.saved_model import stop_before_measure, stop_before_refit
from autoimb.engine.settings import SearchSettings
from autoimb.engine.spare_time import more_trials_for_ensemble
from autoimb.engine.winner import choose_winner, raced_note
from autoimb.leaderboard import finished_trials
from autoimb.metrics.notes import (
    floor_at_risk,
    missed_floor,
    trivial_rule_note,
    unpredicted_classes_note,
)
from autoimb.posthoc.calibration import choose_calibration
from autoimb.posthoc.ensemble import (
    EnsembleClassifier,
    EnsembleSelection,
    blend,
    members_of,
    select_ensemble,
)
from autoimb.posthoc.interval import Drawn
from autoimb.posthoc.threshold import Decision, ThresholdedClassifier, choose_decision
from autoimb.result import Evidence, SearchResult
from autoimb.strategy import Ensemble, parse_single

logger = logging.getLogger("autoimb")
# A refit that overruns the budget by at most this share of it is still made: a winner's refit
# of a hundredth of a second is not worth serving the mean of its fold models instead.
REFIT_SLACK = 0.02


def finish(outcome: SearchOutcome, settings: SearchSettings, data: Dataset) -> SearchResult:
    """Ensemble or single winner, threshold on its out-of-fold predictions, refit, describe."""
    study = outcome.study
    stop_before_measure(study, settings.metric)
    warn_if_tied(study, settings.metric, data.n_classes)
    # As many threads as each trial had: the refit's time is estimated from theirs, and with
    # parallel trials on a busy machine a refit on every core ran 4 times past the budget.
    threads = model_threads(settings.n_jobs, len(data.y))
    own = isinstance(settings.warm_start, list) and bool(settings.warm_start)
    copied = copied_rows(data, outcome.cv.folds)
    notes = [
        note
        for note in (
            failed_note(study),
            unrun_note(study, own),
            pretrained_note(settings.pretrained),
            outcome.tried_every and tried_space_note(settings.space.name, outcome.tried_every),
            note_of(copied),
        )
        if note
    ]
    best, ranked = choose_winner(
        outcome,
        settings.metric,
        notes,
        refit=lambda n: outcome.refit_seconds([n]),
        left=remaining(settings.deadline),
    )
    oof, recomputed = _winner_oof(outcome, settings, best.number, threads)
    picked: list[str] = []
    started = time.monotonic()
    selection, used = _select_ensemble(outcome, settings, data, best.number, picked)
    if used and selection is not None:
        selection, picked = more_trials_for_ensemble(
            outcome,
            settings,
            selection,
            time.monotonic() - started,
            lambda again: _select_ensemble(
                outcome, settings, data, best.number, again, keep_for_race=False
            ),
            picked,
        )
    notes.extend(picked)
    members = selection.final_weights if used else {best.number: 1.0}
    if len(members) > 1:
        measured = ensemble_score(float(selection.score), selection.nested_score)
    else:
        measured = remeasure(
            ranked,
            outcome,
            settings,
            threads,
            after=lambda n: outcome.refit_seconds([n]),
            keep_models=settings.importance,
        )
        if measured.winner is not None and measured.winner != best.number:
            # The race overrules the first pick: why that one was picked no longer holds.
            superseded = f"Trial {best.number} was chosen over"
            # The first pick is the best-scoring trial unless it was picked as steadier than it.
            steadier = any(note.startswith(superseded) for note in notes)
            role = "steadier than the top scorer" if steadier else "the best-scoring"
            kept = f"Kept the single best trial {best.number} ("
            weighed = (
                f"Kept a single trial, not an ensemble (weighed against the first pick, "
                f"trial {best.number}, {role}: "
            )
            notes[:] = [
                # The first pick is named; a nested comparison's "best single trial" is the one
                # re-selected without each fold, which may be another, so it keeps its words.
                note.replace(kept, weighed)
                .replace("than the best single trial", f"than trial {best.number}")
                .replace("beat the best single trial by", f"beat trial {best.number} by")
                if note.startswith(kept)
                else note
                for note in notes
                if not note.startswith(superseded)
            ]
            notes.append(raced_note(study.trials[measured.winner], best, settings.metric))
            best = study.trials[measured.winner]
            members = {best.number: 1.0}
            oof, recomputed = _winner_oof(outcome, settings, best.number, threads)
    configs = {n: dict(study.trials[n].user_attrs["config"]) for n in members}
    after = outcome.refit_seconds(members)
    if len(members) > 1:
        oof = blend({n: outcome.predictions.get(n) for n in members}, members)
    notes.append(measured.note)
    stop_before_refit(outcome, settings.metric, members, measured)
    # Fold models are let go before the refit, which may be as large.
    fold_models = measured.models or (recomputed if len(members) == 1 else [])
    measured.models, recomputed = [], []
    importance = winner_importance(
        configs, members, fold_models, outcome, settings, data, threads, after=after, notes=notes
    )
    del fold_models
    # Scores, threshold, calibration and interval use the rows some fold validated.
    y, oof, fold_ids, weights = outcome.cv.scores(
        data.y, oof, outcome.cv.fold_ids, data.sample_weight
    )
    decision, _ = choose_decision(
        y, oof, settings.metric, sample_weight=weights, pos_label=data.pos_label
    )
    if never := unpredicted_classes_note(settings.metric, y, decision.apply(oof), data.classes):
        notes.append(never)
    positive = data.classes[data.pos_label]
    if trivial := trivial_rule_note(
        settings.metric, measured.score, y, weights, data.pos_label, positive, classes=data.classes
    ):
        notes.append(trivial)
    # The folds' cached matrices are not needed by the refit; on large data they are the
    # biggest thing in memory besides the data itself.
    outcome.cv.release()
    fitted = _fold_models_served(outcome, settings, members, after, notes)
    outcome.fold_models.clear()
    if fitted is None:
        fitted = _refit(configs, outcome.random_state, settings, data, threads)
    notes.extend(dict.fromkeys(f for p in fitted.values() for f in fallbacks(p)))
    if len(members) > 1:
        estimator: Any = EnsembleClassifier(*members_of(selection, fitted))
        chosen = Ensemble(members, {n: parse_single(c) for n, c in configs.items()}).to_config()
    else:
        estimator, chosen = fitted[best.number], configs[best.number]
    calibration = (  # predict_proba's; two classes only
        choose_calibration(y, oof, fold_ids, sample_weight=weights, pos_label=data.pos_label)
        if data.n_classes == 2
        else None
    )
    pipeline = ThresholdedClassifier(
        estimator,
        decision_threshold=decision.threshold,
        class_scale=decision.class_scale,
        pos_label=data.pos_label,
        classes=data.classes,
        calibration=calibration,
    )
    best_config = {**chosen, **_decision_fields(decision, pipeline)}
    evidence = Evidence(y, oof, fold_ids, weights, data.pos_label, data.summary())
    # The interval and, for a precision floor, the chance of missing it: one cross-fit.
    interval, chance = Drawn.of(
        y, oof, fold_ids, settings.metric, len(y), config.INTERVAL_LEVEL, weights, data.pos_label
    ).how_sure(settings.metric, measured.score, config.INTERVAL_LEVEL)
    # A winner short of a precision floor may have been raced past a trial that met it.
    top = study.best_trial if measured.score < 0 else None
    best_then = None if top is None else (top.number, float(top.value))
    if shortfall := missed_floor(
        settings.metric, measured.score, measured.search_score, chance, best_then
    ):
        notes.append(shortfall)
    if risk := floor_at_risk(settings.metric, measured.score, chance):
        notes.append(risk)
    pipeline.model_card_ = model_card(
        settings, data, measured, best_config, decision, interval, outcome.cv.folds, estimator
    )
    # Which trial won (None for an ensemble) and how many had finished: a report on this model
    # can tell a study that went on since from a winner that was not the top-scoring trial.
    pipeline.model_card_["trial"] = best.number if len(members) == 1 else None
    pipeline.model_card_["finished_trials"] = outcome.finished_seen or finished_trials(study)
    # The study's seed (its folds) and the rows the interval is for (those the folds scored):
    # a report on this model alone draws the same folds and labels the interval rightly.
    pipeline.model_card_["seed"] = outcome.random_state
    pipeline.model_card_["score_interval_rows"] = len(y)
    # How often precision misses its floor there: the interval holds only on the score's side.
    pipeline.model_card_["floor_miss_chance"] = chance
    pipeline.model_card_["too_slow_to_refit"] = list(outcome.too_slow_to_refit)
    # The best score among the trials the model was chosen from, not the study's best now (a
    # worker may have finished a better one meanwhile): a later run that finds nothing better
    # need not replace it (the command line keeps its saved model then).
    seen = study.best_value if outcome.best_seen is None else outcome.best_seen
    pipeline.model_card_["study_best"] = float(seen)
    pipeline.model_card_["notes"] = notes  # the same list: notes added below reach it too
    # What a report on this model tells apart from the notes, whose words may change.
    pipeline.model_card_["space_spent"] = bool(outcome.tried_every)
    pipeline.model_card_["scored_on_copies"] = copied is not None and copied.flatter_the_score
    # How predict_proba is calibrated; predict's labels do not depend on it.
    pipeline.model_card_["calibration"] = (calibration or {}).get("method", "none")
    # The threshold as the user sees it, on predict_proba's scale (decision's is the model's).
    pipeline.model_card_["probability_threshold"] = pipeline.probability_threshold
    # Permutation importance of the input columns, out of fold; None when there was no time.
    pipeline.model_card_["feature_importance"] = importance
    result = SearchResult(
        pipeline,
        measured.score,
        best_config,
        settings.metric,
        study,
        evidence,
        decision,
        notes,
        search_score=measured.search_score,
        score_basis=measured.basis,
    )
    result.ensemble = selection
    if settings.advice:
        strategy = dict(study.trials[best.number].user_attrs["config"])
        result.advice = _advice(strategy, outcome, settings, data, notes)
        if result.advice is not None:
            result.advice.measured_on = "the best single trial's strategy"
        if result.advice is not None and len(members) > 1:
            result.advice.cautions.append(
                f"it was measured on trial {best.number} alone, the ensemble's best single "
                "trial, and the ensemble may gain more or less"
            )
        # Its words, so a report on the saved model says what more data would bring too.
        pipeline.model_card_["advice"] = (
            result.advice.summary() if result.advice is not None else None
        )
    return result


def _winner_oof(
    outcome: SearchOutcome, settings: SearchSettings, best: int, threads: int
) -> tuple[np.ndarray, list[FittedFold]]:
    """The best trial's out-of-fold probabilities, computed again for a resumed study (its
    winner's predictions were made in an earlier process); then also its fold models, kept for
    its feature importance, and under a time budget to be served where its refit no longer
    fits (:func:`_fold_models_served`)."""
    oof = outcome.predictions.get(best)
    if oof is not None:
        return oof, []
    timed = settings.deadline is not None
    again = evaluate(
        outcome.study.trials[best].user_attrs["config"],
        outcome.cv,
        settings.metric,
        random_state=outcome.random_state,
        n_threads=threads,
        pretrained=settings.pretrained,
        member_share=config.SEARCH_MEMBER_SHARE,
        keep_models=settings.importance or timed,
    )
    if timed and again.models:
        outcome.fold_models[best] = [fitted.pipeline for fitted in again.models]
    return again.oof, again.models if settings.importance else []


def _refit(
    configs: Mapping[int, dict[str, Any]],
    seed: int,
    settings: SearchSettings,
    data: Dataset,
    threads: int,
) -> dict[int, StrategyPipeline]:
    return {
        n: StrategyPipeline(
            strategy,
            data.schema(),
            random_state=seed,
            n_threads=threads,
            pretrained=settings.pretrained or None,
        ).fit(data.X, data.y, data.sample_weight)
        for n, strategy in configs.items()
    }


def _fold_models_served(
    outcome: SearchOutcome,
    settings: SearchSettings,
    members: Mapping[int, float],
    after: float,
    notes: list[str],
) -> dict[int, Any] | None:
    """The single winner's fold models, averaged, where its refit on all rows would overrun the
    budget: a first trial runs to the deadline with no time kept for its refit (nothing was
    known of its cost), so does a resumed study's winner cross-validated again after the
    trials, and the mean of the fold models predicts as well as the refit
    (``benchmarks/fold_bagging.py``). None where the refit fits, or the fold models were not
    kept."""
    left = remaining(settings.deadline)
    models = outcome.fold_models.get(next(iter(members))) if len(members) == 1 else None
    # A refit of next to no time is made even at the deadline: it overruns by a hair.
    slack = REFIT_SLACK * (settings.time_budget or 0.0)
    if not models or left is None or after <= left + slack:
        return None
    notes.append(
        f"The winner was not refitted on all rows: that (≈{after:.1f} s) would overrun the "
        f"budget ({max(left, 0.0):.1f} s left); the mean of its {len(models)} fold models, "
        "whose predictions were scored, is served instead."
    )
    return {next(iter(members)): EnsembleClassifier(models, [1.0] * len(models))}


def _select_ensemble(
    outcome: SearchOutcome,
    settings: SearchSettings,
    data: Dataset,
    best: int,
    notes: list[str],
    keep_for_race: bool = True,
) -> tuple[EnsembleSelection | None, bool]:
    """Caruana selection over the kept trials, used only if it beats the winner honestly;
    ``keep_for_race``: leave the single winner's race the time the search kept for it."""
    cv = outcome.cv
    candidates = {n: cv.scores(outcome.predictions.get(n))[0] for n in outcome.predictions.items}
    if not settings.ensemble or len(candidates) < 2 or best not in candidates:
        return None, False
    left = remaining(settings.deadline)
    if left is not None and left < 1.0:
        notes.append("No ensemble was tried: the time budget was spent.")
        return None, False
    y, fold_ids, weights = cv.scores(data.y, cv.fold_ids, data.sample_weight)
    # Bounded by trials only, nothing that decides the winner may depend on measured seconds:
    # the selection then runs in full, so the same seed gives the same result.
    limit = None if left is None else _selection_limit(outcome, left, keep_for_race)
    selection = select_ensemble(
        candidates,
        y,
        fold_ids,
        settings.metric,
        sample_weight=weights,
        pos_label=data.pos_label,
        single_best=best,
        time_limit=limit,
        # Members are refitted after the selection, in what its time limit leaves.
        costs={n: outcome.refit_seconds([n]) for n in candidates},
        max_cost=None if left is None or limit is None else left - limit,
    )  # fmt: skip
    notes.append(selection.reason)
    if selection.chosen and left is not None:
        refit = outcome.refit_seconds(selection.final_weights)
        left = remaining(settings.deadline) or 0.0
        if refit > left:
            notes.append(
                f"The ensemble was not used: refitting its members (≈{refit:.0f} s) would "
                f"overrun the budget ({left:.0f} s left); the single best trial was refitted."
            )
            return selection, False
    if selection.chosen and selection.dropped:
        trials = ", ".join(str(n) for n in selection.dropped)
        notes.append(
            f"{len(selection.dropped)} member(s) the selection had picked (trial(s) {trials}) "
            f"were dropped: the ensemble's out-of-fold {settings.metric.name} was no worse "
            "without them, so the model is smaller and predicts faster."
        )
    return selection, selection.chosen


def _selection_limit(outcome: SearchOutcome, left: float, keep_for_race: bool) -> float:
    # outcome.clock is None for a stopped search's best, refitted: it ran no trials itself.
    if outcome.clock is None or not keep_for_race:
        return ensemble_seconds(left)
    return outcome.clock.selection_limit(left)


def _advice(
    strategy: dict[str, Any],
    outcome: SearchOutcome,
    settings: SearchSettings,
    data: Dataset,
    notes: list[str],
) -> LearningCurveAdvice | None:
    left = remaining(settings.deadline)
    if left is not None and left < 2.0:
        notes.append(
            "No data-collection advice: the time budget was spent; a larger time_budget leaves "
            "room for it."
        )
        return None
    with warnings.catch_warnings():  # the search's folds were warned of; the curve's 3 differ
        warnings.filterwarnings("ignore", "the smallest class has only", UserWarning)
        return minority_learning_curve(
            strategy,
            data,
            settings.metric,
            cv=3,
            random_state=outcome.random_state,
            n_threads=model_threads(1, len(data.y)),
            time_limit=left,
        )


def _decision_fields(decision: Decision, pipeline: ThresholdedClassifier) -> dict[str, Any]:
    """The rule: a threshold on the model's own scores (``predict_scores``) and, beside it, on
    ``predict_proba``'s calibrated scale, where a user applying it meets ``predict``."""
    if decision.threshold is not None:
        return {
            "threshold": float(decision.threshold),
            "probability_threshold": pipeline.probability_threshold,
        }
    return {"class_scale": [float(s) for s in decision.class_scale or ()]}
