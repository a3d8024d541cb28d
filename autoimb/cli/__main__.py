"""`python -m autoimb.cli`: the command line, as the `autoimb` script runs it."""

from autoimb.cli.main import run

run()
