"""A strategy config becomes one estimator: preprocess ─► augment ─► resample ─► weight ─► model.

imbalanced-learn's Pipeline drops ``sample_weight`` at its samplers, and autoimb carries the
user's weights through resampling; so the stages are chained here, in one small estimator whose
``fit`` is the only place rows are added or removed. Nothing synthetic ever reaches
``predict_proba``: resamplers and augmenters act in ``fit`` only, and are not kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.neighbors import NearestNeighbors

from autoimb import config
from autoimb.data.conform import conform
from autoimb.data.preprocess import Preprocessor

if TYPE_CHECKING:
    from autoimb.stages import FitContext

# The components (autoimb.stages, and the space's defaults) are imported where a pipeline is
# fitted: predicting with a loaded model needs none of them, and they import optuna and every
# sampler library, most of `autoimb predict`'s start-up.

logger = logging.getLogger("autoimb")


def source_rows(
    sampler: Any, X: np.ndarray, y: np.ndarray, Xr: np.ndarray, yr: np.ndarray
) -> np.ndarray:
    """For each resampled row, the input row it came from (nearest of its class if synthetic)."""
    for attribute in ("source_indices_", "sample_indices_"):
        indices = getattr(sampler, attribute, None)
        if indices is not None and len(indices) == len(yr):
            return np.asarray(indices)
    sources = np.empty(len(yr), dtype=np.int64)
    # imbalanced-learn's over-samplers return the input rows first, in order, then the synthetic
    # ones: those kept rows are their own sources. Found by nearest neighbour, a row's exact
    # duplicates all took the first duplicate's weight.
    kept = _kept_in_order(X, y, Xr, yr)
    sources[:kept] = np.arange(kept)
    for label in np.unique(yr[kept:]):
        original = np.flatnonzero(y == label)
        wanted = kept + np.flatnonzero(yr[kept:] == label)
        finder = NearestNeighbors(n_neighbors=1).fit(np.nan_to_num(X[original]))
        nearest = finder.kneighbors(np.nan_to_num(Xr[wanted]), return_distance=False)[:, 0]
        sources[wanted] = original[nearest]
    return sources


def _kept_in_order(X: np.ndarray, y: np.ndarray, Xr: np.ndarray, yr: np.ndarray) -> int:
    """How many input rows lead the resampled ones unchanged and in order: all of them, or 0."""
    n = len(y)
    if len(yr) < n or not np.array_equal(yr[:n], y):
        return 0
    same = np.array_equal(Xr[:n], np.asarray(X, dtype=np.float64), equal_nan=True)
    return n if same else 0


def resample(
    sampler: Any, X: np.ndarray, y: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Apply a sampler; a kept or synthetic row takes its source's weight."""
    if sampler is None:
        return X, y, weights
    Xr, yr = sampler.fit_resample(X, y)
    Xr, yr = np.asarray(Xr, dtype=np.float64), np.asarray(yr)
    if weights is not None:
        weights = weights[source_rows(sampler, X, y, Xr, yr)]
    return Xr, yr, weights


def fallbacks(model: Any) -> list[str]:
    """What a fitted pipeline, or each of the fold models or members served in its place, did
    instead of its strategy (:attr:`StrategyPipeline.fallbacks_`)."""
    members = getattr(model, "estimators", None)
    if members is not None:
        return [said for member in members for said in fallbacks(member)]
    return list(getattr(model, "fallbacks_", ()))


TIMED_STAGES = ("features", "augmenter", "resampler", "model", "partner")
"""The parts of a fit timed apart (:attr:`StrategyPipeline.stage_seconds_`): the model's part
holds its in-trial ensemble, all but the partner model some ensembles fit beside it."""


def stage_growth(strategy: Mapping[str, Any]) -> dict[str, float]:
    """How much longer each timed part of a fit of the final model can take than a search's
    fit of the same strategy, whose averaged ensembles built only a share of their members;
    the trial's model inside a bagging ensemble grows by both their shares (a bag of forests
    of 375 trees, 3 of 9 bags of 94 trees in the search, grows twelve-fold, not four)."""
    from autoimb.engine.space import component_defaults
    from autoimb.stages import REGISTRY

    defaults = component_defaults()

    def grows(stage: str, choice: Any) -> float:
        component = REGISTRY[stage].get(choice.get("name")) if isinstance(choice, Mapping) else None
        if component is None or component.members is None:
            return 1.0
        params = {**defaults.get(stage, {}).get(component.name, {}), **choice}
        wanted = int(params[component.members])
        return wanted / max(component.searched_members(wanted, config.SEARCH_MEMBER_SHARE), 1)

    parts = {stage: grows(stage, choice) for stage, choice in strategy.items() if stage in REGISTRY}
    ensemble = strategy.get("ensemble")
    partner = ensemble.get("partner") if isinstance(ensemble, Mapping) else None
    return {
        "features": parts.get("features", 1.0),
        "augmenter": parts.get("augmenter", 1.0),
        "resampler": parts.get("resampler", 1.0),
        "model": parts.get("model", 1.0) * parts.get("ensemble", 1.0),
        "partner": grows("model", {"name": partner}) if partner else 1.0,
    }


def growth_at_refit(strategy: Mapping[str, Any]) -> float:
    """The most any part of the fit grows at the refit: what the whole fit grows by at most."""
    return max(stage_growth(strategy).values())


def grown_seconds(
    strategy: Mapping[str, Any],
    seconds: float,
    stage_seconds: Mapping[str, float],
    rows_factor: float = 1.0,
) -> float:
    """A search's fit time (``seconds``, of which ``stage_seconds`` per timed part) as the final
    model's fit would take it, before the refit's scaling to all rows: each part grown by its
    own share, the rest (predicting, the weights) as it was. Growing the whole fit by its largest
    part's growth, a forest voting with a LightGBM after SMOTE was reckoned at two to three times
    what its refit took.

    The parts that grow are forests and bags of them, whose trees, grown to a leaf size, cost
    far more than linearly in rows: a tree of extra trees took 2.03 times as long on a SMOTE-like
    oversampled 100k rows as on a fold's 80k (1.25 times the rows), so they grow by
    ``rows_factor`` (all rows over a fold's) twice more, about the cube of the rows' growth; on
    small data (under :data:`autoimb.config.SUPERLINEAR_FIT_ROWS` rows) the search passes 1.
    """
    growth = stage_growth(strategy)
    timed = sum(stage_seconds.values())
    grown = 0.0
    for stage, part in stage_seconds.items():
        factor = growth.get(stage, 1.0)
        grown += part * (factor * rows_factor**2 if factor > 1.0 else 1.0)
    return max(seconds - timed, 0.0) + grown


class StrategyPipeline(ClassifierMixin, BaseEstimator):
    """The estimator a strategy config describes.

    Parameters
    ----------
    config
        ``{"augmenter": {"name": …}, "resampler": {"name": …, params}, "weighting": {…},
        "model": {…}}``; a missing stage means "none", and a parameter the config does not
        set takes its default from the shipped YAML spaces
        (:func:`autoimb.engine.space.component_defaults`).
    schema
        The training columns (from :func:`autoimb.data.dataset.validate`); new data is checked
        against it before every prediction.
    max_rows
        Row budget for oversampling, so a 1:1 SMOTE on millions of rows cannot exhaust memory.
    pretrained
        Models to continue training from, by model name: ``{"lightgbm": booster or file,
        "xgboost": booster or file, "mlp": weights}`` (transfer from related data).
    member_share
        The share of an averaged ensemble's members (trees, bags) to fit; searches rank
        strategies on fewer of them (:data:`autoimb.config.SEARCH_MEMBER_SHARE`), the final
        model has them all.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        schema: Mapping[str, Any],
        *,
        random_state: int | None = None,
        n_threads: int = 1,
        max_rows: int | None = None,
        pretrained: Mapping[str, Any] | None = None,
        member_share: float = 1.0,
    ) -> None:
        self.config = config
        self.schema = schema
        self.random_state = random_state
        self.n_threads = n_threads
        self.max_rows = max_rows
        self.pretrained = pretrained
        self.member_share = member_share

    def make_preprocessor(self) -> Preprocessor:
        return Preprocessor(tuple(self.schema["categorical"]), tuple(self.schema["numeric"]))

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> StrategyPipeline:
        frame = conform(X, self.schema)
        preprocessor = self.make_preprocessor().fit(frame)
        return self.fit_transformed(preprocessor, preprocessor.transform(frame), y, sample_weight)

    def fit_transformed(
        self,
        preprocessor: Preprocessor,
        Xt: np.ndarray,
        y: Any,
        sample_weight: np.ndarray | None = None,
        n_classes: int | None = None,
        deadline: float | None = None,
        folds_left: int = 1,
    ) -> StrategyPipeline:
        """Fit on rows the (shared, already fitted) preprocessor has transformed.

        ``deadline`` (a ``time.monotonic`` instant) lets boosted models stop mid-fit when a
        trial runs past its time cap; the ``folds_left`` of the trial, this one included, share
        that time between the nets, which stop when spent (:attr:`FitContext.time_cap`).
        """
        y = np.asarray(y, dtype=np.int64)
        self.preprocessor_ = preprocessor
        self.n_classes_ = int(n_classes or y.max() + 1)
        self.classes_ = np.arange(self.n_classes_)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)

        given_counts = np.bincount(y, minlength=self.n_classes_)
        clock = time.perf_counter()
        seconds = dict.fromkeys(TIMED_STAGES, 0.0)
        self.features_ = self._build("features", self._context(Xt, y, deadline))
        if self.features_ is not None:
            Xt = self.features_.fit(Xt, y, sample_weight=weights).transform(Xt)
        seconds["features"] = time.perf_counter() - clock
        self.fallbacks_: list[str] = []  # what a served model did instead of its strategy
        for stage in ("augmenter", "resampler"):
            clock = time.perf_counter()
            built = self._build(stage, self._context(Xt, y, deadline))
            Xt, y, weights = resample(built, Xt, y, weights)
            for said in getattr(built, "instead_", ()):  # stages.resampling.over.said_instead
                self.fallbacks_.append(f"{self._choice(stage)['name']} {said}")
            seconds[stage] = time.perf_counter() - clock

        ctx = replace(
            self._context(Xt, y, deadline, weights),
            given_class_counts=given_counts,
            folds_left=folds_left,
        )
        class_weights = self._build("weighting", ctx)
        if class_weights is not None:
            factor = np.asarray(class_weights, dtype=float)[y]
            weights = factor if weights is None else weights * factor

        from autoimb.stages import REGISTRY
        from autoimb.stages.base import fit_keywords

        clock = time.perf_counter()
        component = REGISTRY["model"][self._choice("model")["name"]]
        model = component.make(self._params("model"), ctx)
        options = component.fit_params(ctx)
        combine = self._build("ensemble", ctx)
        if combine is not None:
            model, every_options = combine((model, component.name), options)
            model.fit(Xt, y, sample_weight=weights, options=every_options, deadline=deadline)
        else:
            if weights is not None and not component.sample_weight:
                logger.debug("%s takes no sample weights; fitted without them", component.name)
                weights = None
            model = component.fit(model, Xt, y, fit_keywords(model, weights, options), deadline)
        self.model_ = model
        seconds["model"] = time.perf_counter() - clock
        if combine is not None:  # its first member is the trial's model, the rest its partner
            seconds["partner"] = sum(model.member_seconds_[1:])
            seconds["model"] -= seconds["partner"]
        self.stage_seconds_ = seconds  # what each part took: how a refit grows (grown_seconds)

        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.predict_proba_conformed(self.conform(X))

    def conform(self, X: Any) -> Any:
        """New rows brought to the training schema (:func:`autoimb.data.conform.conform`);
        members of an ensemble trained on the same columns share one such copy."""
        return conform(X, self.schema)

    def predict_proba_conformed(self, frame: Any) -> np.ndarray:
        return self.predict_proba_transformed(self.preprocessor_.transform(frame))

    def predict_proba_transformed(self, Xt: np.ndarray) -> np.ndarray:
        """Probabilities for every class, also one the model never saw after resampling."""
        if self.features_ is not None:
            Xt = self.features_.transform(Xt)
        raw = self.model_.predict_proba(Xt)
        proba = np.zeros((len(Xt), self.n_classes_))
        proba[:, np.asarray(self.model_.classes_, dtype=np.int64)] = raw
        return proba

    def predict(self, X: Any) -> np.ndarray:
        return np.argmax(self.predict_proba(X), axis=1)

    def _choice(self, stage: str) -> Mapping[str, Any]:
        return self.config.get(stage) or {"name": "none"}

    def _params(self, stage: str) -> dict[str, Any]:
        return {k: v for k, v in self._choice(stage).items() if k != "name"}

    def _build(self, stage: str, ctx: FitContext) -> Any:
        from autoimb.stages import REGISTRY

        name = self._choice(stage)["name"]
        return REGISTRY[stage][name].make(self._params(stage), ctx)

    def _context(
        self,
        Xt: np.ndarray,
        y: np.ndarray,
        deadline: float | None = None,
        weights: np.ndarray | None = None,
    ) -> FitContext:
        from autoimb.engine.space import component_defaults
        from autoimb.stages import FitContext

        return FitContext(
            class_counts=np.bincount(y, minlength=self.n_classes_),
            class_weight_sums=(
                None if weights is None else np.bincount(y, weights, minlength=self.n_classes_)
            ),
            n_cat=len(self.schema["categorical"]),
            cardinalities=self.preprocessor_.cardinalities,
            n_features=Xt.shape[1],
            random_state=self.random_state,
            n_threads=self.n_threads,
            max_rows=self.max_rows,
            deadline=deadline,
            pretrained=dict(self.pretrained or {}),
            defaults=component_defaults(),
            member_share=self.member_share,
        )
