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
    from autoimb.result import SearchResult


def best_text(result: SearchResult) -> str:
    """``best f1: 0.7705 (on the folds that chose it: optimistic)``: a score is never shown
    without how it was measured, which says how far to trust it."""
    return score_text(result.metric.name, result.best_score, result.metric.unit, result.score_basis)


def score_text(metric: str, score: float, unit: str, basis: str) -> str:
    """:func:`best_text` from its parts, as a model card keeps them."""
    return f"best {metric}: {score:.4f}{unit} ({basis})"


def print_summary(
    result: SearchResult, out: Path, report: Path | None, storage: str, args: argparse.Namespace
) -> None:
    from autoimb.strategy import strategy_label

    study = result.study
    decision = result.decision
    positive = result.classes_[decision.pos_label]
    rule = decision.describe(result.classes_, result.best_pipeline.probability_threshold)
    low, high = result.score_interval
    n = len(result.evidence.y)
    held = floor_condition(result.metric, result.best_score, result.floor_miss_chance)
    likely = f"{config.INTERVAL_LEVEL:.0%} likely between {low:.4f} and {high:.4f}"
    print(
        f"{best_text(result)}; on a new set of {n:,} rows, "
        + (f"{held[0]}: {held[1]} {likely}" if held else likely)
    )
    ran = finished_trials(study)
    print(f"chosen:   {chosen_text(result)}; {trials_text(ran)} ran in the study")
    print(f"strategy: {strategy_label(result.best_config)}")
    if len(result.classes_) == 2:
        print(f"positive: {positive} (the class the metric measures)")
    else:
        print(
            f"classes:  {len(result.classes_)}, so {result.metric.name} is "
            f"{over_classes(result.metric)}"
        )
    print(f"decision: {rule}")
    print(f"model:    {out}")
    if report is not None:
        print(f"report:   {report}")
    again = (
        f"add trials with: {resume_command(args)}"
        if args.new_study
        else "run the same command again to continue it"
    )
    print(f"study:    {args.study_name!r} in {shown(storage)} ({again})")
    for note in result.notes:
        print(f"note:     {note}")


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
