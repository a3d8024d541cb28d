"""Common tests: every registered component is built and fitted on every kind of data, and
takes part in what its strategy predicts.

A new component needs only its registry entry (and its YAML block) to be covered here.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import xgboost

from autoimb import datasets
from autoimb._compat import TORCH_AVAILABLE
from autoimb.data.dataset import validate
from autoimb.engine.pipeline import StrategyPipeline, resample
from autoimb.engine.space import component_defaults
from autoimb.stages import REGISTRY, FitContext

# The data a component must handle: numeric binary, categorical + missing, all-categorical,
# multi-class. Each comes from a shipped KEEL set.
DATA = ["ecoli1", "hepatitis", "car_good", "glass_multiclass"]
BASE = {"model": {"name": "lightgbm", "n_estimators": 20}}
# Cheap settings for components whose defaults are slow on a test budget.
CHEAP = {
    ("model", "lightgbm"): {"n_estimators": 20},
    ("model", "xgboost"): {"n_estimators": 20},
    ("model", "random_forest"): {"n_estimators": 20},
    ("model", "extra_trees"): {"n_estimators": 20},
    ("model", "balanced_random_forest"): {"n_estimators": 20},
    ("model", "easy_ensemble"): {"n_estimators": 3},
    ("model", "balanced_bagging"): {"n_estimators": 5},
    ("model", "rusboost"): {"n_estimators": 10},
}
ALL = [(stage, name) for stage, names in REGISTRY.items() for name in names]


def _prepared(name: str):
    X, y = datasets.load(name, return_X_y=True)
    return validate(X, y)


def _config(stage: str, name: str, n_classes: int = 2) -> dict:
    params = dict(CHEAP.get((stage, name), {}))
    if stage == "weighting" and name == "explicit":
        params = {"weights": [float(c + 1) ** 2 for c in range(n_classes)]}
    return {**BASE, stage: {"name": name, **params}}


@functools.cache
def _split_and_base_proba(data_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows to fit and to predict, and the probabilities of ``BASE`` alone on them."""
    data = _prepared(data_name)
    rows = np.random.default_rng(0).permutation(len(data.y))
    train, test = rows[: len(rows) * 2 // 3], rows[len(rows) * 2 // 3 :]
    base = StrategyPipeline(BASE, data.schema(), random_state=0)
    base.fit(data.X.iloc[train], data.y[train])
    return train, test, base.predict_proba(data.X.iloc[test])


def _skip_unsupported(stage: str, name: str, data) -> None:
    component = REGISTRY[stage][name]
    if component.requires == "torch" and not TORCH_AVAILABLE:
        pytest.skip(f"{name} needs torch")
    if component.binary_only and data.n_classes > 2:
        pytest.skip(f"{name} is binary-only")


@pytest.mark.parametrize("data_name", DATA)
@pytest.mark.parametrize(("stage", "name"), ALL, ids=[f"{s}-{n}" for s, n in ALL])
def test_component_fits_and_predicts(stage: str, name: str, data_name: str) -> None:
    data = _prepared(data_name)
    _skip_unsupported(stage, name, data)
    train, test, base_proba = _split_and_base_proba(data_name)
    pipeline = StrategyPipeline(_config(stage, name, data.n_classes), data.schema(), random_state=0)
    pipeline.fit(data.X.iloc[train], data.y[train])
    proba = pipeline.predict_proba(data.X.iloc[test])
    assert proba.shape == (len(test), data.n_classes)
    # The component took part: its probabilities are not those of the base strategy alone
    # (a stage's ``none``, and the base model itself, are that strategy).
    if name == "none" or (stage, name) == ("model", BASE["model"]["name"]):
        np.testing.assert_allclose(proba, base_proba, rtol=0, atol=1e-12)
    else:
        assert not np.allclose(proba, base_proba, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    # Many new rows are scored in blocks: a row's score must not depend on the rows beside it.
    parts = [pipeline.predict_proba(part) for part in np.array_split(data.X.iloc[test], 3)]
    np.testing.assert_allclose(np.concatenate(parts), proba, rtol=1e-6, atol=1e-9)
    # The model ranks better than chance on the held-out third: it learnt something.
    minority = data.pos_label
    positives = data.y[test] == minority
    assert proba[positives, minority].mean() > proba[~positives, minority].mean()


@pytest.mark.parametrize(("stage", "name"), ALL, ids=[f"{s}-{n}" for s, n in ALL])
def test_component_has_description_and_builds_fresh(stage: str, name: str) -> None:
    component = REGISTRY[stage][name]
    assert component.stage == stage and component.name == name
    assert component.description.endswith(".")
    if component.requires == "torch" and not TORCH_AVAILABLE:
        pytest.skip(f"{name} needs torch")
    ctx = FitContext(
        class_counts=np.array([90, 10]),
        n_features=4,
        random_state=0,
        defaults=component_defaults(),
    )
    params = dict(CHEAP.get((stage, name), {}))
    first, second = component.make(params, ctx), component.make(params, ctx)
    assert first is None or first is not second


@pytest.mark.parametrize("name", sorted(REGISTRY["resampler"]))
def test_resampled_rows_never_reach_prediction(name: str) -> None:
    """Resamplers act in fit only: predicting the training rows returns one row per input row."""
    data = _prepared("ecoli1")
    config = {**BASE, "resampler": {"name": name}}
    pipeline = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    assert pipeline.predict_proba(data.X).shape[0] == len(data.y)
    assert not any("sampl" in type(v).__name__.lower() for v in vars(pipeline).values())


@pytest.mark.parametrize("name", sorted(REGISTRY["resampler"]))
def test_resampling_keeps_every_class_a_fold_holds(name: str) -> None:
    """A multi-class fold whose rare classes hold one to three rows: no resampler may empty
    one (the fold's model would never see it, and XGBoost refuses such labels)."""
    data = _prepared("glass_multiclass")
    X, y = data.X.to_numpy(dtype=float), data.y
    counts = np.bincount(y)
    rare = np.argsort(counts)[:3]
    keep = np.ones(len(y), dtype=bool)
    for c, left in zip(rare, (1, 2, 3), strict=True):
        keep[np.flatnonzero(y == c)[left:]] = False
    X, y = X[keep], y[keep]
    ctx = FitContext(
        class_counts=np.bincount(y, minlength=data.n_classes),
        n_features=X.shape[1],
        random_state=0,
        defaults=component_defaults(),
    )
    component = REGISTRY["resampler"][name]
    params = component_defaults().get("resampler", {}).get(name, {})
    sampler = component.make(dict(params), ctx)
    if sampler is None:
        pytest.skip(f"{name} resamples nothing")
    _, resampled = sampler.fit_resample(X, y)
    assert set(np.unique(resampled)) == set(np.unique(y))


def test_oversampling_neighbours_follow_the_fold_minority() -> None:
    """A fold with 3 minority rows still oversamples: k_neighbors is clipped to 2."""
    data = _prepared("ecoli1")
    keep = np.concatenate([np.flatnonzero(data.y == 0)[:60], np.flatnonzero(data.y == 1)[:3]])
    config = {**BASE, "resampler": {"name": "smote", "k_neighbors": 10, "sampling_ratio": 1.0}}
    pipeline = StrategyPipeline(config, data.schema(), random_state=0)
    pipeline.fit(data.X.iloc[keep], data.y[keep])
    assert pipeline.predict_proba(data.X.iloc[keep]).shape == (63, 2)


@pytest.mark.parametrize("name", ["smote_enn", "smote_tomek"])
def test_combined_resampling_cleans_where_smote_adds_no_rows(name: str) -> None:
    """ecoli1's minority is 30% of its majority: at a sampling ratio of 0.2 SMOTE has nothing to
    add, and the cleaning still runs (it was dropped with SMOTE, and the strategy changed
    nothing). It thins the majority only, and each kept row keeps its own weight."""
    data = _prepared("ecoli1")
    X, y = data.X.to_numpy(dtype=float), data.y
    ctx = FitContext(
        class_counts=np.bincount(y),
        n_features=X.shape[1],
        random_state=0,
        defaults=component_defaults(),
    )
    sampler = REGISTRY["resampler"][name].make({"sampling_ratio": 0.2}, ctx)
    row_numbers = np.arange(len(y), dtype=float)
    Xr, yr, weights = resample(sampler, X, y, row_numbers)
    counts = np.bincount(yr)
    assert counts[data.pos_label] == np.bincount(y)[data.pos_label]
    assert counts.sum() < len(y)
    source = weights.astype(int)
    np.testing.assert_array_equal(Xr, X[source])
    np.testing.assert_array_equal(yr, y[source])

    def fitted(config: dict) -> np.ndarray:
        pipeline = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
        return pipeline.predict_proba(data.X)

    linear = {"model": {"name": "logistic_regression"}}
    cleaned = fitted({**linear, "resampler": {"name": name, "sampling_ratio": 0.2}})
    assert not np.allclose(cleaned, fitted(linear), rtol=0, atol=1e-12)


def test_rusboost_fits_car_good_at_its_shallowest_searched_depth() -> None:
    """car_good's minority needs two conditions at once: a tree fitted on RUSBoost's balanced
    undersample errs on over half of all rows' weight in the first round, and imbalanced-learn
    refuses the ensemble. Stumps did on every fold, trees of depth 2 on one draw in ten (here
    the second fold)."""
    from sklearn.model_selection import StratifiedKFold

    from autoimb.engine.space import load_space

    depths = load_space("default").stages["model"]["rusboost"]["max_depth"].distribution
    data = _prepared("car_good")
    config = {"model": {"name": "rusboost", "max_depth": depths.low, "n_estimators": 10}}
    for train, _ in StratifiedKFold(3, shuffle=True, random_state=0).split(data.X, data.y):
        pipeline = StrategyPipeline(config, data.schema(), random_state=0)
        pipeline.fit(data.X.iloc[train], data.y[train])
        assert len(pipeline.model_.estimators_) >= 1  # fitted, not refused
        assert set(pipeline.predict(data.X.iloc[train])) == {0, 1}  # and tells the classes


# XGBoost 2.1 ranks car_good's rare class at 0.82-0.84 under either category rule; the
# partitions' gain was measured with 3.2 (benchmarks/RESULTS.md).
_XGBOOST_PARTITIONS_MEASURED = tuple(map(int, xgboost.__version__.split(".")[:2])) >= (3, 2)


@pytest.mark.parametrize(
    ("model", "over_folds", "floor"),
    [
        ("lightgbm", min, 0.95),
        pytest.param(
            "xgboost",
            np.mean,
            0.9,
            marks=pytest.mark.skipif(
                not _XGBOOST_PARTITIONS_MEASURED,
                reason=f"XGBoost {xgboost.__version__}: the partitions' gain was measured with "
                "3.2; 2.1 ranks car_good at 0.82-0.84 under either rule",
            ),
        ),
    ],
)
def test_boosted_trees_split_on_categories_of_a_rare_class(
    model: str, over_folds, floor: float
) -> None:
    """car_good's six columns are all categories and its minority 4% of the rows. With
    LightGBM's own category defaults (groups of 100 rows, smoothing of 10) held-out average
    precision was 0.86-0.94 over three folds; held to the searched leaf size and L2, 0.96-0.97,
    above 0.95 on each fold. XGBoost 3.2 splitting its columns (3-4 categories) one category
    against the rest averaged 0.88 (0.80-0.93); partitioning them, 0.92 (0.85-0.96)."""
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold

    data = _prepared("car_good")
    positive = data.pos_label
    scores = []
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(data.X, data.y):
        pipeline = StrategyPipeline({"model": {"name": model}}, data.schema(), random_state=0)
        pipeline.fit(data.X.iloc[train], data.y[train])
        proba = pipeline.predict_proba(data.X.iloc[test])[:, positive]
        scores.append(average_precision_score(data.y[test] == positive, proba))
    assert over_folds(scores) > floor


def test_smote_nc_builds_its_new_rows_a_block_at_a_time(monkeypatch) -> None:
    """SMOTE-NC reads the neighbours of all its new rows as one dense block of rows ×
    neighbours × one-hot columns: 13 GB for a fold of 40,000 rows with a merchant column of
    20,000 values, whatever the data's own size. Built a block at a time, its peak is a block's."""
    import tracemalloc
    import warnings

    from autoimb.data.preprocess import Preprocessor
    from autoimb.stages.resampling import blocked_smote

    X, y = datasets.load("yeast4", return_X_y=True)
    weights = 1 / np.arange(1, 801)
    merchant = np.random.default_rng(0).choice(800, size=len(y), p=weights / weights.sum())
    with warnings.catch_warnings():  # of the merchant column's many values
        warnings.simplefilter("ignore", UserWarning)
        data = validate(X.assign(merchant=[f"M{m:04d}" for m in merchant]), y)
    preprocessor = Preprocessor(tuple(data.categorical), tuple(data.numeric)).fit(data.X)
    Xt = preprocessor.transform(data.X)
    ctx = FitContext(
        class_counts=np.bincount(data.y),
        n_cat=1,
        cardinalities=preprocessor.cardinalities,
        n_features=Xt.shape[1],
        random_state=0,
        defaults=component_defaults(),
    )
    monkeypatch.setattr(blocked_smote, "SYNTHETIC_BLOCK_CELLS", 100_000)
    sampler = REGISTRY["resampler"]["smote"].make({"sampling_ratio": 1.0, "k_neighbors": 5}, ctx)
    tracemalloc.start()
    try:
        Xr, yr = sampler.fit_resample(Xt, data.y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    counts = np.bincount(data.y)
    np.testing.assert_array_equal(np.bincount(yr), [counts[0], counts[0]])
    new = Xr[len(data.y) :]
    assert set(new[:, 0]) <= set(Xt[data.y == 1, 0])  # a minority row's merchant, each
    assert peak < 4 * 2**20, f"{peak / 2**20:.1f} MiB"
