"""Optuna's loop as a search runs it: quiet about trials that fail (their errors are in the
leaderboard), releasing this process's trials on Ctrl-C so a resume runs them again, going
on past a trial another process failed as dead, and stopping with a plain error when another
process damaged the journal or the database went out of reach."""

from __future__ import annotations

import contextlib
import datetime
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import optuna

from autoimb._held import Held, Restore
from autoimb.engine.database import storage_failed
from autoimb.engine.journal import damaged_while_read
from autoimb.engine.settings import SearchSettings
from autoimb.engine.storage import make_storage, release_trials, requeue_interrupted, worker_id
from autoimb.exceptions import JournalDamaged
from autoimb.leaderboard import REPEATS
from autoimb.stages.base import STOPPING

logger = logging.getLogger("autoimb")


def optimize(
    study: optuna.Study,
    objective: Any,
    settings: SearchSettings,
    deadline: float | None,
) -> bool:
    """Optuna's loop, quiet about expected failures; Ctrl-C releases this process's trials.
    Returns whether one of the user's callbacks stopped the study (``study.stop()``): the
    search then runs no more trials, not even with time to spare.

    A trial another process failed as dead while it ran (no sign of life for three heartbeats:
    a machine that slept, a long pause) cannot be told its score; Optuna's loop stops there,
    and is started again for the trials and time left.
    """
    ran = [0]

    def count(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.user_attrs.get(REPEATS) is None:  # a repeat fitted nothing: one more is due
            ran[0] += 1
        stopping[0] = _stopping(study)  # by the search's own callback, before the user's

    def users_stopped(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        stopped[0] = stopped[0] or (_stopping(study) and not stopping[0])

    stopping, stopped = [False], [False]

    try:
        while settings.n_trials is None or ran[0] < settings.n_trials:
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                with (
                    _threads_stop_on_ctrl_c(settings.n_jobs),
                    _HEARTBEATS.held(),
                    quiet_optuna(),
                ):
                    study.optimize(
                        objective,
                        n_trials=None if settings.n_trials is None else settings.n_trials - ran[0],
                        timeout=timeout,
                        n_jobs=settings.n_jobs,
                        catch=(Exception,),
                        callbacks=[
                            objective.stop_when_budget_spent,
                            count,
                            *settings.callbacks,
                            users_stopped,
                        ],
                        gc_after_trial=False,
                    )
                # Optuna's count of trials ran out on repeats, which fitted nothing: go on.
                if settings.n_trials is None or _stopping(study) or _past(deadline):
                    return stopped[0]
            except (ValueError, AssertionError) as exc:
                if not _failed_elsewhere(exc):
                    raise
                ran[0] += 1
                logger.warning(
                    "a trial of this process was failed by another one, which took it for dead "
                    "(no sign of life for three heartbeats); going on with the next"
                )
        return stopped[0]
    except KeyboardInterrupt:
        _release_own_trials(_reopened(study, settings), settings.started)
        raise
    except OSError as exc:
        # Ctrl-C landing inside the journal file's lock release surfaces as a missing lock
        # file (the release's own clean-up fails); it is still the user's Ctrl-C.
        if not ctrl_c_within(exc):
            raise
        _release_own_trials(_reopened(study, settings), settings.started)
        raise KeyboardInterrupt from exc
    except Exception as exc:
        # A database out of reach is explained by the caller (``database.explained``); its
        # trials are not released: the heartbeat fails them in time.
        if not (isinstance(settings.storage, str) and damaged_while_read(exc)):
            raise
        with contextlib.suppress(Exception):  # reopened, the journal is mended if it can be
            _release_own_trials(_reopened(study, settings), settings.started)
        raise JournalDamaged(
            f"{settings.storage} was damaged while the search ran: a process writing to it "
            "stopped mid-record, and the next write ran on into it; the search stopped, every "
            "finished trial is kept. Run the same command again to go on: the journal is "
            "mended as it opens (the cut record set aside beside it)."
        ) from None


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _stopping(study: optuna.Study) -> bool:
    """Whether ``study.stop()`` was called in this loop (Optuna keeps no public word of it)."""
    return bool(getattr(study, "_stop_flag", False))


def ctrl_c_within(exc: BaseException | None) -> bool:
    """Whether Ctrl-C caused ``exc``: one landing in a clean-up (a lock file's removal) turns
    into that clean-up's error, which Optuna would take for the strategy's and go on."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def _threads_stop_on_ctrl_c(n_jobs: int) -> Iterator[None]:
    """Ctrl-C (or SIGTERM, which the program takes as it) reaches the main thread only, and
    Optuna then waits for the trials running in other threads: they are told to stop at their
    next look at the clock, where they would have run to their end (20 s and more). A host
    program's own handler that does not raise (a server's "stop after this request") keeps
    the search going, as it does with one job."""
    if n_jobs == 1 or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {stop: signal.getsignal(stop) for stop in (signal.SIGINT, signal.SIGTERM)}

    def stop(signum: int, frame: Any) -> None:
        handler = before[signal.Signals(signum)]
        try:
            handler(signum, frame)
        except BaseException:
            STOPPING.set()
            raise

    for signum, handler in before.items():
        if callable(handler):  # not one that is ignored, nor the default death by SIGTERM
            signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in before.items():
            if callable(handler):
                signal.signal(signum, handler)
        STOPPING.clear()  # the trials' threads are done: Optuna waited for them


def _heartbeats_quieted() -> Restore:
    """A heartbeat that cannot reach the database fails in a thread of its own, with a page of
    traceback; the trial's next write stops the search with the same cause, said plainly."""
    before = threading.excepthook

    def hook(args: Any) -> None:
        if args.exc_value is None or not storage_failed(args.exc_value):
            before(args)

    def restore() -> None:
        threading.excepthook = before

    threading.excepthook = hook
    return restore


_HEARTBEATS = Held(_heartbeats_quieted)


def _optuna_quieted() -> Restore:
    """Optuna's INFO lines ("A new study created …") and its report of each failed trial are
    not the user's business: a strategy that does not suit the data fails, and its error is in
    the leaderboard. A level of DEBUG, asked for, is kept, as is one quieter than ERROR."""
    level = optuna.logging.get_verbosity()
    if level > optuna.logging.DEBUG:
        optuna.logging.set_verbosity(max(level, optuna.logging.ERROR))
    return lambda: optuna.logging.set_verbosity(level)


_OPTUNA_LEVEL = Held(_optuna_quieted)


def quiet_optuna() -> contextlib.AbstractContextManager[None]:
    """Optuna kept quiet while a search runs (:func:`_optuna_quieted`)."""
    return _OPTUNA_LEVEL.held()


def _failed_elsewhere(exc: BaseException) -> bool:
    """Optuna's refusal to tell a trial another process finished (its own clean-up may then
    fail an assertion, with the refusal as its context)."""
    while exc is not None:
        if isinstance(exc, ValueError) and str(exc).startswith("Cannot tell a"):
            return True
        exc = exc.__context__  # type: ignore[assignment]
    return False


def _reopened(study: optuna.Study, settings: SearchSettings) -> optuna.Study:
    """The study read afresh from its storage: Ctrl-C inside a write can leave this process's
    view of it ahead of what the storage holds."""
    if not isinstance(settings.storage, str):
        return study
    try:
        return optuna.load_study(
            study_name=study.study_name, storage=make_storage(settings.storage, settings.heartbeat)
        )
    except Exception:  # the storage cannot be read again now: use the view there is
        return study


def _release_own_trials(study: optuna.Study, run_started: float) -> None:
    """Ctrl-C can land while Optuna samples a new trial, before the objective names its owner:
    an ownerless trial started during this run is taken to be this process's."""
    started = datetime.datetime.fromtimestamp(time.time() - (time.monotonic() - run_started))
    release_trials(
        study,
        lambda owner, trial: (
            owner == worker_id()
            or (not owner and trial.datetime_start is not None and trial.datetime_start >= started)
        ),
        crashed=False,
    )
    requeue_interrupted(study, worker_id(), started)
