"""Deep models of the model stage: a tabular neural net with cost-sensitive losses.

PyTorch is the optional ``deep`` extra; without it the net is absent from every search space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.stages.base import Component, FitContext, register, seconds_left
from autoimb.stages.deep.mlp import TabularMLPClassifier


def hidden_sizes(params: Mapping[str, Any], width: int = 128, depth: int = 2) -> tuple[int, ...]:
    """Layers halving in width: searched as two integers instead of a list."""
    width, depth = int(params.get("width", width)), int(params.get("depth", depth))
    return tuple(max(8, width // 2**i) for i in range(depth))


def categories(ctx: FitContext) -> dict[str, tuple[int, ...]]:
    return {"cat_indices": tuple(ctx.cat_indices), "cardinalities": tuple(ctx.cardinalities)}


def _mlp(params: Mapping[str, Any], ctx: FitContext) -> TabularMLPClassifier:
    return TabularMLPClassifier(
        **categories(ctx),
        hidden_sizes=hidden_sizes(params),
        dropout=float(params.get("dropout", 0.1)),
        norm=str(params.get("norm", "batch")),
        learning_rate=float(params.get("learning_rate", 1e-3)),
        weight_decay=float(params.get("weight_decay", 1e-5)),
        batch_size=int(params.get("batch_size", 64)),
        max_epochs=int(params.get("max_epochs", 60)),
        patience=int(params.get("patience", 8)),
        loss=str(params.get("loss", "weighted_ce")),
        focal_gamma=float(params.get("focal_gamma", 2.0)),
        cb_beta=float(params.get("cb_beta", 0.999)),
        balanced_batches=bool(params.get("balanced_batches", False)),
        random_state=ctx.random_state,
        max_time=None if ctx.deadline is None else seconds_left(ctx.deadline),
        init_weights=ctx.pretrained.get("mlp"),
        n_threads=ctx.n_threads,
    )


register(
    Component(
        "mlp",
        "model",
        _mlp,
        "Tabular neural net with category embeddings and a cost-sensitive loss.",
        requires="torch",
        scales=False,
    ),
)
