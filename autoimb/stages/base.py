"""What a component is (a name, a stage, a builder), and the registry every stage adds to.

Stage packages import only this module, :mod:`autoimb._checks`, :mod:`autoimb._compat` and
:mod:`autoimb.exceptions` (``tests/test_layout.py`` reads the imports), so each strategy family
can be read, changed and tested on its own.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from autoimb.exceptions import TrialTimeout

STAGES: tuple[str, ...] = ("features", "augmenter", "resampler", "weighting", "model", "ensemble")


@dataclass(frozen=True)
class FitContext:
    """What a builder may know about the (fold's) training data; nothing about validation rows.

    The matrix a component sees is float64 with the ``n_cat`` categorical codes first and the
    numeric columns after them. ``defaults`` (``stage -> name -> parameter -> value``) holds
    every component's parameter defaults, read from the shipped YAML spaces by the engine;
    :meth:`Component.make` lays a trial's parameters over them. ``member_share`` < 1 fits that
    share of an averaged ensemble's members (see ``Component.members``): searches rank strategies
    on smaller forests, and the final refit grows them whole. ``folds_left`` are the trial's
    folds still to fit, this one included, which share the time left before ``deadline``
    (:attr:`time_cap`).
    """

    class_counts: np.ndarray
    n_cat: int = 0
    cardinalities: tuple[int, ...] = ()
    n_features: int = 1
    random_state: int | None = None
    n_threads: int = 1
    max_rows: int | None = None
    deadline: float | None = None
    pretrained: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    member_share: float = 1.0
    folds_left: int = 1
    # The user's row weights summed per class (after resampling), where rows are weighted:
    # what balancing class weights even out, so a row of weight 0 does not count as one.
    class_weight_sums: np.ndarray | None = None
    # The fold's class counts before augmenting and resampling changed them (None: the same as
    # class_counts): which class is the real minority once resampling has evened the classes.
    given_class_counts: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_counts)

    @property
    def minority(self) -> int:
        """The fold's smallest class as given, before resampling; on a tie the last, the class
        scikit-learn's binary metrics call positive."""
        counts = self.class_counts if self.given_class_counts is None else self.given_class_counts
        return int(np.flatnonzero(counts == counts.min())[-1])

    @property
    def class_totals(self) -> np.ndarray:
        """Each class's size as a class weighting sees it: its rows, or their weights' sum."""
        return self.class_counts if self.class_weight_sums is None else self.class_weight_sums

    @property
    def n_rows(self) -> int:
        return int(self.class_counts.sum())

    @property
    def n_num(self) -> int:
        return self.n_features - self.n_cat

    @property
    def cat_indices(self) -> list[int]:
        return list(range(self.n_cat))

    @property
    def time_cap(self) -> float | None:
        """Seconds for a model that trains until a cap and keeps what it learnt (a net): this
        fold's share of the trial's time left, so that the first fold cannot spend the folds
        after it; at least a second, and none without a deadline (a refit)."""
        if self.deadline is None:
            return None
        return max((self.deadline - time.monotonic()) / self.folds_left, 1.0)


Builder = Callable[[Mapping[str, Any], FitContext], Any]
# Fits a built model: (model, X, y, fit keywords, deadline) → the fitted model.
Fitter = Callable[[Any, np.ndarray, np.ndarray, dict[str, Any], "float | None"], Any]


def plain_fit(
    model: Any, X: np.ndarray, y: np.ndarray, keywords: dict[str, Any], deadline: float | None
) -> Any:
    return model.fit(X, y, **keywords)


ANY_NUMBER = float
"""In :attr:`Component.values`: any number is allowed besides the words listed."""

MAX_FEATURES = ("sqrt", "log2", None, ANY_NUMBER)
"""A forest's columns per split, as scikit-learn takes them: a word, or a share or count."""


@dataclass(frozen=True)
class Component:
    """One registered choice of one stage.

    Parameters
    ----------
    build
        Turns the parameters and the fold's context into a fresh object, so that bounds such
        as ``k_neighbors`` can follow the fold's minority size. A builder reads every parameter
        it uses as ``params[key]``, with no default of its own: the YAML spaces' ``default:`` is
        the one home of a default, and :meth:`make` fills in the ones a trial does not set.
    sample_weight
        Whether the built model's ``fit`` takes ``sample_weight``; models without it cannot
        carry class weights or the user's weights, and the search leaves weighting out for them.
    balances_itself
        Models that rebalance internally (balanced forests, EasyEnsemble…) are not given class
        weights on top.
    binary_only
        Refused, and left out of the search, for multi-class targets.
    requires
        An optional dependency; without it the component is absent from every space.
    torch_choices
        Values of a categorical parameter that need PyTorch (a neural head); without it a
        space offers the others only.
    values
        The values a parameter can take, where they are a few known ones (a kind, a version,
        a partner): a space that sets or offers another is refused when it is loaded, where
        it would fail every trial that drew it. ``ANY_NUMBER`` among them lets numbers in too
        (a forest's ``max_features``: ``sqrt`` or a share of the columns).
    scales
        False for components whose cost grows faster than the number of rows; they are left
        out of searches on large data (see ``autoimb.config.LARGE_DATA_ROWS``).
    fit_params
        Model-specific fit options (categorical columns, a deadline callback, a model to
        continue training from).
    fit
        How the pipeline fits the model; a model that can stop part-way (a forest grown in
        chunks) uses it to keep the trial's deadline.
    data_params
        Parameters a space may set that no YAML space can hold a default for, because the
        default depends on the data (one weight per class).
    numeric_only
        A sampler that interpolates every column as a number: on data with category columns
        SMOTE-NC / SMOTE-N runs in its place, and the search and the served model say so.
    keeps_rows
        The fitted model keeps training rows to predict from (a neighbour search's rows, an
        SVM's support vectors), so a saved model holds them; its model card names it.
    members, fewest_members
        The parameter counting members whose predictions are averaged (a forest's trees, the
        bags of a bagging ensemble). More of them never hurts in expectation but costs in
        proportion, so a search fits ``FitContext.member_share`` of them, never fewer than
        ``fewest_members``; boosting rounds are not averaged and have no such parameter.
    """

    name: str
    stage: str
    build: Builder
    description: str
    sample_weight: bool = True
    balances_itself: bool = False
    binary_only: bool = False
    requires: str | None = None
    torch_choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    scales: bool = True
    fit_params: Callable[[FitContext], dict[str, Any]] = field(default=lambda ctx: {})
    fit: Fitter = plain_fit
    members: str | None = None
    fewest_members: int = 1
    data_params: tuple[str, ...] = ()
    keeps_rows: bool = False
    numeric_only: bool = False

    def make(self, params: Mapping[str, Any], ctx: FitContext) -> Any:
        """Build from ``params`` laid over the component's defaults in ``ctx.defaults``."""
        merged = {**ctx.defaults.get(self.stage, {}).get(self.name, {}), **params}
        if self.members is not None and ctx.member_share < 1.0:
            merged[self.members] = self.searched_members(
                int(merged[self.members]), ctx.member_share
            )
        return self.build(merged, ctx)

    def searched_members(self, wanted: int, member_share: float) -> int:
        """How many of ``wanted`` averaged members a fit at ``member_share`` builds."""
        if self.members is None or member_share >= 1.0:
            return wanted
        share = math.ceil(wanted * member_share)
        return min(wanted, max(share, self.fewest_members))


def fit_keywords(
    model: Any, weights: np.ndarray | None, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Route ``sample_weight`` and model-specific fit options to the final estimator."""
    keywords = dict(extra)
    if weights is not None:
        keywords["sample_weight"] = weights
    if isinstance(model, Pipeline):
        last = model.steps[-1][0]
        return {f"{last}__{key}": value for key, value in keywords.items()}
    return keywords


def one_hot_encoder(
    ctx: FitContext, *, dense: bool = False, max_categories: int | None = None
) -> ColumnTransformer:
    """One-hot categories and standardised numbers, for a model that reads columns as numbers.

    A category's code is a label, not a quantity: read as a number (a slope, a distance), its
    alphabetical order would say that "med" lies between "low" and "vhigh". ``dense`` for
    models that take no sparse matrix; ``max_categories`` caps a category's columns, the rarer
    values sharing one.
    """
    steps = []
    if ctx.n_cat:
        encoder = OneHotEncoder(
            handle_unknown="ignore", min_frequency=5, max_categories=max_categories
        )
        steps.append(("categories", encoder, ctx.cat_indices))
    if ctx.n_num:
        steps.append(("numbers", StandardScaler(), list(range(ctx.n_cat, ctx.n_features))))
    # Sparse where the one-hot columns make it mostly zeros (scikit-learn's rule): dense, 150k
    # rows of three 1,000-value columns took 7 GiB and two minutes a fit, sparse 0.4 GiB and 5 s.
    return ColumnTransformer(steps, sparse_threshold=0.0 if dense else 0.3)


def one_hot_in_front(
    ctx: FitContext, model: Any, *, dense: bool = False, max_categories: int | None = None
) -> Pipeline:
    """``model`` behind :func:`one_hot_encoder`."""
    encoder = one_hot_encoder(ctx, dense=dense, max_categories=max_categories)
    return Pipeline([("encode", encoder), ("model", model)])


def register(*components: Component) -> None:
    for component in components:
        registry = REGISTRY[component.stage]
        if component.name in registry:
            raise ValueError(f"component {component.name!r} is registered twice")
        registry[component.name] = component


def nothing(params: Mapping[str, Any], ctx: FitContext) -> None:
    """The builder of each stage's ``none``: the stage is skipped."""
    return None


# Every stage but the model's can be skipped; its ``none`` comes first in the registry.
_SKIPPED = {
    "features": "The columns as they are.",
    "augmenter": "No augmentation.",
    "resampler": "No resampling.",
    "weighting": "Every row weighs the same.",
    "ensemble": "The trial's model alone.",
}
# stage -> name -> component, filled as the stage packages are imported (``autoimb.stages``).
REGISTRY: dict[str, dict[str, Component]] = {
    stage: {"none": Component("none", stage, nothing, _SKIPPED[stage])} if stage in _SKIPPED else {}
    for stage in STAGES
}


# Set by Ctrl-C while parallel trials run: the trials in other threads, which Python's
# KeyboardInterrupt never reaches, stop at their next look at the clock as if it had.
STOPPING = threading.Event()


def stop_at(deadline: float, what: str) -> None:
    """Raise :class:`TrialTimeout` once the trial's deadline has passed (KeyboardInterrupt once
    Ctrl-C stops the search)."""
    if STOPPING.is_set():
        raise KeyboardInterrupt
    if time.monotonic() > deadline:
        raise TrialTimeout(f"{what}: the trial ran past its time cap")


# A fit (or a trial's folds) is stopped once what is left of it, at its pace so far, would take
# this many times the time left before the trial's deadline, if that is more than a second: a
# stop a second early saves little, and a wrong one loses a trial that would have finished.
PACE_MARGIN = 2.0
PACE_MIN_SECONDS = 1.0
_PACE_MARKS = 16
_PACE_MIN_STEPS = 3  # steps measured before a fit of many (not a trial's few folds) is judged


class Pace:
    """Stops a fit, or a trial's folds, once its pace says it cannot end before the trial's
    deadline: cut at the deadline it would be anyway, and the time it would spend till then no
    other trial gets. On 2,000 rows × 5,000 columns one LightGBM fold of 200 rounds takes 80 s,
    and a first trial sent to its deadline left a 90 s search without a finished trial.

    The pace is measured from ``started``, or else from the first step on (so that a boosted
    model's set-up, binning its columns, is not taken for the pace of its rounds); a step count
    that does not grow starts it again (the same callback on the next member of an ensemble).
    """

    def __init__(self, deadline: float, what: str, started: float | None = None) -> None:
        self.deadline, self.what = deadline, what
        # The latest steps' (count, time): their median pace, so that one slow step (a busy
        # machine's pause: a LightGBM round of 1.3 s among rounds of 0.01 s) is no pace.
        self.marks: collections.deque[tuple[int, float]] = collections.deque(maxlen=_PACE_MARKS)
        if started is not None:
            self.marks.append((0, started))

    def __call__(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps are done."""
        stop_at(self.deadline, self.what)
        now = time.monotonic()
        if not self.marks or done <= self.marks[-1][0]:  # the first step, or of a new fit
            self.marks.clear()
            self.marks.append((done, now))
            return
        self.marks.append((done, now))
        measured = done - self.marks[0][0]
        if done >= total or measured < max(1, min(_PACE_MIN_STEPS, total // 10)):
            return
        paces = [(t - s) / (d - c) for (c, s), (d, t) in itertools.pairwise(self.marks)]
        per_step = float(np.median(paces))
        needed, left = per_step * (total - done), self.deadline - now
        if left > PACE_MIN_SECONDS and needed > PACE_MARGIN * left:
            raise TrialTimeout(
                f"{self.what} after {done} of {total}: at its pace the rest needs ≈{needed:.0f} s, "
                f"more than the {left:.0f} s left before its time cap"
            )


FOREST_CHUNK = 25  # the most trees grown between two looks at the trial's deadline ...
CHUNK_SECONDS = 0.5  # ... and about the longest a chunk may take, at the pace of its trees so far


def grow_in_chunks(
    forest: Any,
    X: Any,
    y: Any,
    keywords: dict[str, Any],
    deadline: float | None,
    *,
    sized_by_time: bool = True,
) -> Any:
    """Fit a forest a chunk of trees at a time, stopping the trial once past its deadline.

    A forest cannot stop inside ``fit``; growing it with ``warm_start`` lets the trial's time
    cap act between chunks. The first chunk is one tree, and each next one as many as took
    about ``CHUNK_SECONDS`` at the pace so far (at most ``FOREST_CHUNK``): on 1,617 columns one
    extra-trees tree took 1.5 s, and a first chunk of 25 ran a 60 s search to 83 s. The trees
    do not depend on where the chunks end (scikit-learn's forests equal one ``fit`` however
    they are grown), so a trial's forests and the final refit's are the same.

    ``sized_by_time=False`` grows chunks of ``FOREST_CHUNK`` trees instead, for a forest whose
    trees do depend on where the chunks end: imbalanced-learn's balanced random forest draws two
    seeds per tree but skips one per tree already grown, so only a fixed schedule keeps its
    trials and its refit alike (its trees see balanced bootstraps of the minority's size, so
    they are quick).
    """
    total = int(forest.n_estimators)
    forest.set_params(warm_start=True)
    grown, chunk = 0, 1 if sized_by_time else FOREST_CHUNK
    pace = None if deadline is None else Pace(deadline, "a forest was stopped between trees")
    while grown < total:
        size = min(grown + chunk, total)
        forest.set_params(n_estimators=size)
        started = time.perf_counter()
        forest.fit(X, y, **keywords)
        per_tree = (time.perf_counter() - started) / (size - grown)
        grown = size
        if grown < total and pace is not None:
            pace(grown, total)
        if sized_by_time:
            chunk = int(min(max(CHUNK_SECONDS / max(per_tree, 1e-9), 1), FOREST_CHUNK))
    forest.set_params(warm_start=False)
    return forest
