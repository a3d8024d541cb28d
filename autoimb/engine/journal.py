"""The journal file a study lives in, opened so that a process killed mid-write costs nothing.

Optuna appends one JSON record per line under a lock file. A process killed while it writes
leaves two traces: a last line cut off, which the next append would run on into, damaging the
file for good (every later read fails there); and a lock file no one will remove, which Optuna
waits out (30 s by default) before every later write. The cut line is set aside before the
journal is opened, and a stale lock is waited out for a few seconds only. A line damaged in
the middle of the file is named, with what to do.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from autoimb.exceptions import AutoImbError

logger = logging.getLogger("autoimb")

# A writer holds the lock for one append and its fsync (milliseconds); a lock this much older
# was left by a stopped process. Optuna warns below 3 s.
LOCK_GRACE_SECONDS = 5
# How Optuna starts every record, the first one included (with or without spaces).
_RECORD_START = re.compile(rb'\{\s*"op_code"\s*:')
_TAIL = 1 << 20  # a record is far shorter: the last line starts within the file's last MiB


def open_journal(path: str) -> JournalStorage:
    _refuse_other_files(Path(path))
    # Absolute: the lock is a symbolic link to the journal, and a relative target is read
    # from the link's own folder; "runs/j.log" would point at runs/runs/j.log, which Optuna's
    # lock then retries without end, never reaching its grace period.
    path = os.path.abspath(path)
    _clear_a_broken_lock(path + ".lock")
    lock = JournalFileSymlinkLock(path, grace_period=LOCK_GRACE_SECONDS)
    _set_aside_a_cut_last_line(Path(path), lock)
    try:
        return JournalStorage(JournalFileBackend(path, lock_obj=lock))
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise AutoImbError(_damaged(Path(path), exc)) from None


def _clear_a_broken_lock(lock: str) -> None:
    """A lock whose link points nowhere (one a killed writer made from a relative path) is
    one Optuna can neither use nor see the age of: older than the grace period, it goes."""
    if not os.path.islink(lock) or os.path.exists(lock):
        return
    try:
        age = time.time() - os.lstat(lock).st_mtime
        if age < LOCK_GRACE_SECONDS:
            time.sleep(LOCK_GRACE_SECONDS - age)
            if not os.path.islink(lock) or os.path.exists(lock):
                return  # its writer finished, or a working lock took its place
        os.unlink(lock)
    except FileNotFoundError:
        return
    logger.warning("%s: a lock left by a stopped process was removed", lock)


def _refuse_other_files(path: Path) -> None:
    """A file that does not start with a journal record is someone's data, a model or a report
    named as the storage by mistake: it is neither repaired nor written to."""
    if not path.is_file():
        return
    with path.open("rb") as file:
        start = file.read(64)  # a first record cut within its first bytes is still a journal
    if start and not _RECORD_START.match(start) and not b'{"op_code":'.startswith(start):
        raise AutoImbError(
            f"{path} is not a study journal (it does not start with an Optuna journal record); "
            "the storage is the file a study is kept in, and this one is left as it is. Name a "
            "new file (e.g. study.optuna.log) or the journal an earlier search wrote."
        )


def _set_aside_a_cut_last_line(path: Path, lock: JournalFileSymlinkLock) -> None:
    """Under the writers' lock (no append is half done then), a last line without its line
    end was cut by a stopped writer: it moves to a file beside the journal."""
    if not path.is_file() or not _cut(path):  # looked at first without the lock: it is rare
        return
    lock.acquire()
    try:
        with path.open("rb+") as journal:
            size = journal.seek(0, 2)
            journal.seek(max(size - _TAIL, 0))
            tail = journal.read()
            if tail.endswith(b"\n"):
                return
            keep = size - len(tail) + tail.rfind(b"\n") + 1  # 0 when no line ended at all
            aside = path.with_name(f"{path.name}.cut-{time.strftime('%Y%m%d-%H%M%S')}")
            journal.seek(keep)
            aside.write_bytes(journal.read())
            journal.truncate(keep)
    finally:
        lock.release()
    logger.warning(
        "%s: its last record was cut off mid-write (a process stopped while writing it); it is "
        "set aside in %s, and the study goes on from the records before it",
        path,
        aside,
    )


def _cut(path: Path) -> bool:
    with path.open("rb") as journal:
        size = journal.seek(0, 2)
        if size == 0:
            return False
        journal.seek(size - 1)
        return journal.read(1) != b"\n"


def _damaged(path: Path, exc: Exception) -> str:
    """Which line of the journal cannot be read, and what to do about it."""
    with path.open("rb") as journal:
        for number, line in enumerate(journal, start=1):
            try:
                json.loads(line)
            except ValueError:
                return (
                    f"{path} is damaged at line {number} (not a whole record: {exc}); the study "
                    "cannot be read past it. Keep a copy of the file, then delete that line: "
                    "the records after it are kept, that step of one trial is lost."
                )
    return f"{path} cannot be read as a study journal ({exc})."
