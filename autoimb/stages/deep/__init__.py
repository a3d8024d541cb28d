"""Deep models of the model stage: a tabular neural net with cost-sensitive losses.

PyTorch is the optional ``deep`` extra; without it the net is absent from every search space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.stages.base import Component, FitContext, register
from autoimb.stages.deep.mlp import TabularMLPClassifier
from autoimb.stages.deep.nets import LOSSES, NORMS


def hidden_sizes(params: Mapping[str, Any]) -> tuple[int, ...]:
    """Layers halving in width: searched as two integers instead of a list."""
    width, depth = int(params["width"]), int(params["depth"])
    return tuple(max(8, width // 2**i) for i in range(depth))


def categories(ctx: FitContext) -> dict[str, tuple[int, ...]]:
    return {"cat_indices": tuple(ctx.cat_indices), "cardinalities": tuple(ctx.cardinalities)}


def _mlp(params: Mapping[str, Any], ctx: FitContext) -> TabularMLPClassifier:
    return TabularMLPClassifier(
        **categories(ctx),
        hidden_sizes=hidden_sizes(params),
        dropout=float(params["dropout"]),
        norm=str(params["norm"]),
        learning_rate=float(params["learning_rate"]),
        weight_decay=float(params["weight_decay"]),
        batch_size=int(params["batch_size"]),
        max_epochs=int(params["max_epochs"]),
        patience=int(params["patience"]),
        loss=str(params["loss"]),
        focal_gamma=float(params["focal_gamma"]),
        cb_beta=float(params["cb_beta"]),
        balanced_batches=bool(params["balanced_batches"]),
        random_state=ctx.random_state,
        max_time=ctx.time_cap,
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
        values={"norm": NORMS, "loss": LOSSES},
    ),
)
