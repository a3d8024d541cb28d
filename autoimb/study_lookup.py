"""Opening a study that may or may not be in a storage, for the commands that resume or report.

Looking must not create anything: a journal file that is not there reads as an empty storage,
and a storage that cannot be opened is the user's input error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoimb.exceptions import AutoImbError

if TYPE_CHECKING:
    import optuna


def existing_study(storage: str, name: str) -> optuna.Study | None:
    """The study if it exists; a journal file is not created just to look."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=_looked_up(storage))
    except KeyError:
        return None


def study_names(storage: str) -> list[str]:
    import optuna

    return optuna.study.get_all_study_names(_looked_up(storage))


def _looked_up(storage: str) -> Any:
    """An Optuna storage to read; a journal file that is not there reads as an empty one."""
    import optuna

    from autoimb.study import make_storage

    if "://" not in storage and not Path(storage).is_file():
        return optuna.storages.InMemoryStorage()
    try:
        opened = make_storage(storage)
        opened.get_all_studies()  # a journal is replayed here: a wrong file fails now
    except Exception as exc:  # a wrong URL or a file that is not a journal: the user's input
        raise AutoImbError(f"cannot open the study storage {storage}: {exc}") from exc
    return opened
