"""Files written whole or not at all: into a temporary file in the same folder, renamed into
place in one step, so an interrupted write (Ctrl-C, a full disk) leaves the old file whole."""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from autoimb.exceptions import NotWritten


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(temporary path)``, then rename it over ``path`` in one step, with the mode a
    plain write would leave (the temporary file is private to its owner)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent
        )
    except OSError as exc:  # said of the file asked for, not of the temporary one
        raise NotWritten(path, exc.strerror or str(exc)) from None
    os.close(handle)
    temporary = Path(name)
    _remove_left_over(path, keep=temporary)
    try:
        write(temporary)
        os.chmod(temporary, _mode_of_a_plain_write(path))
        os.replace(temporary, path)
    except OSError as exc:  # a full disk, a file that may not be replaced: named as asked
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        temporary.unlink(missing_ok=True)
    return path


def not_written(exc: BaseException, path: Path) -> str | None:
    """The system's reason ``path`` could not be written, where ``exc`` is :func:`write_atomic`
    failing to write it; None for another error."""
    asked = os.path.abspath(path)
    if isinstance(exc, NotWritten) and os.path.abspath(exc.path) == asked:
        return exc.reason
    if isinstance(exc, OSError) and exc.filename and os.path.abspath(exc.filename) == asked:
        return exc.strerror or str(exc)
    return None


# A temporary file untouched this long belongs to no write still going on (one is written
# through, its time renewed, until it is renamed): a process killed mid-write left it.
LEFT_OVER_SECONDS = 3600.0


def _remove_left_over(path: Path, keep: Path) -> None:
    """Delete the temporary files of earlier writes of ``path`` that were killed (kill -9, a
    power cut) before renaming theirs: hidden beside the model, they would stay for good."""
    now = time.time()
    for left in path.parent.glob(f".{glob.escape(path.name)}.*{glob.escape(path.suffix)}"):
        with contextlib.suppress(OSError):  # another process removed or renamed it
            if left != keep and now - left.stat().st_mtime > LEFT_OVER_SECONDS:
                left.unlink()


def _mode_of_a_plain_write(path: Path) -> int:
    """An existing file's permissions, else what the umask allows a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
