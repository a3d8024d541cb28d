"""The shipped data sets as ``import autoimb.datasets`` and ``from autoimb.datasets import load``
find them, as well as ``autoimb.datasets.load``; they live in :mod:`autoimb.data.datasets`."""

from autoimb.data.datasets import list, load

__all__ = ["list", "load"]
