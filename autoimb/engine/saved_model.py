"""The model a command saved from the study before, kept by a run that would serve it again.

A resume that found nothing better (its budget spent, its space all tried, or run again after
a crash once the model was saved) refitted the study's winner, then kept the saved model over
it. The finish now asks, before the winner is measured again and before it is refitted (the
long parts), whether the saved model stands; the command line, which writes the model file
and knows its card, answers through a context it sets around the search, so that
``search()`` keeps the signature its users call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from autoimb.engine.outcome import SearchOutcome
    from autoimb.engine.remeasure import Remeasured
    from autoimb.metrics.registry import Metric

# Given the study, its metric and this run's model card so far (None before its winner is
# measured), the card of the model saved before and why it stays; None where this run's
# model is to replace it.
SavedModelCheck = Callable[
    ["optuna.Study", "Metric", "dict[str, Any] | None"], "tuple[dict[str, Any], str] | None"
]

_CHECK: ContextVar[SavedModelCheck | None] = ContextVar("autoimb_saved_model", default=None)


class SavedModelStands(Exception):
    """The finish stopped before its long parts: the model saved before (its ``card``) stays,
    for ``why``; nothing was refitted."""

    def __init__(self, card: dict[str, Any], why: str, study: optuna.Study, metric: Metric) -> None:
        super().__init__(why)
        self.card, self.why, self.study, self.metric = card, why, study, metric


@contextlib.contextmanager
def keeping_saved_model(check: SavedModelCheck) -> Iterator[None]:
    """Within it, a search's finish stops where ``check`` says the saved model stands."""
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def stop_before_measure(study: optuna.Study, metric: Metric) -> None:
    """Stop where the saved model stands whatever this run measures of its winner."""
    _stop_if_it_stands(study, metric, None)


def stop_before_refit(
    outcome: SearchOutcome, metric: Metric, members: Mapping[int, float], measured: Remeasured
) -> None:
    """Stop where the saved model stands over this run's winner, as measured."""
    card = {
        "trial": next(iter(members)) if len(members) == 1 else None,
        "score_basis": measured.basis,
        "cv_score": float(measured.score),
        "too_slow_to_refit": list(outcome.too_slow_to_refit),
    }
    _stop_if_it_stands(outcome.study, metric, card)


def _stop_if_it_stands(study: optuna.Study, metric: Metric, card: dict[str, Any] | None) -> None:
    check = _CHECK.get()
    if check is not None and (kept := check(study, metric, card)) is not None:
        raise SavedModelStands(*kept, study, metric)
