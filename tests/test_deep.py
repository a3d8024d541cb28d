"""Tests of the deep and hybrid models on small real data sets (KEEL)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OrdinalEncoder

from autoimb import _compat, datasets
from autoimb.data.dataset import validate
from autoimb.engine.evaluate import CrossValidation, evaluate
from autoimb.exceptions import AutoImbError, TrialTimeout
from autoimb.metrics.registry import get_metric
from autoimb.stages.class_weights import balanced_weights, class_balanced_weights
from autoimb.stages.deep.mlp import (
    TabularMLPClassifier,
    cross_entropy_loss,
    embedding_dim,
    focal_loss,
)
from autoimb.stages.hybrid.models import (
    DeepTreeStackingClassifier,
    LeafEmbeddingClassifier,
    NeuralEmbeddingBoostClassifier,
)

REPO = Path(__file__).parents[1]
KEEL = REPO.parent / "shared/datasets/keel"
# Small data needs small batches to take enough optimisation steps in few epochs.
FAST: dict[str, Any] = {
    "hidden_sizes": (32,),
    "max_epochs": 30,
    "batch_size": 64,
    "random_state": 0,
}

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _load(name: str) -> pd.DataFrame:
    path = KEEL / f"{name}.csv.gz"
    if not path.is_file():
        pytest.skip(f"KEEL data set {name} not found at {path}")
    return pd.read_csv(path)


def _split(X: np.ndarray, y: np.ndarray) -> Split:
    return tuple(train_test_split(X, y, test_size=0.3, stratify=y, random_state=0))


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def yeast4_split() -> Split:
    frame = _load("yeast4")
    return _split(frame.drop(columns="target").to_numpy(), frame["target"].to_numpy())


@pytest.fixture(scope="module")
def glass_split() -> Split:
    frame = _load("glass_multiclass")
    y = np.unique(frame["target"].to_numpy(), return_inverse=True)[1]
    return _split(frame.drop(columns="target").to_numpy(), y)


@pytest.fixture(scope="module")
def car_split() -> Split:
    frame = _load("car_good")
    codes = OrdinalEncoder().fit_transform(frame.drop(columns="target"))
    return _split(codes, frame["target"].to_numpy())


def _auc(model: Any, data: Split) -> float:
    X_train, X_test, y_train, y_test = data
    return roc_auc_score(y_test, model.fit(X_train, y_train).predict_proba(X_test)[:, 1])


def _torch_objects(obj: Any) -> list[str]:
    """Names of torch types anywhere inside a pickled state."""
    if type(obj).__module__.split(".")[0] == "torch":
        return [type(obj).__qualname__]
    if isinstance(obj, dict):
        return [name for value in obj.values() for name in _torch_objects(value)]
    if isinstance(obj, list | tuple):
        return [name for value in obj for name in _torch_objects(value)]
    if hasattr(obj, "__getstate__") and hasattr(obj, "get_params"):
        return _torch_objects(obj.__getstate__())
    return []


# -- without torch --------------------------------------------------------------------


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )


def test_importing_the_models_does_not_import_torch() -> None:
    result = _run_python(
        """
        import sys
        import autoimb.stages.deep.mlp, autoimb.stages.hybrid.models
        assert "torch" not in sys.modules, "torch was imported eagerly"
        """
    )
    assert result.returncode == 0, result.stderr


def test_torch_is_imported_before_the_trials_where_the_space_fits_it(torch: Any) -> None:
    """Its first import and first optimizer take seconds: inside a trial they were read as
    the first deep fold's pace and pruned the MLP baseline. A space without a net does not
    pay them."""
    result = _run_python(
        """
        import sys
        import autoimb
        from autoimb.data.dataset import validate
        from autoimb.engine.space import load_space
        from autoimb.engine.torch_first import import_torch_first

        data = validate(*autoimb.datasets.load("ecoli1", return_X_y=True))
        import_torch_first(load_space("default"), data)
        assert "torch" not in sys.modules, "the default space fits no net"
        import_torch_first(load_space("deep"), data)
        assert "torch" in sys.modules
        # what the first AdamW of a process loads, so the first deep fold does not
        assert "torch._dynamo" in sys.modules and "sympy" in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr


def test_without_torch_installed() -> None:
    result = _run_python(
        """
        import sys

        class NoTorch:  # an import hook that hides torch, as if it were not installed
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "torch":
                    raise ModuleNotFoundError(f"No module named {name!r}")

        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        from autoimb import _compat
        from autoimb.stages.deep.mlp import TabularMLPClassifier
        from autoimb.stages.hybrid.models import LeafEmbeddingClassifier
        from autoimb.exceptions import AutoImbError
        assert not _compat.TORCH_AVAILABLE
        X = np.random.default_rng(0).normal(size=(200, 3))
        y = (X[:, 0] > 0).astype(int)
        proba = LeafEmbeddingClassifier(n_estimators=5).fit(X, y).predict_proba(X)
        assert proba.shape == (200, 2)
        try:
            TabularMLPClassifier().fit(X, y)
        except AutoImbError as exc:
            print(exc)
        assert "torch" not in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr
    assert "TabularMLPClassifier needs PyTorch: pip install 'autoimb[deep]'" in result.stdout


def test_missing_torch_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, yeast4_split: Split
) -> None:
    monkeypatch.setattr(_compat, "TORCH_AVAILABLE", False)
    X, _, y, _ = yeast4_split
    hint = r"needs PyTorch: pip install 'autoimb\[deep\]'"
    for model in (
        TabularMLPClassifier(),
        LeafEmbeddingClassifier(head="mlp"),
        NeuralEmbeddingBoostClassifier(),
        DeepTreeStackingClassifier(),
    ):
        with pytest.raises(AutoImbError, match=hint):
            model.fit(X, y)


def test_leaf_embedding_logistic_needs_no_torch(
    monkeypatch: pytest.MonkeyPatch, yeast4_split: Split
) -> None:
    monkeypatch.setattr(_compat, "TORCH_AVAILABLE", False)
    model = LeafEmbeddingClassifier(n_estimators=50, random_state=0)
    assert _auc(model, yeast4_split) > 0.8
    assert model.head_.coef_.shape[1] == len(model.encoder_.get_feature_names_out())
    assert _torch_objects(model) == []


def test_leaf_embedding_logistic_on_multiclass_and_weights(glass_split: Split) -> None:
    X_train, X_test, y_train, y_test = glass_split
    model = LeafEmbeddingClassifier(n_estimators=30, random_state=0).fit(X_train, y_train)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(model.predict(X_test) == y_test) > 0.55  # the largest class is 36 %
    weight = np.where(y_train == 4, 20.0, 1.0)
    weighted = clone(model).fit(X_train, y_train, sample_weight=weight)
    assert weighted.predict_proba(X_test)[:, 4].mean() > proba[:, 4].mean()


def test_class_weight_formulas() -> None:
    counts = np.array([900, 90, 10])
    balanced = balanced_weights(counts)
    np.testing.assert_allclose(balanced * counts, counts.sum() / 3)
    equal = class_balanced_weights(counts, beta=0.0)
    np.testing.assert_allclose(equal, 1.0)
    effective = class_balanced_weights(counts, beta=0.999)
    assert effective.sum() == pytest.approx(3.0)
    assert effective[0] < effective[1] < effective[2]
    # Effective numbers weigh the minority less than plain inverse frequency does.
    assert effective[2] / effective[0] < balanced[2] / balanced[0]
    assert [embedding_dim(c) for c in (1, 2, 5, 100)] == [2, 2, 4, 16]


def test_invalid_parameters_are_refused(torch: Any, yeast4_split: Split) -> None:
    X, _, y, _ = yeast4_split
    with pytest.raises(AutoImbError, match="'norm' parameter of TabularMLPClassifier"):
        TabularMLPClassifier(norm="group").fit(X, y)
    with pytest.raises(AutoImbError, match="'loss' parameter"):
        TabularMLPClassifier(loss="hinge").fit(X, y)
    with pytest.raises(AutoImbError, match="'cat_indices' must be distinct"):
        TabularMLPClassifier(cat_indices=(0, 0)).fit(X, y)
    with pytest.raises(AutoImbError, match="only one class"):
        TabularMLPClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(AutoImbError, match="'head' parameter"):
        LeafEmbeddingClassifier(head="forest").fit(X, y)


# -- the MLP ------------------------------------------------------------------------


def test_mlp_beats_chance_on_yeast4(torch: Any, yeast4_split: Split) -> None:
    model = TabularMLPClassifier(random_state=0, max_epochs=60)
    assert _auc(model, yeast4_split) > 0.75
    assert model.stop_reason_ in {"patience", "max_epochs"}
    assert 1 <= model.best_epoch_ <= model.n_epochs_ == len(model.validation_loss_)
    assert set(model.predict(yeast4_split[1])) <= set(model.classes_)


@pytest.mark.parametrize("loss", ["ce", "weighted_ce", "focal", "class_balanced"])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_each_loss_and_norm_trains(torch: Any, yeast4_split: Split, loss: str, norm: str) -> None:
    model = TabularMLPClassifier(loss=loss, norm=norm, **FAST)
    assert _auc(model, yeast4_split) > 0.7
    assert (model.class_weight_ is None) == (loss in {"ce", "focal"})


def test_focal_loss_with_zero_gamma_is_cross_entropy(torch: Any) -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 3, generator=generator)
    target = torch.randint(0, 3, (64,), generator=generator)
    class_weight = torch.tensor([0.2, 1.0, 3.0])
    sample_weight = torch.rand(64, generator=generator)
    plain = torch.nn.functional.cross_entropy(logits, target)
    weighted = torch.nn.functional.cross_entropy(logits, target, weight=class_weight)
    torch.testing.assert_close(focal_loss(logits, target, gamma=0.0), plain)
    torch.testing.assert_close(cross_entropy_loss(logits, target), plain)
    torch.testing.assert_close(focal_loss(logits, target, 0.0, class_weight), weighted)
    torch.testing.assert_close(cross_entropy_loss(logits, target, class_weight), weighted)
    torch.testing.assert_close(
        focal_loss(logits, target, 0.0, class_weight, sample_weight),
        cross_entropy_loss(logits, target, class_weight, sample_weight),
    )
    per_row = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(
        cross_entropy_loss(logits, target, sample_weight=sample_weight),
        (per_row * sample_weight).sum() / sample_weight.sum(),
    )
    assert focal_loss(logits, target, gamma=2.0) < plain


def test_focal_loss_below_gamma_one_stays_finite_where_the_net_is_sure(torch: Any) -> None:
    """(1 - p)^gamma has an infinite slope at p = 1 below gamma 1 (the deep space searches 0.5
    to 4): a row the net was sure of turned every gradient NaN, and training stopped early."""
    logits = torch.tensor([[40.0, -40.0], [0.5, -0.5]], requires_grad=True)
    target = torch.tensor([0, 1])
    for gamma in (0.5, 0.99, 2.0):
        loss = focal_loss(logits, target, gamma=gamma)
        (gradient,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(loss) and torch.isfinite(gradient).all(), gamma


def test_balanced_batches_are_not_weighed_again_by_the_loss(
    torch: Any, yeast4_split: Split
) -> None:
    """Balanced batches and a class-weighted loss weighed a minority row IR² times a
    majority's (41% of yeast4's majority flagged at 0.5, against 6% and 9% for either)."""
    X_train, _, y_train, _ = yeast4_split
    for loss in ("weighted_ce", "class_balanced"):
        model = TabularMLPClassifier(loss=loss, balanced_batches=True, **FAST)
        model.fit(X_train, y_train)
        weights = np.asarray(model.class_weight_, dtype=float)
        np.testing.assert_allclose(weights, weights[0])


def test_same_seed_same_model(torch: Any, yeast4_split: Split) -> None:
    X_train, X_test, y_train, _ = yeast4_split
    first = TabularMLPClassifier(**FAST).fit(X_train, y_train).predict_proba(X_test)
    again = TabularMLPClassifier(**FAST).fit(X_train, y_train).predict_proba(X_test)
    other = TabularMLPClassifier(**{**FAST, "random_state": 1}).fit(X_train, y_train)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other.predict_proba(X_test))


def test_sample_weight_is_honoured(torch: Any, yeast4_split: Split) -> None:
    X_train, X_test, y_train, _ = yeast4_split
    base = TabularMLPClassifier(**FAST).fit(X_train, y_train).predict_proba(X_test)
    ones = TabularMLPClassifier(**FAST).fit(X_train, y_train, sample_weight=np.ones(len(y_train)))
    np.testing.assert_array_equal(ones.predict_proba(X_test), base)
    weight = np.where(y_train == 1, 20.0, 1.0)
    heavy = TabularMLPClassifier(**FAST).fit(X_train, y_train, sample_weight=weight)
    assert heavy.predict_proba(X_test)[:, 1].mean() > 2 * base[:, 1].mean()
    with pytest.raises(AutoImbError, match="sample_weight"):
        TabularMLPClassifier().fit(X_train, y_train, sample_weight=-np.ones(len(y_train)))


def test_balanced_batches(torch: Any, yeast4_split: Split) -> None:
    X_test = yeast4_split[1]
    plain = TabularMLPClassifier(**FAST)
    balanced = TabularMLPClassifier(balanced_batches=True, **FAST)
    assert _auc(balanced, yeast4_split) > 0.75
    _auc(plain, yeast4_split)
    minority = balanced.predict_proba(X_test)[:, 1].mean()
    assert minority > 1.5 * plain.predict_proba(X_test)[:, 1].mean()


def test_max_time_stops_training(torch: Any, yeast4_split: Split) -> None:
    X, _, y, _ = yeast4_split
    model = TabularMLPClassifier(max_epochs=100_000, patience=None, max_time=0.2, random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    assert time.perf_counter() - start < 5.0
    assert model.stop_reason_ == "max_time"
    assert 0 < model.n_epochs_ < 100_000


def test_max_time_counts_the_wait_for_another_fit(torch: Any, yeast4_split: Split) -> None:
    """Fits of parallel trials take turns: one that waited its time out for another trained
    for all of it again after (a 10 s search ran to 21 s with n_jobs=2)."""
    import threading

    from autoimb.stages.deep.nets import _ONE_AT_A_TIME

    X, _, y, _ = yeast4_split
    holding = threading.Event()

    def another_fit() -> None:
        with _ONE_AT_A_TIME:
            holding.set()
            time.sleep(0.6)

    other = threading.Thread(target=another_fit)
    other.start()
    holding.wait()
    model = TabularMLPClassifier(max_epochs=100_000, patience=None, max_time=0.3, random_state=0)
    with pytest.raises(TrialTimeout, match="its time cap went by waiting"):
        model.fit(X, y)  # a trial cut, not a net of one step scored as a finished trial
    other.join()
    model.set_params(max_time=0.3).fit(X, y)  # alone, it trains for its cap
    assert model.stop_reason_ == "max_time" and model.n_epochs_ > 1


@pytest.mark.parametrize(
    "model",
    [
        NeuralEmbeddingBoostClassifier(mlp_max_epochs=100_000, n_estimators=100_000),
        DeepTreeStackingClassifier(mlp_max_epochs=100_000, n_estimators=100_000),
        LeafEmbeddingClassifier(n_estimators=300, head="mlp", mlp_max_epochs=100_000),
    ],
    ids=lambda model: type(model).__name__,
)
def test_a_hybrids_nets_and_trees_share_its_max_time(torch: Any, yeast4_split, model) -> None:
    """A trial's cap reaches every net and every boosting a hybrid fits: stopped at it, each
    keeps what it learnt, and the model predicts."""
    X, X_test, y, _ = yeast4_split
    start = time.perf_counter()
    model.set_params(max_time=1.0, random_state=0).fit(X, y)
    assert time.perf_counter() - start < 4.0
    assert np.isfinite(model.predict_proba(X_test)).all()


@pytest.mark.parametrize(
    "model",
    [
        {"name": "mlp", "max_epochs": 3},
        {"name": "deep_tree_stacking", "mlp_max_epochs": 3, "n_estimators": 10},
    ],
    ids=lambda model: model["name"],
)
def test_a_trials_folds_share_its_time_between_their_nets(torch: Any, model: dict) -> None:
    """A net stops at its cap, not before: capped at all the trial's time left, the first
    fold's net spent it and the trial was pruned before its second fold (one fold of 11 s in
    a 10 s search on sylva). Each fold's net gets its share of what is left."""
    X, y = datasets.load("yeast4", return_X_y=True)
    cv = CrossValidation(validate(X, y), 3, random_state=0)
    budget = 600.0
    evaluation = evaluate(
        {"model": model},
        cv,
        get_metric("f1"),
        random_state=0,
        deadline=time.monotonic() + budget,
        keep_models=True,
    )
    caps = [fitted.pipeline.model_.max_time for fitted in evaluation.models]
    assert len(caps) == cv.n_splits
    assert caps[0] == pytest.approx(budget / 3, rel=0.1)
    for k, cap in enumerate(caps):
        assert cap <= budget / (cv.n_splits - k)


def test_init_weights_continue_training(torch: Any, yeast4_split: Split, tmp_path: Path) -> None:
    X_train, X_test, y_train, _ = yeast4_split
    trained = TabularMLPClassifier(**FAST).fit(X_train, y_train)
    expected = trained.predict_proba(X_test)
    state = trained.state_dict_()
    np.savez(tmp_path / "weights.npz", **state)
    torch.save({k: torch.as_tensor(v) for k, v in state.items()}, tmp_path / "weights.pt")
    # Zero further epochs keeps the given weights exactly, whatever the source.
    for source in (state, tmp_path / "weights.npz", str(tmp_path / "weights.pt")):
        resumed = TabularMLPClassifier(**{**FAST, "max_epochs": 0, "random_state": 5})
        resumed.set_params(init_weights=source).fit(X_train, y_train)
        np.testing.assert_allclose(resumed.predict_proba(X_test), expected, rtol=1e-6)
    # A few more epochs start from the trained loss, well below a fresh network's.
    fresh = TabularMLPClassifier(**{**FAST, "max_epochs": 1, "patience": 1}).fit(X_train, y_train)
    tuned = clone(fresh).set_params(init_weights=state).fit(X_train, y_train)
    assert tuned.validation_loss_[0] < fresh.validation_loss_[0]
    with pytest.raises(AutoImbError, match="init_weights do not fit"):
        TabularMLPClassifier(hidden_sizes=(8,), init_weights=state).fit(X_train, y_train)


def test_embed_shape(torch: Any, glass_split: Split) -> None:
    X_train, X_test, y_train, y_test = glass_split
    model = TabularMLPClassifier(
        hidden_sizes=(32, 12), batch_size=32, learning_rate=3e-3, max_epochs=60, random_state=0
    )
    proba = model.fit(X_train, y_train).predict_proba(X_test)
    assert model.embed(X_test).shape == (len(X_test), 12)
    assert proba.shape == (len(X_test), 6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(model.predict(X_test) == y_test) > 0.5


def test_categorical_embeddings_and_unknown_codes(torch: Any, car_split: Split) -> None:
    X_train, X_test, _, _ = car_split
    cards = tuple(int(X_train[:, i].max()) + 1 for i in range(6))
    model = TabularMLPClassifier(cat_indices=range(6), cardinalities=cards, **FAST)
    assert _auc(model, car_split) > 0.9
    unseen = X_test.copy()
    unseen[:10, 0] = -1
    unseen[10:20, 3] = 99
    proba = model.predict_proba(unseen)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    bad = X_train.copy()
    bad[0, 1] = 7
    with pytest.raises(AutoImbError, match=r"category codes 0\.\.3"):
        clone(model).fit(bad, car_split[2])


def test_pickle_holds_no_torch_objects(torch: Any, car_split: Split) -> None:
    X_train, X_test, y_train, _ = car_split
    model = TabularMLPClassifier(cat_indices=range(6), **FAST).fit(X_train, y_train)
    before = set(vars(model))
    expected = model.predict_proba(X_test)  # builds and caches the torch module
    assert set(vars(model)) == before
    assert _torch_objects(model) == []
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X_test), expected)
    assert all(isinstance(v, np.ndarray) for v in restored.weights_.values())


def test_skops_round_trip_trusts_only_the_estimator(torch: Any, yeast4_split: Split) -> None:
    X_train, X_test, y_train, _ = yeast4_split
    model = TabularMLPClassifier(**FAST).fit(X_train, y_train)
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == ["autoimb.stages.deep.mlp.TabularMLPClassifier"]
    loaded = sio.loads(data, trusted=["autoimb.stages.deep.mlp.TabularMLPClassifier"])
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))


def test_clone_keeps_parameters(torch: Any, yeast4_split: Split) -> None:
    X_train, _, y_train, _ = yeast4_split
    fitted = TabularMLPClassifier(loss="focal", focal_gamma=1.0, **FAST).fit(X_train, y_train)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "weights_")
    for model in (LeafEmbeddingClassifier(C=0.5), DeepTreeStackingClassifier(n_folds=4)):
        assert clone(model).get_params() == model.get_params()


# -- hybrids that need torch ---------------------------------------------------------


def test_leaf_embedding_mlp_head(torch: Any, yeast4_split: Split) -> None:
    model = LeafEmbeddingClassifier(
        n_estimators=20, head="mlp", hidden_sizes=(16,), mlp_max_epochs=30, random_state=0
    )
    assert _auc(model, yeast4_split) > 0.75
    assert len(model.head_.cat_indices_) == 20


def test_neural_embedding_boost(torch: Any, yeast4_split: Split) -> None:
    model = NeuralEmbeddingBoostClassifier(
        hidden_sizes=(32, 8), mlp_max_epochs=30, n_estimators=50, random_state=0
    )
    assert _auc(model, yeast4_split) > 0.75
    assert model.gbm_.n_features_in_ == yeast4_split[0].shape[1] + 8
    assert _torch_objects(pickle.loads(pickle.dumps(model))) == []


def test_deep_tree_stacking_multiclass(torch: Any, glass_split: Split) -> None:
    X_train, X_test, y_train, y_test = glass_split
    model = DeepTreeStackingClassifier(
        hidden_sizes=(32,), mlp_max_epochs=30, n_estimators=50, random_state=0
    )
    proba = model.fit(X_train, y_train).predict_proba(X_test)
    assert proba.shape == (len(X_test), 6)
    assert model.meta_.coef_.shape == (6, 12)  # 6 log-probabilities from each base
    assert roc_auc_score(y_test, proba, multi_class="ovr") > 0.8


def test_hybrids_on_categorical_codes(torch: Any, car_split: Split) -> None:
    X_test = car_split[1].copy()
    X_test[:10, 2] = -1
    for model in (
        NeuralEmbeddingBoostClassifier(cat_indices=range(6), mlp_max_epochs=20, random_state=0),
        DeepTreeStackingClassifier(cat_indices=range(6), mlp_max_epochs=20, random_state=0),
    ):
        assert _auc(model, car_split) > 0.85
        assert np.all(np.isfinite(model.predict_proba(X_test)))


def test_fits_in_parallel_threads_leave_torchs_generator_as_they_found_it(small_binary) -> None:
    """Parallel trials each set and put back torch's global generator: interleaved, one put
    back what another had set, and the user's generator was left changed."""
    import threading

    torch = pytest.importorskip("torch")
    from autoimb.stages.deep.mlp import TabularMLPClassifier

    X, y = small_binary
    X, y = X.to_numpy(), np.asarray(y)
    torch.manual_seed(1234)
    expected = torch.rand(1).item()
    torch.manual_seed(1234)

    def fit(seed: int) -> None:
        for _ in range(3):
            model = TabularMLPClassifier(max_epochs=2, random_state=seed).fit(X, y)
            model.predict_proba(X)

    threads = [threading.Thread(target=fit, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert torch.rand(1).item() == expected


def test_pretrained_net_weights_are_checked_before_the_search(torch: Any) -> None:
    """Weights fit one network shape: with the deep space's widths, depths and norms every
    trial of another shape failed, and weights of the wrong kind failed every trial too."""
    import autoimb

    X, y = autoimb.datasets.load("ecoli1", return_X_y=True)
    with pytest.raises(AutoImbError, match=r"searches mlp's \['width', 'depth', 'norm'\]"):
        autoimb.search(X, y, n_trials=1, space="deep", pretrained={"mlp": {}})
    with pytest.raises(AutoImbError, match=r"pretrained\['mlp'\] must be a mapping of weights"):
        autoimb.search(X, y, n_trials=1, space="deep", pretrained={"mlp": 5})
