"""The winner is the steadiest trial within noise of the best, not the luckiest one."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState, create_trial

import autoimb
from autoimb import datasets
from autoimb.data.dataset import validate
from autoimb.engine.outcome import SearchOutcome
from autoimb.engine.remeasure import FEW, FRESH, RACED, remeasure
from autoimb.engine.run import run
from autoimb.engine.settings import SearchSettings
from autoimb.engine.space import load_space
from autoimb.engine.winner import choose_winner, steadier_note
from autoimb.metrics.registry import get_metric
from autoimb.posthoc.steady import (
    Candidate,
    choose_pooled,
    choose_steadily,
    contenders,
    within_noise,
)

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


def test_a_trial_that_missed_the_precision_floor_is_no_rival_of_one_that_met_it() -> None:
    """Below 0 a recall@precision score is a shortfall: a trial whose folds came close by
    missing the floor on some of them passed over the only trial that met it."""
    floor = get_metric("recall@precision>=0.9")
    met = Candidate(0, 0.22, [0.2, 0.25, 0.21], steady=0.5, seconds=1.0)
    missed = Candidate(1, -0.05, [0.3, -0.2, 0.2], steady=0.8, seconds=1.0)
    assert within_noise(met.fold_scores, missed.fold_scores, sign=1.0, standard_errors=1.0)
    assert choose_steadily([met, missed], floor, standard_errors=1.0) == met.number
    assert choose_pooled([{0: met, 1: missed}], floor, standard_errors=1.0) == met.number
    # On two splits, one that missed the floor on either is no rival, whatever its folds' mean.
    again = {0: met, 1: Candidate(1, 0.1, [0.3, 0.2, 0.3], steady=0.8, seconds=1.0)}
    assert choose_pooled([{0: met, 1: missed}, again], floor, standard_errors=1.0) == met.number


@pytest.mark.parametrize(("metric", "word"), [(F1, "higher"), (COST, "lower")])
def test_the_note_says_which_way_the_passed_over_trial_was_better(metric, word) -> None:
    best, chosen = (
        create_trial(value=v, user_attrs={"steady": a}, state=TrialState.COMPLETE)
        for v, a in ((0.30, 0.6), (0.31, 0.7))
    )
    note = steadier_note(chosen, best, metric)
    assert f"whose {metric.name} was {word} (0.3000 against 0.3100) but within noise" in note
    same = create_trial(value=0.31, user_attrs={"steady": 0.5}, state=TrialState.COMPLETE)
    assert f"which scored the same {metric.name} (0.3100 against 0.3100);" in steadier_note(
        chosen, same, metric
    )


def test_the_note_says_what_decided_between_equal_ranking_scores() -> None:
    """Two trials with mcc 0.5752 and average precision 0.3800 each: the note said the
    chosen one's probabilities "rank the rows better"."""
    metric = get_metric("mcc")

    def trial(number: int, steady: float, seconds: float) -> FrozenTrial:
        attrs = {"steady": steady, "seconds": seconds}
        made = create_trial(value=0.5752, user_attrs=attrs, state=TrialState.COMPLETE)
        made.number = number
        return made

    best = trial(0, 0.38, 2.5)
    note = steadier_note(trial(3, 0.38, 1.2), best, metric)
    assert "rank the rows better" not in note
    assert note.endswith(
        "both rank the rows alike (average precision 0.3800), and trial 3 took less time "
        "(1.2 s against 2.5 s)."
    )
    close = steadier_note(trial(3, 0.38, 0.104), trial(0, 0.38, 0.112), metric)
    assert close.endswith("took less time (0.10 s against 0.11 s).")
    hair = steadier_note(trial(3, 0.380012, 2.5), trial(0, 0.380004, 2.5), metric)
    assert "rank the rows better by a hair (average precision 0.38001 against 0.38000)" in hair


def test_a_resumed_study_chooses_among_the_earlier_processes_trials_too() -> None:
    """After a resume, this process holds out-of-fold predictions of its own trials only; the
    study's best, from before, must still win (a resumed search served its 7th of 8 trials)."""
    study = optuna.create_study(direction="maximize")
    for value, folds, steady in (
        (0.80, [0.8, 0.8, 0.8], 0.7),  # trial 0: the earlier process's best
        (0.60, [0.6, 0.6, 0.6], 0.6),
        (0.50, [0.5, 0.5, 0.5], 0.9),  # trial 2: this process's, steadier but far behind
    ):
        attrs = {"fold_scores": folds, "steady": steady, "seconds": 1.0}
        study.add_trial(create_trial(value=value, user_attrs=attrs, state=TrialState.COMPLETE))
    outcome = SimpleNamespace(study=study, predictions=SimpleNamespace(items=[2]))
    notes: list[str] = []
    chosen, ranked = choose_winner(outcome, F1, notes, refit=lambda n: 1.0, left=None)
    assert chosen.number == 0 and ranked[0] == 0 and not notes
    # With 1.2 s left, an earlier trial must be cross-validated again before its refit: no time.
    chosen, _ = choose_winner(outcome, F1, notes, refit=lambda n: 1.0, left=1.2)
    assert chosen.number == 2 and "could not be the winner" in notes[0]


def test_a_trial_without_a_steady_score_is_not_displaced() -> None:
    old = Candidate(0, 0.80, BEST.fold_scores, steady=None, seconds=1.0)
    assert choose_steadily([old, CLOSE], F1, standard_errors=1.0) == old.number


def test_the_contenders_are_the_chosen_trial_then_the_best_scoring_others() -> None:
    assert contenders([BEST, CLOSE, BEHIND], CLOSE.number, F1, top=1) == [1, 0]
    assert contenders([BEST, CLOSE, BEHIND], CLOSE.number, F1, top=3) == [1, 0, 2]
    # A ranking metric chooses by its score alone: nothing to race.
    assert contenders([BEST, CLOSE, BEHIND], BEST.number, AP, top=3) == [0]


def test_a_second_split_can_overturn_a_lucky_lead() -> None:
    first = {c.number: c for c in (BEST, CLOSE)}
    # On a fresh split the once-best trial falls well behind on every fold.
    second = {
        0: Candidate(0, 0.60, [0.6, 0.6, 0.6, 0.6, 0.6], steady=0.60, seconds=0.0),
        1: Candidate(1, 0.80, [0.8, 0.8, 0.8, 0.8, 0.8], steady=0.80, seconds=0.0),
    }
    assert choose_pooled([first, second], F1, standard_errors=1.0) == CLOSE.number
    # Where the fresh split agrees with the first, the steadier trial still wins the tie.
    agree = {n: Candidate(n, c.value, c.fold_scores, c.steady, 0.0) for n, c in first.items()}
    assert choose_pooled([first, agree], F1, standard_errors=1.0) == CLOSE.number
    assert choose_pooled([first, agree], F1, standard_errors=0.0) == BEST.number
    # One split is chosen on as it is: the trials' own scores, as choose_steadily does.
    lucky = {0: Candidate(0, 0.75, [0.9, 0.9, 0.9, 0.3, 0.3], steady=0.7, seconds=0.0),
             1: Candidate(1, 0.74, [0.7, 0.7, 0.7, 0.7, 0.7], steady=0.7, seconds=0.0)}  # fmt: skip
    assert choose_pooled([lucky], F1, standard_errors=0.0) == 0  # its folds' mean is 0.66


def _single_trial_search(name: str, n_trials: int, seed: int) -> autoimb.SearchResult:
    """F1 on a shipped set, served by one trial. No warm start: the trials do not depend on
    the shipped portfolio, which is rebuilt."""
    X, y = datasets.load(name, return_X_y=True)
    return autoimb.search(
        X, y, metric="f1", n_trials=n_trials, space="fast", random_state=seed, ensemble=False,
        warm_start=None,
    )  # fmt: skip


@pytest.fixture(scope="module")
def ecoli_f1():
    return _single_trial_search("ecoli1", n_trials=16, seed=2)


@pytest.mark.slow
def test_a_search_says_when_it_chose_a_steadier_trial(ecoli_f1) -> None:
    result, card = ecoli_f1, ecoli_f1.model_card()
    best = result.study.best_trial
    chosen = result.study.trials[card["trial"]]
    # On ecoli1 with this seed, the top F1 trial is within noise of one that ranks better (and
    # the race on a fresh split does not overturn the choice).
    assert chosen.number != best.number
    assert chosen.user_attrs["steady"] > best.user_attrs["steady"]
    note = next(n for n in result.notes if n.startswith(f"Trial {chosen.number} was chosen"))
    assert f"over trial {best.number}" in note
    assert result.search_score == pytest.approx(chosen.value)
    assert result.best_config["model"] == chosen.user_attrs["config"]["model"]
    assert card["finished_trials"] == 16


def test_a_fresh_split_decides_among_the_close_trials() -> None:
    result = _single_trial_search("yeast4", n_trials=8, seed=0)
    card = result.model_card()
    winner = result.study.trials[card["trial"]]
    ranked = sorted(
        (t for t in result.study.trials if t.state == TrialState.COMPLETE), key=lambda t: -t.value
    )
    # The winner is the steady choice or one of the three best-scoring trials.
    raced = [n for n in result.notes if "once the close trials were cross-validated" in n]
    assert result.score_basis == "cross-validated on fresh folds"
    assert result.search_score == pytest.approx(winner.value)
    fresh = next(n for n in result.notes if n.startswith("best_score is the winner's f1"))
    assert "on a third split" in fresh and "decided among 4 close trials" in fresh
    if raced:
        assert raced[0].startswith(f"Trial {winner.number} was chosen over trial ")
        assert winner.number in {t.number for t in ranked[:4]}
        # The first pick's reason is gone with it: no note says another trial was chosen.
        picks = [n for n in result.notes if " was chosen over trial " in n]
        assert picks == raced, picks
    else:
        assert not any(n.startswith(f"Trial {winner.number} was chosen over") for n in raced)


def test_no_note_names_a_kept_trial_the_race_then_replaced() -> None:
    """The ensemble selection's "Kept the single best trial 4" stayed in the notes after a
    fresh split chose trial 0, which the model serves."""
    X, y = datasets.load("ecoli1", return_X_y=True)
    result = autoimb.search(X, y, metric="f1", n_trials=8, space="fast", random_state=0)
    served = result.model_card()["trial"]
    kept = [n for n in result.notes if n.startswith("Kept the single best trial")]
    assert all(n.startswith(f"Kept the single best trial {served} ") for n in kept), kept
    # Where the race replaced it, the note names it as what the ensemble was weighed against.
    weighed = [n for n in result.notes if n.startswith("Kept a single trial, not an ensemble")]
    assert all(f"(weighed against the first pick, trial {served}," not in n for n in weighed)
    assert all("(weighed against the first pick, trial " in n for n in weighed)


def test_a_raced_note_calls_a_steadier_first_pick_what_it_was() -> None:
    """Trial 0 was picked as steadier than the top scorer, trial 1, which the fresh split then
    chose: the ensemble note called trial 0 "the best-scoring"."""
    X, y = datasets.load("yeast4", return_X_y=True)
    result = autoimb.search(
        X, y, metric="recall@precision>=0.95", n_trials=3, cv=3, space="fast", random_state=4,
        importance=False,
    )  # fmt: skip
    top = result.leaderboard.iloc[0]
    served = result.model_card()["trial"]
    assert served == top["trial"]
    first = next(
        int(n.split(" ")[6]) for n in result.notes if n.startswith(f"Trial {served} was chosen")
    )
    assert result.study.trials[first].value < top["score"]
    weighed = next(n for n in result.notes if n.startswith("Kept a single trial"))
    assert f"(weighed against the first pick, trial {first}, steadier than the top scorer:" in (
        weighed
    )
    assert "best-scoring" not in weighed and "the best single trial" not in weighed


def _searched(data, n_trials: int) -> tuple[SearchSettings, SearchOutcome]:
    """A search of the fast space for F1 with no ensemble, and a budget it does not reach."""
    settings = SearchSettings(
        metric=F1, space=load_space("fast"), n_trials=n_trials, cv=3, random_state=0,
        warm_start=None, ensemble=False, time_budget=600.0,
    )  # fmt: skip
    return settings, run(settings, validate(*data))


def test_a_raced_winner_without_time_for_a_third_split_says_its_score_is_optimistic(
    small_binary,
) -> None:
    """The race measures the contenders on a fresh split; when the budget then has no room to
    score the winner on a third, its fresh-split score is served and called optimistic."""
    settings, outcome = _searched(small_binary, n_trials=6)
    done = [t for t in outcome.study.trials if t.state == TrialState.COMPLETE]
    ranked = [t.number for t in sorted(done, key=lambda t: -t.value)[:3]]
    asked: list[int] = []

    def after(number: int) -> float:
        """Nothing after each contender's fresh split; the whole budget after the race."""
        asked.append(number)
        return 0.0 if len(asked) <= len(ranked) else 1e6

    measured = remeasure(ranked, outcome, settings, 1, after=after)
    assert len(asked) == len(ranked) + 1  # each contender, then the winner's third split
    assert measured.basis == RACED and not measured.honest
    assert measured.winner in ranked
    assert "no time to measure the winner on a third" in measured.note
    assert measured.search_score == pytest.approx(outcome.study.trials[measured.winner].value)
    # Given the time, the same race ends on a third split, an honest score.
    again = remeasure(ranked, outcome, settings, 1)
    assert again.basis == FRESH and "third split" in again.note


def test_a_winner_chosen_over_pruned_trials_too_is_measured_again(small_binary) -> None:
    """Two finished trials and two pruned on the same folds: a choice among four, whose luck
    the fresh split takes out; counted as two, its score was called cross-validated."""
    settings, outcome = _searched(small_binary, n_trials=2)
    best = outcome.study.best_trial.number
    assert remeasure([best], outcome, settings, 1).basis == FEW
    for _ in range(2):
        outcome.study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={0: 0.1}))
    assert remeasure([best], outcome, settings, 1).basis == FRESH
