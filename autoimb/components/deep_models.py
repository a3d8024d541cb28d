"""Deep and hybrid deep/tree models of the model stage (PyTorch, the optional ``deep`` extra).

Without torch these components are absent from every search space; the leaf-embedding model
with a logistic head needs no torch and is always available.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.components.base import Component, FitContext, register
from autoimb.components.deep import TabularMLPClassifier
from autoimb.components.hybrid import (
    DeepTreeStackingClassifier,
    LeafEmbeddingClassifier,
    NeuralEmbeddingBoostClassifier,
)

DEEP_MODELS: dict[str, Component] = {}


def hidden_sizes(params: Mapping[str, Any], width: int = 128, depth: int = 2) -> tuple[int, ...]:
    """Layers halving in width: searched as two integers instead of a list."""
    width, depth = int(params.get("width", width)), int(params.get("depth", depth))
    return tuple(max(8, width // 2**i) for i in range(depth))


def _categories(ctx: FitContext) -> dict[str, tuple[int, ...]]:
    return {"cat_indices": tuple(ctx.cat_indices), "cardinalities": tuple(ctx.cardinalities)}


def _mlp(params: Mapping[str, Any], ctx: FitContext) -> TabularMLPClassifier:
    return TabularMLPClassifier(
        **_categories(ctx),
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
        max_time=None if ctx.deadline is None else _seconds_left(ctx.deadline),
        init_weights=ctx.pretrained.get("mlp"),
        n_threads=ctx.n_threads,
    )


def _seconds_left(deadline: float) -> float:
    import time

    return max(deadline - time.monotonic(), 1.0)


def _leaf_embedding(params: Mapping[str, Any], ctx: FitContext) -> LeafEmbeddingClassifier:
    return LeafEmbeddingClassifier(
        **_categories(ctx),
        n_estimators=int(params.get("n_estimators", 100)),
        num_leaves=int(params.get("num_leaves", 15)),
        learning_rate=float(params.get("learning_rate", 0.1)),
        head=str(params.get("head", "logistic")),
        C=float(params.get("C", 1.0)),
        n_threads=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _net_and_trees(params: Mapping[str, Any], ctx: FitContext) -> dict[str, Any]:
    """The settings both hybrids share: a small net, then LightGBM."""
    return {
        **_categories(ctx),
        "hidden_sizes": hidden_sizes(params, 64, 2),
        "mlp_loss": str(params.get("mlp_loss", "weighted_ce")),
        "mlp_max_epochs": int(params.get("mlp_max_epochs", 40)),
        "n_estimators": int(params.get("n_estimators", 200)),
        "num_leaves": int(params.get("num_leaves", 31)),
        "learning_rate": float(params.get("learning_rate", 0.05)),
        "n_threads": ctx.n_threads,
        "random_state": ctx.random_state,
    }


def _neural_embedding_boost(
    params: Mapping[str, Any], ctx: FitContext
) -> NeuralEmbeddingBoostClassifier:
    return NeuralEmbeddingBoostClassifier(**_net_and_trees(params, ctx))


def _deep_tree_stacking(params: Mapping[str, Any], ctx: FitContext) -> DeepTreeStackingClassifier:
    return DeepTreeStackingClassifier(**_net_and_trees(params, ctx), C=float(params.get("C", 1.0)))


for _component in [
    Component(
        "mlp",
        "model",
        _mlp,
        "Tabular neural net with category embeddings and a cost-sensitive loss.",
        requires="torch",
        scales=False,
    ),
    Component(
        "leaf_embedding",
        "model",
        _leaf_embedding,
        "Boosted-tree leaf indices, one-hot, into a logistic regression (or a neural net).",
    ),
    Component(
        "neural_embedding_boost",
        "model",
        _neural_embedding_boost,
        "A neural net's penultimate-layer embedding as extra features for LightGBM.",
        requires="torch",
        scales=False,
    ),
    Component(
        "deep_tree_stacking",
        "model",
        _deep_tree_stacking,
        "Neural net and LightGBM stacked by a logistic meta-learner on out-of-fold predictions.",
        requires="torch",
        scales=False,
    ),
]:
    register(DEEP_MODELS, _component)
