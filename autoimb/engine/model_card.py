"""The model card: what a saved model carries of how it was found, how good it is, what it
reads and with which library versions, so a report or a reader needs nothing else."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
import optuna

from autoimb import __version__, config
from autoimb.data.dataset import Dataset
from autoimb.engine.remeasure import Remeasured
from autoimb.engine.settings import SearchSettings
from autoimb.engine.splits import Folds
from autoimb.posthoc.threshold import Decision


def model_card(
    settings: SearchSettings,
    data: Dataset,
    measured: Remeasured,
    winner: dict,
    decision: Decision,
    interval: tuple[float, float],
    folds: Folds,
) -> dict[str, Any]:
    """``folds`` as the search drew them: fewer than asked where the smallest class (or its
    groups) or the data's size lowered them."""
    import imblearn
    import lightgbm
    import sklearn
    import xgboost

    classes = [c.item() if hasattr(c, "item") else c for c in data.classes]
    return {
        "autoimb_version": __version__,
        "metric": settings.metric.name,
        "cv_score": float(measured.score),
        "search_score": float(measured.search_score),
        "score_basis": measured.basis,
        "score_interval": [float(interval[0]), float(interval[1])],
        "score_interval_level": config.INTERVAL_LEVEL,
        "config": winner,
        "decision": decision.labelled(data.classes),
        "classes": classes,
        # One of ``classes``, as it is there: classes_.index(positive_class) finds it.
        "positive_class": classes[data.pos_label] if len(classes) == 2 else None,
        # The folds, so a report on this model alone cross-validates it again the same way.
        "cv": folds.n_splits,
        "split": folds.kind,
        "folds": folds.describe(),
        "schema": {**data.schema(), "categories": data.categories()},
        "data": data.summary(),
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "imbalanced-learn": imblearn.__version__,
            "lightgbm": lightgbm.__version__,
            "xgboost": xgboost.__version__,
            "optuna": optuna.__version__,
            "numpy": np.__version__,
        },
    }
