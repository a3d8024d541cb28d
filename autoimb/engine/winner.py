"""The single winner among the search's trials: steady under noise, and refittable in time."""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from autoimb import config
from autoimb.engine.budget import cross_validation_seconds
from autoimb.engine.outcome import SearchOutcome
from autoimb.leaderboard import finished_among
from autoimb.metrics.registry import Metric
from autoimb.posthoc.steady import Candidate, choose_steadily, contenders, top_scoring


def choose_winner(
    outcome: SearchOutcome,
    metric: Metric,
    notes: list[str],
    *,
    refit: Callable[[int], float],
    left: float | None,
) -> tuple[optuna.trial.FrozenTrial, list[int]]:
    """The best trial, or a steadier one within noise of it (:mod:`autoimb.posthoc.steady`),
    and the contenders a fresh split may still prefer (the chosen one first), among every
    finished trial of the study: a resumed study's best may come from an earlier process.

    Under a time budget (``left`` seconds of it), only trials whose ``refit`` fits in them: a
    winner that cannot be refitted in time overruns the budget (a bag of large forests chosen
    with 16 s left took 33 s); one whose out-of-fold predictions this process does not hold
    must also be cross-validated again first. None fits: the choice is left as it was.
    """
    kept = set(outcome.predictions.items)
    trials = outcome.study.trials  # one read: on a database storage it fetches every trial
    finished = [t for t in trials if t.state == TrialState.COMPLETE]
    candidates = [Candidate.of(t) for t in finished]
    if not candidates:
        best = outcome.study.best_trial  # none finished: Optuna says so
        return best, [best.number]
    # Among the trials read, not the study's best read again: another process may have
    # finished a better one since.
    best = trials[top_scoring(candidates, metric).number]
    study_best = float(best.value)
    outcome.best_seen, outcome.finished_seen = study_best, finished_among(trials)

    def cost(number: int) -> tuple[float, str]:
        """Its seconds to serve, and the work they are for."""
        if number in kept:
            return refit(number), "refitting it"
        again = cross_validation_seconds(trials, [number])
        return again + refit(number), "cross-validating it again, then refitting it"

    dear: list[optuna.trial.FrozenTrial] = []
    if left is not None:
        in_time = [c for c in candidates if cost(c.number)[0] <= left]
        if in_time and len(in_time) < len(candidates):
            outcome.too_slow_to_refit = sorted(c.number for c in candidates if c not in in_time)
            dear = [trials[n] for n in outcome.too_slow_to_refit]
            candidates = in_time
            best = trials[top_scoring(candidates, metric).number]
    chosen = trials[
        choose_steadily(candidates, metric, standard_errors=config.NOISE_STANDARD_ERRORS)
    ]
    if dear and (note := passed_over_note(dear, chosen, metric, cost, left or 0.0, study_best)):
        notes.append(note)
    if chosen.number != best.number:
        notes.append(steadier_note(chosen, best, metric))
    return chosen, contenders(candidates, chosen.number, metric, top=config.RACE_TOP)


def passed_over_note(
    dear: list[optuna.trial.FrozenTrial],
    chosen: optuna.trial.FrozenTrial,
    metric: Metric,
    cost: Callable[[int], tuple[float, str]],
    left: float,
    best_value: float,
) -> str | None:
    """What the time left cost the winner: the trials passed over for it that score better
    than the one chosen, and the best of them (the study's best, then) with what serving it
    would take (``cost``: its seconds and the work). Those scoring worse than the one chosen
    could not have won anyway: they go unsaid (a note that named one of them passed over the
    study's best in silence)."""
    sign = 1.0 if metric.greater_is_better else -1.0
    better = [t for t in dear if sign * float(t.value) > sign * float(chosen.value)]
    if not better:
        return None
    top = max(better, key=lambda t: (sign * float(t.value), -t.number))
    seconds, work = cost(top.number)
    also = f" and {len(better) - 1} more trial(s)" if len(better) > 1 else ""
    study_best = ", the study's best" if float(top.value) == best_value else ""
    return (
        f"Trial {top.number} ({metric.name} {float(top.value):.4f}{study_best}){also} "
        f"scoring better than trial {chosen.number} ({float(chosen.value):.4f}), served instead, "
        f"could not be the winner: refitting on all rows would overrun the budget ({left:.1f} s "
        f"left; trial {top.number}: ≈{seconds:.1f} s for {work}). A time budget that leaves "
        "that much would let it be chosen."
    )


def steadier_note(
    chosen: optuna.trial.FrozenTrial, best: optuna.trial.FrozenTrial, metric: Metric
) -> str:
    scores = f"({float(best.value):.4f} against {float(chosen.value):.4f})"
    if f"{float(best.value):.4f}" == f"{float(chosen.value):.4f}":
        compared = f"which scored the same {metric.name} {scores}"
    else:
        word = "higher" if metric.greater_is_better else "lower"
        compared = (
            f"whose {metric.name} was {word} {scores} but within noise of it, paired over "
            "the same folds"
        )
    return (
        f"Trial {chosen.number} was chosen over trial {best.number}, {compared}; "
        f"{_what_decided(chosen, best)}"
    )


def _what_decided(chosen: optuna.trial.FrozenTrial, best: optuna.trial.FrozenTrial) -> str:
    """Average precision first, then the quicker trial, then the earlier one
    (:func:`choose_steadily`): said as it decided, never "ranks better" of equal scores."""
    mine, theirs = chosen.user_attrs["steady"], best.user_attrs.get("steady", float("nan"))
    if f"{mine:.4f}" != f"{theirs:.4f}":
        return (
            f"trial {chosen.number}'s probabilities rank the rows better (average precision "
            f"{mine:.4f} against {theirs:.4f}), a steadier sign of merit."
        )
    if mine != theirs:
        return (
            f"trial {chosen.number}'s probabilities rank the rows better by a hair (average "
            f"precision {_apart(mine, theirs, 5)})."
        )
    alike = f"both rank the rows alike (average precision {mine:.4f}), and trial {chosen.number}"
    fast, slow = (float(t.user_attrs.get("seconds", 0.0)) for t in (chosen, best))
    if fast < slow:
        return f"{alike} took less time ({_apart(fast, slow, 1, ' s')})."
    return f"{alike} is the earlier."


def _apart(one: float, other: float, digits: int, unit: str = "") -> str:
    """``one against other``, with as many decimals as tell them apart (from ``digits``)."""
    digits = next((d for d in range(digits, 17) if f"{one:.{d}f}" != f"{other:.{d}f}"), 17)
    return f"{one:.{digits}f}{unit} against {other:.{digits}f}{unit}"


def raced_note(
    winner: optuna.trial.FrozenTrial, chosen: optuna.trial.FrozenTrial, metric: Metric
) -> str:
    return (
        f"Trial {winner.number} was chosen over trial {chosen.number} once the close trials "
        "were cross-validated again on a fresh split: the same choice, made on both splits' "
        f"folds together, prefers it (on the search's folds alone {metric.name} "
        f"{float(winner.value):.4f} against {float(chosen.value):.4f})."
    )
