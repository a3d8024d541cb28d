"""What runs inside a training fold: one package per strategy family.

Importing this package imports every family, and each registers its components in
:data:`REGISTRY` (``stage -> name -> Component``). A new component is one ``register`` call in
its family's package and a block in a YAML space.
"""

from __future__ import annotations

from autoimb.stages import (  # noqa: F401 - imported for their registrations
    anomaly,
    augmentation,
    balanced,
    deep,
    ensembles,
    hybrid,
    models,
    resampling,
    weighting,
)
from autoimb.stages.base import REGISTRY, STAGES, Component, FitContext

__all__ = ["REGISTRY", "STAGES", "Component", "FitContext"]
