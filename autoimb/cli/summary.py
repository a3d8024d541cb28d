"""What a finished search tells its user on the command line: the score and how it was
measured, the winner and where everything went."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from autoimb import config
from autoimb.cli.resume import resume_command
from autoimb.leaderboard import finished_trials, trials_text
from autoimb.metrics.notes import floor_condition, over_classes
from autoimb.redact import shown

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autoimb.metrics.metric import Metric
    from autoimb.result import SearchResult


def best_text(result: SearchResult) -> str:
    """``best f1: 0.7705 (on the folds that chose it: optimistic)``: a score is never shown
    without how it was measured, which says how far to trust it (and where copied rows
    flattered it, that too: the note saying so comes last)."""
    from autoimb.engine.copies import copies_caveat

    caveat = copies_caveat(result.notes, see="see the note")
    basis = "; ".join(filter(None, (result.score_basis, caveat)))
    return score_text(result.metric.name, result.best_score, result.metric.unit, basis)


def score_text(metric: str, score: float, unit: str, basis: str) -> str:
    """:func:`best_text` from its parts, as a model card keeps them."""
    return f"best {metric}: {score:.4f}{unit} ({basis})"


def print_summary(
    result: SearchResult, out: Path, report: Path | None, storage: str, args: argparse.Namespace
) -> None:
    from autoimb.strategy import strategy_label

    study = result.study
    decision = result.decision
    rule = decision.describe(result.classes_, result.best_pipeline.probability_threshold)
    n = len(result.evidence.y)
    print(
        f"{best_text(result)}; "
        + interval_text(result.metric, result.best_score, result.score_interval, n,
                        result.floor_miss_chance)
    )  # fmt: skip
    ran = finished_trials(study)
    print(f"chosen:   {chosen_text(result)}; {trials_text(ran)} ran in the study")
    print(f"strategy: {strategy_label(result.best_config)}")
    print(classes_line(result.metric, list(result.classes_), decision.pos_label))
    print(f"decision: {rule}")
    print(f"model:    {out}")
    if report is not None:
        print(f"report:   {report}")
    print(study_line(args, storage))
    for note in result.notes:
        print(f"note:     {note}")


def interval_text(
    metric: Metric, score: float, interval: Sequence[float], rows: int, floor_miss: float | None
) -> str:
    """Where the score on a new set of as many rows falls, and on which side of a precision
    floor that holds."""
    low, high = interval
    held = floor_condition(metric, score, floor_miss)
    likely = f"{config.INTERVAL_LEVEL:.0%} likely between {low:.4f} and {high:.4f}"
    return f"on a new set of {rows:,} rows, " + (
        f"{held[0]}: {held[1]} {likely}" if held else likely
    )


def classes_line(metric: Metric, classes: list, positive: int) -> str:
    if len(classes) == 2:
        return f"positive: {classes[positive]} (the class the metric measures)"
    return f"classes:  {len(classes)}, so {metric.name} is {over_classes(metric)}"


def study_line(args: argparse.Namespace, storage: str) -> str:
    """The study and how to go on with it."""
    again = (
        f"add trials with: {resume_command(args)}"
        if getattr(args, "new_study", False)
        else "run the same command again to continue it"
    )
    return f"study:    {args.study_name!r} in {shown(storage)} ({again})"


def chosen_text(result: SearchResult) -> str:
    """How the winner was chosen, comparing only numbers measured the same way."""
    selection = result.ensemble
    if selection is None or "members" not in result.best_config:
        trial = result.model_card()["trial"]
        if result.search_score is not None and result.search_score != result.best_score:
            chose = f"{result.search_score:.4f} on the folds that chose it"
            return f"trial {trial}, which scored {chose}"
        return f"trial {trial}"
    if selection.nested_score is not None and selection.nested_single_score is not None:
        return (
            f"an ensemble, which scored {selection.nested_score:.4f} against "
            f"{selection.nested_single_score:.4f} for the best single trial "
            f"({selection.single_best}), both with the choice made again without each fold"
        )
    return (
        f"an ensemble, which scored {selection.score:.4f} against {selection.single_score:.4f} "
        f"for the best single trial ({selection.single_best}) on the predictions that chose it"
    )
