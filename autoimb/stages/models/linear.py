"""Linear models, with one-hot categories and standardised numbers in front."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from autoimb.stages.base import Component, FitContext, one_hot_in_front, register


def _logistic(params: Mapping[str, Any], ctx: FitContext) -> Pipeline:
    model = LogisticRegression(C=float(params["C"]), max_iter=2000)
    return one_hot_in_front(ctx, model)


register(Component("logistic_regression", "model", _logistic, "L2 logistic regression."))
