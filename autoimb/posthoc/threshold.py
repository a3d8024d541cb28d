"""Decision rules on top of predicted probabilities, served as one classifier.

:class:`ThresholdedClassifier` lives here because saved models name it by this path.
The rule (:class:`Decision`), its search (:func:`choose_decision`) and the cross-fitted
scores (:func:`honest_score`) live in their own modules and are importable from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from autoimb._sklearn_defaults import sklearn_defaults
from autoimb.data.conform import (
    conformed_once,
    input_columns,
    trained_with_names,
    warn_of_new_rows,
    without_search_columns,
)
from autoimb.data.frames import as_pandas, given_durations
from autoimb.data.labels import plain
from autoimb.exceptions import AutoImbError
from autoimb.posthoc.calibration import apply_calibration, calibrated_threshold
from autoimb.posthoc.candidates import MAX_CANDIDATES, choose_decision, tuning_metric
from autoimb.posthoc.crossfit import cross_fitted_predictions, honest_score, threshold_curve
from autoimb.posthoc.decision import Decision, FloatArray

__all__ = [
    "MAX_CANDIDATES",
    "Decision",
    "ThresholdedClassifier",
    "choose_decision",
    "cross_fitted_predictions",
    "honest_score",
    "threshold_curve",
    "tuning_metric",
]


class ThresholdedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted classifier plus its tuned decision rule, speaking the user's labels.

    Parameters
    ----------
    estimator : classifier
        Fitted on label codes 0..C-1, with ``predict_proba``.
    decision_threshold : float, optional
        Binary threshold on the estimator's own probability of ``pos_label``
        (``predict_scores``, before calibration; :attr:`probability_threshold` is the same
        rule on ``predict_proba``'s scale).
    class_scale : tuple of float, optional
        Multi-class factors for ``argmax(proba * class_scale)``.
    pos_label : int
        The positive class's index in ``classes_``; the threshold and the calibration were
        tuned for the class the model card names, so another is refused.
    classes : array-like, optional
        The user's labels, in code order; ``predict`` maps codes back through them.
    calibration : dict, optional
        The map from the estimator's probabilities to calibrated ones
        (:mod:`autoimb.posthoc.calibration`); ``predict_proba`` applies it, ``predict``
        applies the threshold to the estimator's own probabilities, so labels do not change.

    Every attribute is a plain python or numpy value, so the object can be saved with
    skops and loaded with a short list of trusted types.
    """

    def __init__(
        self,
        estimator: Any,
        decision_threshold: float | None = None,
        class_scale: tuple[float, ...] | None = None,
        pos_label: int = 1,
        classes: ArrayLike | None = None,
        calibration: dict[str, Any] | None = None,
    ) -> None:
        self.estimator = estimator
        self.calibration = calibration
        self.decision_threshold = decision_threshold
        self.class_scale = class_scale
        self.pos_label = pos_label
        self.classes = classes
        if classes is not None:
            self.classes_ = np.asarray(classes)

    @property
    def decision(self) -> Decision:
        """The rule as a :class:`Decision`, rebuilt on demand so it is never stale."""
        scale, classes = self.class_scale, getattr(self, "classes_", None)
        n_classes = len(classes) if classes is not None else 2 if scale is None else len(scale)
        if self.decision_threshold is not None and n_classes > 2:
            # Built with one (as clone builds a copy), on a multi-class model: refused here.
            raise _threshold_for_two_classes(n_classes)
        return Decision(
            threshold=None if self.decision_threshold is None else float(self.decision_threshold),
            class_scale=None if scale is None else tuple(float(s) for s in scale),
            pos_label=self._positive_code(),
        )

    def set_params(self, **params: Any) -> ThresholdedClassifier:
        """Refuse a threshold where the classes are known to be more than two, where it is
        set rather than at the next ``predict``; with none known yet, as in scikit-learn,
        nothing is checked before use."""
        classes = getattr(self, "classes_", None)
        threshold = params.get("decision_threshold")
        if threshold is not None and classes is not None and len(classes) > 2:
            raise _threshold_for_two_classes(len(classes))
        return super().set_params(**params)

    def _positive_code(self) -> int:
        """``pos_label``, checked: a code of ``classes_``, and the card's positive class where
        a search tuned the rule for it and the classes still hold it (``set_params(pos_label=
        ...)`` changed what was predicted, and with whose calibration, without a word)."""
        code, classes = self.pos_label, getattr(self, "classes_", None)
        n_classes = 2 if classes is None else len(classes)
        if isinstance(code, bool) or not isinstance(code, int | np.integer):
            code = -1
        if not 0 <= code < n_classes:
            raise AutoImbError(
                f"pos_label is the positive class's index in classes_, from 0 to "
                f"{n_classes - 1}; got {plain(self.pos_label)!r}."
            )
        card = getattr(self, "model_card_", None)
        positive = card.get("positive_class") if isinstance(card, dict) else None
        names = [] if classes is None else [str(c) for c in classes]
        if n_classes == 2 and positive is not None and str(positive) in names:
            tuned = names.index(str(positive))
            if tuned != code:
                raise AutoImbError(
                    f"pos_label {code} makes {plain(classes[code])!r} the positive class, but "
                    f"the decision threshold and the calibration were tuned for "
                    f"{plain(classes[tuned])!r}; set pos_label back to {tuned}, or search again "
                    f"with pos_label={plain(classes[code])!r}."
                )
        return int(code)

    @property
    def probability_threshold(self) -> float | None:
        """The binary threshold on ``predict_proba``'s (calibrated) scale, where ``predict``
        turns positive; None for a multi-class rule."""
        if self.decision_threshold is None:
            return None
        return calibrated_threshold(self.calibration, float(self.decision_threshold))

    def fit(
        self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> ThresholdedClassifier:
        """Refit the inner estimator on label-encoded ``y``; the decision rule is kept."""
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise AutoImbError(f"y must be 1-D with one label per row, got shape {labels.shape}.")
        classes, codes = np.unique(labels, return_inverse=True)
        if classes.shape[0] < 2:
            raise AutoImbError("y holds a single class; a classifier needs at least two.")
        ruled = 2 if self.class_scale is None else len(self.class_scale)
        ruled_by = self.decision_threshold is not None or self.class_scale is not None
        if ruled_by and classes.shape[0] != ruled:
            raise AutoImbError(
                f"y holds {classes.shape[0]} classes, and this model's decision rule is for "
                f"{ruled} (a threshold is for two, class factors one per class); refit on data "
                "of the same classes, or search again on this data."
            )
        if sample_weight is None:
            self.estimator.fit(X, codes)
        else:
            self.estimator.fit(X, codes, sample_weight=np.asarray(sample_weight))
        self.classes_ = classes
        return self

    @property
    def n_features_in_(self) -> int:
        """How many columns the search was given, as a fitted scikit-learn model says."""
        return len(input_columns(self._card_schema()))

    @property
    def feature_names_in_(self) -> NDArray[Any]:
        """The columns the search was given, where they had names (not an array's)."""
        schema = self._card_schema()
        if not trained_with_names(schema):
            raise AttributeError("the model was trained on data without feature names")
        if "inputs" not in schema:  # a card of before: its columns, but not in the given order
            raise AttributeError("the model's card does not keep the order of its columns")
        return np.asarray(input_columns(schema), dtype=object)

    def _card_schema(self) -> dict[str, Any]:
        schema = getattr(self, "model_card_", {}).get("schema")
        if schema is None:
            raise AttributeError("a pipeline without its model card knows not its columns")
        return schema

    def __sklearn_is_fitted__(self) -> bool:
        if not hasattr(self, "classes_"):
            return False
        try:
            check_is_fitted(self.estimator)
        except NotFittedError:
            return False
        return True

    def predict_proba(self, X: Any) -> FloatArray:
        """Calibrated class probabilities, columns in ``classes_`` order."""
        proba = self._scores(X)
        return apply_calibration(self.calibration, proba, self._positive_code())

    def predict_scores(self, X: Any) -> FloatArray:
        """The inner estimator's probabilities, before calibration: what the threshold cuts."""
        return self._scores(X)

    def _scores(self, X: Any) -> FloatArray:
        schema = getattr(self, "model_card_", {}).get("schema")
        X = as_pandas(X)  # once for all the checks and members (polars, pyarrow)
        if schema is not None:
            X = without_search_columns(X, self.model_card_)
            X = given_durations(X, schema.get("durations", []))
            warn_of_new_rows(X, schema)
        size = 0 if schema is None else _block_rows(schema)
        with sklearn_defaults():
            if schema is None or _n_rows(X) <= size:
                return np.asarray(self.estimator.predict_proba(X), dtype=np.float64)
            # Many rows: checked and typed once, whole (warnings and errors count every row),
            # then scored in blocks, so the model's own copies of the rows (encoded, widened,
            # per tree) hold one block at a time. Each row's score is its own.
            frame = conformed_once(X, schema)
            return np.concatenate(
                [
                    np.asarray(self.estimator.predict_proba(frame.iloc[start : start + size]))
                    for start in range(0, len(frame), size)
                ]
            ).astype(np.float64, copy=False)

    def predict_with_proba(self, X: Any) -> tuple[NDArray[Any], FloatArray]:
        """``predict`` and ``predict_proba`` from one pass of the model."""
        scores = self._checked_scores(X)
        calibrated = apply_calibration(self.calibration, scores, self._positive_code())
        return self.classes_[self.decision.apply(scores)], calibrated

    def predict(self, X: Any) -> NDArray[Any]:
        """Labels from the tuned rule, in the user's original label values.

        Not ``argmax(predict_proba)``, by design: for two classes the positive class is
        predicted where its probability reaches :attr:`probability_threshold`; for more,
        the class of ``argmax(predict_proba * class_scale)``, per-class factors tuned for the
        metric on out-of-fold predictions (all 1 gives plain argmax).
        """
        return self.classes_[self.decision.apply(self._checked_scores(X))]

    def _checked_scores(self, X: Any) -> FloatArray:
        check_is_fitted(self)
        proba = self._scores(X)
        if proba.shape[1] != len(self.classes_):
            raise AutoImbError(
                f"The estimator gives {proba.shape[1]} probability columns but classes_ "
                f"holds {len(self.classes_)} labels; pass the classes it was fitted on."
            )
        return proba


def _threshold_for_two_classes(n_classes: int) -> AutoImbError:
    return AutoImbError(
        f"decision_threshold is for two classes, and this model has {n_classes}; over "
        "several classes the rule is class_scale, one factor per class (predict takes "
        "the class of highest proba × factor). Set decision_threshold=None, and "
        "class_scale to shift the rule toward a class."
    )


# The cells (rows × input columns) scored at once where new rows are many: an 8-byte copy
# of a block is 16 MB.
BLOCK_CELLS = 1 << 21


def _n_rows(X: Any) -> int:
    """How many rows, where that can be told without converting X (else 0: scored whole)."""
    shape = getattr(X, "shape", None)
    if shape:
        return shape[0]
    try:
        return len(X)
    except TypeError:  # array-likes that hold no len, only __array__
        return 0


def _block_rows(schema: dict[str, Any]) -> int:
    return max(1, BLOCK_CELLS // max(1, len(schema["categorical"]) + len(schema["numeric"])))
