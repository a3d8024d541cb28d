"""Hybrid deep/tree models: tree leaves into a net, a net's embedding into boosted trees, and
the two stacked.

The one stage allowed to import another: a hybrid is a deep model and a tree model by
definition, so it builds on :mod:`autoimb.stages.deep`. The leaf-embedding model with a
logistic head needs no torch and is always available.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoimb.stages.base import Component, FitContext, register
from autoimb.stages.deep import categories, hidden_sizes
from autoimb.stages.deep.nets import LOSSES
from autoimb.stages.hybrid.models import (
    HEADS,
    DeepTreeStackingClassifier,
    LeafEmbeddingClassifier,
    NeuralEmbeddingBoostClassifier,
)


def _leaf_embedding(params: Mapping[str, Any], ctx: FitContext) -> LeafEmbeddingClassifier:
    return LeafEmbeddingClassifier(
        **categories(ctx),
        n_estimators=int(params["n_estimators"]),
        num_leaves=int(params["num_leaves"]),
        learning_rate=float(params["learning_rate"]),
        head=str(params["head"]),
        C=float(params["C"]),
        n_threads=ctx.n_threads,
        random_state=ctx.random_state,
        max_time=ctx.time_cap,
    )


def _net_and_trees(params: Mapping[str, Any], ctx: FitContext) -> dict[str, Any]:
    """The settings both hybrids share: a small net, then LightGBM."""
    return {
        **categories(ctx),
        "hidden_sizes": hidden_sizes(params),
        "mlp_loss": str(params["mlp_loss"]),
        "mlp_max_epochs": int(params["mlp_max_epochs"]),
        "n_estimators": int(params["n_estimators"]),
        "num_leaves": int(params["num_leaves"]),
        "learning_rate": float(params["learning_rate"]),
        "n_threads": ctx.n_threads,
        "random_state": ctx.random_state,
        "max_time": ctx.time_cap,  # shared by its nets and trees
    }


def _neural_embedding_boost(
    params: Mapping[str, Any], ctx: FitContext
) -> NeuralEmbeddingBoostClassifier:
    return NeuralEmbeddingBoostClassifier(**_net_and_trees(params, ctx))


def _deep_tree_stacking(params: Mapping[str, Any], ctx: FitContext) -> DeepTreeStackingClassifier:
    return DeepTreeStackingClassifier(**_net_and_trees(params, ctx), C=float(params["C"]))


register(
    Component(
        "leaf_embedding",
        "model",
        _leaf_embedding,
        "Boosted-tree leaf indices, one-hot, into a logistic regression (or a neural net).",
        torch_choices={"head": ("mlp",)},
        values={"head": HEADS},
    ),
    Component(
        "neural_embedding_boost",
        "model",
        _neural_embedding_boost,
        "A neural net's penultimate-layer embedding as extra features for LightGBM.",
        requires="torch",
        scales=False,
        values={"mlp_loss": LOSSES},
    ),
    Component(
        "deep_tree_stacking",
        "model",
        _deep_tree_stacking,
        "Neural net and LightGBM stacked by a logistic meta-learner on out-of-fold predictions.",
        requires="torch",
        scales=False,
        values={"mlp_loss": LOSSES},
    ),
)
