"""The command line: `autoimb search | worker | predict | report | spaces`."""

from autoimb.cli.main import main, run

__all__ = ["main", "run"]
