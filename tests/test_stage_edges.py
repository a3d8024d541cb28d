"""Stages at the edges of the data they meet: several minority classes, a minority cleanly
apart from the rest, a fold with two minority rows, weighted rows."""

from __future__ import annotations

import numpy as np
import pytest

from autoimb import datasets
from autoimb._compat import TORCH_AVAILABLE
from autoimb.data.dataset import validate
from autoimb.engine.pipeline import StrategyPipeline, resample
from autoimb.engine.space import component_defaults
from autoimb.stages import REGISTRY, FitContext
from autoimb.stages.augmentation.minority import MinorityMixup


def _matrix(name: str) -> tuple[np.ndarray, np.ndarray]:
    data = validate(*datasets.load(name, return_X_y=True))
    return data.X.to_numpy(float), data.y


def _resampler(name: str, y: np.ndarray, **params) -> object:
    ctx = FitContext(
        class_counts=np.bincount(y), n_features=4, random_state=0, defaults=component_defaults()
    )
    return REGISTRY["resampler"][name].make(params, ctx)


@pytest.mark.parametrize("name", ["edited_nearest_neighbours", "tomek_links"])
def test_cleaning_thins_only_the_large_classes(name: str) -> None:
    """imbalanced-learn's default cleans every class but the smallest: on glass it emptied a
    17-row class."""
    X, y = _matrix("glass_multiclass")
    before = np.bincount(y)
    params = {"n_neighbors": 3} if name == "edited_nearest_neighbours" else {}
    _, resampled = _resampler(name, y, **params).fit_resample(X, y)
    after = np.bincount(resampled, minlength=len(before))
    small = before <= before.mean()
    np.testing.assert_array_equal(after[small], before[small])
    assert (after[~small] <= before[~small]).all()


@pytest.mark.parametrize("name", ["random_under", "near_miss"])
@pytest.mark.parametrize("ratio", [0.1, 0.5, 1.0])
def test_undersampling_several_classes_cuts_only_those_above_the_ratio(name, ratio) -> None:
    """On glass the searched ratio is the smallest class over the largest after sampling, as
    for two classes: only classes above ``smallest / ratio`` are cut, to that size, and every
    class comes down to the smallest's size only at 1:1 (imbalanced-learn's default cuts them
    all to it whatever the ratio)."""
    X, y = _matrix("glass_multiclass")
    before = np.bincount(y)
    params = {"sampling_ratio": ratio, "version": 1}
    _, resampled = _resampler(name, y, **params).fit_resample(X, y)
    after = np.bincount(resampled, minlength=len(before))
    np.testing.assert_array_equal(after, np.minimum(before, int(np.ceil(before.min() / ratio))))


@pytest.mark.parametrize("minority", ["far apart", "three rows"])
@pytest.mark.parametrize("name", ["adasyn", "svm_smote", "kmeans_smote"])
def test_smote_variants_fall_back_to_smote_where_their_rule_finds_nothing(
    name: str, minority: str
) -> None:
    """A minority far apart from the rest (as iris0's is) left ADASYN no majority neighbour,
    and every trial of it failed; three rows left SVM-SMOTE only noise."""
    X, y = _matrix("ecoli1")
    if minority == "far apart":
        X = X + 100.0 * (y == 1)[:, None]
    else:
        rows = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:3]]
        X, y = X[rows], y[rows]
    _, resampled = _resampler(name, y, sampling_ratio=1.0).fit_resample(X, y)
    before, after = np.bincount(y), np.bincount(resampled)
    assert after[0] == before[0] and after[1] > before[1]


@pytest.mark.parametrize("version", [1, 2, 3])
def test_near_miss_fits_a_fold_with_two_minority_rows(version: int) -> None:
    X, y = _matrix("ecoli1")
    rows = np.r_[np.flatnonzero(y == 0)[:60], np.flatnonzero(y == 1)[:2]]
    sampler = _resampler("near_miss", y[rows], version=version, sampling_ratio=0.5)
    _, resampled = sampler.fit_resample(X[rows], y[rows])
    assert np.bincount(resampled).tolist() == [4, 2]


def test_augmentation_never_makes_a_minority_outnumber_the_majority() -> None:
    y = np.r_[np.zeros(144, int), np.ones(70, int)]
    X = np.random.default_rng(0).normal(size=(len(y), 3))
    _, augmented = MinorityMixup(ratio=2.0, random_state=0).fit_resample(X, y)
    assert np.bincount(augmented).tolist() == [144, 144]


def _fitted(config: dict, name: str, weights: np.ndarray | None = None):
    data = validate(*datasets.load(name, return_X_y=True), sample_weight=weights)
    pipeline = StrategyPipeline(config, data.schema(), random_state=0)
    return pipeline.fit(data.X, data.y, sample_weight=data.sample_weight), data


def test_stacking_combines_its_members_with_the_class_weights() -> None:
    """Its combiner fitted unweighted undid the searched class weights (the class prior again)."""
    stacked = {"name": "stacking", "partner": "logistic_regression", "n_folds": 3, "C": 1.0}
    share = {}
    for weighting in ("none", "balanced"):
        config = {
            "weighting": {"name": weighting},
            "model": {"name": "logistic_regression"},
            "ensemble": stacked,
        }
        pipeline, data = _fitted(config, "ecoli1")
        share[weighting] = pipeline.predict_proba(data.X)[:, data.pos_label].mean()
    assert share["balanced"] > share["none"] + 0.05


def test_anomaly_score_features_learn_what_is_normal_from_weighted_rows() -> None:
    """Rows weighted 0 are no evidence of what is normal; with fewer rows of weight than an
    isolation forest's 256-row samples, its fit failed."""
    config = {"features": {"name": "anomaly_score"}, "model": {"name": "logistic_regression"}}
    half = np.where(np.arange(336) % 2 == 0, 1.0, 0.0)  # 168 rows of weight
    plain, data = _fitted(config, "ecoli1")
    weighted, _ = _fitted(config, "ecoli1", half)
    rows = plain.preprocessor_.transform(data.X)
    assert not np.array_equal(plain.features_.transform(rows), weighted.features_.transform(rows))


@pytest.mark.skipif(not TORCH_AVAILABLE, reason="the MLP needs torch")
def test_a_weighted_loss_after_balanced_weights_does_not_balance_twice() -> None:
    """Both together weighed a yeast4 minority row 796 times a majority row (28 is balanced)."""
    config = {
        "weighting": {"name": "balanced"},
        "model": {"name": "mlp", "loss": "weighted_ce", "max_epochs": 2},
    }
    pipeline, _ = _fitted(config, "ecoli1")
    np.testing.assert_allclose(pipeline.model_.class_weight_, [1.0, 1.0], atol=0.05)


def test_an_anomaly_detector_fits_where_few_rows_have_weight() -> None:
    config = {"model": {"name": "isolation_forest"}}
    half = np.where(np.arange(336) % 2 == 0, 1.0, 0.0)
    pipeline, data = _fitted(config, "ecoli1", half)
    assert np.isfinite(pipeline.predict_proba(data.X)).all()


@pytest.mark.parametrize("name", ["smote", "borderline_smote", "adasyn", "kmeans_smote"])
def test_a_class_of_one_row_leaves_the_other_classes_to_grow(name: str) -> None:
    """One row of a class in a fold turned the SMOTE family off for every class."""
    X, y = _matrix("glass_multiclass")
    lone = np.flatnonzero(y == np.argmin(np.bincount(y)))
    rows = np.setdiff1d(np.arange(len(y)), lone[1:])  # the rarest class keeps one row
    before = np.bincount(y[rows])
    _, resampled = _resampler(name, y[rows], sampling_ratio=1.0).fit_resample(X[rows], y[rows])
    after = np.bincount(resampled)
    assert after[before == 1].tolist() == [1]
    assert (
        after[(before > 1) & (before < before.max())]
        > before[(before > 1) & (before < before.max())]
    ).all()


def test_smote_keeps_the_weights_of_duplicate_rows() -> None:
    """The kept rows' sources were found by nearest neighbour: two identical minority rows,
    weighted 0 and 10, both came out weighted 0."""
    from imblearn.over_sampling import SMOTE

    X, y = _matrix("ecoli1")
    X, minority = X.copy(), np.flatnonzero(y == 1)
    X[minority[1]] = X[minority[0]]
    weights = np.ones(len(y))
    weights[minority[:2]] = [0.0, 10.0]
    _, resampled, kept = resample(SMOTE(random_state=0), X, y, weights)
    assert len(resampled) > len(y)
    np.testing.assert_array_equal(kept[minority[:2]], [0.0, 10.0])
    assert kept[: len(y)].sum() == weights.sum()


def test_a_linear_model_reads_many_categories_as_a_sparse_matrix() -> None:
    """Their one-hot columns, made dense, took 7 GiB and two minutes a fit on 150k rows of
    three 1,000-value columns; sparse, 0.4 GiB and 5 s, to the same score."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {
            "amount": rng.normal(size=n),
            "city": np.char.add("c", rng.integers(0, 400, n).astype(str)),
        }
    )
    y = pd.Series((rng.random(n) < 0.1).astype(int))
    data = validate(X, y)
    config = {"model": {"name": "logistic_regression", "C": 1.0}}
    fitted = StrategyPipeline(config, data.schema(), random_state=0).fit(data.X, data.y)
    assert fitted.model_.named_steps["encode"].sparse_output_
    assert fitted.predict_proba(data.X).shape == (n, 2)


def test_a_served_model_whose_smote_variant_fell_back_says_so() -> None:
    """K-means SMOTE finding no cluster dense enough runs plain SMOTE: the winner named
    kmeans_smote was SMOTE, and only a debug log said so."""
    import autoimb
    from autoimb.engine.space import parse_space

    X, y = datasets.load("ecoli1", return_X_y=True)
    rows = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:5]]
    space = parse_space(
        "resampler: {kmeans_smote: {sampling_ratio: 1.0}}\nmodel: {logistic_regression: {}}"
    )
    result = autoimb.search(
        X.iloc[rows], y.iloc[rows], n_trials=1, cv=3, space=space, warm_start=None, ensemble=False
    )
    assert result.best_config["resampler"]["name"] == "kmeans_smote"
    from autoimb.engine.pipeline import fallbacks
    from autoimb.posthoc.ensemble import EnsembleClassifier

    fitted = result.best_pipeline.estimator
    assert fallbacks(EnsembleClassifier([fitted, fitted], [0.5, 0.5])) == 2 * fallbacks(fitted)
    said = [note for note in result.notes if "fell back to plain SMOTE" in note]
    assert (
        said
        and said[0].startswith("kmeans_smote")
        and said == [n for n in result.best_pipeline.model_card_["notes"] if "fell back" in n]
    )


def test_a_smote_variant_run_as_smote_n_on_category_columns_says_so() -> None:
    """On car_good (every column text) borderline_smote ran as SMOTE-N and scored as smote,
    while the result named borderline_smote and nothing said otherwise."""
    import autoimb
    from autoimb.engine.space import parse_space

    X, y = datasets.load("car_good", return_X_y=True)
    space = parse_space(
        "name: mine\nresampler: {borderline_smote: {sampling_ratio: 0.5}}\n"
        "model: {logistic_regression: {}}"
    )
    with pytest.warns(UserWarning, match=r"offers borderline_smote, which interpolate every"):
        result = autoimb.search(X, y, n_trials=1, cv=3, space=space, ensemble=False)
    assert result.best_config["resampler"]["name"] == "borderline_smote"
    assert (
        "borderline_smote ran as SMOTE-N: the data has category columns, and it interpolates "
        "every column as a number"
    ) in result.notes


def test_a_neighbour_count_above_what_the_minority_allows_is_said() -> None:
    """With 8 minority rows, k_neighbors 9 ran as 7 and every trial of 8 to 10 scored the
    same, while best_config said 9."""
    import autoimb
    from autoimb.engine.space import parse_space

    X, y = datasets.load("ecoli1", return_X_y=True)
    rows = np.r_[np.flatnonzero(y == 0)[:120], np.flatnonzero(y == 1)[:8]]
    space = parse_space(
        "resampler: {smote: {sampling_ratio: 1.0, k_neighbors: 9}}\n"
        "model: {logistic_regression: {}}"
    )
    result = autoimb.search(
        X.iloc[rows], y.iloc[rows], n_trials=1, cv=3, space=space, ensemble=False
    )
    assert result.best_config["resampler"]["k_neighbors"] == 9
    assert "smote used 7 neighbours, not 9: the minority held 8 rows" in result.notes


@pytest.mark.parametrize("name", ["balanced", "tempered"])
def test_balancing_class_weights_count_the_users_weights_not_the_rows(name: str) -> None:
    """Rows of weight 0 count nowhere: 400 of them labelled positive made "balanced" take the
    positives for five times as many, and the fit leaned the other way (mean P(1) 0.26 → 0.08)."""
    X, y = datasets.load("yeast4", return_X_y=True)
    y = np.asarray(y)
    schema = validate(X, y).schema()
    junk = np.random.default_rng(0).choice(np.flatnonzero(y == 0), 400, replace=False)
    noisy, weights = y.copy(), np.ones(len(y))
    noisy[junk], weights[junk] = 1, 0.0
    keep = weights > 0
    weighting = {"name": name, **({"power": 0.5} if name == "tempered" else {})}
    config = {"weighting": weighting, "model": {"name": "logistic_regression"}}
    clean = StrategyPipeline(config, schema, random_state=0).fit(X[keep], y[keep])
    weighted = StrategyPipeline(config, schema, random_state=0).fit(X, noisy, sample_weight=weights)
    # Not equal to the last digit: the scaler still learns from every row, weighted or not.
    np.testing.assert_allclose(weighted.predict_proba(X), clean.predict_proba(X), atol=0.02)
