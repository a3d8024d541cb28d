"""The pieces of the deep models: losses for imbalance, the network, torch sessions, checks.

Shared by :mod:`autoimb.stages.deep.mlp` and :mod:`autoimb.stages.hybrid.models`; torch is
imported only inside the functions that need it, through :mod:`autoimb._compat`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from autoimb import _compat
from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import torch


LOSSES = ("ce", "weighted_ce", "focal", "class_balanced")
NORMS = ("batch", "layer", "none")
_CHUNK = 8192  # rows per forward pass at predict time, to bound memory


def embedding_dim(cardinality: int) -> int:
    """Width of a category's embedding: grows with the cardinality, capped to stay cheap."""
    return min(16, (cardinality + 1) // 2 + 1)


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


_FOCAL_FLOOR = 1e-6


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
    # 1 - p_t kept off 0: below gamma 1 its power's slope there is infinite, and a row the net
    # is sure of (p_t 1.0 in float32) turned every gradient NaN.
    easy = (-torch.expm1(log_p)).clamp_min(_FOCAL_FLOOR)
    losses = -torch.pow(easy, gamma) * log_p
    return _weighted_mean(losses, target, class_weight, sample_weight)


@cache
def _network_class() -> type:
    """Long by design: torch's module class, defined in a function so torch loads only when used."""
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


_ONE_AT_A_TIME = threading.RLock()  # a hybrid model's net may fit inside its own session


@contextlib.contextmanager
def _torch_session(
    torch: Any, n_threads: int, seed: int | None = None, device: Any = None
) -> Iterator[float]:
    """Set threads, seed and determinism for one fit, then put the global state back. Those
    are torch's globals: fits in parallel trials take turns, or one would put back what
    another set (the user's generator and thread count were left changed). Gives the seconds
    it waited for its turn, which a time cap counts."""
    asked = time.perf_counter()
    with _ONE_AT_A_TIME, contextlib.ExitStack() as stack:
        waited = time.perf_counter() - asked
        threads = torch.get_num_threads()
        det = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
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
        yield waited


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
