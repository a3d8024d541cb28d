"""Whether the libraries installed here can serve a model saved with others, or score as a
study's earlier trials were scored.

A model read by an older library than the one that wrote it can load and predict otherwise
without a word: an XGBoost model saved with 3.2 and read with 2.1 moved probabilities by up
to 0.47 (269 of 1,484 labels changed); a logistic regression saved with scikit-learn 1.9
failed to predict with 1.6. Read by newer libraries, the same models predicted identically.
So a model that uses a library older here than where it was saved is refused, with the
upgrade that mends it. A study resumed or joined with other releases is warned of: its
earlier trials' scores and the new ones do not compare exactly.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from importlib import metadata

import numpy as np

# The libraries whose fitted objects a model holds: distribution name to module name.
MODEL_LIBRARIES = {
    "scikit-learn": "sklearn",
    "imbalanced-learn": "imblearn",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "torch": "torch",
}


def installed() -> dict[str, str]:
    """The version of each model library installed here (those missing are left out)."""
    found = {}
    for name in MODEL_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _release(version: str) -> tuple[int, int]:
    """Major and minor: a patch release reads its own minor's files."""
    major, minor = [*(int(part) for part in re.findall(r"\d+", version.split("+")[0])), 0, 0][:2]
    return major, minor


_NOT_FOLLOWED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


def modules_in(model: object, limit: int = 1_000_000) -> set[str]:
    """The top-level modules whose objects a loaded model holds, its attributes followed down
    (a deep model keeps its weights as arrays: no torch object in it, and none to check)."""
    seen: set[int] = set()
    found: set[str] = set()
    todo = [model]
    while todo and len(seen) < limit:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        found.add(type(item).__module__.split(".")[0])
        if isinstance(item, _NOT_FOLLOWED):  # code, not fitted state: a module's whole namespace
            continue
        if isinstance(item, np.ndarray):
            if item.dtype == object:
                todo.extend(item.ravel().tolist())
        elif isinstance(item, dict):
            todo.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple | set | frozenset):
            todo.extend(item)
        elif hasattr(item, "__dict__"):
            todo.extend(vars(item).values())
    return found


def older_here(saved: object, used: set[str]) -> list[tuple[str, str, str]]:
    """``(library, saved with, installed here)`` for each library the model uses (the
    :func:`modules_in` it) that is older here than where the model was saved."""
    if not isinstance(saved, Mapping):
        return []
    here = installed()
    return [
        (name, str(saved[name]), here[name])
        for name, module in MODEL_LIBRARIES.items()
        if name in saved and name in here and module in used
        if _release(here[name]) < _release(str(saved[name]))
    ]


def older_here_message(path: object, older: list[tuple[str, str, str]]) -> str:
    libraries = ", ".join(f"{name} {saved} (here {have})" for name, saved, have in older)
    upgrade = " ".join(f"'{name}>={saved}'" for name, saved, _ in older)
    return (
        f"{path} was saved with {libraries}: read by an older library, a model can load and "
        "predict otherwise without a word, so it was not loaded. Upgrade here "
        f"(pip install {upgrade}), or search again with these versions."
    )


def with_autoimb() -> dict[str, str]:
    """What a study records of the versions its scores were measured with."""
    from autoimb import __version__

    return {"autoimb": __version__, **installed()}


def other_versions(recorded: object) -> list[tuple[str, str, str]]:
    """``(library, recorded, here)`` for each of :func:`with_autoimb`'s whose release differs
    here from ``recorded`` (a study's): a model library's release changes its fits, and so
    the scores of the same strategy on the same folds."""
    if not isinstance(recorded, Mapping):
        return []
    here = with_autoimb()
    return [
        (name, str(recorded[name]), version)
        for name, version in here.items()
        if name in recorded
        if (
            str(recorded[name]) != version
            if name == "autoimb"
            else _release(str(recorded[name])) != _release(version)
        )
    ]
