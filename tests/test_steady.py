"""The winner is the steadiest trial within noise of the best, not the luckiest one."""

from __future__ import annotations

import pytest

import autoimb
from autoimb import datasets
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.steady import Candidate, choose_steadily, within_noise

F1, AP, COST = get_metric("f1"), get_metric("average_precision"), get_metric("cost:fn=5,fp=1")
BEST = Candidate(0, 0.80, [0.9, 0.6, 0.8, 0.9, 0.8], steady=0.70, seconds=1.0)
CLOSE = Candidate(1, 0.78, [0.8, 0.7, 0.8, 0.8, 0.8], steady=0.75, seconds=1.0)
BEHIND = Candidate(2, 0.70, [0.7, 0.7, 0.7, 0.7, 0.7], steady=0.90, seconds=1.0)


def test_within_noise_is_paired_over_the_folds() -> None:
    assert within_noise(BEST.fold_scores, CLOSE.fold_scores, sign=1.0, standard_errors=1.0)
    assert not within_noise(BEST.fold_scores, BEHIND.fold_scores, sign=1.0, standard_errors=1.0)
    # A small lead held on every fold is no luck: paired, it is outside the noise.
    steady_lead = [s - 0.01 for s in BEST.fold_scores]
    assert not within_noise(BEST.fold_scores, steady_lead, sign=1.0, standard_errors=1.0)
    assert not within_noise([0.5], [0.4], sign=1.0, standard_errors=1.0)  # one fold: no spread


def test_the_steadiest_trial_within_noise_wins() -> None:
    assert choose_steadily([BEST, CLOSE, BEHIND], F1, standard_errors=1.0) == CLOSE.number
    assert choose_steadily([BEST, BEHIND], F1, standard_errors=1.0) == BEST.number
    assert choose_steadily([BEST, CLOSE], F1, standard_errors=0.0) == BEST.number


def test_a_ranking_metric_keeps_its_best_trial() -> None:
    assert choose_steadily([BEST, CLOSE, BEHIND], AP, standard_errors=1.0) == BEST.number


def test_a_cost_is_minimised() -> None:
    cheap = Candidate(0, 10.0, [1.0, 3.0, 2.0, 2.0, 2.0], steady=0.6, seconds=1.0)
    dear = Candidate(1, 11.0, [2.0, 2.0, 2.0, 3.0, 2.0], steady=0.8, seconds=1.0)
    far = Candidate(2, 30.0, [6.0, 6.0, 6.0, 6.0, 6.0], steady=0.9, seconds=1.0)
    assert choose_steadily([cheap, dear, far], COST, standard_errors=1.0) == dear.number
    assert choose_steadily([cheap, far], COST, standard_errors=1.0) == cheap.number


def test_a_trial_without_a_steady_score_is_not_displaced() -> None:
    old = Candidate(0, 0.80, BEST.fold_scores, steady=None, seconds=1.0)
    assert choose_steadily([old, CLOSE], F1, standard_errors=1.0) == old.number


@pytest.fixture(scope="module")
def ecoli_f1():
    X, y = datasets.load("ecoli1", return_X_y=True)
    # No warm start: the trials do not depend on the shipped portfolio, which is rebuilt.
    return autoimb.search(
        X, y, metric="f1", n_trials=16, random_state=0, ensemble=False, warm_start=None
    )


def test_a_search_says_when_it_chose_a_steadier_trial(ecoli_f1) -> None:
    result, card = ecoli_f1, ecoli_f1.model_card()
    best = result.study.best_trial
    chosen = result.study.trials[card["trial"]]
    # On ecoli1 with this seed, the top F1 trial is within noise of one that ranks better.
    assert chosen.number != best.number
    assert chosen.user_attrs["steady"] > best.user_attrs["steady"]
    note = next(n for n in result.notes if n.startswith(f"Trial {chosen.number} was chosen"))
    assert f"over trial {best.number}" in note
    assert result.search_score == pytest.approx(chosen.value)
    assert result.best_config["model"] == chosen.user_attrs["config"]["model"]
    assert card["finished_trials"] == 16
