"""Gradient-boosted trees (LightGBM, XGBoost): categories native, stopped at the time cap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightgbm
import numpy as np
import xgboost

from autoimb.stages.base import Component, FitContext, Pace, register


def _lightgbm(params: Mapping[str, Any], ctx: FitContext) -> lightgbm.LGBMClassifier:
    leaf_rows, l2 = int(params["min_child_samples"]), float(params["reg_lambda"])
    return lightgbm.LGBMClassifier(
        n_estimators=int(params["n_estimators"]),
        learning_rate=float(params["learning_rate"]),
        num_leaves=int(params["num_leaves"]),
        min_child_samples=leaf_rows,
        subsample=float(params["subsample"]),
        subsample_freq=1 if float(params["subsample"]) < 1.0 else 0,
        colsample_bytree=float(params["colsample_bytree"]),
        reg_lambda=l2,
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbose=-1,
        **_categorical_regularisation(leaf_rows, l2),
    )


def _categorical_regularisation(leaf_rows: int, l2: float) -> dict[str, Any]:
    """Category splits held to the searched leaf size and L2, not LightGBM's own defaults.

    Those (groups of 100 rows, smoothing and L2 of 10 in hessian units) are made for large
    data; where one class is rare a row's hessian, p(1 - p), is a few hundredths, so a
    smoothing of 10 weighs as much as hundreds of rows and the category splits that would
    separate the rare class are seldom taken.
    """
    return {"min_data_per_group": leaf_rows, "cat_smooth": l2, "cat_l2": l2}


_STOPPED = "a boosted model was stopped mid-fit"


def _lightgbm_fit_params(ctx: FitContext) -> dict[str, Any]:
    params: dict[str, Any] = {"categorical_feature": ctx.cat_indices} if ctx.n_cat else {}
    if ctx.deadline is not None:
        pace = Pace(ctx.deadline, _STOPPED)
        params["callbacks"] = [
            lambda env: pace(
                env.iteration + 1 - env.begin_iteration, env.end_iteration - env.begin_iteration
            )
        ]
    if "lightgbm" in ctx.pretrained:
        params["init_model"] = ctx.pretrained["lightgbm"]
    return params


def _xgboost_fit_params(ctx: FitContext) -> dict[str, Any]:
    """Continued training from a pre-trained booster (its saved bytes or the booster itself).

    Each fit starts from a booster of its own, made from the saved model: continued from one
    booster in memory, XGBoost carried its random state from fit to fit (subsample < 1), and
    one seed gave another leaderboard, each trial hanging on the trials before it.
    """
    start = ctx.pretrained.get("xgboost")
    if start is None:
        return {}
    raw = start if isinstance(start, bytes | bytearray) else start.save_raw()
    return {"xgb_model": xgboost.Booster(model_file=bytearray(raw))}


class _XGBoostDeadline(xgboost.callback.TrainingCallback):
    """Stops a trial's XGBoost fit at its time cap, or before when its pace says it cannot end
    by then; dropped once the fit is done."""

    def __init__(self, deadline: float, rounds: int) -> None:
        super().__init__()
        self.pace, self.rounds, self.done = Pace(deadline, _STOPPED), rounds, 0

    def before_training(self, model: Any) -> Any:
        self.done = 0
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.done += 1
        self.pace(self.done, self.rounds)
        return False


# XGBoost splits a category column with fewer categories than this one category against the
# rest, and partitions the others (categories ordered by their gradient statistics, any group on
# either side, as LightGBM does). 1: always partition. A rare class often lives in a group of
# categories (car_good: low or medium price, four or more seats ...), which one-against-the-rest
# splits reach only a category at a time, each split held to the leaf weight.
_ONE_HOT_BELOW = 1


def _xgboost(params: Mapping[str, Any], ctx: FitContext) -> xgboost.XGBClassifier:
    categorical = {}
    if ctx.n_cat:
        categorical = {
            "enable_categorical": True,
            "feature_types": ["c"] * ctx.n_cat + ["q"] * ctx.n_num,
            "max_cat_to_onehot": _ONE_HOT_BELOW,
        }
    return xgboost.XGBClassifier(
        n_estimators=int(params["n_estimators"]),
        learning_rate=float(params["learning_rate"]),
        max_depth=int(params["max_depth"]),
        min_child_weight=float(params["min_child_weight"]),
        subsample=float(params["subsample"]),
        colsample_bytree=float(params["colsample_bytree"]),
        reg_lambda=float(params["reg_lambda"]),
        tree_method="hist",
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbosity=0,
        callbacks=(
            None
            if ctx.deadline is None
            else [_XGBoostDeadline(ctx.deadline, int(params["n_estimators"]))]
        ),
        **categorical,
    )


def _xgboost_fit(
    model: xgboost.XGBClassifier,
    X: np.ndarray,
    y: np.ndarray,
    keywords: dict[str, Any],
    deadline: float | None,
) -> xgboost.XGBClassifier:
    """Fit, then let go of the deadline callback: a trial's fold model may be served (and
    saved), and the callback is neither needed after the fit nor a type a saved model trusts."""
    model.fit(X, y, **keywords)
    model.set_params(callbacks=None)
    return model


register(
    Component(
        "lightgbm",
        "model",
        _lightgbm,
        "LightGBM gradient-boosted trees, categories native.",
        fit_params=_lightgbm_fit_params,
    ),
    Component(
        "xgboost",
        "model",
        _xgboost,
        "XGBoost gradient-boosted trees (hist).",
        fit_params=_xgboost_fit_params,
        fit=_xgboost_fit,
    ),
)
