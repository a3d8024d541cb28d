"""Optuna storages: the persistence and the distribution of a search.

An in-memory study by default; a journal file or a database URL makes a search resumable or
shared by several workers. Trials left RUNNING by a stopped process are failed and queued again.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from autoimb import config
from autoimb._checks import refuse
from autoimb._warnings import user_stacklevel
from autoimb.config import STUDY_ATTR
from autoimb.engine.database import (
    database_storage,
    driver_said,
    queue_again,
    sqlite_file,
    storage_failed,
)
from autoimb.engine.journal import open_journal
from autoimb.exceptions import AutoImbError, StorageNotOpened
from autoimb.redact import scrubbed, shown

logger = logging.getLogger("autoimb")


def make_storage(
    storage: str | optuna.storages.BaseStorage | None, heartbeat: int | None = None
) -> Any:
    """A database URL → RDB storage with heartbeats; any other string → a journal file.

    With heartbeats, a trial whose worker died is marked failed after ``3 × heartbeat``
    seconds and retried once, so it cannot keep steering the sampler as a RUNNING trial.

    A journal file, not SQLite, is the embedded default: Optuna advises against SQLite for
    several processes writing at once (lock errors), while its journal file takes appends from
    many processes safely through a file lock.
    """
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, str | os.PathLike):  # storage=True wrote a journal named "True"
        raise refuse(
            "storage",
            "None, a journal file path, a database URL or an Optuna storage",
            f"{type(storage).__name__} {storage!r}",
        )
    text = str(storage)
    if not text.strip():  # else the folder the process runs in, refused as a folder
        raise refuse(
            "storage",
            "None, a journal file path, a database URL or an Optuna storage",
            f"empty text {text!r}",
            "Leave storage out (None) to keep the study in memory, or name a journal file "
            "such as 'study.optuna.log' to keep it.",
        )
    if "://" in text:
        return database_storage(text, heartbeat or config.HEARTBEAT_SECONDS)
    path = Path(text)
    if path.is_dir():
        raise AutoImbError(
            f"storage {text!r} is a folder; give a journal file's path in it, such as "
            f"{str(path / 'study.optuna.log')!r}."
        )
    if not path.parent.is_dir():
        raise AutoImbError(
            f"storage {text!r}: the folder {str(path.parent)!r} does not exist; create it, or "
            "give a journal file path in an existing folder (or a database URL)."
        )
    try:
        return open_journal(text)
    except OSError as exc:  # a folder it may not write in, a read-only file system
        fix = "give a path in a folder you can write (or a database URL)."
        if path.is_file() and path.stat().st_size:  # another path would start a new study
            fix = "its trials are kept: free some space or make it writable, then run again."
        raise StorageNotOpened(
            f"cannot write the study's journal file {text!r} ({exc.strerror or exc}); {fix}"
        ) from None


def refuse_unwritable(storage: object) -> None:
    """A search writes its study, a report only reads it: an SQLite or journal file already
    there is opened though it cannot be written, or its folder cannot take what is written
    beside it at each write. A search on one failed only at its first write, as a storage
    lost while it ran: refused here, as it starts."""
    if not isinstance(storage, str | os.PathLike):
        return
    text = str(storage)
    if "://" in text:
        file = sqlite_file(text)
        kind, copy = "SQLite file", "the copy's URL (sqlite:///COPY.db)"
        beside = "SQLite writes a journal file there, beside the database, at each write"
    else:
        file, kind, copy = Path(text), "journal file", "the copy's path"
        beside = "a search makes the journal's lock file there at each write"
    if file is None or not file.is_file():  # a new file: its folder is checked as it is made
        return
    if not os.access(file, os.W_OK):
        locked = f"the {kind} {str(file)!r} cannot be written, and a search writes its trials there"
    elif not os.access(file.parent, os.W_OK):
        locked = f"the folder {str(file.parent)!r} cannot be written, and {beside}"
    else:
        return
    raise StorageNotOpened(
        f"storage {shown(text)}: {locked}. Make it writable, or copy the {kind} to a folder you "
        f"can write and give {copy}: its study goes on there. Commands that only read the study "
        "(autoimb report) take the file as it is."
    )


def worker_id() -> str:
    return f"{_machine()}:{os.getpid()}"


def _machine() -> str:
    """Where a process number means one process: the host name, and where the system tells
    them, its boot and its process namespace. Containers sharing a host name but not their
    process numbers would otherwise judge each other's live trials dead."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text()
        place = boot + os.readlink("/proc/self/ns/pid")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{zlib.crc32(place.encode()):08x}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_trials(
    study: optuna.Study, stopped: Callable[[str, FrozenTrial], bool], *, crashed: bool = True
) -> None:
    """Fail the RUNNING trials whose worker ``stopped`` says will never finish them.

    Each is queued again, so a strategy cut short by a crash or Ctrl-C still gets its score
    when the study goes on: after a crash only once, as the heartbeat of a database storage
    does (:func:`~autoimb.engine.database.queue_again`); ``crashed=False``: this process's
    own, stopped by the user.
    """
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if stopped(str(trial.user_attrs.get("worker", "")), trial):
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
                continue  # it finished since it was read: its worker was alive after all
            queued = queue_again(study, trial, crashed=crashed)
            logger.info(
                "trial %d was left running by a stopped process: failed%s",
                trial.number,
                ", queued again" if queued else "; its strategy stopped a worker before",
            )


def requeue_interrupted(study: optuna.Study, owner: str, since: datetime.datetime) -> None:
    """Queue again the trials Ctrl-C cut: Optuna has already failed them, with no error of
    their own (a strategy that failed records its error), so they are told apart by that.
    Ctrl-C can land before the objective names the trial's owner or records its strategy
    (while the sampler draws it): a nameless one started since ``since`` is this process's,
    and goes back with the parameters drawn so far (the sampler draws the rest)."""
    trials = study.get_trials(deepcopy=False)
    # The trial each retry copies is the last of its history (``failed_trial`` names the first).
    queued = {
        t.system_attrs["retry_history"][-1] for t in trials if t.system_attrs.get("retry_history")
    }
    for trial in trials:
        cut = (
            trial.state == TrialState.FAIL
            and trial.number not in queued
            and trial.user_attrs.get("worker", owner) == owner
            and "error" not in trial.user_attrs
            and trial.datetime_start is not None
            and trial.datetime_start >= since
        )
        if cut:
            queue_again(study, trial, crashed=False)
            logger.info("trial %d was cut by Ctrl-C: queued again", trial.number)


OWNERLESS_SECONDS = 5.0  # a live worker names itself on a trial milliseconds after taking it


def release_dead_trials(study: optuna.Study, settle: float = OWNERLESS_SECONDS) -> None:
    """Fail RUNNING trials whose process on this machine is gone (killed, crashed).

    Database storages do this through heartbeats; a journal file has none, so a killed search
    would otherwise leave a RUNNING trial that the constant-liar sampler keeps avoiding. A
    process killed between taking a trial and writing its name on it leaves a trial with no
    owner: one still nameless ``settle`` seconds after it started has no live worker, so a
    search resumed at once waits out the rest of that time rather than leave it running.
    """
    nameless = [
        _age(t)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not t.user_attrs.get("worker")
    ]
    if nameless and min(nameless) < settle:
        time.sleep(settle - max(min(nameless), 0.0))
    here = _places_here()
    release_trials(study, lambda owner, trial: _stopped_here(owner, trial, settle, here))


# A study's creator starts its first trial within seconds of creating it; one of another
# machine, with no trial running this long after, is taken as stopped.
CREATOR_GRACE_SECONDS = 60.0


def left_by_stopped_runs(
    storage: Any, name: str, creator: str | None = None, created: float | None = None
) -> bool:
    """Whether no trial of the study has finished, none runs and its ``creator`` (process, at
    ``created``) is gone: the runs that made it were killed or crashed before a trial
    finished, so it holds nothing to resume. Read without writing (a running trial of another
    machine counts as alive; a creator of another machine, for a while)."""
    trials = storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False)
    here = _places_here()
    if any(t.state == TrialState.COMPLETE for t in trials):
        return False
    if creator and not creator_stopped(creator, created, here):
        return False
    return all(
        _stopped_here(str(t.user_attrs.get("worker", "")), t, OWNERLESS_SECONDS, here)
        for t in trials
        if t.state == TrialState.RUNNING
    )


def creator_stopped(creator: str, created: float | None, here: set[str] | None = None) -> bool:
    """Whether the process that created a study (``creator``, at ``created``) is gone: one of
    this machine that is not alive, or this process (its search ended: it is opening the study
    again); one of another, after a grace period."""
    if creator == worker_id():
        return True
    pid = _process_here(creator, _places_here() if here is None else here)
    if pid is not None:
        return not _alive(pid)
    return created is None or time.time() - float(created) >= CREATOR_GRACE_SECONDS


def _age(trial: FrozenTrial) -> float:
    start = trial.datetime_start or datetime.datetime.now()
    return (datetime.datetime.now() - start).total_seconds()


def _places_here() -> set[str]:
    """What a trial's owner names this machine by; the host alone: an older autoimb."""
    return {_machine(), socket.gethostname()}


def _stopped_here(owner: str, trial: FrozenTrial, settle: float, here: set[str]) -> bool:
    """Whether the process running ``trial`` is gone: one of this machine (``here``) that is
    not alive, or none named ``settle`` seconds on."""
    if not owner:
        return _age(trial) >= settle
    pid = _process_here(owner, here)
    return pid is not None and not _alive(pid)


def _process_here(owner: str, here: set[str]) -> int | None:
    """The process an owner (``worker_id()``) names, where it is one of this machine."""
    place, _, pid = owner.rpartition(":")
    return int(pid) if place in here and pid.isdigit() else None


def existing_study(storage: str, name: str) -> optuna.Study | None:
    """The study if it exists; a journal file is not created just to look."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=_looked_up(storage))
    except KeyError:
        return None


def study_heartbeat(storage: Any, name: str, asked: int | None) -> int | None:
    """The heartbeat to open ``storage`` with: a database's storage beats from the moment it
    is made, so the study's own is looked up first; other storages beat not (None)."""
    check_heartbeat(asked)
    if not beats(storage):
        unheard(storage, asked)
        return None
    study = existing_study(storage, name)
    recorded = None if study is None else study.user_attrs.get(STUDY_ATTR, {}).get("heartbeat")
    return agreed_heartbeat(name, recorded, asked)


def beats(storage: Any) -> bool:
    """Whether ``storage`` is a database autoimb opens, with the heartbeat it is given."""
    return isinstance(storage, str) and "://" in storage


def unheard(storage: Any, asked: int | None) -> None:
    """Say that a heartbeat asked of a journal file, a study in memory or a storage object
    given ready-made does nothing: they take none from autoimb (it was recorded and compared
    to no effect)."""
    if asked is not None:
        if storage is None:
            where = "a study in memory has no other process to watch"
        elif isinstance(storage, optuna.storages.RDBStorage):
            where = "a storage object beats as it was made (RDBStorage's heartbeat_interval)"
        elif isinstance(storage, optuna.storages.BaseStorage):
            where = "a storage object given ready-made takes none from autoimb"
        else:
            where = (
                "a journal file has none: a trial left running by a stopped process of this "
                "machine is failed and queued again when the study is opened"
            )
        warnings.warn(
            f"a heartbeat ({asked} s) has no effect: only a database storage given by its URL "
            f"(such as postgresql://...) beats; {where}. Leave the heartbeat out here.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def check_heartbeat(asked: Any) -> None:
    if asked is not None and (
        isinstance(asked, bool) or not isinstance(asked, int | np.integer) or asked < 1
    ):
        raise AutoImbError(f"heartbeat must be a positive whole number of seconds; got {asked!r}.")


def agreed_heartbeat(name: str, recorded: int | None, asked: int | None) -> int | None:
    """The study's heartbeat, recorded when it was created; another one asked of it is
    refused, for a process that waits less fails the others' running trials as dead."""
    if recorded is None:
        return asked
    if asked is not None and asked != recorded:
        raise AutoImbError(
            f"study {name!r} beats every {recorded} s, not {asked}: its processes must beat "
            "alike, for one that waits less for a sign of life than another gives fails that "
            "one's running trials as dead. Leave the heartbeat out (every process takes the "
            "study's)."
        )
    return int(recorded)


def study_names(storage: str) -> list[str]:
    import optuna

    return optuna.study.get_all_study_names(_looked_up(storage))


def _looked_up(storage: str) -> Any:
    """An Optuna storage to read; a journal file or an SQLite file that is not there reads as
    an empty one, not made just to look (a run refused after the look left an SQLite file of
    empty tables)."""
    import optuna

    if "://" not in storage and not Path(storage).is_file():
        return optuna.storages.InMemoryStorage()
    if (database := sqlite_file(storage)) is not None and not database.is_file():
        return optuna.storages.InMemoryStorage()
    try:
        opened = make_storage(storage)
        opened.get_all_studies()  # a journal is replayed here: a wrong file fails now
    except AutoImbError:  # already says what is wrong with it
        raise
    except Exception as exc:  # a wrong URL or a file that is not a journal: the user's input
        said = driver_said(exc, storage) if storage_failed(exc) else scrubbed(str(exc), storage)
        raise StorageNotOpened(f"cannot open the study storage {shown(storage)}: {said}") from exc
    return opened
