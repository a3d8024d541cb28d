"""PyTorch imported, and its optimizers readied, before the trials that fit with it.

Its first import takes seconds, and so does the first optimizer a process builds (it loads
torch._dynamo and sympy). Inside a trial that time was read as the first deep fold's pace (the
MLP baseline of the deep space was pruned for it) and spent from the net's time cap; before
the trials, the budget pays it all the same and no trial is judged by it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from autoimb import _compat
from autoimb.stages import REGISTRY

if TYPE_CHECKING:
    from autoimb.data.dataset import Dataset
    from autoimb.engine.space import SearchSpace


def import_torch_first(space: SearchSpace, data: Dataset) -> None:
    """Import PyTorch and build a throwaway optimizer where a model the space offers on
    ``data`` may need it."""
    if not _compat.TORCH_AVAILABLE:
        return
    offered = space.available(
        "model",
        n_classes=data.n_classes,
        sample_weight=data.sample_weight is not None,
        n_rows=len(data.y),
    )
    if any(_may_use_torch(space, name) for name in offered):
        with contextlib.suppress(Exception):  # a broken install: the deep trials say so
            torch = _compat.require_torch("the deep models")
            torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])


def _may_use_torch(space: SearchSpace, name: str) -> bool:
    component = REGISTRY["model"][name]
    if component.requires == "torch":
        return True
    params = space.stages["model"].get(name, {})
    for key, needs in component.torch_choices.items():
        param = params.get(key)
        dist = None if param is None else param.distribution
        values = getattr(dist, "choices", None) or (() if param is None else (param.default,))
        if set(values) & set(needs):
            return True
    return False
