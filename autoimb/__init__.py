"""autoimb: find the best way to learn from an imbalanced classification data set.

>>> import autoimb
>>> sorted(autoimb.__all__)[:3]
['AutoImbClassifier', 'AutoImbError', 'SearchResult']
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

# GNU OpenMP's threads (LightGBM's, XGBoost's, scikit-learn's on Linux) spin 300,000 times
# while they wait for each other: where other work holds the cores, a model fitted on every
# core ran 1.3 to 2.2 times slower than on one (benchmarks/threads.py; 7 times and more
# under heavier load). A thousand spins keep an idle machine's speed; waiting passively would not.
# Read when the runtime loads, so before those libraries are first imported; a wait the user
# chose stands.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

__version__ = "0.1.0"

__all__ = [
    "AutoImbClassifier",
    "AutoImbError",
    "SearchResult",
    "__version__",
    "datasets",
    "load",
    "search",
]

_LAZY = {
    "AutoImbClassifier": "autoimb.estimator",
    "search": "autoimb.api",
    "SearchResult": "autoimb.result",
    "load": "autoimb.export",
    "AutoImbError": "autoimb.exceptions",
    "datasets": "autoimb.datasets",
}

if TYPE_CHECKING:
    from autoimb import datasets
    from autoimb.api import search
    from autoimb.estimator import AutoImbClassifier
    from autoimb.exceptions import AutoImbError
    from autoimb.export import load
    from autoimb.result import SearchResult


def __getattr__(name: str) -> Any:
    """Heavy modules (Optuna, LightGBM, XGBoost) load on first use, not on ``import autoimb``."""
    if name == "save":  # beside autoimb.load, where a user looks first
        raise AttributeError(
            "module 'autoimb' has no attribute 'save': a search's model is saved with "
            "result.save(path), an AutoImbClassifier's with autoimb.export.save(model."
            "best_pipeline_, path); autoimb.load(path) reads either back."
        )
    if name not in _LAZY:
        raise AttributeError(f"module 'autoimb' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    return module if name == "datasets" else getattr(module, name)
