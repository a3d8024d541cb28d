"""The model card: what a saved model carries of how it was found, how good it is, what it
reads and with which library versions, so a report or a reader needs nothing else."""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
import pandas as pd

from autoimb import __version__, config
from autoimb.data.conform import date_sources
from autoimb.data.dataset import Dataset
from autoimb.engine.copies import scored_on_copies
from autoimb.engine.remeasure import Remeasured
from autoimb.engine.run_text import space_spent
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
    estimator: Any,
) -> dict[str, Any]:
    """``folds`` as the search drew them: fewer than asked where the smallest class (or its
    groups) or the data's size lowered them; ``estimator`` the fitted model served."""
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
        # How the run that saved it was bounded and weighted, for the report's line on it.
        "time_budget": settings.time_budget,
        "n_trials": settings.n_trials,
        "sample_weights": data.sample_weight is not None,
        "stopped": settings.stopped,
        "schema": {
            **data.schema(),
            "categories": data.categories(),
            "missing_shares": missing_shares(data),
        },
        "data": data.summary(),
        # Saved with the model, these components' training rows go wherever the file goes.
        "keeps_training_rows": rows_kept_by(estimator),
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "imbalanced-learn": imblearn.__version__,
            "lightgbm": lightgbm.__version__,
            "xgboost": xgboost.__version__,
            "optuna": optuna.__version__,
            "numpy": np.__version__,
            # Only where a deep model could be in it: importing torch costs seconds.
            **({"torch": sys.modules["torch"].__version__} if "torch" in sys.modules else {}),
        },
    }


def card_space_spent(card: Mapping[str, Any]) -> bool:
    """Whether the search stopped because its space had no strategy left, so more budget would
    only repeat them; a card saved before the field says it in its notes' words."""
    if "space_spent" in card:
        return bool(card["space_spent"])
    return space_spent(card.get("notes", []))


def card_scored_on_copies(card: Mapping[str, Any]) -> bool:
    """Whether copied rows flattered the card's score and interval; a card saved before the
    field says it in its notes' words."""
    if "scored_on_copies" in card:
        return bool(card["scored_on_copies"])
    return scored_on_copies(card.get("notes", []))


def rows_kept_by(estimator: Any) -> list[str]:
    """The components of a fitted pipeline, or of an ensemble's pipelines, whose models keep
    training rows to predict from (``Component.keeps_rows``): a saved model holds those rows."""
    from autoimb.stages import REGISTRY

    members = getattr(estimator, "estimators", None)  # an ensemble, or a winner's fold models
    if members is not None:
        return sorted({name for member in members for name in rows_kept_by(member)})
    kept: set[str] = set()
    for stage, choice in getattr(estimator, "config", {}).items():
        if stage not in REGISTRY or not isinstance(choice, Mapping):
            continue
        found = [REGISTRY[stage].get(choice.get("name"))]
        # A voting or stacking ensemble's partner is a model of its own.
        found.append(REGISTRY["model"].get(choice.get("partner")))
        kept |= {component.name for component in found if component and component.keeps_rows}
    return sorted(kept)


def missing_shares(data: Dataset) -> dict[str, float]:
    """Each column's share of missing values in training, where it has any: new rows that
    all lack a column are news only where training seldom lacked it."""
    shares = data.X.isna().mean()
    # A date is read into parts, all missing where it is: new rows name it, not them.
    parts = date_sources(data.dates)
    shares = pd.concat([shares, shares[shares.index.isin(list(parts))].rename(parts)])
    shares = shares.groupby(level=0).max()
    return {str(c): round(float(share), 4) for c, share in shares.items() if share > 0}
