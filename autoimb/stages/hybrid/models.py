"""Hybrid models that join boosted trees and neural networks.

Trees and networks make different mistakes on tabular data: trees cut sharp, axis-aligned
regions, networks learn smooth combinations. Each class here lets one feed the other
(tree leaves as features of a linear or neural head, network embeddings as features of
the trees) or averages their views through a stacked meta-learner. All follow the autoimb
data contract: category codes in ``cat_indices`` (``-1`` for unknown), the rest numeric.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import lightgbm
import numpy as np
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from autoimb import _compat
from autoimb._checks import check_labels, check_matrix, weights_or_ones
from autoimb.exceptions import AutoImbError
from autoimb.stages.deep.mlp import TabularMLPClassifier

__all__ = [
    "DeepTreeStackingClassifier",
    "LeafEmbeddingClassifier",
    "NeuralEmbeddingBoostClassifier",
]

HEADS = ("logistic", "mlp")


class _HybridBase(ClassifierMixin, BaseEstimator):
    """Validation and the LightGBM / MLP builders the hybrids share."""

    def _refuse(self, name: str, expected: str) -> NoReturn:
        raise AutoImbError(
            f"The '{name}' parameter of {type(self).__name__} must be {expected}. "
            f"Got {getattr(self, name)!r} instead."
        )

    def _check_tree_params(self) -> None:
        for name, low in (("n_estimators", 1), ("num_leaves", 2), ("n_threads", 1)):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < low:
                self._refuse(name, f"an integer >= {low}")
        if not self.learning_rate > 0:
            self._refuse("learning_rate", "> 0")

    def _validate(self, X: Any, y: Any, sample_weight: Any) -> tuple[np.ndarray, ...]:
        X = check_matrix(X, self)
        classes, y_enc = check_labels(y, X.shape[0])
        weight = weights_or_ones(sample_weight, X.shape[0])
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        return X, y_enc, weight

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``; set by each hybrid."""
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class; autoimb's threshold stage usually replaces this."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _start_clock(self) -> None:
        if self.max_time is not None and not self.max_time > 0:
            self._refuse("max_time", "None or > 0 seconds")
        self._until = None if self.max_time is None else time.monotonic() + float(self.max_time)

    def _share(self, fits_left: int) -> float | None:
        """The seconds the next of ``fits_left`` fits may take: an equal share of what is
        left of ``max_time`` (None without one)."""
        if getattr(self, "_until", None) is None:
            return None
        return max((self._until - time.monotonic()) / fits_left, _LEAST_SECONDS)

    def _fit_gbm(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, seed: int, fits_left: int = 1
    ) -> LGBMClassifier:
        share = self._share(fits_left)
        callbacks = [] if share is None else [_stop_boosting_at(time.monotonic() + share)]
        gbm = LGBMClassifier(
            n_estimators=self.n_estimators,
            num_leaves=self.num_leaves,
            learning_rate=self.learning_rate,
            n_jobs=self.n_threads,
            random_state=seed,
            verbose=-1,
        )
        # LightGBM reads negative category codes as missing, matching the contract.
        cat = [int(i) for i in self.cat_indices] or "auto"
        return gbm.fit(X, y, sample_weight=weight, categorical_feature=cat, callbacks=callbacks)

    def _mlp(self, seed: int, fits_left: int = 1) -> TabularMLPClassifier:
        return TabularMLPClassifier(
            cat_indices=self.cat_indices,
            cardinalities=self.cardinalities,
            hidden_sizes=self.hidden_sizes,
            loss=self.mlp_loss,
            learning_rate=self.mlp_learning_rate,
            max_epochs=self.mlp_max_epochs,
            device=self.device,
            random_state=seed,
            n_threads=self.n_threads,
            max_time=self._share(fits_left),
        )


_LEAST_SECONDS = 0.05  # a fit whose share is spent still takes its first steps


def _stop_boosting_at(until: float) -> Callable[[Any], None]:
    """A LightGBM callback that ends the boosting once ``until`` (monotonic) has passed,
    keeping the rounds so far."""

    def callback(env: Any) -> None:
        if time.monotonic() > until:
            raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

    return callback


def _seeds(random_state: Any, n: int) -> list[int]:
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=n)]


def _full_proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all classes, for a base model whose fold lacked some."""
    proba = np.zeros((X.shape[0], n_classes))
    proba[:, model.classes_.astype(int)] = model.predict_proba(X)
    return proba


def _log_odds(probas: Sequence[np.ndarray]) -> np.ndarray:
    """Meta-features on the logit scale, where a linear meta-learner combines evidence."""
    parts = []
    for proba in probas:
        p = np.clip(proba, 1e-6, 1 - 1e-6)
        parts.append(np.log(p[:, 1:] / p[:, :1]) if p.shape[1] == 2 else np.log(p))
    return np.hstack(parts)


class LeafEmbeddingClassifier(_HybridBase):
    """Boosted-tree leaves as learned features for a linear or neural head.

    Each tree sorts a row into one leaf; the one-hot leaf pattern is a sparse, non-linear
    encoding on which a logistic regression can re-weigh the trees jointly (He et al.,
    2014). With ``head="mlp"`` the leaf indices become categorical embeddings of
    :class:`TabularMLPClassifier` instead, which needs PyTorch; the logistic head does not.

    Parameters
    ----------
    cat_indices, cardinalities : categorical columns of the input and their level counts.
    n_estimators, num_leaves, learning_rate : LightGBM settings; trees x leaves bounds the
        width of the encoding.
    head : {"logistic", "mlp"}
    C : inverse regularisation of the logistic head.
    hidden_sizes, mlp_loss, mlp_learning_rate, mlp_max_epochs : settings of the MLP head.
    n_threads, random_state, device : resources and reproducibility.
    max_time : seconds the whole fit may take (None: no limit); its nets and trees share
        them and stop when they are spent, keeping what they learnt, as a trial's cap asks.
    """

    def __init__(
        self,
        cat_indices: Sequence[int] = (),
        cardinalities: Sequence[int] = (),
        n_estimators: int = 100,
        num_leaves: int = 15,
        learning_rate: float = 0.1,
        head: str = "logistic",
        C: float = 1.0,
        hidden_sizes: Sequence[int] = (64,),
        mlp_loss: str = "ce",
        mlp_learning_rate: float = 1e-2,
        mlp_max_epochs: int = 50,
        n_threads: int = 1,
        random_state: int | None = None,
        device: str = "auto",
        max_time: float | None = None,
    ) -> None:
        self.cat_indices = cat_indices
        self.cardinalities = cardinalities
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.head = head
        self.C = C
        self.hidden_sizes = hidden_sizes
        self.mlp_loss = mlp_loss
        self.mlp_learning_rate = mlp_learning_rate
        self.mlp_max_epochs = mlp_max_epochs
        self.n_threads = n_threads
        self.random_state = random_state
        self.device = device
        self.max_time = max_time

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LeafEmbeddingClassifier:
        """Fit the trees, then the head on their leaf indices."""
        self._check_tree_params()
        if self.head not in HEADS:
            self._refuse("head", f"one of {HEADS}")
        if not self.C > 0:
            self._refuse("C", "> 0")
        if self.head == "mlp":
            _compat.require_torch(f"{type(self).__name__}(head='mlp')")
        X, y, weight = self._validate(X, y, sample_weight)
        self._start_clock()
        gbm_seed, head_seed = _seeds(self.random_state, 2)
        self.gbm_ = self._fit_gbm(X, y, weight, gbm_seed, fits_left=2 if self.head == "mlp" else 1)
        leaves = self._leaves(X)
        if self.head == "logistic":
            self.encoder_ = OneHotEncoder(handle_unknown="ignore").fit(leaves)
            self.head_ = LogisticRegression(C=self.C, max_iter=1000)
            self.head_.fit(self.encoder_.transform(leaves), y, sample_weight=weight)
        else:
            self.encoder_ = None
            tree_info = self.gbm_.booster_.dump_model()["tree_info"]
            n_leaves = [int(tree["num_leaves"]) for tree in tree_info]
            # No batch norm: statistics of a batch of leaf embeddings are noisy on small
            # data, and the head learns better without them.
            self.head_ = self._mlp(head_seed).set_params(
                cat_indices=tuple(range(leaves.shape[1])),
                cardinalities=tuple(n_leaves),
                norm="none",
            )
            self.head_.fit(leaves.astype(np.float64), y, sample_weight=weight)
        return self

    def _leaves(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.gbm_.predict(X, pred_leaf=True)).reshape(X.shape[0], -1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the head, in the order of ``classes_``."""
        check_is_fitted(self, "head_")
        leaves = self._leaves(check_matrix(X, self, self.n_features_in_))
        if self.encoder_ is not None:
            return self.head_.predict_proba(self.encoder_.transform(leaves))
        return self.head_.predict_proba(leaves.astype(np.float64))


class NeuralEmbeddingBoostClassifier(_HybridBase):
    """LightGBM on the inputs plus the penultimate activations of a trained MLP.

    The network's learned, smooth combinations of features are hard for axis-aligned
    splits to build themselves; handing them to the trees adds them as ready-made
    features. The MLP stops early on an inner split, which limits how much its in-sample
    embedding leaks the training labels to the trees. Needs PyTorch.

    Parameters
    ----------
    cat_indices, cardinalities : categorical columns of the input and their level counts.
    hidden_sizes, mlp_loss, mlp_learning_rate, mlp_max_epochs : MLP settings; the last
        hidden size is the number of embedding features.
    n_estimators, num_leaves, learning_rate : LightGBM settings.
    n_threads, random_state, device : resources and reproducibility.
    max_time : seconds the whole fit may take (None: no limit); its nets and trees share
        them and stop when they are spent, keeping what they learnt, as a trial's cap asks.
    """

    def __init__(
        self,
        cat_indices: Sequence[int] = (),
        cardinalities: Sequence[int] = (),
        hidden_sizes: Sequence[int] = (64, 16),
        mlp_loss: str = "ce",
        mlp_learning_rate: float = 1e-3,
        mlp_max_epochs: int = 50,
        n_estimators: int = 200,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        n_threads: int = 1,
        random_state: int | None = None,
        device: str = "auto",
        max_time: float | None = None,
    ) -> None:
        self.cat_indices = cat_indices
        self.cardinalities = cardinalities
        self.hidden_sizes = hidden_sizes
        self.mlp_loss = mlp_loss
        self.mlp_learning_rate = mlp_learning_rate
        self.mlp_max_epochs = mlp_max_epochs
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_threads = n_threads
        self.random_state = random_state
        self.device = device
        self.max_time = max_time

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NeuralEmbeddingBoostClassifier:
        """Fit the MLP, then the trees on ``[X, mlp.embed(X)]``."""
        _compat.require_torch(type(self).__name__)
        self._check_tree_params()
        X, y, weight = self._validate(X, y, sample_weight)
        self._start_clock()
        mlp_seed, gbm_seed = _seeds(self.random_state, 2)
        self.mlp_ = self._mlp(mlp_seed, fits_left=2).fit(X, y, sample_weight=weight)
        self.gbm_ = self._fit_gbm(np.hstack([X, self.mlp_.embed(X)]), y, weight, gbm_seed)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the trees, in the order of ``classes_``."""
        check_is_fitted(self, "gbm_")
        X = check_matrix(X, self, self.n_features_in_)
        return self.gbm_.predict_proba(np.hstack([X, self.mlp_.embed(X)]))


class DeepTreeStackingClassifier(_HybridBase):
    """An MLP and LightGBM combined by a logistic regression on their out-of-fold outputs.

    The meta-learner is fitted on predictions each base model made for rows it did not
    train on (stratified K-fold), so it learns how far to trust each model on new data
    rather than on data they memorised; the bases are then refitted on all rows. Needs
    PyTorch.

    Parameters
    ----------
    cat_indices, cardinalities : categorical columns of the input and their level counts.
    hidden_sizes, mlp_loss, mlp_learning_rate, mlp_max_epochs : MLP settings.
    n_estimators, num_leaves, learning_rate : LightGBM settings.
    C : inverse regularisation of the logistic meta-learner.
    n_folds : folds for the out-of-fold predictions.
    n_threads, random_state, device : resources and reproducibility.
    max_time : seconds the whole fit may take (None: no limit); its nets and trees share
        them and stop when they are spent, keeping what they learnt, as a trial's cap asks.
    """

    def __init__(
        self,
        cat_indices: Sequence[int] = (),
        cardinalities: Sequence[int] = (),
        hidden_sizes: Sequence[int] = (64, 32),
        mlp_loss: str = "ce",
        mlp_learning_rate: float = 1e-3,
        mlp_max_epochs: int = 50,
        n_estimators: int = 200,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        C: float = 1.0,
        n_folds: int = 3,
        n_threads: int = 1,
        random_state: int | None = None,
        device: str = "auto",
        max_time: float | None = None,
    ) -> None:
        self.cat_indices = cat_indices
        self.cardinalities = cardinalities
        self.hidden_sizes = hidden_sizes
        self.mlp_loss = mlp_loss
        self.mlp_learning_rate = mlp_learning_rate
        self.mlp_max_epochs = mlp_max_epochs
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.C = C
        self.n_folds = n_folds
        self.n_threads = n_threads
        self.random_state = random_state
        self.device = device
        self.max_time = max_time

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DeepTreeStackingClassifier:
        """Fit the meta-learner on out-of-fold base predictions, then refit the bases."""
        _compat.require_torch(type(self).__name__)
        self._check_tree_params()
        if not isinstance(self.n_folds, int | np.integer) or self.n_folds < 2:
            self._refuse("n_folds", "an integer >= 2")
        if not self.C > 0:
            self._refuse("C", "> 0")
        X, y, weight = self._validate(X, y, sample_weight)
        n_classes = len(self.classes_)
        smallest = int(np.bincount(y).min())
        if smallest < 2:
            raise AutoImbError(
                "DeepTreeStackingClassifier needs at least 2 rows of every class for its "
                f"out-of-fold predictions; the smallest class has {smallest}."
            )
        self._start_clock()
        fold_seed, mlp_seed, gbm_seed = _seeds(self.random_state, 3)
        cv = StratifiedKFold(min(self.n_folds, smallest), shuffle=True, random_state=fold_seed)
        oof = [np.zeros((X.shape[0], n_classes)) for _ in range(2)]
        fits = 2 * (cv.get_n_splits() + 1)  # a net and trees per fold, then on all rows
        for k, (train, test) in enumerate(cv.split(X, y)):
            left = fits - 2 * k
            mlp = self._mlp(mlp_seed, left).fit(X[train], y[train], sample_weight=weight[train])
            gbm = self._fit_gbm(X[train], y[train], weight[train], gbm_seed, left - 1)
            oof[0][test] = _full_proba(mlp, X[test], n_classes)
            oof[1][test] = _full_proba(gbm, X[test], n_classes)
        self.meta_ = LogisticRegression(C=self.C, max_iter=1000)
        self.meta_.fit(_log_odds(oof), y, sample_weight=weight)
        self.mlp_ = self._mlp(mlp_seed, fits_left=2).fit(X, y, sample_weight=weight)
        self.gbm_ = self._fit_gbm(X, y, weight, gbm_seed)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the meta-learner, in the order of ``classes_``."""
        check_is_fitted(self, "meta_")
        X = check_matrix(X, self, self.n_features_in_)
        n_classes = len(self.classes_)
        bases = [_full_proba(m, X, n_classes) for m in (self.mlp_, self.gbm_)]
        return self.meta_.predict_proba(_log_odds(bases))
