"""The registry: every stage's components, by name. A new component is one entry here."""

from __future__ import annotations

from autoimb.components.augmenters import AUGMENTERS
from autoimb.components.base import Component, FitContext
from autoimb.components.deep_models import DEEP_MODELS
from autoimb.components.ensembles import ENSEMBLES
from autoimb.components.features import FEATURES
from autoimb.components.models import MODELS
from autoimb.components.resamplers import RESAMPLERS
from autoimb.components.weighting import WEIGHTINGS

__all__ = ["REGISTRY", "STAGES", "Component", "FitContext"]

STAGES: tuple[str, ...] = ("features", "augmenter", "resampler", "weighting", "model", "ensemble")

REGISTRY: dict[str, dict[str, Component]] = {
    "features": FEATURES,
    "augmenter": AUGMENTERS,
    "resampler": RESAMPLERS,
    "weighting": WEIGHTINGS,
    "model": {**MODELS, **DEEP_MODELS},
    "ensemble": ENSEMBLES,
}
