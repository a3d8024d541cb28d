"""Which of the selection's procedures is served, and the sentence that says why.

Why the choice does not compare ``score`` with ``single_score``: ``score`` is the honest
score of the chosen weights, but the weights themselves were picked on all OOF rows, so it
is optimistic: the greedy steps fit these rows' noise. Measured on 12 KEEL data sets × 3
random halvings × {F1, MCC, average precision} (12 strategies cross-validated on one half,
refitted to score the other): the ensemble's ``score`` exceeded its held-out score by 0.035
(F1) and 0.032 (MCC) more than the single best's did, two thirds to three quarters of its
apparent gain; for average precision, which needs no threshold, the excess was 0.001.

So with ``nested``, both procedures, "best single trial" and "greedy ensemble", are rerun
on all folds but one and predict the held-out fold (threshold included), and the ensemble
is chosen only when it wins that comparison and also scores better on all rows. In the
study above the ensembles it chose gained +0.038 on held-out data and those it rejected
−0.001; overall it gained +0.021 over the single best, as much as always blending, against
+0.009 for the margin rule. It costs about ``n_folds`` more selections. The margin rule
(fewer than 3 folds, or no time) asks the ensemble to beat the single best by one standard
error of the single best's fold scores.

When the greedy ensemble is not chosen, the equal blend of the best-scoring trials
(:mod:`autoimb.posthoc.top_blend`) is served if its nested score beats the single best's; it
has no margin rule, so without nested scores the single best is served.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from autoimb.posthoc.greedy import TIE
from autoimb.posthoc.nested import NestedScores

__all__ = ["BLEND", "ENSEMBLE", "SINGLE", "decide", "margin", "reason"]

# What a selection serves: its greedy ensemble, the equal blend of the best trials, or the single
# best trial.
ENSEMBLE, BLEND, SINGLE = "greedy ensemble", "equal blend of the best trials", "single trial"


def margin(fold_scores: Sequence[float]) -> float:
    """One standard error of the single best's fold scores: the noise a blend must clear."""
    finite = np.asarray([s for s in fold_scores if math.isfinite(s)], dtype=np.float64)
    if finite.size < 2:
        return 0.0
    return float(np.std(finite, ddof=1) / math.sqrt(finite.size))


def decide(
    sign: float,
    scores: tuple[float, float],
    nested: NestedScores | None,
    members: tuple[int, int],
    single_folds: Callable[[], Sequence[float]],
) -> tuple[str, str]:
    """What to serve (``ENSEMBLE``, ``BLEND`` or ``SINGLE``) and why; the rules are in the
    module's notes. ``members``: of the greedy ensemble and of the blend; ``single_folds``:
    the single best trial's fold scores, asked for by the margin rule."""
    ensemble_score, single_score = scores
    if nested is not None:
        greedy_wins = (
            members[0] > 1
            and sign * (nested.ensemble - nested.single) > TIE
            and sign * (ensemble_score - single_score) > TIE
        )
        blend_wins = members[1] > 1 and sign * (nested.blend - nested.single) > TIE
        served = ENSEMBLE if greedy_wins else BLEND if blend_wins else SINGLE
        return served, (
            f"re-selected without each fold, the greedy ensemble scored {nested.ensemble:.4f}, "
            f"the equal blend of the {members[1]} best-scoring trials {nested.blend:.4f} and "
            f"the best single trial {nested.single:.4f}, on data none was selected on"
        )
    if members[0] == 1:
        return SINGLE, "no blend of the candidates scored better than the best single trial"
    noise = margin(single_folds())
    chosen = sign * (ensemble_score - single_score) > max(noise, TIE)
    verb = "beat" if chosen else "did not beat"
    return ENSEMBLE if chosen else SINGLE, (
        f"the ensemble {verb} the best single trial by more than one standard error of "
        f"its fold scores ({noise:.4f})"
    )


def reason(
    name: str, served: str, why: str, members: int, single_best: int, scores: tuple[float, float]
) -> str:
    """``members`` and ``scores[0]``: of what was served, or of the greedy ensemble."""
    ensemble_score, single_score = scores
    against = f"vs {single_score:.4f} for trial {single_best} alone"
    if served == ENSEMBLE:
        return (
            f"Chose an ensemble of {members} trials ({name} {ensemble_score:.4f} {against}): {why}."
        )
    if served == BLEND:
        return (
            f"Chose the equal blend of the {members} best-scoring trials ({name} "
            f"{ensemble_score:.4f} {against}): {why}."
        )
    if members <= 1:
        return f"Kept the single best trial {single_best} ({name} {single_score:.4f}): {why}."
    return (
        f"Kept the single best trial {single_best} ({name} {single_score:.4f}; the best "
        f"ensemble found, {members} trials, scored {ensemble_score:.4f}): {why}."
    )
