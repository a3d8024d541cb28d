"""The positive class: the user's choice, else the smaller class, with a stated tie rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import autoimb
from autoimb.data.dataset import validate
from autoimb.exceptions import AutoImbError
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.threshold import honest_score

FAST = {"n_trials": 2, "space": "fast", "cv": 3, "random_state": 0}


def test_a_tie_makes_the_last_class_in_sorted_order_positive() -> None:
    X = pd.DataFrame({"x": np.arange(20.0)})
    data = validate(X, ["yes"] * 10 + ["no"] * 10)
    assert data.classes[data.pos_label] == "yes"
    data = validate(X, [0] * 10 + [1] * 10)
    assert data.classes[data.pos_label] == 1


def test_the_smaller_class_is_positive_unless_the_user_says_otherwise() -> None:
    X = pd.DataFrame({"x": np.arange(30.0)})
    y = ["rare"] * 10 + ["common"] * 20
    assert validate(X, y).classes[validate(X, y).pos_label] == "rare"
    chosen = validate(X, y, pos_label="common")
    assert chosen.classes[chosen.pos_label] == "common"


def test_a_label_read_from_a_file_matches_by_its_text() -> None:
    X = pd.DataFrame({"x": np.arange(30.0)})
    data = validate(X, [0] * 20 + [1] * 10, pos_label="0")
    assert data.pos_label == 0
    spaced = validate(X, ["negative  "] * 20 + [" positive "] * 10, pos_label="positive")
    assert spaced.classes[spaced.pos_label] == " positive "  # as the file wrote it


@pytest.mark.parametrize(
    ("y", "pos_label", "message"),
    [
        (["a"] * 20 + ["b"] * 10, "c", "not a class of y"),
        (["ok"] * 20 + ["fraud"] * 10, "Fraud", r"not a class of y .*\(did you mean 'fraud'\?\)"),
        (["a"] * 10 + ["b"] * 10 + ["c"] * 10, "a", "applies to two classes"),
    ],
)
def test_a_pos_label_that_cannot_apply_is_refused(y, pos_label, message) -> None:
    X = pd.DataFrame({"x": np.arange(len(y), dtype=float)})
    with pytest.raises(AutoImbError, match=message):
        validate(X, y, pos_label=pos_label)


def test_search_measures_the_chosen_class(small_binary, tmp_path) -> None:
    X, y = small_binary
    labels = np.unique(y)
    counts = [(np.asarray(y) == c).sum() for c in labels]
    majority = labels[int(np.argmax(counts))]
    log = str(tmp_path / "study.log")
    result = autoimb.search(
        X, y, metric="f1", pos_label=majority, storage=log, ensemble=False, **FAST
    )
    assert result.classes_[result.decision.pos_label] == majority
    assert result.model_card()["positive_class"] == majority
    # As classes_ holds it (an integer here, not its text), so classes_.index finds it.
    card = result.model_card()
    assert card["classes"].index(card["positive_class"]) == result.decision.pos_label
    # Each trial's score is F1 of that class, cross-fitted, not of the rare one: the winner's
    # (no ensemble here) is the study's best and heads the leaderboard.
    ev, f1 = result.evidence, get_metric("f1")
    measured, _ = honest_score(ev.y, ev.oof, ev.fold_ids, f1, pos_label=ev.pos_label)
    rare, _ = honest_score(ev.y, ev.oof, ev.fold_ids, f1, pos_label=1 - ev.pos_label)
    assert result.classes_[ev.pos_label] == majority
    assert result.search_score == pytest.approx(measured) == result.study.best_value
    assert result.leaderboard["score"].iloc[0] == pytest.approx(measured)
    assert measured != pytest.approx(rare)
    with pytest.raises(AutoImbError, match="positive class"):
        autoimb.search(X, y, metric="f1", storage=log, **FAST)


def test_the_estimator_takes_pos_label(small_binary) -> None:
    X, y = small_binary
    labels = np.unique(y)
    clf = autoimb.AutoImbClassifier(metric="f1", pos_label=labels[0], **FAST).fit(X, y)
    assert clf.result_.classes_[clf.result_.decision.pos_label] == labels[0]
    assert clf.get_params()["pos_label"] == labels[0]


@pytest.mark.parametrize(
    ("y", "pos_label", "positive"),
    [
        ([False] * 20 + [True] * 10, "true", True),
        ([False] * 20 + [True] * 10, "False", False),
        ([False] * 20 + [True] * 10, 1, True),
        ([0.0] * 20 + [1.0] * 10, "1", 1.0),
        ([0.0] * 20 + [1.0] * 10, "1.0", 1.0),
        ([0] * 20 + [1] * 10, "1.0", 1),
        ([0] * 20 + [1] * 10, " 0 ", 0),
    ],
)
def test_a_label_typed_on_a_command_line_matches_what_it_says(y, pos_label, positive) -> None:
    X = pd.DataFrame({"x": np.arange(len(y), dtype=float)})
    data = validate(X, y, pos_label=pos_label)
    assert data.classes[data.pos_label] == positive
    assert type(data.classes[data.pos_label].item()) is type(positive)


def test_float_labels_come_back_as_floats() -> None:
    X = pd.DataFrame({"x": np.arange(30, dtype=float)})
    data = validate(X, np.r_[np.zeros(20), np.ones(10)])
    assert data.classes.dtype.kind == "f"


def test_labels_of_mixed_types_are_refused_with_the_fix() -> None:
    X = pd.DataFrame({"x": np.arange(30, dtype=float)})
    y = np.array(["1"] * 10 + [0] * 20, dtype=object)
    with pytest.raises(AutoImbError, match=r"mixes labels of different types.*astype\(str\)"):
        validate(X, y)
