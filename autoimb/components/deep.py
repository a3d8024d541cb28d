"""A multilayer perceptron for tabular data, with the losses that imbalance calls for.

The network is trained with PyTorch, which is optional: this module imports without it
and only :meth:`TabularMLPClassifier.fit` (or prediction) asks for it through
:mod:`autoimb._compat`. A fitted estimator keeps its weights as numpy arrays and rebuilds
the torch module on first use, so it can be saved with skops and loaded by a process that
trusts only numpy and builtin types.
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from autoimb import _compat
from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import torch

__all__ = [
    "TabularMLPClassifier",
    "balanced_class_weights",
    "class_balanced_weights",
    "cross_entropy_loss",
    "embedding_dim",
    "focal_loss",
]

LOSSES = ("ce", "weighted_ce", "focal", "class_balanced")
NORMS = ("batch", "layer", "none")
_CHUNK = 8192  # rows per forward pass at predict time, to bound memory

# Torch modules rebuilt from a fitted estimator's ``weights_``, kept outside the estimator
# so that predicting leaves its ``__dict__`` (and so what skops or pickle save) unchanged.
_MODULES: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def embedding_dim(cardinality: int) -> int:
    """Width of a category's embedding: grows with the cardinality, capped to stay cheap."""
    return min(16, (cardinality + 1) // 2 + 1)


def balanced_class_weights(counts: np.ndarray) -> np.ndarray:
    """Inverse-frequency weights ``n / (C * n_c)``, so every class carries the same total."""
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    return counts.sum() / (len(counts) * counts)


def class_balanced_weights(counts: np.ndarray, beta: float) -> np.ndarray:
    """Weights by the effective number of samples ``(1 - beta^n) / (1 - beta)``.

    Cui et al. (2019) argue that extra samples of a class add ever less information, so
    plain inverse frequency over-weights the minority; ``beta`` -> 1 recovers it, and
    ``beta = 0`` gives equal weights. Weights are scaled to sum to the number of classes.
    """
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights * len(counts) / weights.sum()


def _weighted_mean(
    losses: torch.Tensor,
    target: torch.Tensor,
    class_weight: torch.Tensor | None,
    sample_weight: torch.Tensor | None,
) -> torch.Tensor:
    # Normalised by the total weight, as torch's weighted cross-entropy is, so the
    # step size does not depend on how small the class weights happen to be.
    weight = losses.new_ones(losses.shape) if sample_weight is None else sample_weight.to(losses)
    if class_weight is not None:
        weight = weight * class_weight.to(losses)[target]
    return (weight * losses).sum() / weight.sum().clamp_min(1e-12)


def cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    class_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy weighted per class and per sample, as one mean over the batch."""
    torch = _compat.require_torch("cross_entropy_loss")
    losses = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    return _weighted_mean(losses, target, class_weight, sample_weight)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    gamma: float = 2.0,
    class_weight: torch.Tensor | None = None,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Focal loss (Lin et al., 2017): ``(1 - p_t)^gamma`` damps the easy, mostly majority,
    examples so the gradient is spent on the hard ones; ``gamma = 0`` is cross-entropy."""
    torch = _compat.require_torch("focal_loss")
    log_p = torch.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    losses = -torch.pow(1.0 - log_p.exp(), gamma) * log_p
    return _weighted_mean(losses, target, class_weight, sample_weight)


@cache
def _network_class() -> type:
    # Defined on first use so that this module imports without torch.
    torch = _compat.require_torch("TabularMLPClassifier")
    nn = torch.nn

    class EmbeddingGroup(nn.Module):
        """One table for all columns of equal embedding width, so a network on hundreds of
        categorical columns (tree leaves) does one lookup per width, not per column."""

        def __init__(self, cards: Sequence[int], columns: Sequence[int], dim: int) -> None:
            super().__init__()
            sizes = np.asarray(cards, dtype=np.int64) + 1  # + the "unknown" row
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            self.table = nn.Embedding(int(sizes.sum()), dim)
            with torch.no_grad():
                self.table.weight[torch.as_tensor(offsets + sizes - 1)] = 0.0  # unknown: neutral
            self.register_buffer("columns", torch.as_tensor(columns, dtype=torch.long))
            self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long))

        def forward(self, codes: torch.Tensor) -> torch.Tensor:
            looked_up = self.table(codes[:, self.columns] + self.offsets)
            return looked_up.flatten(start_dim=1)

    class TabularNet(nn.Module):
        """Category embeddings and standardised numbers into a stack of dense blocks."""

        def __init__(
            self,
            cardinalities: Sequence[int],
            n_numeric: int,
            hidden_sizes: Sequence[int],
            n_classes: int,
            dropout: float,
            norm: str,
        ) -> None:
            super().__init__()
            by_dim: dict[int, list[int]] = {}
            for j, card in enumerate(cardinalities):
                by_dim.setdefault(embedding_dim(card), []).append(j)
            self.embeddings = nn.ModuleList(
                EmbeddingGroup([cardinalities[j] for j in cols], cols, dim)
                for dim, cols in sorted(by_dim.items())
            )
            self.register_buffer("num_mean", torch.zeros(n_numeric))
            self.register_buffer("num_scale", torch.ones(n_numeric))
            width = n_numeric + sum(embedding_dim(c) for c in cardinalities)
            layers: list[nn.Module] = []
            for size in hidden_sizes:
                layers.append(nn.Linear(width, size))
                if norm == "batch":
                    layers.append(nn.BatchNorm1d(size))
                elif norm == "layer":
                    layers.append(nn.LayerNorm(size))
                layers += [nn.ReLU(), nn.Dropout(dropout)]
                width = size
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(width, n_classes)

        def features(self, codes: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
            parts = [group(codes) for group in self.embeddings]
            parts.append((numeric - self.num_mean) / self.num_scale)
            return self.body(torch.cat(parts, dim=1))

        def forward(self, codes: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
            return self.head(self.features(codes, numeric))

    return TabularNet


def _resolve_device(torch: Any, device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise AutoImbError(
            f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:N]'. Got {device!r} instead."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise AutoImbError(f"device={device!r} was asked for but CUDA is not available.")
    return resolved


@contextlib.contextmanager
def _torch_session(
    torch: Any, n_threads: int, seed: int | None = None, device: Any = None
) -> Iterator[None]:
    """Set threads, seed and determinism for one fit, then put the global state back."""
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with contextlib.ExitStack() as stack:
        torch.set_num_threads(n_threads)
        stack.callback(torch.set_num_threads, threads)
        if seed is not None:
            on_cuda = device is not None and device.type == "cuda"
            devices = [device.index or 0] if on_cuda else []
            stack.enter_context(torch.random.fork_rng(devices=devices))
            torch.manual_seed(seed)
            if not on_cuda:
                torch.use_deterministic_algorithms(True, warn_only=True)
                stack.callback(torch.use_deterministic_algorithms, det, warn_only=warn_only)
        yield


def _check_X(X: Any, owner: object, n_features: int | None = None) -> np.ndarray:
    X = check_array(X, dtype=np.float64)
    if n_features is not None and X.shape[1] != n_features:
        raise AutoImbError(
            f"X has {X.shape[1]} features, but {type(owner).__name__} is expecting "
            f"{n_features} features as input."
        )
    return X


def _encode_labels(y: Any, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
    except ValueError as exc:
        raise AutoImbError(f"{exc} A classifier needs class labels.") from exc
    if len(y) != n_samples:
        raise AutoImbError(f"y has {len(y)} labels but X has {n_samples} rows.")
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise AutoImbError(f"y holds only one class ({classes!r}); at least two are needed.")
    return classes, encoded.astype(np.int64)


def _check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n_samples)
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n_samples,):
        raise AutoImbError(f"sample_weight must have shape ({n_samples},); got {weight.shape}.")
    if not np.all(np.isfinite(weight)) or np.any(weight < 0) or weight.sum() <= 0:
        raise AutoImbError("sample_weight must be finite, non-negative and not all zero.")
    return weight


def _category_codes(
    X: np.ndarray, columns: Sequence[int], cards: Sequence[int], *, strict: bool
) -> np.ndarray:
    """Integer codes per categorical column; negative or unseen codes map to the extra
    "unknown" index ``card``. ``strict`` refuses codes the cardinality does not allow."""
    codes = np.empty((X.shape[0], len(columns)), dtype=np.int64)
    for j, (col, card) in enumerate(zip(columns, cards, strict=True)):
        values = X[:, col]
        integral = values == np.round(values)
        if strict:
            bad = ~integral | (values >= card)
            if bad.any():
                raise AutoImbError(
                    f"Column {col} should hold category codes 0..{card - 1} (or -1 for unknown), "
                    f"but holds {values[bad][0]!r}; encode it or fix 'cardinalities'."
                )
        known = integral & (values >= 0) & (values < card)
        codes[:, j] = np.where(known, values, card).astype(np.int64)
    return codes


def _to_tensors(state: Mapping[str, Any], torch: Any) -> dict[str, Any]:
    # Copies, since arrays loaded from a file may be read-only.
    return {
        key: value.detach().cpu().clone()
        if isinstance(value, torch.Tensor)
        else torch.tensor(np.array(value))
        for key, value in state.items()
    }


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
        Seconds after which training stops, to cap the cost of one search trial.
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
        X = _check_X(X, self)
        classes, y_enc = _encode_labels(y, X.shape[0])
        weight = _check_sample_weight(sample_weight, X.shape[0])
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
        counts = np.bincount(y_enc[train], minlength=len(classes))
        class_weight = None
        if self.loss == "weighted_ce":
            class_weight = balanced_class_weights(counts)
        elif self.loss == "class_balanced":
            class_weight = class_balanced_weights(counts, self.cb_beta)

        device = _resolve_device(torch, self.device)
        with _torch_session(torch, self.n_threads, seed, device):
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
            stats = self._train(torch, net, device, data, train, val, class_weight, seed)

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
    ) -> dict[str, Any]:
        start = time.perf_counter()
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
            counts = np.bincount(y[train], minlength=int(y.max()) + 1)
            sampler = torch.utils.data.WeightedRandomSampler(
                (1.0 / counts[y[train]]).tolist(), len(train), generator=generator
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
            if out_of_time():
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
            with torch.random.fork_rng(devices=[]):  # building draws random init weights
                net = _network_class()(**self.network_config_)
            net.load_state_dict(_to_tensors(self.weights_, torch))
            net = net.to(device).eval()
            _MODULES[self] = (self.weights_, self.device, net, device)
        return torch, net, device

    def _forward(self, X: Any, *, embed: bool) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = _check_X(X, self, self.n_features_in_)
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
