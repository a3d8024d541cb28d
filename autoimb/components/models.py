"""Model stage: linear, boosted trees, forests and imbalanced-learn's balanced ensembles.

Tree models read the categorical codes as they are (LightGBM and XGBoost natively as
categories); models that need it get one-hot encoding and scaling in front of them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import lightgbm
import xgboost
from imblearn import ensemble
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from autoimb.components.anomaly import AnomalyDetectorClassifier
from autoimb.components.base import Component, FitContext, register
from autoimb.exceptions import TrialTimeout

MODELS: dict[str, Component] = {}


def encoded_for_linear(ctx: FitContext, model: Any) -> Pipeline:
    """One-hot categories and standardised numbers in front of a model that needs them."""
    steps = []
    if ctx.n_cat:
        steps.append(
            ("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=5), ctx.cat_indices)
        )
    if ctx.n_num:
        steps.append(("numbers", StandardScaler(), list(range(ctx.n_cat, ctx.n_features))))
    encoder = ColumnTransformer(steps, sparse_threshold=0.0)
    return Pipeline([("encode", encoder), ("model", model)])


def _logistic(params: Mapping[str, Any], ctx: FitContext) -> Pipeline:
    model = LogisticRegression(C=float(params.get("C", 1.0)), max_iter=2000)
    return encoded_for_linear(ctx, model)


def _lightgbm(params: Mapping[str, Any], ctx: FitContext) -> lightgbm.LGBMClassifier:
    return lightgbm.LGBMClassifier(
        n_estimators=int(params.get("n_estimators", 200)),
        learning_rate=float(params.get("learning_rate", 0.05)),
        num_leaves=int(params.get("num_leaves", 31)),
        min_child_samples=int(params.get("min_child_samples", 10)),
        subsample=float(params.get("subsample", 1.0)),
        subsample_freq=1 if float(params.get("subsample", 1.0)) < 1.0 else 0,
        colsample_bytree=float(params.get("colsample_bytree", 1.0)),
        reg_lambda=float(params.get("reg_lambda", 0.0)),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbose=-1,
    )


def _stop_at(deadline: float, what: str = "a boosted model was stopped mid-fit") -> None:
    if time.monotonic() > deadline:
        raise TrialTimeout(f"{what}: the trial ran past its time cap")


def _lightgbm_fit_params(ctx: FitContext) -> dict[str, Any]:
    params: dict[str, Any] = {"categorical_feature": ctx.cat_indices} if ctx.n_cat else {}
    if ctx.deadline is not None:
        deadline = ctx.deadline
        params["callbacks"] = [lambda env: _stop_at(deadline)]
    if "lightgbm" in ctx.pretrained:
        params["init_model"] = ctx.pretrained["lightgbm"]
    return params


def _xgboost_fit_params(ctx: FitContext) -> dict[str, Any]:
    """Continued training from a pre-trained booster (a model file or a fitted model)."""
    return {"xgb_model": ctx.pretrained["xgboost"]} if "xgboost" in ctx.pretrained else {}


class _XGBoostDeadline(xgboost.callback.TrainingCallback):
    """Stops a trial's XGBoost fit at the trial's time cap; never part of a saved model."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        _stop_at(self.deadline)
        return False


def _xgboost(params: Mapping[str, Any], ctx: FitContext) -> xgboost.XGBClassifier:
    categorical = {}
    if ctx.n_cat:
        categorical = {
            "enable_categorical": True,
            "feature_types": ["c"] * ctx.n_cat + ["q"] * ctx.n_num,
            "max_cat_to_onehot": 8,
        }
    return xgboost.XGBClassifier(
        n_estimators=int(params.get("n_estimators", 200)),
        learning_rate=float(params.get("learning_rate", 0.1)),
        max_depth=int(params.get("max_depth", 6)),
        min_child_weight=float(params.get("min_child_weight", 1.0)),
        subsample=float(params.get("subsample", 1.0)),
        colsample_bytree=float(params.get("colsample_bytree", 1.0)),
        reg_lambda=float(params.get("reg_lambda", 1.0)),
        tree_method="hist",
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbosity=0,
        callbacks=None if ctx.deadline is None else [_XGBoostDeadline(ctx.deadline)],
        **categorical,
    )


FOREST_CHUNK = 25


def grow_in_chunks(
    forest: Any, X: Any, y: Any, keywords: dict[str, Any], deadline: float | None
) -> Any:
    """Fit a forest a chunk of trees at a time, stopping the trial once past its deadline.

    A forest cannot stop inside ``fit``; growing it with ``warm_start`` lets the trial's time
    cap act between chunks. It is grown the same way with or without a deadline, so a trial's
    forests and the final refit's are the same (scikit-learn's forests also equal one ``fit``).
    """
    total = int(forest.n_estimators)
    forest.set_params(warm_start=True)
    for size in range(min(FOREST_CHUNK, total), total + FOREST_CHUNK, FOREST_CHUNK):
        forest.set_params(n_estimators=min(size, total))
        forest.fit(X, y, **keywords)
        if size < total and deadline is not None:
            _stop_at(deadline, "a forest was stopped between chunks of trees")
    forest.set_params(warm_start=False)
    return forest


def _forest(cls: type) -> Any:
    def build(params: Mapping[str, Any], ctx: FitContext) -> Any:
        return cls(
            n_estimators=int(params.get("n_estimators", 200)),
            min_samples_leaf=int(params.get("min_samples_leaf", 1)),
            max_features=params.get("max_features", "sqrt"),
            n_jobs=ctx.n_threads,
            random_state=ctx.random_state,
        )

    return build


def _balanced_random_forest(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.BalancedRandomForestClassifier(
        n_estimators=int(params.get("n_estimators", 200)),
        min_samples_leaf=int(params.get("min_samples_leaf", 1)),
        max_features=params.get("max_features", "sqrt"),
        sampling_strategy="all",
        replacement=True,
        bootstrap=False,
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _easy_ensemble(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.EasyEnsembleClassifier(
        n_estimators=int(params.get("n_estimators", 10)),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _balanced_bagging(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.BalancedBaggingClassifier(
        estimator=DecisionTreeClassifier(min_samples_leaf=int(params.get("min_samples_leaf", 1))),
        n_estimators=int(params.get("n_estimators", 50)),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
    )


def _rusboost(params: Mapping[str, Any], ctx: FitContext) -> Any:
    return ensemble.RUSBoostClassifier(
        estimator=DecisionTreeClassifier(max_depth=int(params.get("max_depth", 3))),
        n_estimators=int(params.get("n_estimators", 50)),
        learning_rate=float(params.get("learning_rate", 0.5)),
        random_state=ctx.random_state,
    )


def _detector(kind: str) -> Any:
    def build(params: Mapping[str, Any], ctx: FitContext) -> AnomalyDetectorClassifier:
        return AnomalyDetectorClassifier(
            detector=kind,
            **{k: v for k, v in params.items() if k in _DETECTOR_PARAMS},
            random_state=ctx.random_state,
            n_threads=ctx.n_threads,
        )

    return build


_DETECTOR_PARAMS = ("n_estimators", "nu", "gamma", "n_neighbors", "max_samples_svm", "calibration")


for _component in [
    Component("logistic_regression", "model", _logistic, "L2 logistic regression."),
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
    ),
    Component(
        "random_forest",
        "model",
        _forest(RandomForestClassifier),
        "Random forest.",
        scales=False,
        fit=grow_in_chunks,
    ),
    Component(
        "extra_trees",
        "model",
        _forest(ExtraTreesClassifier),
        "Extremely randomised trees.",
        scales=False,
        fit=grow_in_chunks,
    ),
    Component(
        "balanced_random_forest",
        "model",
        _balanced_random_forest,
        "Random forest whose trees each see a balanced bootstrap.",
        balances_itself=True,
        scales=False,
        fit=grow_in_chunks,
    ),
    Component(
        "easy_ensemble",
        "model",
        _easy_ensemble,
        "AdaBoost learners on balanced random subsets of the majority.",
        sample_weight=False,
        balances_itself=True,
    ),
    Component(
        "balanced_bagging",
        "model",
        _balanced_bagging,
        "Bagged trees, each bag undersampled to balance.",
        sample_weight=False,
        balances_itself=True,
    ),
    Component(
        "rusboost",
        "model",
        _rusboost,
        "AdaBoost with random undersampling at each round.",
        balances_itself=True,
    ),
    Component(
        "isolation_forest",
        "model",
        _detector("isolation_forest"),
        "Isolation forest on the majority class; outliers are called minority.",
        balances_itself=True,
        binary_only=True,
        scales=False,
    ),
    Component(
        "one_class_svm",
        "model",
        _detector("one_class_svm"),
        "One-class SVM on a bounded sample of the majority class.",
        balances_itself=True,
        binary_only=True,
        scales=False,
    ),
    Component(
        "local_outlier_factor",
        "model",
        _detector("local_outlier_factor"),
        "Local outlier factor (novelty mode) on the majority class.",
        balances_itself=True,
        binary_only=True,
        scales=False,
    ),
]:
    register(MODELS, _component)
