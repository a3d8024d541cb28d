"""The journal file a study lives in, opened so that a process killed mid-write costs nothing.

Optuna appends one JSON record per line under a lock file. A process killed while it writes
leaves two traces: a last line cut off, which the next append would run on into, damaging the
file for good (every later read fails there); and a lock file no one will remove, which Optuna
waits out (30 s by default) before every later write. The cut line is set aside before the
journal is opened, and a stale lock is waited out for a few seconds only. A cut line that the
next append ran on into is mended the same way: the cut part is set aside, the whole record
after it kept. Optuna numbers trials by counting trial records as it reads, so no record that
others have read may go; a damaged line that cannot be mended is named, with what to do.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import time
import traceback
from pathlib import Path
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState

from autoimb.exceptions import AutoImbError, JournalLost

logger = logging.getLogger("autoimb")

# A writer holds the lock for one append and its fsync (milliseconds); a lock this much older
# was left by a stopped process. Optuna warns below 3 s.
LOCK_GRACE_SECONDS = 5
# How Optuna starts every record, the first one included (with or without spaces).
_RECORD_START = re.compile(rb'\{\s*"op_code"\s*:')
_TAIL = 1 << 20  # a record is far shorter: the last line starts within the file's last MiB
# Optuna's op codes (JournalOperation) of records whose loss renumbers nothing, with what is lost.
_STEPS = {
    1: "a study's deletion",
    2: "an attribute of the study",
    3: "an attribute of the study",
    5: "a parameter of one trial",
    6: "the state or score of one trial",
    7: "a fold score of one trial",
    8: "an attribute of one trial",
    9: "an attribute of one trial",
}
_CREATE_STUDY, _CREATE_TRIAL = 0, 4
_OPTUNA_READER = os.path.join("journal", "_file.py")  # JournalFileBackend's module


def open_journal(path: str) -> JournalStorage:
    _refuse_other_files(Path(path))
    # Absolute: the lock is a symbolic link to the journal, and a relative target is read
    # from the link's own folder; "runs/j.log" would point at runs/runs/j.log, which Optuna's
    # lock then retries without end, never reaching its grace period.
    path = os.path.abspath(path)
    _clear_a_broken_lock(path + ".lock")
    lock = JournalFileSymlinkLock(path, grace_period=LOCK_GRACE_SECONDS)
    _set_aside_a_cut_last_line(Path(path), lock)
    # Optuna stops at a damaged line only once a line follows it: a damaged last one is looked
    # for here, any other is found by the read.
    if _last_line_damaged(Path(path)):
        mend_journal(path, lock)
    try:
        return JournalStorage(JournalFileBackend(path, lock_obj=lock))
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        pass
    mend_journal(path, lock)
    try:
        return JournalStorage(JournalFileBackend(path, lock_obj=lock))
    except (ValueError, UnicodeDecodeError) as exc:
        raise AutoImbError(damaged(Path(path), exc)) from None


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
            aside = _aside(path)
            journal.seek(keep)
            new = not aside.exists()
            try:
                with aside.open("ab") as kept:
                    kept.write(journal.read())
            except OSError:  # a full disk: the journal stays as it is, with no empty file beside
                if new:
                    aside.unlink(missing_ok=True)
                raise
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


def damaged_while_read(exc: BaseException | None) -> bool:
    """Whether Optuna's read of a journal file failed under ``exc``: a line that does not read
    stops every later read, wherever it surfaces (a trial's write, its tell, the next ask)."""
    while exc is not None:
        if isinstance(exc, ValueError) and any(
            frame.f_code.co_filename.endswith(_OPTUNA_READER)
            for frame, _ in traceback.walk_tb(exc.__traceback__)
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def journal_lost(storage: object, exc: BaseException) -> JournalLost | None:
    """The error a search stops with when its journal file could not be written (or read) under
    it with ``exc``: an OS error in Optuna's journal backend, however Optuna wrapped it (a
    trial's result that cannot be written surfaces as an assertion of Optuna's own). None for
    another error, and for Ctrl-C landing in a write (the caller's to release)."""
    failed = journal_os_error(exc)
    if failed is None:
        return None
    path = storage if isinstance(storage, str) else failed.filename or "the study's journal"
    reason = failed.strerror or str(failed)
    if failed.errno == errno.ENOENT:
        return JournalLost(
            f"the study's journal file {path} (or its folder) was removed while the search ran "
            f"({reason}); the search stopped, and the trials it held went with it. Run the same "
            "command again to start the study afresh."
        )
    if failed.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "Free some space on its disk"
    else:
        fix = "Make the file and its folder writable again"
    return JournalLost(
        f"the study's journal file {path} could not be written ({reason}); the search "
        f"stopped, and every trial that finished before is kept in it. {fix}, then run the "
        "same command again to go on."
    )


def journal_os_error(exc: BaseException | None) -> OSError | None:
    """The OS error of Optuna's journal backend (a write, its lock, a read) beneath ``exc``;
    None where there is none, or where Ctrl-C caused it."""
    failed = None
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt | AutoImbError):  # the latter says it already
            return None
        if failed is None and isinstance(exc, OSError) and _raised_by_optuna_journal(exc):
            failed = exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return failed


def _raised_by_optuna_journal(exc: BaseException) -> bool:
    return any(
        frame.f_code.co_filename.endswith(_OPTUNA_READER)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def _aside(path: Path) -> Path:
    """Where the cut parts of records go, beside the journal: kept, not lost."""
    return path.with_name(f"{path.name}.cut-{time.strftime('%Y%m%d-%H%M%S')}")


def _last_line_damaged(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as journal:
        size = journal.seek(0, 2)
        journal.seek(max(size - _TAIL, 0))
        tail = journal.read()
    last = tail[tail.rstrip(b"\n").rfind(b"\n") + 1 :]
    return bool(last.strip()) and _record(last) is None


def _record(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:  # UnicodeDecodeError is one
        return None
    return record if isinstance(record, dict) and "op_code" in record else None


def _whole_after_cut(line: bytes) -> int | None:
    """Where a whole record starts in a line that begins with the cut part of another: the
    next writer's append ran on into what a stopped writer left unfinished."""
    for start in _RECORD_START.finditer(line, 1):
        if _record(line[start.start() :]) is not None:
            return start.start()
    return None


def mend_journal(path: str | Path, lock: JournalFileSymlinkLock) -> None:
    """Under the writers' lock, set aside the cut part of every line that holds one followed by
    a whole record. No reader ever counted the cut record (Optuna skips a line that does not
    read), so the trial numbers every later record uses stay right. A damaged line that cannot
    be mended so is refused, and the file left as it is."""
    path = Path(path)
    lock.acquire()
    try:
        lines = path.read_bytes().splitlines(keepends=True)
        cut: list[tuple[int, bytes]] = []
        for number, line in enumerate(lines, start=1):
            if not line.endswith(b"\n") or not line.strip() or _record(line) is not None:
                continue  # a cut last line is set aside before, by another path
            start = _whole_after_cut(line)
            if start is None:
                raise AutoImbError(damaged(path))
            cut.append((number, line[:start]))
            lines[number - 1] = line[start:]
        if not cut:
            return
        aside = _aside(path)
        with aside.open("ab") as kept:
            kept.write(b"".join(part + b"\n" for _, part in cut))
        mended = path.with_name(path.name + ".mending")
        mended.write_bytes(b"".join(lines))
        os.replace(mended, path)  # whole or not at all: a stop here leaves the journal as it was
    finally:
        lock.release()
    logger.warning(
        "%s: a record cut off mid-write (a process stopped while writing it) was run on into by "
        "the next one, at line %s; the cut part is set aside in %s, the whole records are kept, "
        "and the study goes on",
        path,
        ", ".join(str(number) for number, _ in cut),
        aside,
    )


def damaged(path: Path, exc: Exception | None = None) -> str:
    """Which line of the journal cannot be read, and what to do about it without renumbering
    the trials: a trial's or a study's record gone, every later one would land on another."""
    with path.open("rb") as journal:
        for number, line in enumerate(journal, start=1):
            if line.endswith(b"\n") and line.strip() and _record(line) is None:
                return f"{path} is damaged at line {number}; the study cannot be read past it. " + (
                    _what_to_do(line)
                )
    why = f" ({exc})" if exc is not None else ""
    return f"{path} cannot be read as a study journal{why}."


def _what_to_do(line: bytes) -> str:
    op = re.match(rb'\{\s*"op_code"\s*:\s*(\d+)\s*,', line)
    code = int(op.group(1)) if op else None
    study = re.search(rb'"study_id"\s*:\s*(\d+)', line)
    if code in _STEPS:
        return (
            "Keep a copy of the file, then delete that line: the records after it are kept, "
            f"{_STEPS[code]} is lost."
        )
    if code == _CREATE_TRIAL and study:
        stand_in = (
            f'{{"op_code":4,"worker_id":"mended","study_id":{int(study.group(1))},'
            f'"datetime_start":null,"state":{TrialState.FAIL.value}}}'
        )
        return (
            "That line starts a trial: deleting it would renumber every later trial, and their "
            "records would land on others (most of the study lost). Keep a copy of the file, then "
            f"replace that line with {stand_in}: the trial it started reads as failed, every "
            "other is kept."
        )
    what = "starts a study" if code == _CREATE_STUDY else "cannot be told apart"
    return (
        f"That line {what}: deleting it could renumber the studies or trials after it, and "
        "their records would land on others (most of the study lost). Keep the file as it is, "
        "and search into a new one (--storage NEW.optuna.log)."
    )
