"""scikit-learn's own settings, whatever the caller set for their code."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import sklearn


def sklearn_defaults() -> AbstractContextManager[Any]:
    """A context (or decorator) in which scikit-learn runs with its default output and without
    metadata routing. Both are global settings users turn on for their own pipelines
    (``set_config(transform_output="pandas")`` in a notebook, ``enable_metadata_routing=True``
    to route sample weights through ``GridSearchCV``); under them a one-hot encoder's sparse
    output is refused, and a pipeline's fit refuses the class weights autoimb passes its steps,
    so whole model families failed every trial, and a fitted model stopped predicting."""
    return sklearn.config_context(transform_output="default", enable_metadata_routing=False)
