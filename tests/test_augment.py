"""Minority augmenters on real data: what they add, where, and from which rows."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import read_keel
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OrdinalEncoder

from autoimb.exceptions import AutoImbError
from autoimb.stages.augmentation.minority import MinorityJitter, MinorityMixup

AUGMENTERS = (MinorityJitter, MinorityMixup)


@pytest.fixture(scope="module")
def yeast4() -> tuple[np.ndarray, np.ndarray]:
    frame = read_keel("yeast4")
    return frame.drop(columns="target").to_numpy(np.float64), frame["target"].to_numpy()


@pytest.fixture(scope="module")
def car_good() -> tuple[np.ndarray, np.ndarray]:
    frame = read_keel("car_good")
    X = OrdinalEncoder().fit_transform(frame.drop(columns="target")).astype(np.float64)
    return X, frame["target"].to_numpy()


@pytest.fixture(scope="module")
def glass() -> tuple[np.ndarray, np.ndarray]:
    frame = read_keel("glass_multiclass")
    y = np.unique(frame["target"].to_numpy(), return_inverse=True)[1]
    return frame.drop(columns="target").to_numpy(np.float64), y


def _check_layout(
    sampler: MinorityJitter | MinorityMixup,
    X: np.ndarray,
    y: np.ndarray,
    X_res: np.ndarray,
    y_res: np.ndarray,
) -> None:
    """Originals first and unchanged, then round(ratio * count) rows of each non-largest class,
    never past the largest class's count."""
    n = len(X)
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    labels, counts = np.unique(y, return_counts=True)
    largest = labels[np.argmax(counts)]
    new_labels, new_counts = np.unique(y_res[n:], return_counts=True)
    expected = {
        int(c): min(round(sampler.ratio * k), counts.max() - k)
        for c, k in zip(labels, counts, strict=True)
        if c != largest and k < counts.max()
    }
    assert dict(zip(new_labels.tolist(), new_counts.tolist(), strict=True)) == expected
    src = sampler.source_indices_
    assert src.shape == (len(X_res),)
    np.testing.assert_array_equal(src[:n], np.arange(n))
    np.testing.assert_array_equal(y[src], y_res)


@pytest.mark.parametrize("cls", AUGMENTERS)
def test_layout_binary(cls: type, yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    sampler = cls(ratio=0.5, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    _check_layout(sampler, X, y, X_res, y_res)
    assert len(X_res) == len(X) + round(0.5 * np.sum(y == 1))


@pytest.mark.parametrize("cls", AUGMENTERS)
def test_layout_multiclass(cls: type, glass: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = glass
    sampler = cls(ratio=1.0, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    _check_layout(sampler, X, y, X_res, y_res)
    assert np.all(np.isfinite(X_res))


def test_jitter_noise_follows_class_std(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    scale = 0.05
    sampler = MinorityJitter(ratio=4.0, noise_scale=scale, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    n = len(X)
    std = X[y == 1].std(axis=0)
    std = np.where(std > 0, std, X.std(axis=0))
    z = (X_res[n:] - X[sampler.source_indices_[n:]]) / (scale * std)
    assert np.all(np.abs(z) < 6)
    assert 0.8 < z.std() < 1.2
    # Every synthetic row stays within a few class stds of a real row of its class.
    assert np.all(np.abs(X_res[n:] - X[sampler.source_indices_[n:]]) <= 6 * scale * std)

    exact = MinorityJitter(noise_scale=0.0, random_state=0)
    X_res, _ = exact.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[n:], X[exact.source_indices_[n:]])


def test_jitter_class_std_zero_falls_back_to_overall(glass: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = glass
    sampler = MinorityJitter(ratio=2.0, noise_scale=0.1, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    n = len(X)
    for label in np.unique(y_res[n:]):
        class_std = X[y == label].std(axis=0)
        flat = class_std == 0
        if flat.any():
            delta = (
                X_res[n:][y_res[n:] == label] - X[sampler.source_indices_[n:][y_res[n:] == label]]
            )
            assert np.all(np.abs(delta[:, flat]) > 0)
            break
    else:
        pytest.fail("glass was expected to have a constant feature within some class")


@pytest.mark.parametrize("cls", AUGMENTERS)
@pytest.mark.parametrize("cat_mode", ["keep", "sample"])
def test_categorical_codes_stay_within_the_class(
    cls: type, cat_mode: str, car_good: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = car_good
    sampler = cls(ratio=2.0, n_cat=6, cat_mode=cat_mode, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    n = len(X)
    seen = [set(X[y == 1, j]) for j in range(6)]
    for j in range(6):
        assert set(X_res[n:, j]) <= seen[j]
    src = sampler.source_indices_[n:]
    if cat_mode == "keep":
        np.testing.assert_array_equal(X_res[n:], X[src])
    else:
        # Sampled codes mix the class's rows: some new rows match no single source row.
        assert np.any(np.any(X_res[n:] != X[src], axis=1))


def test_mixup_points_lie_on_same_class_segments(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    sampler = MinorityMixup(ratio=1.0, alpha=0.4, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    n = len(X)
    members = X[y == 1]
    for x, a in zip(X_res[n:], X[sampler.source_indices_[n:]], strict=True):
        d = members - a
        norms = np.einsum("ij,ij->i", d, d)
        t = np.divide(d @ (x - a), norms, out=np.zeros(len(d)), where=norms > 0)
        residual = np.linalg.norm(a + t[:, None] * d - x, axis=1)
        on_segment = (residual < 1e-9) & (t >= -1e-12) & (t <= 0.5 + 1e-12)
        assert on_segment.any()


@pytest.mark.parametrize("cls", AUGMENTERS)
def test_seed_makes_output_deterministic(cls: type, glass: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = glass
    first = cls(random_state=7).fit_resample(X, y)[0]
    again = cls(random_state=7).fit_resample(X, y)[0]
    other = cls(random_state=8).fit_resample(X, y)[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("cls", AUGMENTERS)
def test_zero_ratio_adds_nothing(cls: type, yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    sampler = cls(ratio=0.0)
    X_res, _ = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(sampler.source_indices_, np.arange(len(X)))


@pytest.mark.parametrize(
    ("sampler", "match"),
    [
        (MinorityJitter(cat_mode="mode"), "cat_mode"),
        (MinorityJitter(n_cat=99), "n_cat"),
        (MinorityJitter(ratio=-1.0), "ratio"),
        (MinorityJitter(noise_scale=-0.1), "noise_scale"),
        (MinorityMixup(alpha=0.0), "alpha"),
    ],
)
def test_bad_parameters_are_refused(
    sampler: object, match: str, yeast4: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = yeast4
    with pytest.raises(AutoImbError, match=match):
        sampler.fit_resample(X, y)


def test_single_class_is_refused(yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = yeast4
    with pytest.raises(AutoImbError, match="more than 1 class"):
        MinorityMixup().fit_resample(X, np.zeros_like(y))


@pytest.mark.parametrize("cls", AUGMENTERS)
def test_clone_and_pipeline(cls: type, yeast4: tuple[np.ndarray, np.ndarray]) -> None:
    sampler = cls(ratio=0.3, n_cat=0, cat_mode="sample", random_state=1)
    copy = clone(sampler)
    assert copy.get_params() == sampler.get_params()
    X, y = yeast4
    pipe = Pipeline([("augment", copy), ("model", LogisticRegression(max_iter=500))])
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (len(X), 2)
