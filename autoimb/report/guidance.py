"""What the report's numbers mean and what to do next: why one model shows more than one score,
whether more budget is likely to help (the best-so-far curve), what more data would bring (the
learning-curve advice), and the search's notes."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from autoimb import config
from autoimb.leaderboard import failed_trials, trials_text

if TYPE_CHECKING:
    from autoimb.report.winner import Winner

# A search still finding better strategies in its last third is worth running longer.
STILL_IMPROVING_SHARE = 1 / 3
FEW_TRIALS = 20  # below this, the sampler has barely started to learn the space


def budget_verdict(study: optuna.Study | None, *, every_strategy_tried: bool = False) -> str | None:
    """One sentence on whether a longer search is likely to pay, or None without trials (or
    without the study, where its curve is all there is to read); ``every_strategy_tried``: the
    space has no strategy left, so more budget would repeat them, study or not."""
    if every_strategy_tried:
        return (
            "Every strategy of the search space was tried, so a longer search would only "
            "repeat them: more budget cannot help. To search further, widen the space (give a "
            "stage more components, or a parameter a range)."
        )
    if study is None:
        return None
    done = [t for t in study.trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not done:
        return None
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    best, last_gain = None, 0
    for position, trial in enumerate(done):
        if best is None or sign * (trial.value - best) > 1e-9:
            best, last_gain = trial.value, position
    n = len(done)
    since = n - 1 - last_gain
    failed = len(failed_trials(study))
    if failed and 2 * failed >= n:
        # A longer search of a space whose strategies fail mostly buys more failures.
        return (
            f"Only {trials_text(n)} completed and {failed} failed: see why they failed (under "
            "the leaderboard) and fix that first, in the data or the search space; a longer "
            "search would spend much of its time on the same failures."
        )
    if n < FEW_TRIALS:
        return (
            f"Only {trials_text(n)} completed: the first ones are fixed baselines and proven "
            "strategies, and the sampler has barely begun to learn the space; a longer search "
            "is likely to help."
        )
    if since < n * STILL_IMPROVING_SHARE:
        return (
            f"The best score last improved {since} trial(s) before the end (of {n}): the "
            "search was still finding better strategies, so a longer one is likely to help."
        )
    return (
        f"The best score has not improved in the last {since} of {n} trials: a longer search "
        "is unlikely to help much; more minority examples (see the advice) or another space "
        "may."
    )


def what_next_html(study: optuna.Study | None, w: Winner) -> str:
    """More budget, more data and the search's notes."""
    advice, notes = w.advice, w.notes
    items = []
    if verdict := budget_verdict(study, every_strategy_tried=w.space_spent):
        items.append(f"<li><b>More budget:</b> {html.escape(verdict)}</li>")
    if advice:
        items.append(f"<li><b>More data:</b> {html.escape(advice)}</li>")
    elif not any(note.startswith("No data-collection advice") for note in notes):
        # Not asked for (when it was, a note below says why it is missing).
        items.append(
            "<li><b>More data:</b> not measured; in Python, "
            "<code>autoimb.search(..., advice=True)</code> fits the winner on growing shares of "
            "the rare class(es) and says what 2× and 5× more of their examples would bring.</li>"
        )
    items += [f"<li>{html.escape(note)}</li>" for note in notes]
    return f"<ul class='next'>{''.join(items)}</ul>"


def how_sure_html(w: Winner) -> str:
    """Why the report shows more than one score for one model."""
    if w.score is None or w.search_score is None or w.search_score == w.score:
        return ""
    name = html.escape(w.metric.name)
    interval = ""
    if w.interval is not None:
        held = w.interval_held()
        when = f", {html.escape(held[0])}, expect {held[1]}" if held else ", expect"
        interval = (
            f" On {w.interval_set()}{when} {w.interval[0]:.4f} to "
            f"{w.interval[1]:.4f} ({config.INTERVAL_LEVEL:.0%} of the time)."
        )
    return (
        f"<p class='caption'><b>How good, how sure.</b> {name} {w.search_score:.4f} is what "
        "this strategy scored on the folds that chose it; the best of many trials owes part "
        f"of its lead to luck, so the headline {w.score:.4f} measures it again "
        f"({html.escape(w.score_basis)}).{interval}</p>"
    )


def in_sample_html(w: Winner) -> str:
    """The caption of the out-of-fold metric table: its decision (and an ensemble's weights)
    was tuned on the very rows it scores, so the table flatters; the headline does not."""
    rule = "threshold" if w.decision.threshold is not None else "class factors"
    tuned = f"{rule} and the ensemble's weights" if "members" in w.config else rule
    were = "was" if tuned == "threshold" else "were"
    headline = "" if w.score is None else f" {w.score:.4f}{w.metric.unit}"
    return (
        "<p class='caption'>Out-of-fold predictions of the search's folds with the served "
        f"decision applied. Its {tuned} {were} tuned on these same rows, so these figures and "
        "the confusion matrix are optimistic, the threshold metrics most (recall at a "
        "precision floor above all). The number to quote is best_score, the headline"
        f"{headline} ({html.escape(w.score_basis)}), with each fold's {rule} chosen on the "
        "other folds.</p>"
    )
