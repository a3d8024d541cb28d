"""Files written whole or not at all: into a temporary file in the same folder, renamed into
place in one step, so an interrupted write (Ctrl-C, a full disk) leaves the old file whole."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from autoimb.exceptions import AutoImbError


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(temporary path)``, then rename it over ``path`` in one step, with the mode a
    plain write would leave (the temporary file is private to its owner)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent
        )
    except OSError as exc:  # said of the file asked for, not of the temporary one
        raise AutoImbError(
            f"cannot write {path} ({exc.strerror or exc}); give a path in a folder you can write."
        ) from None
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, _mode_of_a_plain_write(path))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _mode_of_a_plain_write(path: Path) -> int:
    """An existing file's permissions, else what the umask allows a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
