"""What a report says about the winning strategy, whatever it is rebuilt from.

A finished search holds everything; a saved model's card or an Optuna study hold the strategy
and its score but not its out-of-fold predictions, which :meth:`Winner.reevaluate` computes
again from the training data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from autoimb import config
from autoimb.config import STUDY_ATTR
from autoimb.engine.budget import model_threads
from autoimb.engine.model_card import card_scored_on_copies, card_space_spent
from autoimb.engine.splits import Folds
from autoimb.exceptions import AutoImbError
from autoimb.leaderboard import served_trials
from autoimb.metrics.notes import floor_condition
from autoimb.metrics.registry import Metric, recorded_metric
from autoimb.posthoc.ensemble import blend
from autoimb.posthoc.threshold import Decision, honest_score
from autoimb.report.setup import SETUP_KEYS
from autoimb.strategy import Ensemble, parse_strategy, strategy_stages

__all__ = ["OutOfFold", "Winner", "study_attrs"]

RULE_SET_AFTER = (
    "The decision rule was set after the search (set_params): the predictions shown apply it, "
    "and the scores were measured with the search's rule."
)

# Why a winner has no feature importance, where no note of the search can say.
STUDY_ALONE = "a study keeps none, and the report was not given the training data"
NOT_KEPT = "the model was saved by a version of autoimb that did not measure it"
UNDEFINED = "measured again on the data given, the score was undefined on every fold"


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
    search_score: float | None = None
    score_basis: str = "cross-validated"
    interval: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)  # the search's own notes
    advice: str | None = None  # the learning-curve advice, when it was measured
    importance: dict[str, Any] | None = None  # the model card's permutation importance
    probability_threshold: float | None = None  # the threshold on predict_proba's scale
    interval_rows: int | None = None  # the size of a new set the interval is for
    served: frozenset[int] | None = None  # the trials the model serves, where known
    floor_miss: float | None = None  # how often precision misses a floor on such a new set
    schema: dict[str, Any] | None = None  # the model card's: how the search typed its data
    importance_why: str | None = None  # why there is no importance, where notes cannot say
    setup: dict[str, Any] | None = None  # the model card's record of how the search ran
    space_spent: bool = False  # every strategy of the space was tried: more budget repeats
    scored_on_copies: bool = False  # copied rows flattered the score and its interval

    def interval_set(self) -> str:
        """The new data the interval is for, in words."""
        if self.interval_rows:
            return f"a new set of {self.interval_rows:,} rows"
        return "new data as large as the training data"

    def interval_held(self) -> tuple[str, str] | None:
        """For a precision floor: the condition the interval holds under, and of what it is."""
        if self.score is None:
            return None
        return floor_condition(self.metric, self.score, self.floor_miss)

    @classmethod
    def from_result(cls, result: Any) -> Winner:
        ev = result.evidence
        return cls(
            result.metric,
            result.best_score,
            strategy_stages(result.best_config),
            result.applied_decision,
            [str(c) for c in result.classes_],
            trial=result.best_pipeline.model_card_.get("trial"),
            oof=OutOfFold.of(ev.y, ev.oof, ev.sample_weight),
            summary=ev.summary,
            search_score=result.search_score,
            score_basis=result.score_basis,
            interval=result.score_interval,
            notes=list(result.notes)
            + [RULE_SET_AFTER] * (result.applied_decision != result.decision),
            advice=result.advice.summary() if result.advice is not None else None,
            importance=result.best_pipeline.model_card_.get("feature_importance"),
            probability_threshold=result.best_pipeline.probability_threshold,
            interval_rows=len(ev.y),
            served=served_trials(result.model_card()),
            floor_miss=result.floor_miss_chance,
            setup=_setup(result.model_card()),
            space_spent=card_space_spent(result.model_card()),
            scored_on_copies=card_scored_on_copies(result.model_card()),
        )

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Winner:
        return cls(
            recorded_metric(card["metric"], "the model"),
            card.get("cv_score"),
            strategy_stages(card.get("config", {})),
            Decision.from_labelled(
                card.get("decision") or {}, card.get("classes", []), card.get("positive_class")
            ),
            [str(c) for c in card.get("classes", [])],
            trial=card.get("trial"),
            summary=card.get("data"),
            search_score=card.get("search_score"),
            score_basis=card.get("score_basis", "cross-validated"),
            interval=tuple(card["score_interval"]) if card.get("score_interval") else None,
            notes=list(card.get("notes", [])),
            importance=card.get("feature_importance"),
            probability_threshold=card.get("probability_threshold"),
            interval_rows=card.get("score_interval_rows"),
            served=served_trials(card),
            floor_miss=card.get("floor_miss_chance"),
            schema=card.get("schema"),
            importance_why=None if "feature_importance" in card else NOT_KEPT,
            advice=card.get("advice"),  # a card from before it was kept has none
            setup=_setup(card),
            space_spent=card_space_spent(card),
            scored_on_copies=card_scored_on_copies(card),
        )

    @classmethod
    def from_study(cls, study: optuna.Study) -> Winner:
        if not any(t.state == TrialState.COMPLETE for t in study.trials):
            raise AutoImbError(f"study {study.study_name!r} has no finished trial to report on.")
        attrs = study_attrs(study)
        best = study.best_trial
        return cls(
            recorded_metric(attrs["metric"], f"study {study.study_name!r}"),
            best.value,
            strategy_stages(best.user_attrs.get("config", {})),
            Decision.from_dict(best.user_attrs.get("decision") or {}),
            [str(c) for c in attrs.get("classes", [])],
            trial=best.number,
            score_basis="the study's best trial on the folds that chose it: optimistic",
            importance_why=STUDY_ALONE,
        )

    def reevaluate(
        self, X: Any, y: Any, *, cv: int | Folds = 5, seed: int = 0, sample_weight: Any = None
    ) -> None:
        """Cross-validate the winner's strategy again on its training data, for its curves,
        and its feature importance when its model card had none."""
        from autoimb.data.dataset import validate
        from autoimb.engine.evaluate import CrossValidation, evaluate

        # Typed as the search typed them: a column named in categorical_features (store
        # numbers) read back from a file is numbers, and the curves were another model's. Named,
        # no column is left out as an identifier, so those the search left out go first.
        categorical = (self.schema or {}).get("categorical")
        named: Any = "auto"
        if categorical and hasattr(X, "columns"):
            X = X.drop(columns=[c for c in self.schema.get("dropped", []) if c in X.columns])
            named = [c for c in categorical if c in X.columns]
        data = validate(X, y, sample_weight=sample_weight, categorical_features=named)
        classes = [str(c) for c in data.classes]
        if self.classes and classes != self.classes:
            raise AutoImbError(
                f"the data's classes {classes} differ from the winner's {self.classes}; pass "
                "the data (and target column) the search ran on."
            )
        folds = CrossValidation(data, cv, random_state=seed)
        strategy = parse_strategy(self.config)
        singles = strategy.members if isinstance(strategy, Ensemble) else {0: strategy}
        member_weights = strategy.weights if isinstance(strategy, Ensemble) else {0: 1.0}
        evaluations = {
            n: evaluate(
                single.to_config(),
                folds,
                self.metric,
                random_state=seed,
                n_threads=model_threads(1, len(data.y)),
                keep_models=self.importance is None,
                # As the search's trials fitted it: the predictions its decision was tuned on.
                member_share=config.SEARCH_MEMBER_SHARE,
            )
            for n, single in singles.items()
        }
        oofs = {n: e.oof for n, e in evaluations.items()}
        proba = blend(oofs, member_weights) if len(oofs) > 1 else next(iter(oofs.values()))
        if self.importance is None:
            self.importance = _importance(evaluations, member_weights, data, self.metric, seed)
            # Given the data, the reason a study alone has none no longer holds.
            self.importance_why = None if self.importance is not None else UNDEFINED
        # The rows some fold validated, as the search scored them: time folds never validate
        # their first block, which would otherwise count as predicted by a model of no class.
        y, proba, fold_ids, weights = folds.scores(
            data.y, proba, folds.fold_ids, data.sample_weight
        )
        self.oof = OutOfFold.of(y, proba, weights)
        self.classes, self.summary = classes, data.summary()
        if self.score is None:
            self.score = honest_score(
                y, proba, fold_ids, self.metric, sample_weight=weights, pos_label=data.pos_label
            )[0]


def _importance(
    evaluations: Mapping[int, Any],
    weights: Mapping[int, float],
    data: Any,
    metric: Metric,
    seed: int,
) -> dict[str, Any] | None:
    """Permutation importance of the members' fold models, blended as the winner blends them."""
    from autoimb.engine.importance import FoldModel, card_entry, permutation_importance

    n_folds = len(next(iter(evaluations.values())).models)
    folds = [
        FoldModel(
            next(iter(evaluations.values())).models[k].valid,
            tuple((e.models[k].pipeline, float(weights[n])) for n, e in evaluations.items()),
        )
        for k in range(n_folds)
    ]
    return card_entry(permutation_importance(folds, data, metric, n_folds=n_folds, seed=seed))


def _setup(card: Mapping[str, Any]) -> dict[str, Any]:
    return {key: card[key] for key in SETUP_KEYS if key in card}


def study_attrs(study: optuna.Study) -> dict[str, Any]:
    attrs = study.user_attrs.get(STUDY_ATTR)
    if attrs is None:
        raise AutoImbError(
            f"study {study.study_name!r} was not made by autoimb (it records no search "
            "settings); pass a study that an autoimb search wrote."
        )
    return dict(attrs)
