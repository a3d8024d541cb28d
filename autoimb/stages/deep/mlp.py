"""A multilayer perceptron for tabular data, with the losses that imbalance calls for.

The network is trained with PyTorch, which is optional: this module imports without it
and only :meth:`TabularMLPClassifier.fit` (or prediction) asks for it through
:mod:`autoimb._compat`. A fitted estimator keeps its weights as numpy arrays and rebuilds
the torch module on first use, so it can be saved with skops and loaded by a process that
trusts only numpy and builtin types.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from autoimb import _compat
from autoimb._checks import check_labels, check_matrix, weights_or_ones
from autoimb.exceptions import AutoImbError, TrialTimeout

if TYPE_CHECKING:
    pass

__all__ = [
    "TabularMLPClassifier",
    "cross_entropy_loss",
    "embedding_dim",
    "focal_loss",
]

from autoimb.stages.class_weights import balanced_weights, class_balanced_weights
from autoimb.stages.deep.nets import (
    _CHUNK,
    _ONE_AT_A_TIME,
    LOSSES,
    NORMS,
    _category_codes,
    _network_class,
    _resolve_device,
    _to_tensors,
    _torch_session,
    cross_entropy_loss,
    embedding_dim,
    focal_loss,
)

# Torch modules rebuilt from a fitted estimator's ``weights_``, kept outside the estimator
# so that predicting leaves its ``__dict__`` (and so what skops or pickle save) unchanged.
_MODULES: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()


class TabularMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron with category embeddings and imbalance-aware training.

    Imbalance is handled inside the learner rather than by resampling: per-class loss
    weights (``weighted_ce``, ``class_balanced``), a focal loss, or class-balanced
    mini-batches. Early stopping uses a stratified inner split so the minority class is
    present in it. The first ``len(cat_indices)`` inputs in the autoimb data contract are
    category codes (``-1`` for unseen); the rest are imputed, unscaled numbers, which the
    model standardises itself.

    Parameters
    ----------
    cat_indices, cardinalities : sequence of int
        Columns holding category codes and their number of levels (inferred from the
        training codes when empty).
    hidden_sizes, dropout, norm : network shape; ``norm`` is "batch", "layer" or "none".
    learning_rate, weight_decay, batch_size, max_epochs : AdamW training settings.
    patience, validation_fraction : early stopping; the best weights are restored.
        ``patience=None`` or ``validation_fraction=0`` trains for ``max_epochs``.
    loss : {"ce", "weighted_ce", "focal", "class_balanced"}
    focal_gamma, cb_beta : parameters of the focal and class-balanced losses.
    balanced_batches : bool
        Draw mini-batches with equal expected class counts, an alternative to resampling.
    device : "auto", "cpu" or "cuda[:N]".
    random_state : int or None
        A seed makes training reproducible on CPU.
    init_weights : mapping or path, optional
        Weights (from :meth:`state_dict_`, a ``.npz`` or a torch ``.pt`` file) to continue
        training from, including the numeric standardisation they were learned with; the
        columns, network shape and number of classes must match.
    max_time : float, optional
        Seconds after which training stops, to cap the cost of one search trial; time spent
        waiting for another fit (parallel trials' nets take turns) counts.
    n_threads : int
        Torch CPU threads; 1 so that parallel trials do not oversubscribe the cores.
    """

    def __init__(
        self,
        cat_indices: Sequence[int] = (),
        cardinalities: Sequence[int] = (),
        hidden_sizes: Sequence[int] = (128, 64),
        dropout: float = 0.1,
        norm: str = "batch",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int | None = 10,
        validation_fraction: float = 0.15,
        loss: str = "ce",
        focal_gamma: float = 2.0,
        cb_beta: float = 0.999,
        balanced_batches: bool = False,
        device: str = "auto",
        random_state: int | None = None,
        init_weights: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        max_time: float | None = None,
        n_threads: int = 1,
    ) -> None:
        self.cat_indices = cat_indices
        self.cardinalities = cardinalities
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.norm = norm
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.cb_beta = cb_beta
        self.balanced_batches = balanced_batches
        self.device = device
        self.random_state = random_state
        self.init_weights = init_weights
        self.max_time = max_time
        self.n_threads = n_threads

    # -- public API ---------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> TabularMLPClassifier:
        """Train the network; honours ``sample_weight`` in the loss."""
        self._check_params()
        X = check_matrix(X, self)
        classes, y_enc = check_labels(y, X.shape[0])
        weight = weights_or_ones(sample_weight, X.shape[0])
        torch = _compat.require_torch(type(self).__name__)
        cat, cards = self._resolve_columns(X)
        numeric_idx = tuple(i for i in range(X.shape[1]) if i not in set(cat))
        codes = _category_codes(X, cat, cards, strict=True)
        numeric = X[:, list(numeric_idx)]
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        train, val = self._inner_split(y_enc, seed)

        config = {
            "cardinalities": list(cards),
            "n_numeric": len(numeric_idx),
            "hidden_sizes": [int(h) for h in self.hidden_sizes],
            "n_classes": len(classes),
            "dropout": float(self.dropout),
            "norm": self.norm,
        }
        # Counted by weight: rows a weighting stage has already balanced give the loss no
        # second rebalancing (the two multiplied weighed a minority row IR² times a majority's).
        counts = np.bincount(y_enc[train], weights=weight[train], minlength=len(classes))
        class_weight = None
        if self.balanced_batches:  # each class comes in equal weight: as the loss must count it
            counts = np.where(counts > 0, 1.0, 0.0)
        if self.loss == "weighted_ce":
            class_weight = balanced_weights(counts)
        elif self.loss == "class_balanced":
            class_weight = class_balanced_weights(counts, self.cb_beta)

        device = _resolve_device(torch, self.device)
        # max_time counts the wait for other trials' fits (they take turns): a trial's
        # deadline does not wait with it.
        with _torch_session(torch, self.n_threads, seed, device) as waited:
            if self.max_time is not None and waited > self.max_time:
                # Its cap went by while another fit held torch: a net it could not train.
                raise TrialTimeout(f"{type(self).__name__}: its time cap went by waiting")
            net = _network_class()(**config)
            mean = numeric[train].mean(axis=0)
            scale = numeric[train].std(axis=0)
            scale[~(scale > 1e-12)] = 1.0
            net.num_mean.copy_(torch.as_tensor(mean))
            net.num_scale.copy_(torch.as_tensor(scale))
            if self.init_weights is not None:
                self._load_initial_weights(net, torch)
            net.to(device)
            data = {"codes": codes, "numeric": numeric, "y": y_enc, "weight": weight}
            stats = self._train(torch, net, device, data, train, val, class_weight, seed, waited)

        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.cat_indices_ = cat
        self.cardinalities_ = cards
        self.numeric_indices_ = numeric_idx
        self.network_config_ = config
        self.class_weight_ = class_weight
        self.weights_ = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        self.n_epochs_ = stats["n_epochs"]
        self.best_epoch_ = stats["best_epoch"]
        self.stop_reason_ = stats["stop_reason"]
        self.validation_loss_ = stats["validation_loss"]
        _MODULES.pop(self, None)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self._forward(X, embed=False)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class; autoimb's threshold stage usually replaces this."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def embed(self, X: Any) -> np.ndarray:
        """Penultimate-layer activations, as learned features for another model."""
        return self._forward(X, embed=True)

    def state_dict_(self) -> dict[str, np.ndarray]:
        """A copy of the trained weights, to pass as ``init_weights`` of another model."""
        check_is_fitted(self, "weights_")
        return {key: value.copy() for key, value in self.weights_.items()}

    # -- internals -------------------------------------------------------------------

    def _check_params(self) -> None:
        def refuse(name: str, expected: str) -> NoReturn:
            raise AutoImbError(
                f"The '{name}' parameter of {type(self).__name__} must be {expected}. "
                f"Got {getattr(self, name)!r} instead."
            )

        sizes = self.hidden_sizes
        if not isinstance(sizes, Sequence) or any(int(h) != h or h < 1 for h in sizes):
            refuse("hidden_sizes", "a sequence of positive integers")
        if not 0.0 <= self.dropout < 1.0:
            refuse("dropout", "in [0, 1)")
        if self.norm not in NORMS:
            refuse("norm", f"one of {NORMS}")
        if self.loss not in LOSSES:
            refuse("loss", f"one of {LOSSES}")
        if not self.learning_rate > 0:
            refuse("learning_rate", "> 0")
        if not self.weight_decay >= 0:
            refuse("weight_decay", ">= 0")
        if not self.focal_gamma >= 0:
            refuse("focal_gamma", ">= 0")
        if not 0.0 <= self.cb_beta < 1.0:
            refuse("cb_beta", "in [0, 1)")
        if not 0.0 <= self.validation_fraction < 1.0:
            refuse("validation_fraction", "in [0, 1)")
        for name, low in (("batch_size", 1), ("max_epochs", 0), ("n_threads", 1)):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < low:
                refuse(name, f"an integer >= {low}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            refuse("patience", "None or an integer >= 1")
        if self.max_time is not None and not self.max_time > 0:
            refuse("max_time", "None or > 0 seconds")

    def _resolve_columns(self, X: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        n_features = X.shape[1]
        cat = tuple(int(i) for i in self.cat_indices)
        if len(set(cat)) != len(cat) or any(not 0 <= i < n_features for i in cat):
            raise AutoImbError(
                f"'cat_indices' must be distinct column indices in 0..{n_features - 1}. "
                f"Got {self.cat_indices!r} instead."
            )
        cards = tuple(int(c) for c in self.cardinalities)
        if not cards:
            cards = tuple(max(int(np.max(X[:, i], initial=-1)) + 1, 1) for i in cat)
        if len(cards) != len(cat) or any(c < 1 for c in cards):
            raise AutoImbError(
                f"'cardinalities' must give a positive count for each of the {len(cat)} "
                f"categorical columns. Got {self.cardinalities!r} instead."
            )
        return cat, cards

    def _inner_split(self, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        everything = np.arange(len(y))
        n_val = int(np.ceil(self.validation_fraction * len(y)))
        if self.patience is None or n_val < 2 or len(y) - n_val < 2:
            return everything, everything[:0]
        for splitter in (StratifiedShuffleSplit, ShuffleSplit):
            try:
                cv = splitter(n_splits=1, test_size=n_val, random_state=seed)
                return next(iter(cv.split(everything[:, None], y)))
            except ValueError:  # a class too small to stratify: split at random instead
                continue
        return everything, everything[:0]

    def _load_initial_weights(self, net: Any, torch: Any) -> None:
        source = self.init_weights
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.is_file():
                raise AutoImbError(f"init_weights file {str(path)!r} does not exist.")
            if path.suffix == ".npz":
                with np.load(path) as data:
                    source = {key: data[key] for key in data.files}
            else:
                source = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(source, Mapping):
            raise AutoImbError(
                "The 'init_weights' parameter must be a mapping of weights or a path. "
                f"Got {type(source).__name__} instead."
            )
        try:
            net.load_state_dict(_to_tensors(source, torch))
        except (RuntimeError, KeyError) as exc:
            raise AutoImbError(
                "init_weights do not fit this network: the columns, cardinalities, "
                f"hidden_sizes, norm and number of classes must match ({exc})."
            ) from exc

    def _train(
        self,
        torch: Any,
        net: Any,
        device: Any,
        data: Mapping[str, np.ndarray],
        train: np.ndarray,
        val: np.ndarray,
        class_weight: np.ndarray | None,
        seed: int,
        waited: float,
    ) -> dict[str, Any]:
        """Long by design: an epoch's steps, early stopping and the time cap share their state."""
        start = time.perf_counter() - waited
        y = data["y"]
        codes_t = torch.as_tensor(data["codes"], device=device)
        numeric_t = torch.as_tensor(data["numeric"], dtype=torch.float32, device=device)
        y_t = torch.as_tensor(y, device=device)
        weight_t = torch.as_tensor(data["weight"], dtype=torch.float32, device=device)
        cw_t = None if class_weight is None else torch.as_tensor(class_weight, device=device)
        train_t = torch.as_tensor(train, device=device)
        val_t = torch.as_tensor(val, device=device)
        generator = torch.Generator().manual_seed(seed)
        sampler = None
        if self.balanced_batches:
            # Each class's rows drawn by weight: each class brings as much weight to a batch.
            counts = np.bincount(y[train], weights=data["weight"][train], minlength=y.max() + 1)
            odds = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
            sampler = torch.utils.data.WeightedRandomSampler(
                odds[y[train]].tolist(), len(train), generator=generator
            )
        optimizer = torch.optim.AdamW(
            net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )

        def loss_on(rows: Any) -> Any:
            logits = net(codes_t[rows], numeric_t[rows])
            if self.loss == "focal":
                return focal_loss(logits, y_t[rows], self.focal_gamma, None, weight_t[rows])
            return cross_entropy_loss(logits, y_t[rows], cw_t, weight_t[rows])

        def out_of_time() -> bool:
            return self.max_time is not None and time.perf_counter() - start > self.max_time

        history: list[float] = []
        best_loss, best_state, best_epoch, n_epochs, stale = np.inf, None, 0, 0, 0
        reason = "max_epochs"
        while n_epochs < self.max_epochs and reason == "max_epochs":
            if n_epochs and out_of_time():  # the first epoch takes a step at least
                reason = "max_time"
                break
            n_epochs += 1
            net.train()
            if sampler is not None:
                order = torch.as_tensor(list(sampler), device=device)
            else:
                order = torch.randperm(len(train), generator=generator).to(device)
            for begin in range(0, len(train), self.batch_size):
                rows = train_t[order[begin : begin + self.batch_size]]
                if len(rows) < 2 and self.norm == "batch":
                    continue  # batch norm cannot train on a single row
                optimizer.zero_grad(set_to_none=True)
                loss_on(rows).backward()
                optimizer.step()
                if out_of_time():
                    reason = "max_time"
                    break
            if len(val):
                net.eval()
                with torch.no_grad():
                    history.append(float(loss_on(val_t)))
                if history[-1] < best_loss:
                    best_loss, best_epoch, stale = history[-1], n_epochs, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    if stale >= self.patience:
                        reason = "patience"
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            best_epoch = n_epochs
        net.eval()
        return {
            "n_epochs": n_epochs,
            "best_epoch": best_epoch,
            "stop_reason": reason,
            "validation_loss": history,
        }

    def _network(self) -> tuple[Any, Any, Any]:
        torch = _compat.require_torch(type(self).__name__)
        weights, device_name, net, device = _MODULES.get(self, (None, None, None, None))
        if weights is not self.weights_ or device_name != self.device:
            device = _resolve_device(torch, self.device)
            # Building draws random init weights: from a fork of torch's generator, while no
            # other thread's fit holds it.
            with _ONE_AT_A_TIME, torch.random.fork_rng(devices=[]):
                net = _network_class()(**self.network_config_)
            net.load_state_dict(_to_tensors(self.weights_, torch))
            net = net.to(device).eval()
            _MODULES[self] = (self.weights_, self.device, net, device)
        return torch, net, device

    def _forward(self, X: Any, *, embed: bool) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = check_matrix(X, self, self.n_features_in_)
        codes = _category_codes(X, self.cat_indices_, self.cardinalities_, strict=False)
        numeric = X[:, list(self.numeric_indices_)]
        torch, net, device = self._network()
        chunks = []
        with _torch_session(torch, self.n_threads), torch.no_grad():
            for begin in range(0, X.shape[0], _CHUNK):
                rows = slice(begin, begin + _CHUNK)
                codes_t = torch.as_tensor(codes[rows], device=device)
                numeric_t = torch.as_tensor(numeric[rows], dtype=torch.float32, device=device)
                if embed:
                    out = net.features(codes_t, numeric_t).double()
                else:
                    out = torch.softmax(net(codes_t, numeric_t).double(), dim=1)
                chunks.append(out.cpu().numpy())
        return np.concatenate(chunks, axis=0)
