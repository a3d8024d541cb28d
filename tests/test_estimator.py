"""AutoImbClassifier keeps scikit-learn's conventions: its estimator checks pass, except two
that contradict what the estimator is for (each with its reason)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import autoimb
from autoimb.estimator import _warm_start
from autoimb.exceptions import AutoImbError

# Checks that cannot hold for a search that tunes a decision threshold, stated, not hidden.
# check_classifiers_train runs for real: predict applies the threshold tuned for the metric, so
# it need not be argmax(predict_proba), but on that check's well-separated blobs the two agree.
NOT_FOR_A_THRESHOLD_SEARCH = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weighted row and a repeated row differ to a search: repeated rows change the folds "
        "and the rows each fold validates"
    ),
    # scikit-learn 1.6 runs it although the estimator refuses sparse input (later ones skip it).
    "check_sample_weight_equivalence_on_sparse_data": "sparse input is refused, with its reason",
}


@parametrize_with_checks(
    # The conventions are the estimator's, not the search's: its smallest search keeps them fast.
    [
        autoimb.AutoImbClassifier(
            n_trials=2, space="fast", cv=3, ensemble=False, importance=False, random_state=0
        )
    ],
    expected_failed_checks=lambda estimator: NOT_FOR_A_THRESHOLD_SEARCH,
)
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.fixture(scope="module")
def fitted(small_binary):
    X, y = small_binary
    return autoimb.AutoImbClassifier(n_trials=2, space="fast", random_state=0).fit(X, y), X


def test_the_estimator_exposes_what_it_was_fitted_on(fitted) -> None:
    clf, X = fitted
    assert clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.feature_names_in_, np.asarray(X.columns, dtype=object))


def test_extra_columns_at_predict_time_are_named_in_a_warning(fitted) -> None:
    clf, X = fitted
    with pytest.warns(UserWarning, match=r"1 column\(s\) the model was not trained on.*'extra'"):
        clf.predict(X.assign(extra=1.0))


@pytest.mark.parametrize("call", ["predict", "predict_proba", "pipeline"])
def test_warnings_on_new_rows_point_at_the_users_line(fitted, call) -> None:
    clf, X = fitted
    predict = clf.best_pipeline_.predict if call == "pipeline" else getattr(clf, call)
    with pytest.warns(UserWarning) as caught:
        predict(X.head(40).assign(x2=np.nan, extra=1.0))
    ours = [w for w in caught if re.search("missing in every row|not trained on", str(w.message))]
    assert len(ours) == 2 and {w.filename for w in ours} == {__file__}


def test_a_column_missing_in_every_new_row_is_named_in_a_warning(fitted) -> None:
    clf, X = fitted
    with pytest.warns(UserWarning, match=r"\['x2'\] are missing in every row"):
        clf.predict_proba(X.head(40).assign(x2=np.nan))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.predict(X.head(3).assign(x2=np.nan))  # a few rows may well lack a value
    assert not [w for w in caught if "missing in every row" in str(w.message)]


def test_an_array_of_another_width_is_refused(fitted) -> None:
    clf, X = fitted
    with pytest.raises(AutoImbError, match="X has 2 features, but AutoImbClassifier is expecting"):
        clf.predict(X.to_numpy()[:, :2])


def test_a_row_passed_as_a_series_is_refused_as_scikit_learn_refuses_1d_input(fitted) -> None:
    clf, X = fitted
    with pytest.raises(AutoImbError, match=r"got a pandas Series.*X\.to_frame\(\)\.T"):
        clf.predict(X.iloc[0])


def test_every_search_parameter_is_on_the_estimator() -> None:
    import inspect

    searched = set(inspect.signature(autoimb.search).parameters)
    on_estimator = set(inspect.signature(autoimb.AutoImbClassifier).parameters)
    per_fit = {"X", "y", "sample_weight", "groups"}  # fit's own arguments
    assert searched - per_fit == on_estimator


def test_flags_take_true_or_false_not_their_truth_as_text(small_binary) -> None:
    """ensemble="false" ensembled: a text is true by Python's reading. numpy's bools are
    True and False."""
    X, y = small_binary
    made = {"n_trials": 1, "space": "fast", "cv": 3, "random_state": 0}
    with pytest.raises(AutoImbError, match=r"ensemble must be True or False; got str 'false'"):
        autoimb.AutoImbClassifier(ensemble="false", **made).fit(X, y)
    clf = autoimb.AutoImbClassifier(
        ensemble=np.False_, importance=np.False_, verbose=0, **made
    ).fit(X, y)  # scikit-learn's verbose=0 is False
    assert "members" not in clf.best_config_ and clf.result_.feature_importance is None
    # A grid over warm_start hands NumPy's bools, as over ensemble: taken as True and False.
    autoimb.AutoImbClassifier(warm_start=np.False_, **made).fit(X, y)
    assert _warm_start(np.True_) == _warm_start(True) == autoimb.config.DEFAULT_WARM_START
    assert _warm_start(np.False_) is None


def test_a_fit_on_an_array_after_one_on_a_frame_forgets_the_names(small_binary) -> None:
    X, y = small_binary
    clf = autoimb.AutoImbClassifier(n_trials=1, space="fast", random_state=0).fit(X, y)
    assert hasattr(clf, "feature_names_in_")
    clf.fit(X.to_numpy()[:, :5], y)
    assert not hasattr(clf, "feature_names_in_") and clf.n_features_in_ == 5
    served = clf.best_pipeline_  # the pipeline says the same of itself
    assert not hasattr(served, "feature_names_in_") and served.n_features_in_ == 5


def test_copies_fitted_on_other_rows_with_one_storage_are_told_what_to_do(small_binary, tmp_path):
    """cross_val_score fits a copy per fold, each on other rows, and with storage= every copy
    resumes the one stored study: the second is refused with the way out, not a riddle."""
    from sklearn.model_selection import cross_val_score

    X, y = small_binary
    estimator = autoimb.AutoImbClassifier(
        n_trials=1, space="fast", cv=3, random_state=0, storage=str(tmp_path / "s.log")
    )
    with pytest.raises(AutoImbError, match=r"other data: .* leave storage out there, or give"):
        cross_val_score(estimator, X, y, cv=2, error_score="raise")


@pytest.mark.parametrize("metric", ["f1", "average_precision", "cost:fn=5,fp=1"])
def test_score_is_the_metric_searched_for_greater_is_better(small_binary, metric) -> None:
    """cross_val_score and GridSearchCV rank by score(): the metric asked for, a cost negated
    as scikit-learn's neg_ scorers are, never accuracy."""
    from autoimb.metrics.registry import get_metric

    X, y = small_binary
    labels = np.where(y == 1, "ill", "well")
    clf = autoimb.AutoImbClassifier(metric=metric, n_trials=1, space="fast", random_state=0)
    clf.fit(X, labels)
    m = get_metric(metric)
    # Class codes in classes_ order: "ill" 0, "well" 1; "ill" is the positive class.
    codes, predicted = (labels == "well").astype(int), (clf.predict(X) == "well").astype(int)
    expected = m.score(codes, clf.predict_proba(X), predicted, pos_label=0)
    assert clf.score(X, labels) == pytest.approx(expected if m.greater_is_better else -expected)
    assert clf.score(X, labels, sample_weight=2.0) == pytest.approx(clf.score(X, labels))
    with pytest.raises(AutoImbError, match=r"labels the model was not fitted on: \[0, 1\]"):
        clf.score(X, y)


def test_a_score_undefined_on_the_rows_given_says_why(small_binary) -> None:
    """Average precision on rows without a positive is NaN: GridSearchCV would only see a
    non-finite score."""
    X, y = small_binary
    clf = autoimb.AutoImbClassifier(n_trials=1, space="fast", random_state=0).fit(X, y)
    negatives = y == 0
    with pytest.warns(UserWarning, match=r"average_precision is undefined .* no row of class 1"):
        assert np.isnan(clf.score(X[negatives], y[negatives]))
    # Every class is there, but the positives weigh nothing: not a matter of stratified folds.
    with pytest.warns(UserWarning, match=r"no row of class 1 has a weight above 0") as said:
        assert np.isnan(clf.score(X, y, sample_weight=negatives.astype(float)))
    assert "stratified" not in str(said[0].message)


def test_score_on_rows_and_labels_of_other_lengths_says_so_in_the_users_words(fitted, small_binary):
    """It named the metric's own arguments (proba, y_pred), which the user never passed."""
    clf, X = fitted
    _, y = small_binary
    n = len(y)
    with pytest.raises(AutoImbError, match=rf"X has {n} rows and y {n - 1}; give one label"):
        clf.score(X, y[:-1])
    with pytest.raises(AutoImbError, match=rf"X has {n - 1} rows and y {n}"):
        clf.score(X.iloc[:-1], list(y))
    with pytest.raises(AutoImbError, match=rf"and sample_weight {n - 1}; give one weight"):
        clf.score(X, y, sample_weight=np.ones(n - 1))


def test_labels_of_two_columns_are_refused_as_one_column_expected(fitted, small_binary):
    """score read them as 2N labels ("X has N rows and y 2N"), which hid what was wrong."""
    clf, X = fitted
    _, y = small_binary
    n = len(y)
    two = pd.DataFrame({"label": y, "again": y})
    frame_said = (
        rf"y must be one column of labels \(1-D\); got shape \({n}, 2\)\. Pass the label "
        r"column alone: y\['label'\] \(y has columns \['label', 'again'\]\)"
    )
    array_said = rf"got shape \({n}, 2\)\. Pass the label column alone: y\[:, 0\]"
    with pytest.raises(AutoImbError, match=frame_said):
        clf.score(X, two)
    with pytest.raises(AutoImbError, match=array_said):
        clf.score(X, two.to_numpy())
    with pytest.raises(AutoImbError, match=frame_said):
        autoimb.AutoImbClassifier(n_trials=1, space="fast").fit(X, two)
    assert clf.score(X, two[["label"]]) == clf.score(X, y)  # one column is the labels


def test_a_dict_at_predict_names_the_frame_to_make_of_it(fitted) -> None:
    clf, X = fitted
    for call in (clf.predict, clf.predict_proba):
        with pytest.raises(AutoImbError, match=r"X is a dict of columns; pass pd.DataFrame\(X\)"):
            call(X.to_dict("list"))


def test_g_mean_on_rows_lacking_a_class_leaves_that_class_out(glass) -> None:
    """Rows of classes 1, 2 and 7 only scored a g_mean of 0.0 wherever another class was
    predicted; balanced accuracy leaves such a class out, and g_mean now does too."""
    from sklearn.metrics import recall_score

    X, y = glass
    order = np.random.default_rng(0).permutation(len(y))
    train, held = order[: len(y) // 2], order[len(y) // 2 :]
    clf = autoimb.AutoImbClassifier(metric="g_mean", n_trials=2, cv=3, space="fast", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the few rows of the smallest class
        clf.fit(X.iloc[train], y.iloc[train])
    some = y.iloc[held].isin([1, 2, 7]).to_numpy()
    Xs, ys = X.iloc[held][some], y.iloc[held][some]
    assert set(clf.predict(Xs)) - {1, 2, 7}, "pick rows on which another class is predicted"
    recalls = recall_score(ys, clf.predict(Xs), labels=[1, 2, 7], average=None)
    assert clf.score(Xs, ys) == pytest.approx(float(np.prod(recalls) ** (1 / 3)))
    assert clf.score(Xs, ys) > 0


USERS_SETTINGS = {"transform_output": "pandas", "enable_metadata_routing": True}
ONE_HOT_AND_WEIGHTS = """
initial:
  - {resampler: none, weighting: balanced, model: logistic_regression}
  - {resampler: smote, weighting: none, model: logistic_regression}
resampler: {none: {}, smote: {}}
weighting: {balanced: {}, none: {}}
model: {logistic_regression: {}}
"""


def test_scikit_learns_global_settings_for_the_users_code_change_no_trial(tmp_path, hepatitis):
    """Pandas output refuses the sparse one-hot columns of text categories (and SMOTE-NC's);
    metadata routing refuses the class weights given to a pipeline's steps."""
    import sklearn

    X, y = hepatitis
    space = tmp_path / "space.yaml"
    space.write_text(ONE_HOT_AND_WEIGHTS)
    plain = autoimb.AutoImbClassifier(space=str(space), n_trials=2, cv=3, random_state=0)
    plain.fit(X, y)
    with sklearn.config_context(**USERS_SETTINGS):
        clf = autoimb.AutoImbClassifier(space=str(space), n_trials=2, cv=3, random_state=0)
        clf.fit(X, y)
        assert set(clf.result_.leaderboard["state"]) == {"COMPLETE"}
        np.testing.assert_array_equal(plain.predict(X), clf.predict(X))  # a model fitted before
        assert clf.predict_proba(X).shape == (len(y), 2)


def test_score_refuses_labels_whose_index_holds_xs_rows_in_another_order(
    fitted, small_binary
) -> None:
    """Paired by position they scored another row's label, in silence."""
    clf, X = fitted
    _, y = small_binary
    X, y = (data.rename(index=lambda i: f"customer-{i}") for data in (X, y))
    shuffled = y.sample(frac=1, random_state=0)
    with pytest.raises(AutoImbError, match=r"y's index holds X's row labels in another order"):
        clf.score(X, shuffled)
    assert clf.score(X, shuffled.loc[X.index]) == clf.score(X, y)


def test_a_group_splitter_without_groups_says_how_they_reach_each_fit(small_binary) -> None:
    """cross_val_score(..., groups=g) hands g to its own splitter only, so each fit was told to
    "pass groups=", which the user had done; routing is what hands them to fit."""
    import sklearn
    from sklearn.model_selection import GroupKFold, cross_val_score

    X, y = small_binary
    groups = np.arange(len(y)) % 30
    estimator = autoimb.AutoImbClassifier(n_trials=1, space="fast", cv=GroupKFold(3))
    said = (
        r"cv=GroupKFold splits by group, and fit was given no groups: clf\.fit\(X, y, "
        r"groups=\.\.\.\)\. cross_val_score's and GridSearchCV's own groups= reach only their "
        r"splitter: .*enable_metadata_routing=True.*set_fit_request\(groups=True\).*"
        r"params=\{'groups': groups\}"
    )
    with pytest.raises(AutoImbError, match=said):
        cross_val_score(estimator, X, y, groups=groups, cv=GroupKFold(2), error_score="raise")
    with pytest.raises(AutoImbError, match=said):
        autoimb.AutoImbClassifier(n_trials=1, cv=GroupKFold(3)).fit(X, y)
    with sklearn.config_context(enable_metadata_routing=True):  # the way the message names
        routed = estimator.set_fit_request(groups=True)
        scores = cross_val_score(
            routed, X, y, params={"groups": groups}, cv=GroupKFold(2), error_score="raise"
        )
    assert np.isfinite(scores).all()


def test_columns_under_other_names_are_named_beside_the_missing_ones(fitted) -> None:
    """Only the missing names were listed; scikit-learn names both sides, and the unknown
    ones are what the user has to rename."""
    clf, X = fitted
    renamed = X.rename(columns=lambda name: f"feature_{name}")
    with pytest.raises(AutoImbError, match=r"lacks 7 column\(s\).*\['x0', 'x1'") as said:
        clf.predict(renamed)
    assert "X has 7 column(s) the model was not trained on: ['feature_x0', 'feature_x1'" in str(
        said.value
    )
    assert "rename them" in str(said.value)
    with pytest.raises(AutoImbError) as said:  # one left out: no other name to point at
        clf.predict(X.drop(columns="x1"))
    assert "not trained on" not in str(said.value)


def test_categorical_columns_named_for_a_pipelines_array_say_how_to_keep_the_names() -> None:
    """A Pipeline's earlier steps hand on an array, whose columns have no names: "X does not
    have column 'buying'" left the user looking for a typo."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    X, y = autoimb.datasets.load("car_good", return_X_y=True)
    X.columns = ["buying", "maint", "doors", "persons", "lug_boot", "safety"]
    made = {"n_trials": 1, "space": "fast", "cv": 3, "random_state": 0}
    named = autoimb.AutoImbClassifier(categorical_features=["buying", "safety"], **made)
    pipe = make_pipeline(SimpleImputer(strategy="most_frequent"), named)
    said = (
        r"categorical_features names column 'buying', and X is an array, whose columns have no "
        r"names \(a Pipeline's steps hand one on\): give the columns' positions \(whole numbers "
        r"from 0\), or keep the names with pipeline\.set_output\(transform='pandas'\)\."
    )
    with pytest.raises(AutoImbError, match=said):
        pipe.fit(X, y)
    with pytest.raises(AutoImbError, match=r"names column 'colour', which X does not have\.$"):
        autoimb.AutoImbClassifier(categorical_features=["colour"], **made).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # values some folds never saw
        pipe.set_output(transform="pandas").fit(X, y)
        positions = autoimb.AutoImbClassifier(categorical_features=[0, 5], **made)
        make_pipeline(SimpleImputer(strategy="most_frequent"), positions).fit(X, y)
