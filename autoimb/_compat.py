"""Shims for optional dependencies.

PyTorch is the optional ``deep`` extra: the core of autoimb must import, search and
load models without it. Keeping the single guarded import here means the rest of the
package never wraps ``import torch`` itself, ``import autoimb.stages.deep.mlp`` stays
cheap, and a missing install surfaces as one clear :class:`AutoImbError` when a deep
model is fitted instead of an ``ImportError`` at import time. The shim can go only if
torch ever becomes a hard dependency.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

from autoimb.exceptions import AutoImbError

__all__ = ["TORCH_AVAILABLE", "require_torch"]


def _installed(name: str) -> bool:
    # Looks for the package without importing it (torch takes seconds to import);
    # find_spec itself raises when an import hook blocks the name or a stub has no spec.
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ``require_torch`` still catches an install that is found but fails to import.
TORCH_AVAILABLE: bool = _installed("torch")


def require_torch(feature: str) -> ModuleType:
    """Return the ``torch`` module, or refuse with an install hint.

    Parameters
    ----------
    feature : str
        What needs torch, named in the error so the user knows which choice to drop
        if they would rather not install it.

    Returns
    -------
    module
        The imported ``torch`` package.
    """
    if not TORCH_AVAILABLE:
        raise AutoImbError(f"{feature} needs PyTorch: pip install 'autoimb[deep]'")
    try:
        import torch
    except ImportError as exc:
        raise AutoImbError(
            f"{feature} needs PyTorch, which is installed but failed to import ({exc}); "
            "reinstall it with: pip install 'autoimb[deep]'"
        ) from exc
    return torch
